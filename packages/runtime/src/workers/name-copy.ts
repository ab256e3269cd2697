/**
 * A worker thread's side of the node's process names (see ThreadNames): a copy of the main
 * thread's table, which lookups and sends by name read without asking, changed only by what the
 * main thread says on the link (so in order with the mail it sends); registering and releasing
 * names is asked of the main thread, and Lua waits for its answer.
 */
import { LuactError } from '@luact/core';
import type { NamesHere, Pid, ThreadNames } from '@luact/process';
import type { NameRecord } from './thread-records.js';

export class NameCopy implements ThreadNames {
  private here: NamesHere | undefined;
  private readonly asked = new Map<number, { resolve(): void; reject(error: LuactError): void }>();
  private nextAsk = 1;
  private closed = false;

  constructor(
    /** Posts a record on this thread's link to the main thread. */
    private readonly toMain: (record: NameRecord) => void,
    /** The thread of `pid` when another thread runs it (see ThreadRouter.threadOf). */
    private readonly threadOf: (pid: Pid) => string | undefined,
  ) {}

  attach(here: NamesHere): void {
    this.here = here;
  }

  register(name: string, pid: Pid): Promise<void> | LuactError | undefined {
    const here = this.attached();
    if (this.threadOf(pid) !== undefined)
      return this.ask((id) => ({ t: 'name-claim', id, name, pid, taken: false }));
    // A process of this thread: it takes the name here first (it is alive, it holds few).
    const had = here.holds(name, pid);
    const refused = here.take(name, pid);
    if (refused) return refused;
    return this.ask((id) => ({ t: 'name-claim', id, name, pid, taken: true })).catch(
      (error: unknown) => {
        if (!had) here.lost(name, pid);
        throw error;
      },
    );
  }

  registerForSpawn(name: string, pid: Pid): Promise<void> {
    return this.ask((id) => ({ t: 'name-claim', id, name, pid, taken: true }));
  }

  unregister(name: string): Promise<void> {
    return this.ask((id) => ({ t: 'name-drop', id, name }));
  }

  released(pid: Pid, names: Iterable<string>): void {
    const copy = this.attached().copy;
    const gone: string[] = [];
    for (const name of names) {
      copy.unregister(name, pid);
      gone.push(name);
    }
    if (gone.length > 0) this.toMain({ t: 'name-released', pid, names: gone });
  }

  /** A record about names from the main thread. */
  receive(record: NameRecord): void {
    const here = this.attached();
    switch (record.t) {
      case 'name-answer': {
        const waiting = this.asked.get(record.id);
        this.asked.delete(record.id);
        if (record.error) waiting?.reject(LuactError.fromData(record.error));
        else waiting?.resolve();
        return;
      }
      case 'name-set':
        here.copy.unregister(record.name);
        here.copy.register(record.name, record.pid);
        break;
      case 'name-gone':
        here.copy.unregister(record.name, record.pid);
        here.lost(record.name, record.pid);
        break;
      case 'name-hold': {
        const { id, name, pid } = record;
        const error = record.take
          ? here.take(name, pid)
          : here.holds(name, pid)
            ? undefined
            : new LuactError('NOT_FOUND', `${pid} does not hold "${name}"`);
        this.toMain({ t: 'name-held', id, ...(error ? { error: error.toData() } : {}) });
        return;
      }
      default:
        throw new Error(`a worker thread was sent name record ${record.t}`);
    }
    if (record.ack !== undefined) this.toMain({ t: 'name-acked', ack: record.ack });
  }

  /** The thread stops: nothing will answer what it asked. */
  close(): void {
    this.closed = true;
    const closed = new LuactError('UNAVAILABLE', 'the node is stopping');
    for (const waiting of this.asked.values()) waiting.reject(closed);
    this.asked.clear();
  }

  private ask(record: (id: number) => NameRecord): Promise<void> {
    if (this.closed) return Promise.reject(new LuactError('UNAVAILABLE', 'the node is stopping'));
    const id = this.nextAsk++;
    return new Promise<void>((resolve, reject) => {
      this.asked.set(id, { resolve, reject });
      this.toMain(record(id));
    });
  }

  private attached(): NamesHere {
    if (this.here === undefined) throw new Error('thread names used before their process system');
    return this.here;
  }
}

/**
 * The main thread's side of the node's process names (see ThreadNames): it decides, for the
 * processes of every thread. Its table is the main thread's own copy; every change to a name
 * waits for the one before it (so two processes racing for a name are decided one after the
 * other) and settles once every worker's copy has it. A name whose holder runs on a worker is
 * only refused to another after that worker said its holder is alive and holds it: a holder's
 * end is told on the same link, before the answer, so a name its holder left is never refused.
 * A worker thread that is lost is answered nothing more (a thread that takes its place has a
 * link of the same name, and asks under numbers of its own), and a name its claims would still
 * give one of its processes is not given: they ended with it.
 */
import { type ErrorData, LuactError } from '@luact/core';
import { type NamesHere, nameTaken, type Pid, type ThreadNames, unknownName } from '@luact/process';
import type { NameRecord } from './thread-records.js';

type Change = Extract<NameRecord, { readonly t: 'name-set' | 'name-gone' }>;

const DONE: Promise<void> = Promise.resolve();

export class NameAuthority implements ThreadNames {
  private here: NamesHere | undefined;
  /** The worker threads whose copies are kept (those lost are not waited for). */
  private readonly copies: Set<string>;
  /** Per name, the end of its last change: the next one starts after it. */
  private readonly turns = new Map<string, Promise<void>>();
  private readonly acks = new Map<number, { waiting: Set<string>; resolve(): void }>();
  private readonly holds = new Map<
    number,
    { readonly thread: string; resolve(error: LuactError | undefined): void }
  >();
  private next = 1;
  /** Per worker thread, how many times it was lost: a claim is answered to the one that asked. */
  private readonly losses = new Map<string, number>();
  /** Whether a PID is one a lost worker thread ran (see dropNamesWhere). */
  private readonly ended: ((pid: Pid) => boolean)[] = [];

  constructor(
    workerThreads: readonly string[],
    /** Posts a record on the link to worker thread `thread`. */
    private readonly post: (thread: string, record: NameRecord) => void,
    /** The worker thread that runs `pid`; undefined for the main thread's (or nobody's). */
    private readonly threadOf: (pid: Pid) => string | undefined,
  ) {
    this.copies = new Set(workerThreads);
  }

  attach(here: NamesHere): void {
    this.here = here;
  }

  register(name: string, pid: Pid): Promise<void> {
    return this.inTurn(name, () => this.claim(name, pid, false));
  }

  registerForSpawn(name: string, pid: Pid): Promise<void> {
    return this.inTurn(name, () => this.claim(name, pid, true));
  }

  unregister(name: string): Promise<void> {
    return this.inTurn(name, () => this.drop(name));
  }

  released(pid: Pid, names: Iterable<string>): void {
    for (const name of names) void this.inTurn(name, () => this.release(name, pid));
  }

  /**
   * Releases every name whose holder `gone` says has ended without telling (a worker thread
   * that died: its processes ended with it).
   */
  dropNamesWhere(gone: (pid: Pid) => boolean): void {
    // A claim still in turn for one of them must not give it a name after this (see claim).
    this.ended.push(gone);
    for (const [name, pid] of [...this.attached().copy.entries()])
      if (gone(pid)) this.released(pid, [name]);
  }

  /** `thread` is gone: nothing it was asked will be answered, and its copy is not kept. */
  threadLost(thread: string): void {
    this.copies.delete(thread);
    this.losses.set(thread, (this.losses.get(thread) ?? 0) + 1);
    for (const [ack, waiting] of this.acks) {
      waiting.waiting.delete(thread);
      if (waiting.waiting.size === 0) {
        this.acks.delete(ack);
        waiting.resolve();
      }
    }
    for (const [id, hold] of this.holds) {
      if (hold.thread !== thread) continue;
      this.holds.delete(id);
      hold.resolve(new LuactError('UNAVAILABLE', `worker thread ${thread} is gone`));
    }
  }

  /**
   * `thread` (a new worker) keeps a copy from now on: the names as they are, to start it with;
   * every later change reaches it on its link.
   */
  threadJoined(thread: string): [string, Pid][] {
    this.copies.add(thread);
    return [...this.attached().copy.entries()];
  }

  /** A record about names from worker thread `from`. */
  receive(from: string, record: NameRecord): void {
    // Answered to the thread that asked: not to one that took its place since (it was lost).
    const losses = this.losses.get(from);
    const answer = (id: number, work: Promise<void>) =>
      work.then(
        () => this.answer(from, losses, { t: 'name-answer', id }),
        (error: unknown) =>
          this.answer(from, losses, { t: 'name-answer', id, error: dataOf(error) }),
      );
    switch (record.t) {
      case 'name-claim': {
        const { name, pid, taken } = record;
        void answer(
          record.id,
          this.inTurn(name, () => this.claim(name, pid, taken)),
        );
        return;
      }
      case 'name-drop':
        void answer(
          record.id,
          this.inTurn(record.name, () => this.drop(record.name)),
        );
        return;
      case 'name-released':
        this.released(record.pid, record.names);
        return;
      case 'name-acked': {
        const waiting = this.acks.get(record.ack);
        waiting?.waiting.delete(from);
        if (waiting && waiting.waiting.size === 0) {
          this.acks.delete(record.ack);
          waiting.resolve();
        }
        return;
      }
      case 'name-held': {
        const hold = this.holds.get(record.id);
        this.holds.delete(record.id);
        hold?.resolve(record.error ? LuactError.fromData(record.error) : undefined);
        return;
      }
      default:
        throw new Error(`the main thread was sent name record ${record.t} by ${from}`);
    }
  }

  /** Posts `record` to `thread`, unless it was lost since it had been lost `losses` times. */
  private answer(thread: string, losses: number | undefined, record: NameRecord): void {
    if (this.losses.get(thread) === losses) this.post(thread, record);
  }

  /**
   * Gives `name` to `pid`, unless a live process holds it. `taken`: the asking thread's process
   * `pid` took it there already (or is a child about to start); else its thread is asked.
   */
  private async claim(name: string, pid: Pid, taken: boolean): Promise<void> {
    const table = this.attached().copy;
    const holder = table.lookup(name);
    if (holder === pid) return;
    if (holder !== undefined) {
      if ((await this.ask(name, holder, false)) === undefined) throw nameTaken(name, holder);
      this.release(name, holder);
    }
    if (!taken) {
      const refused = await this.ask(name, pid, true);
      if (refused) throw refused;
    }
    // Its worker thread was lost while the claim waited its turn: its names went with it.
    if (this.ended.some((gone) => gone(pid))) throw new LuactError('NOT_FOUND', `${pid} ended`);
    table.register(name, pid);
    await this.change({ t: 'name-set', name, pid }, true);
  }

  private async drop(name: string): Promise<void> {
    const here = this.attached();
    const holder = here.copy.lookup(name);
    if (holder === undefined) throw unknownName(name);
    here.copy.unregister(name);
    here.lost(name, holder);
    await this.change({ t: 'name-gone', name, pid: holder }, true);
  }

  /** `pid` ended (or never started): `name` goes, if it still holds it. */
  private release(name: string, pid: Pid): void {
    if (this.attached().copy.unregister(name, pid))
      void this.change({ t: 'name-gone', name, pid }, false);
  }

  /**
   * Asks the thread of `pid` whether it holds `name` (or, `take`, lets it take it): undefined
   * when it does (did), else why not.
   */
  private ask(name: string, pid: Pid, take: boolean): Promise<LuactError | undefined> {
    const here = this.attached();
    const thread = this.threadOf(pid);
    if (thread === undefined) {
      if (take) return Promise.resolve(here.take(name, pid));
      return Promise.resolve(
        here.holds(name, pid) ? undefined : new LuactError('NOT_FOUND', `${pid} ended`),
      );
    }
    if (!this.copies.has(thread))
      return Promise.resolve(new LuactError('UNAVAILABLE', `worker thread ${thread} is gone`));
    const id = this.next++;
    return new Promise((resolve) => {
      this.holds.set(id, { thread, resolve });
      this.post(thread, { t: 'name-hold', id, name, pid, take });
    });
  }

  /** Tells every worker's copy; `wait`: settles once each has it. */
  private change(change: Change, wait: boolean): Promise<void> {
    if (!wait || this.copies.size === 0) {
      for (const thread of this.copies) this.post(thread, change);
      return DONE;
    }
    const ack = this.next++;
    return new Promise<void>((resolve) => {
      this.acks.set(ack, { waiting: new Set(this.copies), resolve });
      for (const thread of this.copies) this.post(thread, { ...change, ack });
    });
  }

  /**
   * Runs `work` once the changes to `name` before it are done (at once when there are none:
   * a main-thread process's end frees its names before anyone is told of it).
   */
  private inTurn(name: string, work: () => Promise<void> | void): Promise<void> {
    const before = this.turns.get(name);
    let turn: Promise<void>;
    if (before === undefined) {
      try {
        turn = Promise.resolve(work());
      } catch (error) {
        turn = Promise.reject(error);
      }
    } else turn = before.then(work);
    const settled = turn.then(
      () => {},
      () => {},
    );
    this.turns.set(name, settled);
    void settled.then(() => {
      if (this.turns.get(name) === settled) this.turns.delete(name);
    });
    return turn;
  }

  private attached(): NamesHere {
    if (this.here === undefined) throw new Error('thread names used before their process system');
    return this.here;
  }
}

function dataOf(error: unknown): ErrorData {
  return LuactError.from(error).toData();
}

import type { Pid } from '@luact/process';

interface Awaited {
  readonly spawn: number;
  readonly thread: string;
  readonly parent: Pid;
  readonly channel: number;
  /** Known once the other thread answered the spawn. */
  child: Pid | undefined;
}

/**
 * The outcomes this thread's processes and inboxes wait for from children spawned on other
 * threads (an exec, a service's run, `Node.run`, a function call): each comes back as a
 * `result` signal, unless the child's thread is lost first. Then nobody would send it, and
 * the thread's loss ends the wait instead (see WorkerRouter.threadDown). One entry per child
 * that has not sent its outcome yet, and whose parent still waits (see parentEnded).
 */
export class AwaitedResults {
  private readonly byResult = new Map<string, Awaited>();
  /** Each awaited result's key by the spawn that starts its child, until it is answered. */
  private readonly bySpawn = new Map<number, string>();
  /** The channels each parent awaits a result on. */
  private readonly byParent = new Map<Pid, Set<number>>();

  /** Spawn `spawn` on `thread` sends its child's outcome to `parent`'s channel `channel`. */
  expect(spawn: number, thread: string, parent: Pid, channel: number): void {
    const key = resultKey(parent, channel);
    this.byResult.set(key, { spawn, thread, parent, channel, child: undefined });
    this.bySpawn.set(spawn, key);
    let channels = this.byParent.get(parent);
    if (channels === undefined) {
      channels = new Set();
      this.byParent.set(parent, channels);
    }
    channels.add(channel);
  }

  started(spawn: number, child: Pid): void {
    const key = this.bySpawn.get(spawn);
    if (key === undefined) return;
    this.bySpawn.delete(spawn);
    const awaited = this.byResult.get(key);
    if (awaited !== undefined) awaited.child = child;
  }

  failed(spawn: number): void {
    const key = this.bySpawn.get(spawn);
    if (key === undefined) return;
    this.bySpawn.delete(spawn);
    const awaited = this.byResult.get(key);
    if (awaited !== undefined) this.forget(awaited);
  }

  /** The outcome for `parent`'s channel `channel` arrived (or left for it, on another node). */
  settled(parent: Pid, channel: number): void {
    if (this.byResult.size === 0) return;
    const awaited = this.byResult.get(resultKey(parent, channel));
    if (awaited !== undefined) this.forget(awaited);
  }

  /** `parent` ended: what it awaited, it no longer does (its children's outcomes go nowhere). */
  parentEnded(parent: Pid): void {
    const channels = this.byParent.get(parent);
    if (channels === undefined) return;
    for (const channel of [...channels]) this.settled(parent, channel);
  }

  /** The outcomes awaited from `thread`, which is gone: none will come (they are forgotten). */
  lost(thread: string): Awaited[] {
    const lost: Awaited[] = [];
    for (const awaited of this.byResult.values()) {
      if (awaited.thread !== thread) continue;
      this.forget(awaited);
      lost.push(awaited);
    }
    return lost;
  }

  clear(): void {
    this.byResult.clear();
    this.bySpawn.clear();
    this.byParent.clear();
  }

  private forget(awaited: Awaited): void {
    const { parent, channel, spawn } = awaited;
    this.byResult.delete(resultKey(parent, channel));
    this.bySpawn.delete(spawn);
    const channels = this.byParent.get(parent);
    channels?.delete(channel);
    if (channels?.size === 0) this.byParent.delete(parent);
  }
}

function resultKey(parent: Pid, channel: number): string {
  return `${parent}#${channel}`;
}

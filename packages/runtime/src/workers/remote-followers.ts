/**
 * The processes of other nodes that follow a process of this node's worker threads — monitor
 * it, are linked to it, or wait for its outcome as its remote parent — as the main thread sees
 * them pass (every signal and spawn between a worker and another node goes through main). A
 * worker's process that ends tells them itself; a worker thread that is lost cannot, so main
 * tells them for it (see `lost`).
 */
import type { LuactError } from '@luact/core';
import { nodeOf, type Pid, type RemoteParent, type Signal } from '@luact/process';

/** How one process of another node follows one of a worker's. */
interface Following {
  monitor: boolean;
  link: boolean;
  /** The follower's fed channel for the outcome (it spawned the process with `exec`). */
  channel: number | undefined;
}

/** A signal for a process of another node, with that node. */
export interface RemoteSignal {
  readonly node: string;
  readonly signal: Signal;
}

export class RemoteFollowers {
  /** By a worker's process, the processes of other nodes that follow it. */
  private readonly of = new Map<Pid, Map<Pid, Following>>();

  /** `node`: this node's name (its PIDs name it). */
  constructor(private readonly node: string) {}

  /** A signal from another node to a worker's process. */
  inbound(signal: Signal): void {
    const { from } = signal;
    if (from === undefined || !this.isRemote(from)) return;
    switch (signal.kind) {
      case 'monitor':
      case 'link':
        this.following(signal.to, from)[signal.kind] = true;
        return;
      case 'demonitor':
        this.change(signal.to, from, (following) => {
          following.monitor = false;
        });
        return;
      case 'unlink':
        this.change(signal.to, from, (following) => {
          following.link = false;
        });
        return;
      case 'exit':
      case 'link-down':
        // The follower ended: it follows nothing any more.
        this.of.get(signal.to)?.delete(from);
        return;
      default:
        return;
    }
  }

  /** A signal from a worker's process to another node. */
  outbound(signal: Signal): void {
    const { from, to } = signal;
    if (from === undefined) return;
    switch (signal.kind) {
      case 'link':
        this.following(from, to).link = true;
        return;
      case 'unlink':
        this.change(from, to, (following) => {
          following.link = false;
        });
        return;
      case 'exit':
      case 'link-down':
      case 'result':
        // The worker's process ended, and tells its followers itself.
        this.of.delete(from);
        return;
      default:
        return;
    }
  }

  /** A worker's process `child` was spawned for `parent`, maybe a process of another node. */
  spawnedFor(parent: RemoteParent, child: Pid): void {
    if (!this.isRemote(parent.pid)) return;
    if (!parent.monitor && !parent.link && parent.resultChannel === undefined) return;
    const following = this.following(child, parent.pid);
    following.monitor ||= parent.monitor;
    following.link ||= parent.link;
    following.channel = parent.resultChannel ?? following.channel;
  }

  /** A worker's process spawned `child` on another node, linked to it. */
  linkedChild(parent: Pid, child: Pid): void {
    this.following(parent, child).link = true;
  }

  /** A node (that incarnation) is down: its processes follow nothing any more. */
  nodeDown(node: string, incarnation: number): void {
    const prefix = `{${node}~${incarnation}@`;
    for (const [pid, followers] of this.of) {
      for (const follower of followers.keys())
        if (follower.startsWith(prefix)) followers.delete(follower);
      if (followers.size === 0) this.of.delete(pid);
    }
  }

  /**
   * The worker's processes `onIt` picks are gone with their thread: the signals that tell their
   * followers (EXIT to monitors, LINK_DOWN to links, the outcome to a waiting parent), each
   * with `error`; they are forgotten.
   */
  lost(onIt: (pid: Pid) => boolean, error: LuactError, at: bigint): RemoteSignal[] {
    const signals: RemoteSignal[] = [];
    const outcome = { ok: false, error } as const;
    for (const [from, followers] of this.of) {
      if (!onIt(from)) continue;
      this.of.delete(from);
      for (const [to, following] of followers) {
        const node = nodeOf(to) as string;
        if (following.monitor)
          signals.push({ node, signal: { kind: 'exit', to, from, at, outcome } });
        if (following.link)
          signals.push({ node, signal: { kind: 'link-down', to, from, at, outcome } });
        if (following.channel !== undefined)
          signals.push({
            node,
            signal: { kind: 'result', to, from, channel: following.channel, outcome },
          });
      }
    }
    return signals;
  }

  /** How many of the worker's processes are followed from other nodes (for tests). */
  get size(): number {
    return this.of.size;
  }

  private isRemote(pid: Pid): boolean {
    const node = nodeOf(pid);
    return node !== undefined && node !== this.node;
  }

  private following(pid: Pid, follower: Pid): Following {
    let followers = this.of.get(pid);
    if (followers === undefined) {
      followers = new Map();
      this.of.set(pid, followers);
    }
    let following = followers.get(follower);
    if (following === undefined) {
      following = { monitor: false, link: false, channel: undefined };
      followers.set(follower, following);
    }
    return following;
  }

  private change(pid: Pid, follower: Pid, edit: (following: Following) => void): void {
    const followers = this.of.get(pid);
    const following = followers?.get(follower);
    if (followers === undefined || following === undefined) return;
    edit(following);
    if (!following.monitor && !following.link && following.channel === undefined)
      followers.delete(follower);
    if (followers.size === 0) this.of.delete(pid);
  }
}

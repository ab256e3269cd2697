/**
 * A worker thread's way into the node's cluster: the main thread owns the one NATS connection,
 * so what a worker's processes send, signal or spawn on another node is carried there on the
 * worker's link (in order with the rest of what they send) and main hands it to the cluster
 * (see ClusterRelay). What other nodes send to the worker's processes comes the other way, on
 * the same link, as mail from main does.
 */
import type {
  ClusterNameEvents,
  ClusterNames,
  Delivery,
  Envelope,
  NodeIdentity,
  Pid,
  RemoteSpawnRequest,
  Signal,
  Transport,
} from '@luact/process';
import type { ClusterCall } from './thread-calls.js';
import { MAIN_THREAD } from './thread-plan.js';
import { signalRecord, type WireSignal } from './thread-records.js';

/** How a worker asks the main thread (WorkerRouter.call and tell). */
export interface MainThreadCalls {
  call(thread: string, call: ClusterCall): Promise<unknown>;
  tell(thread: string, call: ClusterCall): void;
}

/** The transport of a worker thread's process system on a cluster node: through main. */
export class TransportViaMain implements Transport {
  constructor(
    readonly identity: NodeIdentity,
    private readonly main: MainThreadCalls,
  ) {}

  /** Settles once main's cluster accepted it (as a send from main does), or rejects with why not. */
  sendRemote(node: string, envelope: Envelope): Delivery {
    return this.ask({ s: 'cluster.send', node, envelope });
  }

  signalRemote(node: string, signal: Signal): Delivery {
    const wire = (signalRecord(signal) as { readonly signal: WireSignal }).signal;
    return this.ask({ s: 'cluster.signal', node, signal: wire });
  }

  spawnRemote(node: string, request: RemoteSpawnRequest): Promise<Pid> {
    return this.main.call(MAIN_THREAD, { s: 'cluster.spawn', node, request }) as Promise<Pid>;
  }

  /** Nothing to attach: the other nodes' traffic reaches this thread on its link from main. */
  attach(): void {}

  async close(): Promise<void> {}

  private ask(call: ClusterCall): Promise<void> {
    return this.main.call(MAIN_THREAD, call).then(() => undefined);
  }
}

/**
 * The cluster names as a worker thread sees them: a copy that main keeps current (lookups
 * read it without asking), registrations and releases decided by main's cluster names.
 */
export class ClusterNamesViaMain implements ClusterNames {
  private readonly holders = new Map<string, Pid>();
  /** The names of this thread's processes, by process. */
  private readonly own = new Map<Pid, Set<string>>();

  constructor(
    private readonly main: MainThreadCalls,
    names: readonly (readonly [string, string])[],
  ) {
    for (const [name, pid] of names) this.holders.set(name, pid as Pid);
  }

  /** Main says `name` is held by `pid` now (undefined: by nobody). */
  changed(name: string, pid: Pid | undefined): void {
    const before = this.holders.get(name);
    if (before !== undefined && before !== pid) this.forgetOwn(before, name);
    if (pid === undefined) this.holders.delete(name);
    else this.holders.set(name, pid);
  }

  async register(name: string, pid: Pid): Promise<void> {
    await this.main.call(MAIN_THREAD, { s: 'cluster.name.register', name, pid });
    // Known here before main's word on the change arrives: what the process does next finds it.
    this.changed(name, pid);
    let held = this.own.get(pid);
    if (held === undefined) {
      held = new Set();
      this.own.set(pid, held);
    }
    held.add(name);
  }

  lookup(name: string): Pid | undefined {
    return this.holders.get(name);
  }

  heldBy(pid: Pid): number {
    return this.own.get(pid)?.size ?? 0;
  }

  async unregister(name: string): Promise<void> {
    await this.main.call(MAIN_THREAD, { s: 'cluster.name.unregister', name });
    const pid = this.holders.get(name);
    if (pid !== undefined) this.changed(name, undefined);
  }

  ownerExited(pid: Pid): void {
    if (!this.own.delete(pid)) return;
    this.main.tell(MAIN_THREAD, { s: 'cluster.name.exited', pid });
  }

  /** A name revoked by the cluster reaches its holder as a CANCEL from main. */
  attach(_events: ClusterNameEvents): void {}

  private forgetOwn(pid: Pid, name: string): void {
    const held = this.own.get(pid);
    if (held === undefined || !held.delete(name)) return;
    if (held.size === 0) this.own.delete(pid);
  }
}

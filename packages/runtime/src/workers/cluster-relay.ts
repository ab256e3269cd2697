/**
 * The main thread's side of its workers' cluster traffic (see worker-cluster.ts): it hands
 * what their processes send, signal and spawn on other nodes to the node's one cluster
 * transport, in the order each link brings it; decides their cluster names with the node's
 * cluster names and keeps every worker's copy of them current; and keeps who on other nodes
 * follows their processes (RemoteFollowers), so a lost worker thread is heard of there.
 */
import { LuactError } from '@luact/core';
import type {
  ClusterNames,
  Delivery,
  NodeIdentity,
  Pid,
  RemoteParent,
  Signal,
  Transport,
} from '@luact/process';
import { RemoteFollowers } from './remote-followers.js';
import type { ClusterCall } from './thread-calls.js';
import { signalOf } from './thread-records.js';
import type { ThreadsInCluster } from './worker-router.js';

/** The cluster names of the node, as main's cluster layer gives them (ClusterNameRegistry). */
export interface FollowedClusterNames extends ClusterNames {
  /** Every name held now, with its holder. */
  held(): [string, Pid][];
  /** Calls `follower` with every change of a name's holder; returns how to stop. */
  follow(follower: (name: string, pid: Pid | undefined) => void): () => void;
}

/** What the node's cluster gives its worker threads. */
export interface NodeCluster {
  readonly identity: NodeIdentity;
  readonly transport: Pick<Transport, 'sendRemote' | 'signalRemote' | 'spawnRemote'>;
  readonly names: FollowedClusterNames;
  /** The node's clock (the time of the signals main sends for a lost worker). */
  readonly now: () => bigint;
  /**
   * With placement `spread` (the cluster used as one node): the members of the current view,
   * and how to hear of every new view. Worker threads spread their processes' spawns as main.
   */
  readonly spread?: {
    members(): string[];
    follow(listener: () => void): () => void;
  };
}

export class ClusterRelay implements ThreadsInCluster {
  private readonly followers: RemoteFollowers;
  /** Workers' processes that hold cluster names: released here when their thread is lost. */
  private readonly nameHolders = new Set<Pid>();

  /**
   * `resultRelayed`: called with each outcome a worker's child sends its parent on another
   * node (see WorkerRouter.resultRelayed).
   */
  constructor(
    private readonly cluster: NodeCluster,
    private readonly resultRelayed: (parent: Pid, channel: number) => void = () => {},
  ) {
    this.followers = new RemoteFollowers(cluster.identity.node);
  }

  /** Answers a worker's cluster call; what it hands on, it hands on before it returns. */
  answer(call: ClusterCall): unknown {
    const { transport, names } = this.cluster;
    switch (call.s) {
      case 'cluster.send':
        return accepted(transport.sendRemote(call.node, call.envelope));
      case 'cluster.signal': {
        const signal = signalOf(call.signal);
        this.followers.outbound(signal);
        if (signal.kind === 'result') this.resultRelayed(signal.to, signal.channel);
        return accepted(transport.signalRemote(call.node, signal));
      }
      case 'cluster.spawn': {
        const parent = call.request.parent;
        return transport.spawnRemote(call.node, call.request).then((pid) => {
          if (parent?.link) this.followers.linkedChild(parent.pid, pid);
          return pid;
        });
      }
      case 'cluster.name.register': {
        const pid = call.pid as Pid;
        return names.register(call.name, pid).then(() => {
          this.nameHolders.add(pid);
          return true;
        });
      }
      case 'cluster.name.unregister':
        return names.unregister(call.name).then(() => true);
      case 'cluster.name.exited': {
        const pid = call.pid as Pid;
        this.nameHolders.delete(pid);
        names.ownerExited(pid);
        return true;
      }
      default: {
        const unknown: never = call;
        return new LuactError('INTERNAL', `unknown cluster call ${JSON.stringify(unknown)}`);
      }
    }
  }

  inbound(signal: Signal): void {
    this.followers.inbound(signal);
  }

  spawnedFor(parent: RemoteParent, child: Pid): void {
    this.followers.spawnedFor(parent, child);
  }

  /**
   * A worker thread is lost: the processes of other nodes that followed its processes hear it
   * (EXIT, LINK_DOWN, their outcome, with `error`), and the cluster names they held go.
   */
  lost(onIt: (pid: Pid) => boolean, error: LuactError): void {
    for (const { node, signal } of this.followers.lost(onIt, error, this.cluster.now()))
      forget(this.cluster.transport.signalRemote(node, signal));
    for (const pid of this.nameHolders) {
      if (!onIt(pid)) continue;
      this.nameHolders.delete(pid);
      this.cluster.names.ownerExited(pid);
    }
  }

  /** A node (that incarnation) is down: its processes follow nothing here any more. */
  nodeDown(down: NodeIdentity): void {
    this.followers.nodeDown(down.node, down.incarnation);
  }
}

/** A delivery as a call's answer: true once accepted, or the error that refused it. */
function accepted(delivery: Delivery): unknown {
  if (delivery === undefined) return true;
  if (delivery instanceof LuactError) return delivery;
  return delivery.then(() => true);
}

function forget(delivery: Delivery): void {
  if (delivery instanceof Promise) delivery.catch(() => {});
}

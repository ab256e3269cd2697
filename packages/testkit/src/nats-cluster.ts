import { NatsServerError } from './errors.js';
import { freePorts } from './free-port.js';
import { type MetaClusterView, readMetaCluster } from './monitor.js';
import { findNatsServerBinary } from './nats-binary.js';
import { DEFAULT_STOP_TIMEOUT_MS, launchConfiguredServer } from './nats-server.js';
import type { NatsServerHandle } from './server-handle.js';
import { sleep } from './wait.js';

export interface NatsClusterOptions {
  /** Number of servers (default 3). */
  readonly size?: number;
  /** Cluster name (default `luact`). */
  readonly name?: string;
  readonly maxPayload?: number;
  /** Bound for all nodes to agree on a JetStream meta leader (default 60 s). */
  readonly readyTimeoutMs?: number;
  /** Bound for each node's graceful stop before SIGKILL (default 5 s). */
  readonly stopTimeoutMs?: number;
  readonly binary?: string;
}

/** A cluster member; always has monitoring, used for readiness. */
export interface NatsClusterNode extends NatsServerHandle {
  readonly monitorUrl: string;
}

export interface NatsClusterHandle {
  readonly name: string;
  /** Every node's client URL; pass them all as `servers` so clients fail over. */
  readonly urls: readonly string[];
  /** Nodes `n1`…`nN`, each with its own stop/kill/restart. */
  readonly nodes: readonly NatsClusterNode[];
  /**
   * Resolves with the leader's name once every running node reports the same JetStream meta
   * leader and the full cluster size, and the leader sees every other running node as current.
   * Use it after kill()/restart() of a node.
   */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /** Stops every node and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

// Deadlines, not waits: readiness is polled, and an election on a loaded machine can take many
// times its usual second or two.
const DEFAULT_CLUSTER_READY_MS = 60_000;
const NODE_READY_MS = 30_000;
const START_ATTEMPTS = 3;
const POLL_MS = 100;

/** Starts a JetStream cluster of `size` nodes on loopback and waits for a meta leader. */
export async function startNatsCluster(
  options: NatsClusterOptions = {},
): Promise<NatsClusterHandle> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`cluster size ${size}`);
  const binary = findNatsServerBinary(options.binary);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, size, options);
    } catch (error) {
      // The free ports are only reserved until we release them; another process may take one.
      if (attempt >= START_ATTEMPTS || !isAddressInUse(error)) throw error;
    }
  }
}

async function startOnce(
  binary: string,
  size: number,
  options: NatsClusterOptions,
): Promise<NatsClusterHandle> {
  const clusterName = options.name ?? 'luact';
  const ports = await freePorts(size * 3);
  const take = (): number => {
    const port = ports.shift();
    if (port === undefined) throw new Error('freePorts returned too few ports');
    return port;
  };
  const layout = Array.from({ length: size }, (_, i) => ({
    name: `n${i + 1}`,
    client: take(),
    http: take(),
    route: take(),
  }));
  const routePorts = layout.map((node) => node.route);
  const started = await Promise.allSettled(
    layout.map((node) =>
      launchConfiguredServer({
        binary,
        name: node.name,
        dirPrefix: `luact-nats-${clusterName.replace(/[^\w.-]/g, '_')}-${node.name}-`,
        jetstream: true,
        config: {
          host: '127.0.0.1',
          port: node.client,
          httpPort: node.http,
          ...(options.maxPayload !== undefined && { maxPayload: options.maxPayload }),
          cluster: { name: clusterName, port: node.route, routePorts },
        },
        args: [],
        readyTimeoutMs: NODE_READY_MS,
        stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
      }),
    ),
  );
  const servers = started.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const nodes = servers.filter(hasMonitor);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined || nodes.length !== size) {
    await Promise.allSettled(servers.map((server) => server.stop()));
    throw failed?.reason ?? new Error('a cluster node started without monitoring');
  }
  const cluster = new Cluster(clusterName, nodes);
  try {
    await cluster.waitForMetaLeader(options.readyTimeoutMs ?? DEFAULT_CLUSTER_READY_MS);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

class Cluster implements NatsClusterHandle {
  readonly name: string;
  readonly nodes: readonly NatsClusterNode[];
  readonly urls: readonly string[];
  #stopping: Promise<void> | undefined;

  constructor(name: string, nodes: readonly NatsClusterNode[]) {
    this.name = name;
    this.nodes = nodes;
    this.urls = nodes.map((node) => node.url);
  }

  async waitForMetaLeader(timeoutMs = DEFAULT_CLUSTER_READY_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let views: (MetaClusterView | undefined)[] = [];
    for (;;) {
      const running = this.nodes.filter((node) => node.running);
      views = await Promise.all(running.map((node) => readMetaCluster(node.monitorUrl)));
      const leader = agreedLeader(this.nodes.length, running, views);
      if (leader !== undefined) return leader;
      if (Date.now() >= deadline) {
        const report = running.map((node, i) => `${node.name}: ${describe(views[i])}`).join('; ');
        throw new NatsServerError(
          'cluster-timeout',
          `cluster ${this.name} has no agreed JetStream meta leader after ${timeoutMs} ms (${report})`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= Promise.allSettled(this.nodes.map((node) => node.stop())).then((results) => {
      const failed = results.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    });
    return this.#stopping;
  }
}

function agreedLeader(
  size: number,
  running: readonly NatsClusterNode[],
  views: readonly (MetaClusterView | undefined)[],
): string | undefined {
  const first = views[0]?.leader;
  if (first === undefined) return undefined;
  const agreed = views.every((view) => view?.leader === first && view.clusterSize === size);
  const leaderView = views[running.findIndex((node) => node.name === first)];
  if (!agreed || leaderView === undefined) return undefined;
  const caughtUp = running.every(
    (node) =>
      node.name === first ||
      leaderView.replicas.some((replica) => replica.name === node.name && replica.current),
  );
  return caughtUp ? first : undefined;
}

function describe(view: MetaClusterView | undefined): string {
  if (view === undefined) return 'no /jsz answer';
  const current = view.replicas.filter((replica) => replica.current).map((replica) => replica.name);
  return `leader=${view.leader ?? 'none'} size=${view.clusterSize ?? '?'} current=[${current.join(',')}]`;
}

function hasMonitor(server: NatsServerHandle): server is NatsClusterNode {
  return server.monitorUrl !== undefined;
}

function isAddressInUse(error: unknown): boolean {
  return error instanceof NatsServerError && /address already in use/i.test(error.logTail);
}

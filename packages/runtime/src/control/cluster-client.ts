import path from 'node:path';
import { LuactError } from '@luact/core';
import {
  askNodes,
  type ClusterStatus,
  DEFAULT_OPS_TIMEOUT_MS,
  type NatsConnection,
  type NodeAnswer,
  readClusterStatus,
  type ViewChange,
} from '@luact/nats';
import { type Environment, loadApplication, RegistrySnapshot } from '@luact/registry';
import { NatsConnections, type NodeNatsOption } from '../nats-connections.js';

export type {
  ClusterStatus,
  MemberStatus,
  NodeAnswer,
  PartitionOwner,
  View,
  ViewChange,
} from '@luact/nats';

/** What every node of a cluster answered to one question. */
export interface ClusterAnswers {
  readonly status: ClusterStatus;
  /** Each node asked (the view's members, or the one named), in name order. */
  readonly answers: ReadonlyMap<string, NodeAnswer>;
  /**
   * Members the last committed view removed (declared down or left) that are not back: a node
   * killed a moment ago shows up here rather than vanishing without a word.
   */
  readonly departed: readonly ViewChange[];
}

export interface ClusterOpsOptions {
  /** The application directory: `--nats ns:name` names one of its nats.connection entries. */
  readonly dir: string;
  readonly env: Environment;
}

/**
 * An operator's view of a running cluster over NATS (`luact cluster`, `luact ps --nats`): its
 * membership from the cluster's streams, and the nodes' own views from their operations
 * endpoints. Connects like `luact run --nats` does, with the same errors.
 */
export class ClusterOps {
  private constructor(
    private readonly connections: NatsConnections,
    private readonly connection: NatsConnection,
  ) {}

  static async connect(nats: NodeNatsOption, options: ClusterOpsOptions): Promise<ClusterOps> {
    const dir = path.resolve(options.dir);
    const snapshot =
      'entry' in nats ? await applicationSnapshot(dir, nats.entry, options.env) : undefined;
    const connections = new NatsConnections({
      // Server URLs never consult the registry.
      snapshot: () => snapshot ?? RegistrySnapshot.empty(),
      env: options.env,
      dir,
      nats,
    });
    try {
      const connection = await connections.cluster();
      if (!connection) throw new LuactError('INVALID', 'no --nats given', { retryable: false });
      return new ClusterOps(connections, connection);
    } catch (error) {
      await connections.close();
      throw error;
    }
  }

  /** The cluster's members and partition owners; undefined when no node ever joined. */
  status(): Promise<ClusterStatus | undefined> {
    return readClusterStatus(this.connection);
  }

  /**
   * Asks every member of the cluster (or only `node`) for `route` at once; a node that does not
   * answer within `timeoutMs` is listed as silent. Undefined when no node ever joined.
   */
  async ask(
    route: string,
    query: Readonly<Record<string, string>> = {},
    options: { readonly node?: string; readonly timeoutMs?: number } = {},
  ): Promise<ClusterAnswers | undefined> {
    const status = await this.status();
    if (status === undefined) return undefined;
    const members = Object.keys(status.view.members).sort();
    const nodes = options.node === undefined ? members : [options.node];
    const answers = await askNodes(
      this.connection,
      nodes,
      { route, query },
      {
        timeoutMs: options.timeoutMs ?? DEFAULT_OPS_TIMEOUT_MS,
      },
    );
    const departed = status.view.changes.filter(
      (change) =>
        change.kind !== 'joined' &&
        status.view.members[change.node] === undefined &&
        (options.node === undefined || options.node === change.node),
    );
    return { status, answers, departed };
  }

  async close(): Promise<void> {
    await this.connections.close();
  }
}

/** The application's registry, for a `--nats` that names one of its nats.connection entries. */
async function applicationSnapshot(
  dir: string,
  entry: string,
  env: Environment,
): Promise<RegistrySnapshot> {
  const loaded = await loadApplication(dir, { env });
  if (!loaded.snapshot) {
    throw new LuactError(
      'INVALID',
      `--nats ${entry}: the application in ${dir} has problems, so its entry cannot be read (luact lint ${dir} lists them)`,
      { retryable: false },
    );
  }
  return loaded.snapshot;
}

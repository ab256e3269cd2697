import { LuactError } from '@luact/core';
import type { LogRecord } from '@luact/lua';
import {
  connectNats,
  type NatsConnection,
  type NatsConnectionSettings,
  redactServer,
  serverList,
  watchConnection,
} from '@luact/nats';
import {
  activateEntry,
  type Entry,
  type Environment,
  type RegistrySnapshot,
} from '@luact/registry';

/**
 * The node's cluster connection: NATS settings (servers, and auth or TLS if needed), or the ID
 * of a `nats.connection` entry of the application whose settings are used.
 */
export type NodeNatsOption = NatsConnectionSettings | { readonly entry: string };

export interface NatsConnectionsOptions {
  readonly snapshot: () => RegistrySnapshot;
  readonly env: Environment;
  /** The application directory: creds and TLS files are relative to it. */
  readonly dir: string;
  readonly log?: ((record: LogRecord) => void) | undefined;
  /** The node's cluster connection (`luact run --nats`). */
  readonly nats?: NodeNatsOption | undefined;
}

/**
 * NATS connections of the node: its cluster connection (`--nats`) and those of its
 * nats.connection entries, each opened once when first needed. Each connection's servers are
 * logged when it opens (never its credentials), and its losses and returns as they happen.
 */
export class NatsConnections {
  private readonly open = new Map<string, Promise<NatsConnection>>();

  constructor(private readonly options: NatsConnectionsOptions) {}

  /** Whether the node has a cluster connection (`--nats`). */
  get hasCluster(): boolean {
    return this.options.nats !== undefined;
  }

  /** The cluster connection; undefined when the node has none. */
  cluster(): Promise<NatsConnection> | undefined {
    const nats = this.options.nats;
    if (nats === undefined) return undefined;
    if ('entry' in nats) {
      const entry = this.options.snapshot().get(nats.entry);
      if (entry?.kind !== 'nats.connection') {
        const what = entry === undefined ? 'no such entry' : `it is a ${entry.kind} entry`;
        return Promise.reject(
          new LuactError(
            'INVALID',
            `--nats ${nats.entry}: not a nats.connection entry of the application (${what}); give server URLs or the ID of a nats.connection entry`,
            { retryable: false },
          ),
        );
      }
      return this.get(entry);
    }
    return this.connect(CLUSTER_LABEL, () => nats);
  }

  get(entry: Entry): Promise<NatsConnection> {
    return this.connect(entry.id, () => {
      const config =
        entry.kind === 'nats.connection' ? activateEntry(entry, this.options.env) : undefined;
      if (!config?.ok) {
        throw new LuactError('INVALID', `${entry.id} is not a usable nats.connection entry`, {
          retryable: false,
        });
      }
      return config.value;
    });
  }

  private connect(label: string, settings: () => NatsConnectionSettings): Promise<NatsConnection> {
    let connection = this.open.get(label);
    if (!connection) {
      const resolved = settings();
      connection = connectNats(resolved, this.options.dir, label).then((opened) => {
        this.announce(label, resolved, opened);
        return opened;
      });
      this.open.set(label, connection);
    }
    return connection;
  }

  private announce(label: string, settings: NatsConnectionSettings, connection: NatsConnection) {
    const { log } = this.options;
    if (!log) return;
    const servers = serverList(settings).map(redactServer);
    log({
      level: 'info',
      message: `NATS connection ${label}: connected to ${connection.getServer()} (servers: ${servers.join(', ')})`,
      fields: { connection: label, server: connection.getServer(), servers },
      labels: { connection: label },
    });
    watchConnection(connection, log, label).catch((error: unknown) =>
      log({
        level: 'warn',
        message: `NATS connection ${label}: its status can no longer be followed: ${LuactError.from(error).message}`,
        fields: { connection: label },
        labels: { connection: label },
      }),
    );
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(
      all.map((connection) =>
        connection.then(
          (c) => c.close(),
          () => {},
        ),
      ),
    );
  }
}

/** How the cluster connection given as servers is named in logs and errors. */
const CLUSTER_LABEL = '--nats';

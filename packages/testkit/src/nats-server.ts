import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { findNatsServerBinary } from './nats-binary.js';
import { type NatsConfig, type NatsUser, renderNatsConfig } from './nats-config.js';
import { launchServer, type NatsServerHandle } from './server-handle.js';

export interface NatsServerOptions {
  /** JetStream with a private store directory (default true). */
  readonly jetstream?: boolean;
  /** Largest accepted message payload in bytes (server default: 1 MiB). */
  readonly maxPayload?: number;
  /** HTTP monitoring on a free port, see `monitorUrl` (default false). */
  readonly monitoring?: boolean;
  /** Client accounts; with any, every client must log in as one of them (default none). */
  readonly users?: readonly NatsUser[];
  /** Extra nats-server arguments, given last so they override the defaults. */
  readonly args?: readonly string[];
  /** Server name (default: the name of its temp directory). */
  readonly name?: string;
  /** Bound for the server to accept clients (default 10 s). */
  readonly readyTimeoutMs?: number;
  /** Bound for a graceful SIGINT stop before SIGKILL (default 5 s). */
  readonly stopTimeoutMs?: number;
  /** The nats-server executable (default: `$NATS_SERVER_BIN`, else found on PATH or in sbin). */
  readonly binary?: string;
}

export const DEFAULT_READY_TIMEOUT_MS = 10_000;
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

/**
 * Starts a private nats-server on a free 127.0.0.1 port with its own temp directory, and resolves
 * once it accepts client connections. Call `stop()` when done; if this process dies first, a
 * watchdog stops the server and removes the directory.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  return launchConfiguredServer({
    binary: findNatsServerBinary(options.binary),
    name: options.name,
    dirPrefix: 'luact-nats-',
    jetstream: options.jetstream !== false,
    config: {
      host: '127.0.0.1',
      port: -1,
      ...(options.monitoring === true && { httpPort: -1 }),
      ...(options.maxPayload !== undefined && { maxPayload: options.maxPayload }),
      ...(options.users !== undefined && { users: options.users }),
    },
    args: options.args ?? [],
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
  });
}

/** Internal: shared by single servers and cluster nodes. */
export interface ConfiguredServerParams {
  readonly binary: string;
  readonly name: string | undefined;
  readonly dirPrefix: string;
  readonly jetstream: boolean;
  readonly config: Omit<NatsConfig, 'serverName' | 'storeDir'>;
  readonly args: readonly string[];
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

/** Creates the server's temp directory and config file, then starts it from the config. */
export async function launchConfiguredServer(
  params: ConfiguredServerParams,
): Promise<NatsServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), params.dirPrefix));
  const storeDir = join(dir, 'js');
  const configFile = join(dir, 'nats.conf');
  const name = params.name ?? basename(dir);
  const config: NatsConfig = {
    ...params.config,
    serverName: name,
    ...(params.jetstream && { storeDir }),
  };
  try {
    await writeFile(configFile, renderNatsConfig(config));
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return launchServer({
    binary: params.binary,
    name,
    dir,
    storeDir,
    // Restarts pin the ports the first start picked (a no-op when the config fixes them).
    args: (fixed) => [
      '-c',
      configFile,
      ...(fixed === undefined ? [] : ['-p', String(fixed.client)]),
      ...(fixed?.monitor === undefined ? [] : ['-m', String(fixed.monitor)]),
      ...params.args,
    ],
    readyTimeoutMs: params.readyTimeoutMs,
    stopTimeoutMs: params.stopTimeoutMs,
  });
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LuactError } from '@luact/core';
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from '@nats-io/transport-node';

/** A `nats.connection` registry entry's settings (its activated config). */
export interface NatsConnectionSettings {
  readonly servers: string | readonly string[];
  readonly name?: string | undefined;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
  /** An nkey seed (`SU…`). */
  readonly nkey?: string | undefined;
  readonly creds_file?: string | undefined;
  readonly tls?:
    | {
        readonly ca_file?: string | undefined;
        readonly cert_file?: string | undefined;
        readonly key_file?: string | undefined;
        readonly handshake_first?: boolean | undefined;
      }
    | undefined;
  /** Milliseconds to wait for the first connection. */
  readonly connect_timeout: number;
}

/**
 * Connects as a `nats.connection` entry says: servers, one way to authenticate, TLS. Files
 * (creds, TLS) are relative to `dir`, the application directory. A server that cannot be
 * reached is UNAVAILABLE, naming the servers.
 */
export async function connectNats(
  settings: NatsConnectionSettings,
  dir: string,
): Promise<NatsConnection> {
  const servers = typeof settings.servers === 'string' ? [settings.servers] : [...settings.servers];
  const options: ConnectionOptions = {
    servers,
    timeout: settings.connect_timeout,
    ...(settings.name !== undefined ? { name: settings.name } : {}),
    ...(settings.user !== undefined ? { user: settings.user, pass: settings.password ?? '' } : {}),
    ...(settings.token !== undefined ? { token: settings.token } : {}),
  };
  if (settings.nkey !== undefined) {
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(settings.nkey));
  }
  if (settings.creds_file !== undefined) {
    options.authenticator = credsAuthenticator(
      await readFile(path.resolve(dir, settings.creds_file)),
    );
  }
  const tls = settings.tls;
  if (tls) {
    options.tls = {
      ...(tls.ca_file !== undefined ? { caFile: path.resolve(dir, tls.ca_file) } : {}),
      ...(tls.cert_file !== undefined ? { certFile: path.resolve(dir, tls.cert_file) } : {}),
      ...(tls.key_file !== undefined ? { keyFile: path.resolve(dir, tls.key_file) } : {}),
      ...(tls.handshake_first !== undefined ? { handshakeFirst: tls.handshake_first } : {}),
    };
  }
  try {
    return await connect(options);
  } catch (error) {
    throw new LuactError(
      'UNAVAILABLE',
      `cannot connect to NATS at ${servers.join(', ')}: ${error instanceof Error ? error.message : String(error)}`,
      { details: { servers } },
    );
  }
}

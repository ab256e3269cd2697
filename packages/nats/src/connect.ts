import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LuactError } from '@luact/core';
import {
  type Authenticator,
  AuthorizationError,
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
  UserAuthenticationExpiredError,
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
  /** Milliseconds to wait for the first connection. Default 5 s. */
  readonly connect_timeout?: number | undefined;
  /** Milliseconds between the client's pings. Default 5 s. */
  readonly ping_interval?: number | undefined;
  /** Unanswered pings after which the connection is stale and redialled. Default 2. */
  readonly max_ping_out?: number | undefined;
  /** Milliseconds before a lost server is redialled. Default 1 s. */
  readonly reconnect_wait?: number | undefined;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_PING_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_PING_OUT = 2;
export const DEFAULT_RECONNECT_WAIT_MS = 1_000;

/**
 * Connects as a `nats.connection` entry says: every server listed, one way to authenticate, TLS.
 * Files (creds, TLS) are relative to `dir`, the application directory; `source` names where the
 * settings came from (an entry ID such as `app:nats`, or `--nats`) in errors.
 *
 * Once connected the client never gives up: it redials lost servers forever (every
 * `reconnect_wait`) and pings every `ping_interval`, so a dead peer is noticed in seconds rather
 * than the client's default two minutes.
 *
 * Errors: a creds/TLS file that cannot be read or a malformed nkey seed or creds file is INVALID
 * (naming the field and the file, never the secret); credentials the server refuses are
 * PERMISSION_DENIED; no server reachable is UNAVAILABLE naming every server tried.
 */
export async function connectNats(
  settings: NatsConnectionSettings,
  dir: string,
  source = 'nats.connection',
): Promise<NatsConnection> {
  const given = serverList(settings);
  // The client ignores credentials written into a URL (nats://user:pass@host): take them out
  // and use them as the settings' own, unless the settings name a way to authenticate.
  const servers = given.map(withoutCredentials);
  const auth: NatsConnectionSettings = { ...settings, ...credentialsInUrls(given, settings) };
  const options: ConnectionOptions = {
    servers,
    timeout: settings.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxReconnectAttempts: -1,
    reconnectTimeWait: settings.reconnect_wait ?? DEFAULT_RECONNECT_WAIT_MS,
    pingInterval: settings.ping_interval ?? DEFAULT_PING_INTERVAL_MS,
    maxPingOut: settings.max_ping_out ?? DEFAULT_MAX_PING_OUT,
    // Otherwise every request (each JetStream publish) builds two Error objects up front for
    // their stack traces; failures reach luact as LuactErrors that name what failed anyway.
    noAsyncTraces: true,
    ...(settings.name !== undefined ? { name: settings.name } : {}),
    ...(auth.user !== undefined ? { user: auth.user, pass: auth.password ?? '' } : {}),
    ...(auth.token !== undefined ? { token: auth.token } : {}),
  };
  const authenticator = await keyAuthenticator(settings, dir, source);
  if (authenticator !== undefined) options.authenticator = authenticator;
  const tls = settings.tls;
  if (tls) {
    // Checked here so a missing file is named; the client reads them again on every dial,
    // which lets certificates be rotated under a running node.
    const file = (field: string, name: string | undefined) =>
      name === undefined ? undefined : readableFile(dir, `tls.${field}`, name, source);
    const [caFile, certFile, keyFile] = await Promise.all([
      file('ca_file', tls.ca_file),
      file('cert_file', tls.cert_file),
      file('key_file', tls.key_file),
    ]);
    options.tls = {
      ...(caFile !== undefined ? { caFile: caFile.path } : {}),
      ...(certFile !== undefined ? { certFile: certFile.path } : {}),
      ...(keyFile !== undefined ? { keyFile: keyFile.path } : {}),
      ...(tls.handshake_first !== undefined ? { handshakeFirst: tls.handshake_first } : {}),
    };
  }
  try {
    return await connect(options);
  } catch (error) {
    throw connectFailure(auth, given, source, error);
  }
}

/** The servers of the settings, as a list. */
export function serverList(settings: Pick<NatsConnectionSettings, 'servers'>): string[] {
  return typeof settings.servers === 'string' ? [settings.servers] : [...settings.servers];
}

/** A server URL as it may be shown: a password or token in it becomes `***`. */
export function redactServer(url: string): string {
  return url.replace(
    /^([a-z]+:\/\/)?([^@/]*)@/i,
    (_, scheme: string | undefined, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return `${scheme ?? ''}${colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`}@`;
    },
  );
}

function withoutCredentials(url: string): string {
  return url.replace(/^([a-z]+:\/\/)?[^@/]*@/i, (_, scheme: string | undefined) => scheme ?? '');
}

/** User and password, or a token, written into the first server URL that has any. */
function credentialsInUrls(
  urls: readonly string[],
  settings: NatsConnectionSettings,
): Pick<NatsConnectionSettings, 'user' | 'password' | 'token'> {
  const authenticates =
    settings.user !== undefined ||
    settings.token !== undefined ||
    settings.nkey !== undefined ||
    settings.creds_file !== undefined;
  if (authenticates) return {};
  for (const url of urls) {
    const userinfo = /^(?:[a-z]+:\/\/)?([^@/]*)@/i.exec(url)?.[1];
    if (userinfo === undefined) continue;
    const colon = userinfo.indexOf(':');
    return colon === -1
      ? { token: decodeURIComponent(userinfo) }
      : {
          user: decodeURIComponent(userinfo.slice(0, colon)),
          password: decodeURIComponent(userinfo.slice(colon + 1)),
        };
  }
  return {};
}

/** The nkey or creds authenticator, checked before any dial so a bad key is named as such. */
async function keyAuthenticator(
  settings: NatsConnectionSettings,
  dir: string,
  source: string,
): Promise<Authenticator | undefined> {
  if (settings.nkey !== undefined) {
    const seed = settings.nkey.trim();
    const authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
    if (!seed.startsWith('SU') || !signs(authenticator)) {
      throw new LuactError(
        'INVALID',
        `${source}: nkey is not a user nkey seed (one starts with "SU"; \`nk -gen user\` makes one)`,
        { retryable: false, details: { source, field: 'nkey' } },
      );
    }
    return authenticator;
  }
  if (settings.creds_file !== undefined) {
    const file = await readableFile(dir, 'creds_file', settings.creds_file, source);
    const authenticator = credsAuthenticator(file.data);
    if (!signs(authenticator)) {
      throw new LuactError(
        'INVALID',
        `${source}: creds_file ${file.path} is not a NATS credentials file (a user JWT and its nkey seed)`,
        { retryable: false, details: { source, field: 'creds_file', file: file.path } },
      );
    }
    return authenticator;
  }
  return undefined;
}

/** Whether the authenticator can sign a nonce: the key material parses. */
function signs(authenticator: Authenticator): boolean {
  try {
    authenticator('luact-check');
    return true;
  } catch {
    return false;
  }
}

async function readableFile(
  dir: string,
  field: string,
  name: string,
  source: string,
): Promise<{ path: string; data: Uint8Array }> {
  const file = path.resolve(dir, name);
  try {
    return { path: file, data: await readFile(file) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : error instanceof Error
              ? error.message
              : String(error);
    throw new LuactError('INVALID', `${source}: cannot read ${field} ${file}: ${reason}`, {
      retryable: false,
      details: { source, field, file },
      cause: error,
    });
  }
}

function connectFailure(
  settings: NatsConnectionSettings,
  servers: readonly string[],
  source: string,
  error: unknown,
): LuactError {
  const reason = error instanceof Error ? error.message : String(error);
  const shown = servers.map(redactServer);
  const at = shown.join(', ');
  if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) {
    return new LuactError(
      'PERMISSION_DENIED',
      `${source}: NATS at ${at} refused ${credentialsUsed(settings)}: ${reason}`,
      { retryable: false, details: { source, servers: shown }, cause: error },
    );
  }
  return new LuactError('UNAVAILABLE', `${source}: cannot connect to NATS at ${at}: ${reason}`, {
    details: { source, servers: shown },
    cause: error,
  });
}

/** How the connection authenticated, in words that never include a secret. */
function credentialsUsed(settings: NatsConnectionSettings): string {
  if (settings.user !== undefined) return `user "${settings.user}" with the password given`;
  if (settings.token !== undefined) return 'the token given';
  if (settings.nkey !== undefined) return 'the nkey given';
  if (settings.creds_file !== undefined) return `the credentials in ${settings.creds_file}`;
  return 'a connection without credentials';
}

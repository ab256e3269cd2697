import {
  anything,
  boolean,
  duration,
  type Infer,
  integer,
  object,
  oneOrMany,
  optional,
  required,
  string,
  withDefault,
} from '../schema/index.js';
import { lifecycle } from './lifecycle.js';

const SERVER_URL = /^((nats|tls|ws|wss):\/\/)?[^\s/]+$/;

const tls = object({
  ca_file: optional(string()),
  cert_file: optional(string()),
  key_file: optional(string()),
  handshake_first: optional(boolean()),
});

export const natsConnection = object(
  {
    servers: required(
      oneOrMany(
        string({ pattern: SERVER_URL, hint: 'a server URL such as "nats://127.0.0.1:4222"' }),
      ),
    ),
    name: optional(string()),
    user: optional(string()),
    password: optional(string()),
    token: optional(string()),
    /** An nkey seed (`SU…`). */
    nkey: optional(string()),
    creds_file: optional(string()),
    tls: optional(tls),
    connect_timeout: withDefault(duration(), 5_000),
    /** How often the client pings the server; a connection missing `max_ping_out` pongs is stale. */
    ping_interval: withDefault(duration(), 5_000),
    max_ping_out: withDefault(integer({ min: 1 }), 2),
    /** How long the client waits before redialling a server it lost (it never stops redialling). */
    reconnect_wait: withDefault(duration(), 1_000),
    lifecycle,
  },
  {
    check(connection, issue) {
      for (const field of ['connect_timeout', 'ping_interval'] as const) {
        if (connection[field] === 0) issue([field], 'must be longer than 0');
      }
      if ((connection.user === undefined) !== (connection.password === undefined)) {
        issue(
          [connection.user === undefined ? 'password' : 'user'],
          'user and password go together',
        );
      }
      const methods = [
        connection.user !== undefined && 'user/password',
        connection.token !== undefined && 'token',
        connection.nkey !== undefined && 'nkey',
        connection.creds_file !== undefined && 'creds_file',
      ].filter((method): method is string => method !== false);
      if (methods.length > 1)
        issue([], `choose one way to authenticate, not ${methods.join(' and ')}`);
    },
  },
);

export type NatsConnectionConfig = Infer<typeof natsConnection>;

/**
 * `temporal.client` from configurations written for the Temporal-backed design. The node keeps
 * its own journal instead; the Temporal address is kept only to be named in a notice.
 */
export const temporalClient = object({
  address: optional(string()),
  namespace: optional(string()),
  auth: optional(anything()),
  tls: optional(anything()),
  health_check: optional(anything()),
  lifecycle,
});

export type TemporalClientConfig = Infer<typeof temporalClient>;

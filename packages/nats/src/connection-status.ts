import type { NatsConnection, Status } from '@nats-io/transport-node';

/** A log record in the node's shape (the runtime's `LogRecord`). */
export interface ConnectionLogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface WatchConnectionOptions {
  /** Milliseconds now; injected so tests can control how long an outage looks. */
  readonly now?: () => number;
}

/**
 * Logs what happens to a NATS connection, until it is closed: lost (warn, with the server),
 * each redial (debug), back (info, with the server and how long it was down), stale — pings
 * unanswered (warn), a server going into lame duck mode (warn), server errors and slow
 * consumers (warn), and closed — for good after an error (error) or by its owner (debug).
 * `label` names the connection in every record (an entry ID such as `app:nats`, or `--nats`).
 * Resolves once the connection is closed and its last record written.
 */
export async function watchConnection(
  connection: NatsConnection,
  log: (record: ConnectionLogRecord) => void,
  label: string,
  options: WatchConnectionOptions = {},
): Promise<void> {
  const now = options.now ?? Date.now;
  const record = (
    level: ConnectionLogRecord['level'],
    message: string,
    fields: Record<string, unknown> = {},
  ): void =>
    log({
      level,
      message,
      fields: { connection: label, ...fields },
      labels: { connection: label },
    });

  let lostAt: number | undefined;
  let redials = 0;
  for await (const status of connection.status()) {
    switch (status.type) {
      case 'disconnect':
        lostAt ??= now();
        redials = 0;
        record('warn', `NATS connection ${label} lost: ${status.server}; redialling`, {
          server: status.server,
        });
        break;
      case 'reconnecting':
        redials += 1;
        record('debug', `NATS connection ${label}: redialling (attempt ${redials})`, {
          attempt: redials,
        });
        break;
      case 'reconnect': {
        const downMs = lostAt === undefined ? 0 : now() - lostAt;
        lostAt = undefined;
        record(
          'info',
          `NATS connection ${label} back: ${status.server} after ${seconds(downMs)} down (${redials} redial${redials === 1 ? '' : 's'})`,
          { server: status.server, downMs, redials },
        );
        break;
      }
      case 'staleConnection':
        record(
          'warn',
          `NATS connection ${label} is stale (the server did not answer its pings); redialling`,
        );
        break;
      case 'ldm':
        record(
          'warn',
          `NATS server ${status.server} is shutting down (lame duck mode); connection ${label} will move to another server`,
          { server: status.server },
        );
        break;
      case 'error':
        record('warn', `NATS connection ${label}: server error: ${status.error.message}`, {
          error: status.error.message,
        });
        break;
      case 'slowConsumer':
        record(
          'warn',
          `NATS connection ${label}: slow consumer on ${status.sub.getSubject()} (${status.pending} messages pending)`,
          { subject: status.sub.getSubject(), pending: status.pending },
        );
        break;
      case 'update':
        record('debug', `NATS connection ${label}: cluster servers changed`, {
          added: status.added,
          deleted: status.deleted,
        });
        break;
      case 'forceReconnect':
        record('debug', `NATS connection ${label}: reconnecting on request`);
        break;
      case 'close':
      case 'ping':
        // The end is reported below, with its reason; pings are too frequent to log.
        break;
      default:
        unhandled(status);
    }
  }
  const failure = await connection.closed();
  if (failure instanceof Error) {
    record('error', `NATS connection ${label} closed for good: ${failure.message}`, {
      error: failure.message,
    });
  } else {
    record('debug', `NATS connection ${label} closed`);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}

function unhandled(status: never): void {
  void (status as Status);
}

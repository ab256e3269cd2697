import { LuactError } from '@luact/core';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';

/**
 * A failed NATS operation as a LuactError naming the server and what failed. No answer, a
 * closed connection or JetStream not answering is UNAVAILABLE (retryable: the outcome of a
 * write is then unknown, and repeating it is safe); an error JetStream reports is INTERNAL.
 */
export function natsFailure(
  connection: NatsConnection,
  action: string,
  cause: unknown,
): LuactError {
  if (cause instanceof LuactError) return cause;
  const server = connection.getServer();
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (isUnreachable(cause)) {
    return new LuactError('UNAVAILABLE', `NATS ${server}: ${action} failed: ${reason}`, {
      retryable: true,
      details: { server },
      cause,
    });
  }
  const code = cause instanceof JetStreamApiError ? cause.code : undefined;
  return new LuactError(
    'INTERNAL',
    `NATS ${server}: ${action} failed: ${reason}${code === undefined ? '' : ` (JetStream error ${code})`}`,
    { details: { server, ...(code === undefined ? {} : { code }) }, cause },
  );
}

/** JetStream refused a publish because the subject's last sequence was not the expected one. */
export function isWrongLastSequence(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence
  );
}

/** No answer, or no connection: the outcome is unknown and asking again is safe. */
export function isUnreachable(error: unknown): boolean {
  return (
    error instanceof TimeoutError ||
    error instanceof ClosedConnectionError ||
    error instanceof DrainingConnectionError ||
    error instanceof ConnectionError ||
    error instanceof NoRespondersError ||
    error instanceof RequestError ||
    (error instanceof Error && error.name === 'JetStreamNotEnabled')
  );
}

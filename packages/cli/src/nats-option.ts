import type { NodeNatsOption } from '@luact/runtime';
import { InvalidArgumentError } from 'commander';

/** A server URL as `nats.connection` entries accept it: scheme optional, no path. */
const SERVER_URL = /^((nats|tls|ws|wss):\/\/)?[^\s/,]+$/;
/** An entry ID (`namespace:name`): a colon followed by something that is not a port number. */
const ENTRY_ID = /^[A-Za-z_][\w.-]*:[A-Za-z_][\w.-]*$/;

/**
 * A `--nats` value: server URLs separated by commas (`nats://a:4222,nats://b:4222`), or the ID
 * of a nats.connection entry of the application (`app:nats`) whose settings (auth, TLS) are
 * then used.
 */
export function natsOption(text: string): NodeNatsOption {
  const value = text.trim();
  if (ENTRY_ID.test(value)) return { entry: value };
  const servers = value.split(',').map((server) => server.trim());
  const bad = servers.find((server) => !SERVER_URL.test(server));
  if (bad !== undefined) {
    throw new InvalidArgumentError(
      bad === ''
        ? 'expected server URLs separated by commas (nats://host:port,…) or a nats.connection entry ID (ns:name)'
        : `"${bad}" is not a NATS server URL (nats://host:port) or a nats.connection entry ID (ns:name)`,
    );
  }
  return { servers };
}

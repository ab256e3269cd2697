import { encodeValue } from '@luact/lua';
import type { Signal } from './transport.js';

const NIL: Uint8Array = Uint8Array.of(0xc0);
const ARRAY_OF_FOUR = 0x94;

/**
 * The details of an event as the Lua side decodes them: the msgpack array
 * [at, value, error, reason]. The value is spliced in as the bytes the process returned, so an
 * exit value is never decoded and re-encoded on its way to a monitor.
 */
export function eventDetails(
  signal: Extract<Signal, { kind: 'exit' | 'link-down' | 'cancel' }>,
): Uint8Array {
  const at = encodeValue(signal.at);
  let value: Uint8Array = NIL;
  let error: Uint8Array = NIL;
  let reason: Uint8Array = NIL;
  if (signal.kind === 'cancel') {
    if (signal.reason !== undefined) reason = encodeValue(signal.reason);
  } else if (signal.outcome.ok) {
    value = signal.outcome.value;
  } else {
    error = encodeValue(signal.outcome.error);
  }
  const out = new Uint8Array(1 + at.length + value.length + error.length + reason.length);
  let offset = 0;
  out[offset++] = ARRAY_OF_FOUR;
  for (const part of [at, value, error, reason]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const EVENT_KIND = { exit: 'EXIT', 'link-down': 'LINK_DOWN', cancel: 'CANCEL' } as const;

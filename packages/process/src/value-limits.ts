import { idProblem, LuactError, PROCESS_NAME_RULE } from '@luact/core';

/**
 * Sizes of the strings a process hands to the runtime that no host limit covers: what the
 * runtime keeps (names, topics of listen channels), copies into other processes (topics,
 * cancel reasons) or echoes in errors (destinations, entry references). Payloads, arguments,
 * context values and exit values are bounded by the receiving host's `max_message_size`
 * instead, and queued mail by its `max_mailbox` and `max_mailbox_bytes`.
 *
 * One set for TypeScript and Lua: `processLua` hands the same numbers to the Lua side of the
 * modules, which checks before a string is copied out of the Lua heap.
 */
export const VALUE_LIMITS = {
  /** A message topic (send, with_message, listen), in bytes. */
  topicBytes: 1024,
  /** A registered name (process.registry, with_name) and a context key, in bytes. */
  nameBytes: 256,
  /** The reason of a cancel request, in bytes. */
  reasonBytes: 65_536,
  /** A destination (PID or name) or an entry or host reference, in bytes. */
  referenceBytes: 2048,
  /** Names registered for one process. */
  namesPerProcess: 64,
  /** Characters of one `print` line or `logger` message; the rest is cut with a note. */
  outputCharacters: 65_536,
} as const;

/** INVALID "<what> of N bytes exceeds the limit of M bytes" when `text` is longer than `limit`. */
export function checkSize(what: string, text: string, limit: number): LuactError | undefined {
  // A UTF-16 unit is at most 3 bytes of UTF-8: short strings need no counting.
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= limit) return undefined;
  return new LuactError(
    'INVALID',
    `${what} of ${bytes} bytes exceeds the limit of ${limit} bytes`,
    {
      retryable: false,
    },
  );
}

export function checkTopic(topic: string): LuactError | undefined {
  return checkSize('topic', topic, VALUE_LIMITS.topicBytes);
}

export function checkReason(reason: string | undefined): LuactError | undefined {
  return reason === undefined ? undefined : checkSize('reason', reason, VALUE_LIMITS.reasonBytes);
}

export function checkReference(what: string, text: string): LuactError | undefined {
  return checkSize(what, text, VALUE_LIMITS.referenceBytes);
}

/**
 * A registered name: core's PROCESS_NAME_RULE (one printable line of 1 to 256 bytes; the error
 * says which character broke it and where), and not shaped like a PID: a destination that
 * looks like `{…}` is taken for one.
 */
export function checkName(name: string): LuactError | undefined {
  const problem = idProblem(name, PROCESS_NAME_RULE);
  if (problem) return problem;
  if (name.startsWith('{') && name.endsWith('}')) {
    return new LuactError('INVALID', `process name "${name}" must not look like a PID ({…|…})`, {
      retryable: false,
    });
  }
  return undefined;
}

/**
 * The constants as a Lua statement for the Lua side of the modules, on one line so the line
 * numbers of the file it precedes stay as written.
 */
export function luaLimitsPrelude(): string {
  const { topicBytes, nameBytes, reasonBytes, referenceBytes } = VALUE_LIMITS;
  return `local LIMITS = { topic = ${topicBytes}, name = ${nameBytes}, reason = ${reasonBytes}, reference = ${referenceBytes} }; `;
}

/** Text of a caller's to quote in an error: its first 64 characters. */
export function shorten(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/** Output text (print, logger messages) within VALUE_LIMITS.outputCharacters, saying what was cut. */
export function boundedOutput(text: string): string {
  const limit = VALUE_LIMITS.outputCharacters;
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}… [cut: ${text.length} characters, the limit is ${limit}]`;
}

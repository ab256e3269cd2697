import { LuactError } from '@luact/core';
import { encodeValue } from '@luact/lua';
import type { HostLimits, ProcessHost } from './host.js';
import { messageBytes } from './mailbox.js';
import type { Process } from './process.js';
import type { SpawnRequest } from './system.js';
import type { ExitOutcome } from './transport.js';
import { checkSize, checkTopic, VALUE_LIMITS } from './value-limits.js';

/**
 * What a process host admits (docs/isolation.md): mail within its mailbox
 * limits, and arguments, context values, startup messages and exit values within its
 * `max_message_size`. Each check answers the error the sender gets, or undefined.
 */

/** Who receives mail on a host: a process, or a workflow run. */
export interface MailboxHolder {
  readonly pid: string;
  readonly host: { readonly id: string; readonly limits: HostLimits };
  /** What it holds not yet received: items and bytes. */
  readonly mailbox: { held(): { readonly length: number; readonly bytes: number } };
}

/**
 * Whether `process`'s mailbox takes one more item of `size` bytes: RATE_LIMITED while it holds
 * `max_mailbox` items or would pass `max_mailbox_bytes` (receiving frees room), INVALID when
 * the item alone is larger than the bytes limit (no room will ever do).
 */
export function mailboxRoom(
  process: MailboxHolder,
  size: number,
  what: string,
): LuactError | undefined {
  const { limits, id } = process.host;
  if (size > limits.max_mailbox_bytes) {
    return new LuactError(
      'INVALID',
      `${what} of ${size} bytes to ${process.pid} exceeds host ${id}'s limit of ${limits.max_mailbox_bytes} bytes (max_mailbox_bytes)`,
      { retryable: false },
    );
  }
  const { length: count, bytes } = process.mailbox.held();
  if (count >= limits.max_mailbox) {
    return new LuactError(
      'RATE_LIMITED',
      `mailbox of ${process.pid} is full: it holds ${count} messages not yet received, the limit of host ${id} (max_mailbox)`,
    );
  }
  if (bytes + size > limits.max_mailbox_bytes) {
    return new LuactError(
      'RATE_LIMITED',
      `mailbox of ${process.pid} is full: it holds ${bytes} bytes not yet received, and a ${what} of ${size} bytes would pass host ${id}'s limit of ${limits.max_mailbox_bytes} bytes (max_mailbox_bytes)`,
    );
  }
  return undefined;
}

/**
 * Whether `caller` may start another function call: not while the calls it awaits and the
 * messages, events and results it holds not yet received reach `max_mailbox`, or what it holds
 * reaches `max_mailbox_bytes` — results of calls are mail (a future never asked keeps its
 * result), so a process cannot pile them up without end; nor while the calls running for the
 * process that started its chain of calls (its callRoot, or itself) reach that process's
 * `max_mailbox`.
 */
export function callRoom(caller: Process, entry: string): LuactError | undefined {
  const { limits, id } = caller.host;
  const awaited = caller.mailbox.awaitingResults;
  const { length: held, bytes } = caller.mailbox.held();
  if (awaited + held >= limits.max_mailbox) {
    return new LuactError(
      'RATE_LIMITED',
      `cannot call ${entry}: ${caller.pid} awaits ${awaited} results and holds ${held} messages, events and results not yet received, the limit of host ${id} (max_mailbox)`,
    );
  }
  if (bytes >= limits.max_mailbox_bytes) {
    return new LuactError(
      'RATE_LIMITED',
      `cannot call ${entry}: ${caller.pid} holds ${bytes} bytes not yet received, the limit of host ${id} (max_mailbox_bytes)`,
    );
  }
  // The calls a chain of calls makes count against the process that started it: each level
  // a new caller, a function that calls itself would otherwise fill the node's function host.
  const root = caller.callRoot ?? caller;
  if (root.nestedCalls >= root.host.limits.max_mailbox) {
    return new LuactError(
      'RATE_LIMITED',
      `cannot call ${entry}: the calls ${root.pid} made, and the calls those made, number ${root.nestedCalls}, the limit of host ${root.host.id} (max_mailbox)`,
      // Retried, a chain that reached it (a function calling itself) would only grow again.
      { retryable: false },
    );
  }
  return undefined;
}

function tooLargeFor(what: string, size: number, entry: string, host: ProcessHost): LuactError {
  return new LuactError(
    'INVALID',
    `${what} of ${size} bytes to ${entry} ${what === 'arguments' ? 'exceed' : 'exceeds'} host ${host.id}'s limit of ${host.limits.max_message_size} bytes (max_message_size)`,
    { retryable: false },
  );
}

/**
 * Whether `to` takes a message with `payload`: INVALID past its host's `max_message_size`,
 * RATE_LIMITED while its mailbox is full (see mailboxRoom).
 */
export function messageRoom(
  to: MailboxHolder,
  topic: string,
  payload: Uint8Array,
): LuactError | undefined {
  const { limits, id } = to.host;
  if (payload.length > limits.max_message_size) {
    return new LuactError(
      'INVALID',
      `message of ${payload.length} bytes to ${to.pid} exceeds host ${id}'s limit of ${limits.max_message_size} bytes`,
      { retryable: false },
    );
  }
  return mailboxRoom(to, messageBytes(topic, payload), 'message');
}

/** The arguments of a spawn, call or upgrade are a message to the new code. */
export function checkArguments(
  args: Uint8Array,
  entry: string,
  host: ProcessHost,
): LuactError | undefined {
  return args.length > host.limits.max_message_size
    ? tooLargeFor('arguments', args.length, entry, host)
    : undefined;
}

/** Context values travel with every spawn and call: keys like names, all of it like a message. */
export function checkContext(
  context: ReadonlyMap<string, Uint8Array> | undefined,
  entry: string,
  host: ProcessHost,
): LuactError | undefined {
  if (context === undefined) return undefined;
  let size = 0;
  for (const [key, value] of context) {
    const invalid = checkSize('context key', key, VALUE_LIMITS.nameBytes);
    if (invalid) return invalid;
    size += messageBytes(key, value);
  }
  return size > host.limits.max_message_size
    ? tooLargeFor('context', size, entry, host)
    : undefined;
}

/** Startup messages (with_message) are the new process's first mail: the mailbox limits hold. */
export function checkStartupMessages(
  messages: SpawnRequest['messages'],
  entry: string,
  host: ProcessHost,
): LuactError | undefined {
  if (messages === undefined || messages.length === 0) return undefined;
  const { limits } = host;
  let size = 0;
  for (const message of messages) {
    const invalid = checkTopic(message.topic);
    if (invalid) return invalid;
    if (message.payload.length > limits.max_message_size)
      return tooLargeFor('startup message', message.payload.length, entry, host);
    size += messageBytes(message.topic, message.payload);
  }
  if (messages.length > limits.max_mailbox) {
    return new LuactError(
      'RATE_LIMITED',
      `cannot spawn ${entry} with ${messages.length} startup messages: host ${host.id} allows ${limits.max_mailbox} messages not yet received (max_mailbox)`,
    );
  }
  if (size > limits.max_mailbox_bytes) {
    return new LuactError(
      'RATE_LIMITED',
      `cannot spawn ${entry} with startup messages of ${size} bytes: host ${host.id} allows ${limits.max_mailbox_bytes} bytes not yet received (max_mailbox_bytes)`,
    );
  }
  return undefined;
}

/**
 * An exit outcome as `receiver` gets it (EXIT, LINK_DOWN, exec and call results): one larger
 * than its host's max_message_size becomes an error that says so, keeping the kind of an error.
 * It is never dropped: a watcher always learns that the process ended.
 */
export function fitting(outcome: ExitOutcome, from: string, receiver: Process): ExitOutcome {
  const { limits, id } = receiver.host;
  const limit = limits.max_message_size;
  const cut = (what: string, size: number) =>
    `${from} ended with ${what} of ${size} bytes, above host ${id}'s limit of ${limit} bytes (max_message_size)`;
  if (outcome.ok) {
    if (outcome.value.length <= limit) return outcome;
    return {
      ok: false,
      error: new LuactError('INVALID', cut('a value', outcome.value.length), { retryable: false }),
    };
  }
  const size = encodeValue(outcome.error).length;
  if (size <= limit) return outcome;
  const { kind, message, retryable } = outcome.error;
  return {
    ok: false,
    error: new LuactError(kind, `${message.slice(0, 1024)}… (${cut('an error', size)})`, {
      retryable,
    }),
  };
}

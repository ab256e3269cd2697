import type { LogRecord } from '@luact/lua';
import { sortedKeys, toJsonText } from '@luact/runtime';

// What people read on a terminal; scripts get JSON (`--json`, or any output that is not a TTY).

/**
 * A value as short lines: a table of records (`{ ["A-1"] = { ok = true, result = … } }`) is one
 * line per key, an `{ok, result | error}` record shown as ✓/✗; anything else as `key: value`.
 */
export function renderValue(value: unknown): string {
  return renderPlain(sortedKeys(value));
}

function renderPlain(value: unknown): string {
  if (!isRecord(value) || isErrorData(value)) return inline(value);
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  const width = Math.max(...keys.map((key) => key.length));
  return keys
    .map((key) => {
      const item = value[key];
      return `${key.padEnd(width)}  ${isRecord(item) ? recordLine(item) : inline(item)}`;
    })
    .join('\n');
}

/** An exec's outcome for people: the value, or ✗ and the error. */
export function renderOutcome(
  outcome:
    | { readonly ok: true; readonly value: unknown }
    | { readonly ok: false; readonly error: { readonly kind: string; readonly message: string } },
): string {
  return outcome.ok
    ? `${renderValue(outcome.value)}\n`
    : `✗ ${outcome.error.kind}: ${outcome.error.message}\n`;
}

/** `12:04:05.120 INFO  service state  service=app:db state=running` (local time). */
export function renderLogRecord(record: LogRecord, at: Date): string {
  const time = at.toTimeString().slice(0, 8);
  const ms = String(at.getMilliseconds()).padStart(3, '0');
  const fields = inline({ ...record.labels, ...record.fields });
  return `${time}.${ms} ${record.level.toUpperCase().padEnd(5)} ${record.message}${fields === '{}' ? '' : `  ${fields}`}`;
}

/** A log record as one JSON line: time (ISO, UTC), level, msg, then the rest by key. */
export function jsonLogRecord(record: LogRecord, at: Date): string {
  return toJsonText({
    time: at.toISOString(),
    level: record.level,
    msg: record.message,
    ...(sortedKeys({ ...record.labels, ...record.fields }) as object),
  });
}

function recordLine(record: Record<string, unknown>): string {
  if (isErrorData(record)) return `✗ ${inline(record)}`;
  if (typeof record.ok === 'boolean') {
    const { ok, result, error, ...rest } = record;
    const shown = ok ? (result === undefined ? rest : result) : error;
    return `${ok ? '✓' : '✗'} ${inline(shown)}`;
  }
  return inline(record);
}

/** A value on one line: `a=1 b.c=x` for tables, text as it is, JSON for the rest. */
function inline(value: unknown): string {
  if (value === undefined || value === null) return 'nil';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (isErrorData(value)) return `${value.kind}: ${value.message}`;
  if (isRecord(value)) {
    const pairs = flatten(value);
    return pairs.length === 0
      ? '{}'
      : pairs.map(([key, item]) => `${key}=${quotedIfSpaced(item)}`).join(' ');
  }
  return toJsonText(value);
}

/** `a=x y` would read as two fields: such values are quoted. */
function quotedIfSpaced(text: string): string {
  return /[\s="]/.test(text) || text === '' ? JSON.stringify(text) : text;
}

function flatten(record: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.keys(record)
    .sort()
    .flatMap((key) => {
      const item = record[key];
      const path = `${prefix}${key}`;
      return isRecord(item) && Object.keys(item).length > 0
        ? flatten(item, `${path}.`)
        : [[path, inline(item)] as [string, string]];
    });
}

/** An error in its data form `{kind, message, retryable, details?}`. */
function isErrorData(value: unknown): value is { kind: string; message: string } {
  return (
    isRecord(value) &&
    typeof value.kind === 'string' &&
    typeof value.message === 'string' &&
    typeof value.retryable === 'boolean'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Error) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

import { LuactError } from '@luact/core';

/**
 * JSON text of a value that came from Lua, the wire or a journal: error objects as their data
 * form `{kind, message, retryable, details?}` (JSON.stringify alone would keep only their own
 * enumerable fields and lose the message), bigints as decimal text, bytes as base64, maps as
 * objects.
 */
export function toJsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, plainValue, indent) ?? 'null';
}

function plainValue(_key: string, value: unknown): unknown {
  if (value instanceof LuactError) return value.toData();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/**
 * The value with every object's keys in sorted order, maps as objects and errors in their data
 * form, so the JSON of a Lua table (whose iteration order varies) reads the same every run.
 */
export function sortedKeys(value: unknown): unknown {
  if (value instanceof LuactError) return sortedKeys(value.toData());
  if (value instanceof Map) return sortedKeys(Object.fromEntries(value));
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (
    typeof value !== 'object' ||
    value === null ||
    Object.getPrototypeOf(value) !== Object.prototype
  )
    return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortedKeys(record[key])]),
  );
}

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

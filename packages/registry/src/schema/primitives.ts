import { type EntryId, parseByteSize, parseDuration, resolveReference } from '@luact/core';
import type { FieldPath } from '../field-path.js';
import { hasPlaceholder } from '../placeholders.js';
import {
  type DecodeContext,
  type Decoder,
  INVALID,
  type Invalid,
  invalidValue,
  wrongType,
} from './decoder.js';

/**
 * A string-typed field holding a placeholder is taken as written while loading; its value is
 * checked once the placeholder has been resolved at activation.
 */
function deferredAtLoad(value: unknown, cx: DecodeContext): value is string {
  return cx.phase === 'load' && typeof value === 'string' && hasPlaceholder(value);
}

export function string(options: { pattern?: RegExp; hint?: string } = {}): Decoder<string> {
  const expected = options.hint ?? 'a string';
  return {
    expected,
    decode(value, path, cx) {
      if (typeof value !== 'string') return wrongType(cx, path, expected, value);
      if (deferredAtLoad(value, cx)) return value;
      if (options.pattern && !options.pattern.test(value)) {
        return invalidValue(cx, path, `"${value}" is not ${expected}`);
      }
      return value;
    },
  };
}

/** The Lua text of an entry (after `file://` resolution); never subject to placeholders. */
export function sourceText(): Decoder<string> {
  return {
    expected: 'Lua source text or file://path',
    decode: (value, path, cx) =>
      typeof value === 'string'
        ? value
        : wrongType(cx, path, 'Lua source text or file://path', value),
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Decoder<T> {
  const expected = `one of ${values.map((v) => `"${v}"`).join(', ')}`;
  return {
    expected,
    decode(value, path, cx) {
      if (typeof value !== 'string') return wrongType(cx, path, expected, value);
      if (deferredAtLoad(value, cx)) return value as T;
      return (values as readonly string[]).includes(value)
        ? (value as T)
        : invalidValue(cx, path, `"${value}" is not ${expected}`);
    },
  };
}

export function boolean(): Decoder<boolean> {
  return {
    expected: 'true or false',
    decode: (value, path, cx) =>
      typeof value === 'boolean' ? value : numericOrBoolean(cx, path, 'true or false', value),
  };
}

export function integer(range: Range = {}): Decoder<number> {
  return numeric('an integer', Number.isSafeInteger, range);
}

export function number(range: Range = {}): Decoder<number> {
  return numeric('a number', Number.isFinite, range);
}

interface Range {
  readonly min?: number;
  readonly max?: number;
}

function numeric(noun: string, accepts: (value: number) => boolean, range: Range): Decoder<number> {
  const expected = describeRange(noun, range);
  return {
    expected,
    decode(value, path, cx) {
      if (typeof value !== 'number' || !accepts(value))
        return numericOrBoolean(cx, path, expected, value);
      return inRange(value, range) ? value : invalidValue(cx, path, `${value} is not ${expected}`);
    },
  };
}

/** A duration written like `"250ms"` or `"1h30m"`, decoded to milliseconds. */
export function duration(options: { min?: number } = {}): Decoder<number> {
  const min = options.min ?? 0;
  const expected = 'a duration such as "250ms", "5s" or "1h30m"';
  return {
    expected,
    decode(value, path, cx) {
      if (deferredAtLoad(value, cx)) return 0;
      if (typeof value !== 'string' && value !== 0) return wrongType(cx, path, expected, value);
      const parsed = parseDuration(String(value));
      if (!parsed.ok) return invalidValue(cx, path, parsed.error);
      if (parsed.value < min) {
        return invalidValue(cx, path, `"${value}" is negative; a duration here must be at least 0`);
      }
      return parsed.value;
    },
  };
}

/** A size in bytes: a whole number or text such as `"64KiB"`. */
export function byteSize(): Decoder<number> {
  const expected = 'a byte size such as 65536, "64KiB" or "1MB"';
  return {
    expected,
    decode(value, path, cx) {
      if (deferredAtLoad(value, cx)) return 0;
      if (typeof value !== 'string' && typeof value !== 'number') {
        return wrongType(cx, path, expected, value);
      }
      const parsed = parseByteSize(value);
      return parsed.ok ? parsed.value : invalidValue(cx, path, parsed.error);
    },
  };
}

/** A reference to another entry, `name` (same namespace) or `namespace:name`. */
export function reference(kinds: readonly string[] = []): Decoder<EntryId> {
  const expected = kinds.length === 0 ? 'an entry ID' : `the ID of a ${kinds.join(' or ')} entry`;
  return {
    expected,
    decode(value, path, cx) {
      if (typeof value !== 'string') return wrongType(cx, path, expected, value);
      if (hasPlaceholder(value)) {
        return invalidValue(
          cx,
          path,
          'references are fixed at load time and cannot use env placeholders',
        );
      }
      const resolved = resolveReference(value, cx.namespace);
      if (!resolved.ok) {
        cx.report({
          severity: 'error',
          code: 'bad-reference',
          path,
          at: 'value',
          message: resolved.error,
        });
        return INVALID;
      }
      cx.refer({ path, target: resolved.value, kinds });
      return resolved.value;
    },
  };
}

/** Any value at all, kept as written (free-form payloads such as process input). */
export function anything(): Decoder<unknown> {
  return { expected: 'any value', decode: (value) => value };
}

function numericOrBoolean(
  cx: DecodeContext,
  path: FieldPath,
  expected: string,
  value: unknown,
): Invalid {
  if (typeof value === 'string' && hasPlaceholder(value)) {
    return invalidValue(
      cx,
      path,
      `expected ${expected}; \${env:…} placeholders only work in string fields`,
    );
  }
  return wrongType(cx, path, expected, value);
}

function describeRange(noun: string, { min, max }: Range): string {
  if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
  if (min !== undefined) return min === 0 ? `${noun} ≥ 0` : `${noun} ≥ ${min}`;
  if (max !== undefined) return `${noun} ≤ ${max}`;
  return noun;
}

function inRange(value: number, { min, max }: Range): boolean {
  return (min === undefined || value >= min) && (max === undefined || value <= max);
}

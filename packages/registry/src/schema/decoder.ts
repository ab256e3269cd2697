import type { EntryId } from '@luact/core';
import type { FieldPath } from '../field-path.js';

/**
 * Entries are decoded twice. At `load` (when an entry enters the registry) placeholders are
 * still unresolved, so string-typed fields that contain one are accepted as written and only
 * their shape is checked; at `activate` every placeholder has been substituted and the decoded
 * value is the entry's typed configuration.
 */
export type Phase = 'load' | 'activate';

export type SchemaIssueCode =
  | 'missing-field'
  | 'wrong-type'
  | 'invalid-value'
  | 'unknown-field'
  | 'bad-reference';

export interface SchemaIssue {
  readonly severity: 'error' | 'warning';
  readonly code: SchemaIssueCode;
  readonly path: FieldPath;
  readonly message: string;
  /** Point at the field's key (missing or unknown fields) or at its value. */
  readonly at: 'key' | 'value';
}

/** A field that names another entry; the registry checks that the target exists and fits. */
export interface Reference {
  readonly path: FieldPath;
  readonly target: EntryId;
  /** Kinds the target may have; empty means any kind. */
  readonly kinds: readonly string[];
}

export interface DecodeContext {
  readonly phase: Phase;
  /** The namespace relative references resolve against. */
  readonly namespace: string;
  report(issue: SchemaIssue): void;
  refer(reference: Reference): void;
}

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export interface Decoder<T> {
  /** What a valid value looks like, for messages: `a duration such as "5s"`. */
  readonly expected: string;
  decode(value: unknown, path: FieldPath, cx: DecodeContext): T | Invalid;
}

export type Infer<D> = D extends Decoder<infer T> ? T : never;

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(truncate(value))}`;
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export function wrongType(
  cx: DecodeContext,
  path: FieldPath,
  expected: string,
  value: unknown,
): Invalid {
  cx.report({
    severity: 'error',
    code: 'wrong-type',
    path,
    at: 'value',
    message: `expected ${expected}, got ${describeValue(value)}`,
  });
  return INVALID;
}

export function invalidValue(cx: DecodeContext, path: FieldPath, message: string): Invalid {
  cx.report({ severity: 'error', code: 'invalid-value', path, at: 'value', message });
  return INVALID;
}

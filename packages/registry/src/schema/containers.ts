import type { FieldPath } from '../field-path.js';
import { didYouMean } from '../suggest.js';
import {
  type DecodeContext,
  type Decoder,
  INVALID,
  type Invalid,
  type Phase,
  wrongType,
} from './decoder.js';

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function list<T>(item: Decoder<T>): Decoder<T[]> {
  const expected = `a list of ${item.expected}`;
  return {
    expected,
    decode(value, path, cx) {
      if (!Array.isArray(value)) return wrongType(cx, path, expected, value);
      return collect(value.map((element, index) => item.decode(element, [...path, index], cx)));
    },
  };
}

/** A single value or a list of them, always decoded to a list (`servers: nats://…`). */
export function oneOrMany<T>(item: Decoder<T>): Decoder<T[]> {
  const many = list(item);
  return {
    expected: `${item.expected} or a list of them`,
    decode: (value, path, cx) =>
      Array.isArray(value) ? many.decode(value, path, cx) : collect([item.decode(value, path, cx)]),
  };
}

/** A mapping with free keys (`imports: {alias: ns:lib}`); keys must match `key.pattern`. */
export function record<T>(
  item: Decoder<T>,
  key: { pattern: RegExp; hint: string },
): Decoder<Record<string, T>> {
  const expected = `a mapping of ${key.hint} to ${item.expected}`;
  return {
    expected,
    decode(value, path, cx) {
      if (!isMapping(value)) return wrongType(cx, path, expected, value);
      const out: Record<string, T> = {};
      let valid = true;
      for (const [name, element] of Object.entries(value)) {
        if (!key.pattern.test(name)) {
          cx.report({
            severity: 'error',
            code: 'invalid-value',
            path: [...path, name],
            at: 'key',
            message: `"${name}" is not ${key.hint}`,
          });
          valid = false;
          continue;
        }
        const decoded = item.decode(element, [...path, name], cx);
        if (decoded === INVALID) valid = false;
        else out[name] = decoded;
      }
      return valid ? out : INVALID;
    },
  };
}

export interface Field<T, Present extends boolean> {
  readonly decoder: Decoder<T>;
  /** Whether the decoded object always has this key (required, or has a default). */
  readonly present: Present;
  readonly required: boolean;
  readonly fallback?: T;
  /** Another accepted spelling of the key (`depends_on` for `requires`). */
  readonly alias?: string;
}

export function required<T>(decoder: Decoder<T>): Field<T, true> {
  return { decoder, present: true, required: true };
}

export function optional<T>(
  decoder: Decoder<T>,
  options: { alias?: string } = {},
): Field<T, false> {
  return { decoder, present: false, required: false, ...options };
}

export function withDefault<T>(
  decoder: Decoder<T>,
  fallback: T,
  options: { alias?: string } = {},
): Field<T, true> {
  return { decoder, present: true, required: false, fallback, ...options };
}

/**
 * A nested mapping that may be left out: absent, it is what decoding `{}` gives, so its
 * defaults are written once, on its fields.
 */
export function section<T>(decoder: Decoder<T>): Field<T, true> {
  return withDefault(decoder, defaultsOf(decoder));
}

/** The value `decoder` gives an empty mapping; every field must be optional or defaulted. */
export function defaultsOf<T>(decoder: Decoder<T>): T {
  const decoded = decoder.decode({}, [], {
    phase: 'activate',
    namespace: 'defaults',
    report: (issue) => {
      throw new Error(`schema defaults are invalid: ${issue.message}`);
    },
    refer: () => {},
  });
  if (decoded === INVALID) throw new Error('schema defaults are invalid');
  return decoded;
}

type Shape = Record<string, Field<unknown, boolean>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type FieldValue<F> = F extends Field<infer T, boolean> ? T : never;

export type ObjectOf<S extends Shape> = Simplify<
  { readonly [K in keyof S as S[K] extends Field<unknown, true> ? K : never]: FieldValue<S[K]> } & {
    readonly [K in keyof S as S[K] extends Field<unknown, true> ? never : K]?: FieldValue<S[K]>;
  }
>;

export type CheckIssue = (path: FieldPath, message: string) => void;

export interface ObjectOptions<T> {
  /** Free-form objects accept any extra keys without a warning. */
  readonly open?: boolean;
  /**
   * Rules across fields (exactly one of two keys, unique IDs, ordered bounds). At `load`,
   * fields that hold placeholders are not decoded yet, so a rule that compares such values
   * should only run at `activate`.
   */
  readonly check?: (value: T, issue: CheckIssue, phase: Phase) => void;
}

export function object<S extends Shape>(
  shape: S,
  options: ObjectOptions<ObjectOf<S>> = {},
): Decoder<ObjectOf<S>> {
  const aliases = new Map<string, string>();
  for (const [key, field] of Object.entries(shape)) if (field.alias) aliases.set(field.alias, key);
  const known = [...Object.keys(shape), ...aliases.keys()];
  return {
    expected: 'a mapping',
    decode(value, path, cx) {
      if (!isMapping(value)) return wrongType(cx, path, 'a mapping', value);
      const out: Record<string, unknown> = {};
      let valid = true;
      for (const [key, field] of Object.entries(shape)) {
        const decoded = decodeField(value, key, field, path, cx);
        if (decoded === INVALID) valid = false;
        else if (decoded !== ABSENT) out[key] = decoded;
      }
      if (!options.open) warnUnknownKeys(value, known, path, cx);
      if (!valid) return INVALID;
      const result = out as ObjectOf<S>;
      if (options.check) {
        let passed = true;
        options.check(
          result,
          (at, message) => {
            passed = false;
            cx.report({
              severity: 'error',
              code: 'invalid-value',
              path: [...path, ...at],
              at: 'value',
              message,
            });
          },
          cx.phase,
        );
        if (!passed) return INVALID;
      }
      return options.open ? ({ ...value, ...result } as ObjectOf<S>) : result;
    },
  };
}

const ABSENT: unique symbol = Symbol('absent');

function decodeField(
  value: Record<string, unknown>,
  key: string,
  field: Field<unknown, boolean>,
  path: FieldPath,
  cx: DecodeContext,
): unknown | Invalid | typeof ABSENT {
  const spelled = field.alias !== undefined && field.alias in value ? field.alias : key;
  if (field.alias !== undefined && key in value && field.alias in value) {
    cx.report({
      severity: 'error',
      code: 'invalid-value',
      path: [...path, field.alias],
      at: 'key',
      message: `"${field.alias}" and "${key}" mean the same; write only one of them`,
    });
    return INVALID;
  }
  const raw = value[spelled];
  if (raw === undefined || raw === null) {
    if (field.required) {
      cx.report({
        severity: 'error',
        code: 'missing-field',
        path: raw === null ? [...path, spelled] : path,
        at: raw === null ? 'value' : 'key',
        message: `missing required field "${key}" (${field.decoder.expected})`,
      });
      return INVALID;
    }
    return 'fallback' in field ? field.fallback : ABSENT;
  }
  return field.decoder.decode(raw, [...path, spelled], cx);
}

function warnUnknownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  path: FieldPath,
  cx: DecodeContext,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    cx.report({
      severity: 'warning',
      code: 'unknown-field',
      path: [...path, key],
      at: 'key',
      message: `unknown field "${key}" is ignored${didYouMean(key, known)}`,
    });
  }
}

/** Transforms a decoded value (e.g. an alias kind's fields into its canonical configuration). */
export function map<T, U>(decoder: Decoder<T>, transform: (value: T) => U): Decoder<U> {
  return {
    expected: decoder.expected,
    decode(value, path, cx) {
      const decoded = decoder.decode(value, path, cx);
      return decoded === INVALID ? INVALID : transform(decoded);
    },
  };
}

function collect<T>(values: readonly (T | Invalid)[]): T[] | Invalid {
  return values.includes(INVALID) ? INVALID : (values as T[]);
}

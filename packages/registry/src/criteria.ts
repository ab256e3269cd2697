import { err, ok, type Result } from '@luact/core';
import type { Entry } from './entry.js';

/**
 * Criteria to find entries by, in Wippy's shape: a table of fields that must all match.
 *
 * - `.kind`, `.ns`, `.name`, `.id` match the entry itself; `*` in the value is a wildcard
 *   (`"function.*"`, `"app.*"`). A bare `kind` is `.kind`. The kind matches as declared or
 *   canonical (`temporal.worker` and `workflow.host` both find a `temporal.worker` entry).
 * - `meta.X`, or a bare `X`, is meta field X: equal, or for a list value, a list holding all
 *   of it. A `meta = {…}` table lists several such fields.
 * - `~meta.X` (a regular expression), `*meta.X` (contains; in a string or any string of a
 *   list), `^meta.X` (starts with), `$meta.X` (ends with) compare string values.
 */
export type EntryCriteria = Readonly<Record<string, unknown>>;

type Test = (entry: Entry) => boolean;

const ROOT_FIELDS: Readonly<Record<string, (entry: Entry) => readonly string[]>> = {
  kind: (entry) => [entry.declaredKind, entry.kind],
  ns: (entry) => [entry.namespace],
  name: (entry) => [entry.name],
  id: (entry) => [entry.id],
};

const TEXT_OPERATORS: Readonly<Record<string, (pattern: string) => (text: string) => boolean>> = {
  '*': (pattern) => (text) => text.includes(pattern),
  '^': (pattern) => (text) => text.startsWith(pattern),
  $: (pattern) => (text) => text.endsWith(pattern),
};

/** The entries matching every criterion, in the order given; or what is wrong with the criteria. */
export function findEntries(
  entries: readonly Entry[],
  criteria: EntryCriteria,
): Result<Entry[], string> {
  const tests: Test[] = [];
  for (const [key, value] of Object.entries(criteria)) {
    const test = key === 'meta' ? metaTableTest(value) : criterionTest(key, value);
    if (typeof test === 'string') return err(test);
    tests.push(...test);
  }
  return ok(entries.filter((entry) => tests.every((test) => test(entry))));
}

function metaTableTest(value: unknown): Test[] | string {
  if (!isRecord(value))
    return `criterion meta must be a table of meta fields, not ${describeValue(value)}`;
  return Object.entries(value).map(([field, expected]) => metaEquals(field, expected));
}

function criterionTest(key: string, value: unknown): Test[] | string {
  if (key.startsWith('.') || key === 'kind') {
    const field = key.startsWith('.') ? key.slice(1) : key;
    const read = ROOT_FIELDS[field];
    if (!read) return `unknown criterion "${key}" (entry fields: .kind, .ns, .name, .id)`;
    if (typeof value !== 'string')
      return `criterion ${key} must be a string, not ${describeValue(value)}`;
    const matches = globMatcher(value);
    return [(entry) => read(entry).some(matches)];
  }
  const operator = '~*^$'.includes(key[0] ?? '') ? (key[0] as string) : '';
  const rest = key.slice(operator.length);
  const field = rest.startsWith('meta.') ? rest.slice('meta.'.length) : rest;
  if (field === '') return `criterion "${key}" names no meta field`;
  if (operator === '') return [metaEquals(field, value)];
  if (typeof value !== 'string')
    return `criterion ${key} must be a string, not ${describeValue(value)}`;
  let matches: (text: string) => boolean;
  if (operator === '~') {
    try {
      const pattern = new RegExp(value, 'u');
      matches = (text) => pattern.test(text);
    } catch (error) {
      return `criterion ${key}: ${(error as Error).message}`;
    }
  } else {
    matches = (TEXT_OPERATORS[operator] as (pattern: string) => (text: string) => boolean)(value);
  }
  // Contains also looks into lists of strings (tags); the others read a string field only.
  return [
    (entry) => {
      const actual = entry.meta[field];
      if (typeof actual === 'string') return matches(actual);
      return (
        operator === '*' &&
        Array.isArray(actual) &&
        actual.some((item) => typeof item === 'string' && matches(item))
      );
    },
  ];
}

function metaEquals(field: string, expected: unknown): Test {
  return (entry) => {
    if (!Object.hasOwn(entry.meta, field)) return false;
    const actual = entry.meta[field];
    if (Array.isArray(expected) && Array.isArray(actual)) {
      return expected.every((wanted) => actual.some((item) => sameValue(item, wanted)));
    }
    return sameValue(actual, expected);
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]))
    );
  }
  return false;
}

/** `*` matches any run of characters; everything else matches itself. */
function globMatcher(pattern: string): (text: string) => boolean {
  if (!pattern.includes('*')) return (text) => text === pattern;
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  const regex = new RegExp(`^${escaped.join('.*')}$`, 's');
  return (text) => regex.test(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a table' : `${typeof value} ${JSON.stringify(value)}`;
}

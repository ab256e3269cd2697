import { type EntryId, LuactError, resolveReference, splitEntryId } from '@luact/core';
import type { Change, Diagnostic, Entry, EntryDefinition } from '@luact/registry';

/** An entry as Lua sees it, in Wippy's shape: the kind as declared, kind fields under `data`. */
export interface LuaEntryView {
  readonly id: string;
  readonly kind: string;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly data: Readonly<Record<string, unknown>>;
}

export function entryView(entry: Entry): LuaEntryView {
  return { id: entry.id, kind: entry.declaredKind, meta: entry.meta, data: entry.fields };
}

const ENTRY_FIELDS = new Set(['id', 'kind', 'meta', 'data']);

/** The operation kinds of a Lua change set, as `changes:ops()` lists them. */
const OPERATIONS: Readonly<Record<string, Change['op']>> = {
  'entry.create': 'create',
  'entry.update': 'update',
  'entry.delete': 'delete',
};

/**
 * An entry ID written in Lua; a bare name is resolved in the calling entry's namespace, as
 * `funcs.call` and `env.get` do.
 */
export function luaEntryId(written: unknown, namespace: string | undefined, what: string): EntryId {
  if (typeof written !== 'string') throw invalid(`${what} must be a string entry ID`);
  const resolved = resolveReference(written, namespace ?? '');
  if (!resolved.ok) throw invalid(`${what}: ${resolved.error}`);
  return resolved.value;
}

/**
 * The change set a Lua `changes` object built (`{kind = "entry.create", entry = {…}}` …), or
 * INVALID naming the operation (by its position) and what is wrong with it.
 */
export function changeSetOf(ops: unknown, namespace: string | undefined): Change[] {
  if (!Array.isArray(ops) || ops.length === 0) throw invalid('no changes to apply');
  return ops.map((op, index): Change => {
    const where = `operation ${index + 1}`;
    if (!isRecord(op) || !isRecord(op.entry)) throw invalid(`${where} has no entry table`);
    const kind = typeof op.kind === 'string' ? OPERATIONS[op.kind] : undefined;
    if (!kind) throw invalid(`${where}: unknown operation kind ${JSON.stringify(op.kind)}`);
    const id = luaEntryId(op.entry.id, namespace, `${where} (${op.kind}): the entry's id`);
    if (kind === 'delete') return { op: 'delete', id };
    return { op: kind, definition: definitionOf(op.entry, id, `${where} (${op.kind}, ${id})`) };
  });
}

function definitionOf(entry: Record<string, unknown>, id: EntryId, where: string): EntryDefinition {
  for (const key of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(key)) {
      throw invalid(`${where}: unknown field "${key}" (an entry has id, kind, meta, data)`);
    }
  }
  if (typeof entry.kind !== 'string') throw invalid(`${where}: kind must be a string`);
  const meta = tableField(entry.meta, `${where}: meta`);
  const fields = tableField(entry.data, `${where}: data`);
  const { namespace, name } = splitEntryId(id);
  return { namespace, name, kind: entry.kind, ...(meta ? { meta } : {}), fields: fields ?? {} };
}

/** A table of fields, or nothing; an empty Lua table may arrive as an empty list. */
function tableField(value: unknown, what: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.length === 0) return {};
  // A table with list items arrives as a list, or as a Map when it has named fields too.
  if (!isRecord(value) || value instanceof Map)
    throw invalid(`${what} must be a table of named fields`);
  return value;
}

/** A refused change set as one INVALID error: every problem in the message and in details. */
export function refusedChangeSet(diagnostics: readonly Diagnostic[]): LuactError {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const lines = errors.map(
    (d) => `${[d.entry, d.field].filter(Boolean).join(' › ')}: ${d.message} [${d.code}]`,
  );
  const summary = lines.join('; ');
  return new LuactError(
    'INVALID',
    `change set not applied (${errors.length} problem${errors.length === 1 ? '' : 's'}): ${summary}`,
    {
      retryable: false,
      details: {
        count: errors.length,
        summary,
        errors: errors.map((d) => ({
          entry: d.entry ?? '',
          field: d.field ?? '',
          code: d.code,
          message: d.message,
        })),
      },
    },
  );
}

export function invalid(message: string): LuactError {
  return new LuactError('INVALID', message, { retryable: false });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

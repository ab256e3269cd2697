import { type EntryId, entryId, isValidName } from '@luact/core';
import type { DefinitionOrigin, EntryDefinition } from './definition.js';
import type { Diagnostic, DiagnosticCode, SourceLocation } from './diagnostics.js';
import { type FieldPath, formatFieldPath } from './field-path.js';
import { fingerprint } from './fingerprint.js';
import { DECLARABLE_KINDS, type Kind, lookupKind } from './kinds/catalog.js';
import { hasPlaceholder, parsePlaceholders } from './placeholders.js';
import type { DecodeContext, Reference, SchemaIssue } from './schema/index.js';
import { didYouMean } from './suggest.js';

/** A validated registry entry of kind `K`. Immutable; a change to an entry makes a new one. */
export interface EntryOf<K extends Kind> {
  readonly id: EntryId;
  readonly namespace: string;
  readonly name: string;
  /** The canonical kind (`workflow.host` for a declared `temporal.worker`). */
  readonly kind: K;
  readonly declaredKind: string;
  readonly meta: Readonly<Record<string, unknown>>;
  /** Kind-specific fields as written: placeholders unresolved, `file://` sources read. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Every other entry this one names, with the field that names it. */
  readonly references: readonly Reference[];
  readonly origin: DefinitionOrigin | undefined;
  readonly sourceLocation: SourceLocation | undefined;
  /** Hash of kind, meta and fields: equal content, equal fingerprint. */
  readonly fingerprint: string;
  /** The registry version in which this content was committed. */
  readonly revision: number;
}

/** An entry of any kind; checking `entry.kind` narrows it to that kind's `EntryOf`. */
export type Entry = { [K in Kind]: EntryOf<K> }[Kind];

/** The outcome of checking one definition on its own (references are checked with the set). */
export interface CompiledDefinition {
  /** Set when namespace and name are valid, even if other parts are not. */
  readonly id: EntryId | undefined;
  /** Set when the kind is known; may still carry error diagnostics. */
  readonly entry: Omit<EntryOf<Kind>, 'revision'> | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

export function definitionFingerprint(definition: EntryDefinition): string {
  return fingerprint({
    kind: definition.kind,
    meta: definition.meta ?? {},
    fields: definition.fields,
  });
}

export function compileDefinition(definition: EntryDefinition): CompiledDefinition {
  const { namespace, name, origin } = definition;
  const label = `${namespace}:${name}`;
  const diagnostics: Diagnostic[] = [];
  const report = (
    code: DiagnosticCode,
    message: string,
    path: FieldPath,
    at: 'key' | 'value',
    severity: 'error' | 'warning' = 'error',
  ) => diagnostics.push(diagnosticAt(origin, label, { severity, code, message, path, at }));

  if (!isValidName(namespace) || !isValidName(name)) {
    const bad = isValidName(namespace) ? `name "${name}"` : `namespace "${namespace}"`;
    report(
      'invalid-name',
      `${bad} is not valid (letters, digits, _ . -; no ":")`,
      ['name'],
      'value',
    );
    return { id: undefined, entry: undefined, diagnostics };
  }
  const id = entryId(namespace, name);
  const kind = lookupKind(definition.kind);
  if (!kind) {
    report(
      'unknown-kind',
      `unknown kind "${definition.kind}"${didYouMean(definition.kind, DECLARABLE_KINDS)}`,
      ['kind'],
      'value',
    );
    return { id, entry: undefined, diagnostics };
  }

  const references: Reference[] = [];
  const context: DecodeContext = {
    phase: 'load',
    namespace,
    report: (issue) => diagnostics.push(diagnosticAt(origin, label, issue)),
    refer: (reference) => references.push(reference),
  };
  kind.schema.decode(definition.fields, [], context);
  forEachPlaceholderString(definition.fields, (text, path) => {
    const parsed = parsePlaceholders(text);
    if (!parsed.ok) report('bad-placeholder', parsed.error, path, 'value');
  });

  const entry: Omit<EntryOf<Kind>, 'revision'> = {
    id,
    namespace,
    name,
    kind: kind.canonical,
    declaredKind: definition.kind,
    meta: definition.meta ?? {},
    fields: definition.fields,
    references,
    origin,
    sourceLocation: definition.sourceLocation,
    fingerprint: definitionFingerprint(definition),
  };
  return { id, entry, diagnostics };
}

/** Strings that may hold placeholders: every string field except the Lua `source`. */
export function forEachPlaceholderString(
  fields: Readonly<Record<string, unknown>>,
  visit: (text: string, path: FieldPath) => void,
): void {
  const walk = (value: unknown, path: FieldPath): void => {
    if (typeof value === 'string') {
      if (hasPlaceholder(value)) visit(value, path);
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) walk(item, [...path, index]);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
    }
  };
  for (const [key, value] of Object.entries(fields)) if (key !== 'source') walk(value, [key]);
}

export function diagnosticAt(
  origin: DefinitionOrigin | undefined,
  entry: string,
  issue: Omit<SchemaIssue, 'code'> & { readonly code: DiagnosticCode },
): Diagnostic {
  const location = origin?.locate(issue.path, issue.at) ?? origin;
  const field = formatFieldPath(issue.path);
  return {
    severity: issue.severity,
    code: issue.code,
    message: issue.message,
    ...(location
      ? { location: { file: location.file, line: location.line, column: location.column } }
      : {}),
    entry,
    ...(field ? { field } : {}),
  };
}

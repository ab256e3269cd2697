import path from 'node:path';
import type { SchemaIssueCode } from './schema/index.js';

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type DiagnosticCode =
  | SchemaIssueCode
  | 'yaml-syntax'
  | 'yaml-nesting'
  | 'yaml-alias'
  | 'not-a-definition'
  | 'missing-namespace'
  | 'no-entries'
  | 'invalid-name'
  | 'unknown-kind'
  | 'duplicate-id'
  | 'duplicate-field'
  | 'source-not-found'
  | 'source-outside-app'
  | 'bad-placeholder'
  | 'env-unset'
  | 'dangling-reference'
  | 'wrong-reference-kind'
  | 'dependency-cycle'
  | 'duplicate-env-variable'
  | 'entry-not-found'
  | 'empty-application'
  | 'unreadable'
  | 'lua-syntax'
  | 'lua-require'
  | 'lua-unknown-entry'
  | 'lua-entry-kind'
  | 'unknown-module'
  | 'workflow-module'
  | 'temporal-client';

/** One problem found in an application, with everything a person needs to find and fix it. */
export interface Diagnostic {
  /** An error stops the application; a warning is likely a mistake; a note is for information. */
  readonly severity: 'error' | 'warning' | 'note';
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly location?: SourceLocation;
  /** The entry's ID as written (`namespace:name`). */
  readonly entry?: string;
  /** The field inside the entry, e.g. `lifecycle.restart.max_delay`. */
  readonly field?: string;
  /** Another place the problem involves, such as the first definition of a duplicate ID. */
  readonly related?: { readonly label: string; readonly location: SourceLocation };
}

export function isError(diagnostic: Diagnostic): boolean {
  return diagnostic.severity === 'error';
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some(isError);
}

/** Sorted by file, line and column; problems without a place come first. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => {
    const fa = a.location?.file ?? '';
    const fb = b.location?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    const line = (a.location?.line ?? 0) - (b.location?.line ?? 0);
    return line !== 0 ? line : (a.location?.column ?? 0) - (b.location?.column ?? 0);
  });
}

/**
 * `orders/app.yaml:12:7: error: app:ship › kind: unknown kind "proces.lua" [unknown-kind]`,
 * with the file shown relative to `cwd`.
 */
export function formatDiagnostic(diagnostic: Diagnostic, cwd: string = process.cwd()): string {
  const { location, entry, field } = diagnostic;
  const where = location
    ? `${displayPath(location.file, cwd)}:${location.line}:${location.column}: `
    : '';
  const subject = [entry, field].filter(Boolean).join(' › ');
  const { related } = diagnostic;
  const see = related
    ? ` (${related.label} ${displayPath(related.location.file, cwd)}:${related.location.line}:${related.location.column})`
    : '';
  return `${where}${diagnostic.severity}: ${subject ? `${subject}: ` : ''}${diagnostic.message}${see} [${diagnostic.code}]`;
}

export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  if (relative === '') return '.';
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

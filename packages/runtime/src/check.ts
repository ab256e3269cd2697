import type { LuactError } from '@luact/core';
import { checkRequires, isLuaEntry, type ProcessHost } from '@luact/process';
import type { Diagnostic, Entry, RegistrySnapshot } from '@luact/registry';

/**
 * What only the Lua runtime can tell about a registry: sources that do not compile and
 * requires of modules an entry does not list. Every Lua entry is compiled on `host` (the
 * compiled form is cached there for later spawns).
 */
export function checkLuaEntries(
  snapshot: RegistrySnapshot,
  host: ProcessHost,
  knownModules: ReadonlySet<string>,
  only?: ReadonlySet<string>,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const entry of snapshot.entries()) {
    if (!isLuaEntry(entry) || (only && !only.has(entry.id))) continue;
    for (const error of checkRequires(entry, knownModules))
      problems.push(toDiagnostic(entry, error, 'lua-require'));
    try {
      host.prepare(entry);
    } catch (error) {
      problems.push(toDiagnostic(entry, error as LuactError, 'lua-syntax'));
    }
  }
  return problems;
}

function toDiagnostic(
  entry: Entry,
  error: LuactError,
  code: 'lua-syntax' | 'lua-require',
): Diagnostic {
  const details = error.details ?? {};
  const file = typeof details.file === 'string' ? details.file : entry.sourceLocation?.file;
  const line = typeof details.line === 'number' ? details.line : entry.sourceLocation?.line;
  return {
    severity: 'error',
    code,
    message: error.message.replace(/^[^:]+: Lua syntax error: /, 'Lua syntax error: '),
    entry: entry.id,
    field: 'source',
    ...(file !== undefined && line !== undefined ? { location: { file, line, column: 1 } } : {}),
  };
}

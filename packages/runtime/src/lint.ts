import { type LuaApi, loadLuaApi } from '@luact/lua';
import { ProcessSystem } from '@luact/process';
import {
  type Diagnostic,
  type Environment,
  entryCallProblems,
  type LoadedApplication,
  loadApplication,
  type RegistrySnapshot,
  sortDiagnostics,
} from '@luact/registry';
import { checkLuaEntries } from './check.js';
import { DEFAULT_LIMITS } from './limits.js';
import { nodeModules } from './modules.js';

export interface LintResult {
  readonly loaded: LoadedApplication;
  /** Registry problems and, when the registry is valid, Lua problems; sorted by place. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Everything that would stop an application from starting, without starting it: the
 * registry's problems and (with `env`) unset variables, then Lua syntax errors and requires of
 * unlisted modules. Also, as errors, literal entry IDs in calls that name no entry, or one the
 * call cannot run (a starting node only warns about those).
 */
export async function lintApplication(
  dir: string,
  options: { env?: Environment; api?: LuaApi } = {},
): Promise<LintResult> {
  const loaded = await loadApplication(dir, options.env ? { env: options.env } : {});
  const snapshot = loaded.snapshot;
  if (!snapshot) return { loaded, diagnostics: loaded.diagnostics };
  const api = options.api ?? (await loadLuaApi());
  const system = new ProcessSystem({
    api,
    snapshot: () => snapshot,
    env: options.env ?? {},
    modules: (s) => nodeModules(s),
    functionLimits: DEFAULT_LIMITS,
  });
  try {
    const problems = [
      ...checkLuaEntries(snapshot, system),
      ...entryCallProblems(snapshot, 'error'),
    ];
    return {
      loaded,
      diagnostics: sortDiagnostics([...loaded.diagnostics, ...problems, ...notes(snapshot)]),
    };
  } finally {
    system.close();
  }
}

/** What lint tells about a valid application that running it does not repeat every time. */
function notes(snapshot: RegistrySnapshot): Diagnostic[] {
  return snapshot.ofKind('temporal.client').map((entry) => ({
    severity: 'note',
    code: 'temporal-client',
    message: `luact keeps workflows in its own journal; ${(entry.fields.address as string | undefined) ?? 'the Temporal server'} is not contacted`,
    entry: entry.id,
    ...(entry.origin
      ? {
          location: {
            file: entry.origin.file,
            line: entry.origin.line,
            column: entry.origin.column,
          },
        }
      : {}),
  }));
}

import { type LuaApi, loadLuaApi } from '@luact/lua';
import { ProcessSystem } from '@luact/process';
import {
  type Diagnostic,
  type Environment,
  type LoadedApplication,
  loadApplication,
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
 * unlisted modules.
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
    const problems = checkLuaEntries(snapshot, system);
    return { loaded, diagnostics: sortDiagnostics([...loaded.diagnostics, ...problems]) };
  } finally {
    system.close();
  }
}

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { LuactError } from '@luact/core';

/** Commands without a directory argument work on the current directory. */
export const DEFAULT_APP_DIR = '.';

const DEFINITION_FILE = /\.ya?ml$/i;

/**
 * The application directory a command works on: `dir` as given, or the current directory.
 * The current directory is taken only when YAML definitions sit at its top; otherwise (the
 * user is in a project root, not in the app) the error names the directory tried and the
 * subdirectories that look like applications, so the next command is obvious.
 */
export function applicationDir(dir: string | undefined, cwd: string, command: string): string {
  if (dir !== undefined) return dir;
  if (hasDefinitions(cwd)) return DEFAULT_APP_DIR;
  const candidates = subdirectoriesWithDefinitions(cwd);
  const suggestion =
    candidates.length > 0
      ? `; name the application directory, e.g. luact ${command} ${candidates[0]}${candidates.length > 1 ? ` (also here: ${candidates.slice(1).join(', ')})` : ''}`
      : `; name the application directory: luact ${command} DIR`;
  throw new LuactError(
    'INVALID',
    `${cwd} has no *.yaml registry files at its top, so it is not an application${suggestion}`,
    { retryable: false },
  );
}

function hasDefinitions(dir: string): boolean {
  return listDir(dir).some((child) => child.isFile() && DEFINITION_FILE.test(child.name));
}

/** The visible subdirectories of `dir` with YAML at their top, sorted, at most five. */
function subdirectoriesWithDefinitions(dir: string): string[] {
  return listDir(dir)
    .filter(
      (child) =>
        child.isDirectory() &&
        !child.name.startsWith('.') &&
        child.name !== 'node_modules' &&
        hasDefinitions(path.join(dir, child.name)),
    )
    .map((child) => child.name)
    .sort()
    .slice(0, 5);
}

function listDir(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { entryId, isValidName } from '@luact/core';
import type { ChangeSet } from './changes.js';
import type { EntryDefinition } from './definition.js';
import { type Diagnostic, hasErrors, sortDiagnostics } from './diagnostics.js';
import { findDefinitionFiles } from './discover.js';
import { definitionFingerprint } from './entry.js';
import { type Plan, type PlanOptions, planChanges } from './plan.js';
import { RegistrySnapshot } from './snapshot.js';
import { resolveSource } from './sources.js';
import type { Registry } from './store.js';
import { type DefinitionFile, readDefinitionFile } from './yaml/read-definitions.js';

export interface SkippedFile {
  readonly file: string;
  readonly reason: string;
}

/** Every definition of an application directory, read but not yet validated as a set. */
export interface ApplicationDefinitions {
  /** The application directory, absolute and with links resolved. */
  readonly dir: string;
  /** Definition files read, including skipped ones. */
  readonly files: readonly string[];
  readonly skipped: readonly SkippedFile[];
  readonly definitions: readonly EntryDefinition[];
  readonly diagnostics: readonly Diagnostic[];
}

export interface LoadedApplication extends Omit<ApplicationDefinitions, 'definitions'> {
  /** The validated registry, or undefined when any error was found. */
  readonly snapshot: RegistrySnapshot | undefined;
}

/** Reads every YAML definition file under `dir` and resolves `file://` sources. */
export async function readApplication(dir: string): Promise<ApplicationDefinitions> {
  const absolute = path.resolve(dir);
  const problem = await directoryProblem(absolute);
  if (problem)
    return { dir: absolute, files: [], skipped: [], definitions: [], diagnostics: [problem] };
  const appDir = await realpath(absolute);
  const files = await findDefinitionFiles(appDir);
  if (files.length === 0) {
    return {
      dir: appDir,
      files,
      skipped: [],
      definitions: [],
      diagnostics: [applicationProblem(`no *.yaml or *.yml files in ${appDir}`)],
    };
  }
  const diagnostics: Diagnostic[] = [];
  const skipped: SkippedFile[] = [];
  const read = await Promise.all(
    files.map(async (file) => ({ file, parsed: await readOneFile(file) })),
  );
  const written: EntryDefinition[] = [];
  for (const { file, parsed } of read) {
    diagnostics.push(...parsed.diagnostics);
    written.push(...parsed.definitions);
    if (parsed.skipped !== undefined) skipped.push({ file, reason: parsed.skipped });
  }
  const definitions: EntryDefinition[] = [];
  for (const resolved of await Promise.all(
    written.map((definition) => resolveSource(definition, appDir)),
  )) {
    if (resolved.ok) definitions.push(resolved.definition);
    else diagnostics.push(resolved.diagnostic);
  }
  if (written.length === 0 && !hasErrors(diagnostics)) {
    diagnostics.push(
      applicationProblem(
        `no entries in ${appDir} (${files.length} files read, ${skipped.length} skipped)`,
      ),
    );
  }
  return { dir: appDir, files, skipped, definitions, diagnostics };
}

/**
 * Loads and validates an application directory. Every problem of every file is reported
 * together, each with file, line, column, entry and field; the snapshot exists only when
 * there is no error. With `env`, entries are also activated against it (see PlanOptions).
 */
export async function loadApplication(
  dir: string,
  options: PlanOptions = {},
): Promise<LoadedApplication> {
  const { definitions, ...read } = await readApplication(dir);
  const planned = planChanges(
    RegistrySnapshot.empty(),
    definitions.map((definition) => ({ op: 'create', definition })),
    options,
  );
  const diagnostics = sortDiagnostics([
    ...read.diagnostics,
    ...(planned.ok ? planned.value.warnings : planned.error),
  ]);
  const snapshot = planned.ok && !hasErrors(diagnostics) ? planned.value.snapshot : undefined;
  return { ...read, diagnostics, snapshot };
}

/**
 * The change set that turns `snapshot` into what `definitions` describe. Entries no file
 * defined (made at run time, by the Lua `registry` module or `Registry.apply`) are left in place
 * unless a file now defines their ID.
 */
export function diffDefinitions(
  snapshot: RegistrySnapshot,
  definitions: readonly EntryDefinition[],
): ChangeSet {
  const changes: ChangeSet[number][] = [];
  const present = new Set<string>();
  for (const definition of definitions) {
    const valid = isValidName(definition.namespace) && isValidName(definition.name);
    const id = valid ? entryId(definition.namespace, definition.name) : undefined;
    const current = id === undefined ? undefined : snapshot.get(id);
    if (id !== undefined) present.add(id);
    if (!current) changes.push({ op: 'create', definition });
    else if (current.fingerprint !== definitionFingerprint(definition))
      changes.push({ op: 'update', definition });
  }
  for (const entry of snapshot.entries()) {
    if (!present.has(entry.id) && entry.origin !== undefined)
      changes.push({ op: 'delete', id: entry.id });
  }
  return changes;
}

export type ReloadResult =
  | { readonly ok: true; readonly plan: Plan }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Reads `dir` again and applies the difference to `registry` as one change set: all of it or,
 * if anything is wrong, none of it (dev-mode reload on file change).
 */
export async function reloadApplication(
  registry: Registry,
  dir: string,
  options: PlanOptions = {},
): Promise<ReloadResult> {
  const read = await readApplication(dir);
  if (hasErrors(read.diagnostics)) {
    return { ok: false, diagnostics: sortDiagnostics(read.diagnostics) };
  }
  const applied = registry.apply(diffDefinitions(registry.snapshot, read.definitions), options);
  return applied.ok ? { ok: true, plan: applied.value } : { ok: false, diagnostics: applied.error };
}

async function directoryProblem(dir: string): Promise<Diagnostic | undefined> {
  try {
    const info = await stat(dir);
    return info.isDirectory()
      ? undefined
      : applicationProblem(`${dir} is not a directory`, 'unreadable');
  } catch {
    return applicationProblem(`application directory ${dir} does not exist`, 'unreadable');
  }
}

/**
 * One file's definitions. A file that cannot be read (no permission, a directory named
 * `x.yaml`), or whose reading fails in a way no check foresaw, is one diagnostic naming it:
 * the other files are still read and their problems still reported.
 */
async function readOneFile(file: string): Promise<DefinitionFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    return unreadableFile(file, `cannot read this file (${reason})`);
  }
  try {
    return readDefinitionFile(file, text);
  } catch (error) {
    return unreadableFile(
      file,
      `this file could not be read as definitions: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function unreadableFile(file: string, message: string): DefinitionFile {
  return {
    definitions: [],
    diagnostics: [
      { severity: 'error', code: 'unreadable', message, location: { file, line: 1, column: 1 } },
    ],
  };
}

function applicationProblem(
  message: string,
  code: 'empty-application' | 'unreadable' = 'empty-application',
): Diagnostic {
  return { severity: 'error', code, message };
}

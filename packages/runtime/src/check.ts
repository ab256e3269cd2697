import type { LuactError } from '@luact/core';
import { GLOBAL_MODULES, type LuaApi } from '@luact/lua';
import {
  checkRequires,
  FUNCTION_HOST,
  isLuaEntry,
  ProcessHost,
  type ProcessSystem,
} from '@luact/process';
import {
  type Diagnostic,
  type Entry,
  type Environment,
  type RegistrySnapshot,
  unknownModules,
} from '@luact/registry';
import { DEFAULT_RETRY, WORKFLOW_MODULES, workflowModules } from '@luact/workflow';
import { DEFAULT_LIMITS } from './limits.js';

/**
 * What only the Lua runtime can tell about a registry: listed modules that do not exist (each
 * one, at its list item), sources that do not compile, requires of modules an entry does not
 * list, and workflows listing modules that do I/O. Processes,
 * functions and libraries are compiled on `system`'s function host (the compiled form stays
 * cached there); workflow.lua entries on a VM with the workflow modules, made only when
 * there are some to check.
 */
export function checkLuaEntries(
  snapshot: RegistrySnapshot,
  system: ProcessSystem,
  only?: ReadonlySet<string>,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const workflowModuleSet = new Set(WORKFLOW_MODULES);
  const everyModule = new Set([...system.moduleNames, ...WORKFLOW_MODULES]);
  const processes = system.host(FUNCTION_HOST) as ProcessHost;
  let workflows: ProcessHost | undefined;
  try {
    for (const entry of snapshot.entries()) {
      if (!isLuaEntry(entry) || (only && !only.has(entry.id))) continue;
      const isWorkflow = entry.kind === 'workflow.lua';
      // Every listed module is checked before any Lua runs, so all unknown ones are reported.
      const unknown = isWorkflow
        ? unknownModules(entry, withGlobals(everyModule), workflowModuleSet)
        : unknownModules(entry, withGlobals(system.moduleNames), system.moduleNames);
      const forbidden = isWorkflow ? ioModules(entry, workflowModuleSet, everyModule) : [];
      problems.push(...unknown, ...forbidden);
      const known = isWorkflow ? workflowModuleSet : system.moduleNames;
      for (const { error, inFunction } of checkRequires(entry, known)) {
        problems.push(
          inFunction
            ? {
                ...toDiagnostic(entry, error, 'lua-require'),
                severity: 'warning',
                message: `${error.message}; it is in a function, so the entry starts and the require fails if that function runs`,
              }
            : toDiagnostic(entry, error, 'lua-require'),
        );
      }
      // Compiling would only repeat that a listed module is unknown or not for workflows.
      if (unknown.length > 0 || forbidden.length > 0) continue;
      try {
        if (isWorkflow) {
          workflows ??= workflowCheckHost(system.options.api, snapshot, system.options.env);
          workflows.prepare(entry);
        } else {
          processes.prepare(entry, snapshot);
        }
      } catch (error) {
        problems.push(toDiagnostic(entry, error as LuactError, 'lua-syntax'));
      }
    }
  } finally {
    workflows?.close();
  }
  return problems;
}

/** `modules` and the globals an entry may also list (listing them changes nothing). */
function withGlobals(modules: ReadonlySet<string>): ReadonlySet<string> {
  return new Set([...modules, ...GLOBAL_MODULES]);
}

/** A VM with the workflow modules, only to compile workflow.lua entries. */
function workflowCheckHost(api: LuaApi, snapshot: RegistrySnapshot, env: Environment): ProcessHost {
  return ProcessHost.create('luact:workflow-check', DEFAULT_LIMITS, {
    api,
    modules: workflowModules({
      hostId: 'luact:workflow-check',
      isWorkflowHost: () => true,
      hostOfQueue: () => undefined,
      isEntry: () => true,
      activityDefaults: () => ({ retry: DEFAULT_RETRY }),
    }),
    environment: { snapshot: () => snapshot, env },
  });
}

/** Modules a workflow may not use: they read or change the world outside its journal. */
function ioModules(
  entry: Entry,
  allowed: ReadonlySet<string>,
  existing: ReadonlySet<string>,
): Diagnostic[] {
  const listed = (entry.fields.modules as string[] | undefined) ?? [];
  return listed
    .map((name, index) => ({ name, index }))
    .filter(({ name }) => existing.has(name) && !allowed.has(name))
    .map(({ name, index }) => ({
      severity: 'error' as const,
      code: 'workflow-module',
      message: `workflow ${entry.id} may not use module "${name}": ${
        name === 'env' || name === 'supervisor' || name === 'registry'
          ? 'it reads state outside the workflow journal, so a replay could see something else'
          : 'workflows only get modules whose results are journaled or deterministic'
      } (workflows may list ${[...allowed].join(', ')})`,
      entry: entry.id,
      field: `modules[${index}]`,
      ...locationOf(entry, index),
    }));
}

function locationOf(entry: Entry, index: number) {
  const location = entry.origin?.locate(['modules', index], 'value') ?? entry.origin;
  return location
    ? { location: { file: location.file, line: location.line, column: location.column } }
    : {};
}

function toDiagnostic(
  entry: Entry,
  error: LuactError,
  code: 'lua-syntax' | 'lua-require',
): Diagnostic {
  const details = error.details ?? {};
  const file = typeof details.file === 'string' ? details.file : entry.sourceLocation?.file;
  const line = typeof details.line === 'number' ? details.line : entry.sourceLocation?.line;
  // Lua gives lines only; a malformed type annotation has its column too.
  const column = typeof details.column === 'number' ? details.column : 1;
  // The diagnostic names the entry already (its ID holds a ':', so no pattern of [^:]).
  const prefix = `${entry.id}: `;
  const message = error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message;
  return {
    severity: 'error',
    code,
    message,
    entry: entry.id,
    field: 'source',
    ...(file !== undefined && line !== undefined ? { location: { file, line, column } } : {}),
  };
}

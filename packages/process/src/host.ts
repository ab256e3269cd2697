import { LuactError } from '@luact/core';
import {
  type EntrySource,
  GLOBAL_MODULES,
  type LuaModuleSpec,
  LuaVm,
  literalRequires,
  type PreparedEntry,
  type SharedHostMemory,
  type SliceObserver,
} from '@luact/lua';
import {
  activateEntry,
  type Entry,
  type EntryOf,
  type HostLimitsConfig,
  type RegistrySnapshot,
} from '@luact/registry';
import { boundedOutput } from './value-limits.js';

/** Lua entry kinds a host can prepare: processes, functions, workflows and their libraries. */
export type LuaEntry =
  | EntryOf<'process.lua'>
  | EntryOf<'function.lua'>
  | EntryOf<'workflow.lua'>
  | EntryOf<'library.lua'>;

export function isLuaEntry(entry: Entry): entry is LuaEntry {
  return (
    entry.kind === 'process.lua' ||
    entry.kind === 'function.lua' ||
    entry.kind === 'workflow.lua' ||
    entry.kind === 'library.lua'
  );
}

export type HostLimits = HostLimitsConfig;

/** The processes of a host that runs on several threads, counted across all of them. */
export interface HostWideCount {
  count(): number;
  add(change: number): void;
}

export interface HostEnvironment {
  readonly snapshot: () => RegistrySnapshot;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * A process.host: one Lua VM and the processes running in it, within the host's limits.
 * Entries are compiled once per content (and per content of their imports) and cached.
 */
export class ProcessHost {
  /** Its live processes (the node's ProcessSystem keeps them: `processesOf(id)`). */
  processCount = 0;
  /** Those of the whole host, when this is one thread's share of it. */
  wide: HostWideCount | undefined;
  readonly vm: LuaVm;
  private readonly prepared = new Map<string, { key: string; entry: PreparedEntry }>();
  /** Content keys by entry object, valid for one registry version. */
  private readonly keys = new WeakMap<Entry, { version: number; key: string }>();

  constructor(
    readonly id: string,
    readonly limits: HostLimits,
    vm: LuaVm,
    private readonly environment: HostEnvironment,
  ) {
    this.vm = vm;
  }

  static create(
    id: string,
    limits: HostLimits,
    options: {
      api: LuaVm['api'];
      modules: readonly LuaModuleSpec[];
      environment: HostEnvironment;
      print?: (text: string) => void;
      clock?: LuaVm['clock'];
      onSlice?: SliceObserver;
      /** The host runs on several threads: max_memory holds for all of them (see LuaVm). */
      sharedMemory?: SharedHostMemory;
    },
  ): ProcessHost {
    const vm = new LuaVm(options.api, {
      name: id,
      limits: {
        reductions: limits.reductions,
        timeSliceMs: limits.time_slice,
        maxSliceMs: limits.max_slice,
        memoryBytes: limits.max_memory,
        processMemoryBytes: limits.max_process_memory,
      },
      modules: options.modules,
      // Lines of a process host's processes (and of a workflow host's runs) are bounded.
      ...(options.print ? { print: boundedPrint(options.print) } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.onSlice ? { onSlice: options.onSlice } : {}),
      ...(options.sharedMemory ? { sharedMemory: options.sharedMemory } : {}),
    });
    return new ProcessHost(id, limits, vm, options.environment);
  }

  /**
   * The compiled form of a Lua entry (and its imports) for this host's VM. Imports are read
   * from `snapshot`: the current registry, or a planned one whose changes are being checked.
   */
  prepare(
    entry: LuaEntry,
    snapshot: RegistrySnapshot = this.environment.snapshot(),
  ): PreparedEntry {
    let known = this.keys.get(entry);
    if (known?.version !== snapshot.version) {
      known = { version: snapshot.version, key: contentKey(entry, snapshot) };
      this.keys.set(entry, known);
    }
    const key = known.key;
    const cached = this.prepared.get(entry.id);
    if (cached?.key === key) return cached.entry;
    const activated = activateEntry(entry, this.environment.env);
    if (!activated.ok) {
      throw new LuactError('INVALID', activated.error.map((d) => d.message).join('; '), {
        retryable: false,
        details: { entry: entry.id },
      });
    }
    const config = activated.value;
    const imports: Record<string, PreparedEntry> = {};
    for (const [alias, id] of Object.entries(config.imports)) {
      const library = snapshot.get(id);
      if (library?.kind !== 'library.lua' && library?.kind !== 'function.lua') {
        throw new LuactError(
          'NOT_FOUND',
          `${entry.id} imports ${id}, which is not a library.lua or function.lua entry`,
          { retryable: false },
        );
      }
      imports[alias] = this.prepare(library, snapshot);
    }
    const prepared = this.vm.prepareEntry(
      entrySource(entry, config.source, config.modules, imports, key),
    );
    if (cached) this.vm.releaseEntry(cached.entry);
    this.prepared.set(entry.id, { key, entry: prepared });
    return prepared;
  }

  close(): void {
    this.vm.close();
  }
}

function entrySource(
  entry: LuaEntry,
  source: string,
  modules: readonly string[],
  imports: Record<string, PreparedEntry>,
  key: string,
): EntrySource {
  const location = entry.sourceLocation;
  return {
    id: entry.id,
    fingerprint: key,
    source,
    file: location?.file ?? `${entry.id}.lua`,
    firstLine: location?.line ?? 1,
    firstColumn: location?.column ?? 1,
    modules,
    imports,
  };
}

/** An entry's content together with everything it imports, transitively. */
function contentKey(entry: Entry, snapshot: RegistrySnapshot, seen = new Set<string>()): string {
  if (seen.has(entry.id)) return entry.fingerprint;
  seen.add(entry.id);
  const parts = [entry.fingerprint];
  for (const reference of entry.references) {
    if (reference.path[0] !== 'imports') continue;
    const library = snapshot.get(reference.target);
    if (library) parts.push(contentKey(library, snapshot, seen));
  }
  return parts.join('+');
}

/**
 * A require of a module the entry does not list. One at the top level of the chunk always runs,
 * so it keeps the entry from starting; one in a function body runs only if that function is
 * called (a file with several methods may require, in one of them, what another entry using
 * the file never needs), so it is a warning, and the require fails when it runs.
 */
export interface RequireProblem {
  readonly error: LuactError;
  readonly inFunction: boolean;
}

/** Problems a Lua entry has before it runs: requires of modules it does not list. */
export function checkRequires(
  entry: LuaEntry,
  knownModules: ReadonlySet<string>,
): RequireProblem[] {
  const source = typeof entry.fields.source === 'string' ? entry.fields.source : '';
  const modules = new Set((entry.fields.modules as string[] | undefined) ?? []);
  const imports = new Set(
    Object.keys((entry.fields.imports as Record<string, string> | undefined) ?? {}),
  );
  const firstLine = entry.sourceLocation?.line ?? 1;
  const file = entry.sourceLocation?.file ?? `${entry.id}.lua`;
  const problems: RequireProblem[] = [];
  for (const { name, line, inFunction } of literalRequires(source)) {
    if (modules.has(name) || imports.has(name) || GLOBAL_MODULES.has(name)) continue;
    const where = `${file}:${line + firstLine - 1}`;
    const hint = knownModules.has(name)
      ? `add "${name}" to its modules: list`
      : `there is no built-in module "${name}"; import a library.lua entry under imports:`;
    const error = new LuactError(
      'INVALID',
      `${where}: ${entry.id} requires "${name}", which it may not use (${hint})`,
      {
        retryable: false,
        details: { entry: entry.id, module: name, file, line: line + firstLine - 1 },
      },
    );
    problems.push({ error, inFunction });
  }
  return problems;
}

/** A print sink that gets no line longer than VALUE_LIMITS.outputCharacters. */
function boundedPrint(print: (text: string) => void): (text: string) => void {
  return (text) => print(boundedOutput(text));
}

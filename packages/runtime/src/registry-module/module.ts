import { readFileSync } from 'node:fs';
import { LuactError, type Result, splitEntryId } from '@luact/core';
import {
  decodeValue,
  encodeValue,
  type HostFunction,
  type LuaModuleSpec,
  type LuaState,
  type LuaVm,
} from '@luact/lua';
import { answerLater, type Later, Process, type ProcessSystem } from '@luact/process';
import {
  type ChangeSet,
  type Diagnostic,
  type EntryCriteria,
  findEntries,
  type Registry,
  type RegistrySnapshot,
} from '@luact/registry';
import {
  changeSetOf,
  entryView,
  invalid,
  type LuaEntryView,
  luaEntryId,
  refusedChangeSet,
} from './entry-view.js';

/**
 * What the `registry` module reaches of its node: the live registry (reads, versions, going
 * back to a kept version) and the node's way of applying a change set, which checks it as a
 * whole like a reload does (the registry's checks, then the Lua ones) and commits all or nothing.
 */
export interface RegistryAccess {
  readonly registry: Registry;
  applyChanges(changes: ChangeSet): Result<unknown, Diagnostic[]>;
}

/**
 * What the `registry` module reads and changes: the node's registry (registryOf), or on a
 * worker thread the main thread's, asked through the thread link. IDs come resolved; version 0
 * is the current one. Every answer may come later.
 */
export interface RegistryBackend {
  current(): Later<number>;
  get(version: number, id: string): Later<LuaEntryView>;
  list(version: number, namespace: string | undefined): Later<readonly LuaEntryView[]>;
  find(version: number, criteria: EntryCriteria): Later<readonly LuaEntryView[]>;
  versions(): Later<readonly number[]>;
  kept(version: number): Later<true>;
  /** The version before (after) `version`; null when there is none. */
  previous(version: number): Later<number | null>;
  next(version: number): Later<number | null>;
  /** Applies a change set once no Lua runs; the new current version. */
  apply(changes: ChangeSet): Later<number>;
  applyVersion(version: number): Later<number>;
}

/** The registry module's backend over the node's own registry (`access`). */
export function registryOf(access: () => RegistryAccess | undefined): RegistryBackend {
  const node = (): RegistryAccess => {
    const found = access();
    if (!found) throw new LuactError('INTERNAL', 'the registry module needs a running node');
    return found;
  };
  /** The snapshot of `version` (0: the current one), or NOT_FOUND when it is not kept. */
  const snapshotAt = (version: number): RegistrySnapshot => {
    const { registry } = node();
    if (version === 0) return registry.snapshot;
    const snapshot = registry.history.snapshotAt(version);
    if (!snapshot) throw versionNotKept(registry, version);
    return snapshot;
  };
  // Changes wait until the current Lua slice ends: listeners add and remove hosts, and the Lua
  // check compiles sources.
  const afterSlice = (work: () => number): Promise<number> => Promise.resolve().then(work);
  return {
    current: () => node().registry.snapshot.version,
    get: (version, id) => {
      const snapshot = snapshotAt(version);
      const entry = snapshot.get(id);
      if (!entry) throw notFound(`no entry ${id} in registry version ${snapshot.version}`);
      return entryView(entry);
    },
    list: (version, namespace) => {
      const entries = snapshotAt(version).entries();
      return (
        namespace === undefined ? entries : entries.filter((e) => e.namespace === namespace)
      ).map(entryView);
    },
    find: (version, criteria) => {
      const found = findEntries(snapshotAt(version).entries(), criteria);
      if (!found.ok) throw invalid(`registry.find: ${found.error}`);
      return found.value.map(entryView);
    },
    versions: () => node().registry.history.versions(),
    kept: (version) => {
      snapshotAt(version);
      return true;
    },
    previous: (version) => node().registry.history.previousOf(version) ?? null,
    next: (version) => node().registry.history.nextOf(version) ?? null,
    apply: (changes) =>
      afterSlice(() => {
        const target = node();
        const applied = target.applyChanges(changes);
        if (!applied.ok) throw refusedChangeSet(applied.error);
        return target.registry.snapshot.version;
      }),
    applyVersion: (version) =>
      afterSlice(() => {
        const applied = node().registry.applyVersion(version);
        if (!applied.ok) throw applied.error;
        return version;
      }),
  };
}

/**
 * The `registry` Lua module (docs/lua-api/registry.md) over `backend`. Every answer is msgpack
 * bytes (or `true`), or a token Lua waits on when it comes later: reads of the node's own
 * registry answer at once, applying a change set or a version always waits.
 */
export function registryModule(system: ProcessSystem, backend: RegistryBackend): LuaModuleSpec {
  const answer = <T>(L: LuaState, vm: LuaVm, read: () => Later<T>) =>
    answerLater(L, vm, system, read, encodeValue);
  const functions: Record<string, HostFunction> = {
    current: (L, vm) => answer(L, vm, () => backend.current()),
    get: (L, vm) =>
      answer(L, vm, () =>
        backend.get(
          vm.stack.integer(L, 1),
          luaEntryId(vm.stack.text(L, 2), callerNamespace(vm), 'the entry ID'),
        ),
      ),
    // list(version, namespace?) → every entry, or those of one namespace.
    list: (L, vm) => answer(L, vm, () => backend.list(vm.stack.integer(L, 1), vm.stack.text(L, 2))),
    find: (L, vm) =>
      answer(L, vm, () =>
        backend.find(
          vm.stack.integer(L, 1),
          criteriaOf(decodeValue(vm.stack.bytes(L, 2) ?? new Uint8Array())),
        ),
      ),
    versions: (L, vm) => answer(L, vm, () => backend.versions()),
    // kept(version) → true, or false, NOT_FOUND, message
    kept: (L, vm) => answerLater(L, vm, system, () => backend.kept(vm.stack.integer(L, 1))),
    previous: (L, vm) => answer(L, vm, () => backend.previous(vm.stack.integer(L, 1))),
    next: (L, vm) => answer(L, vm, () => backend.next(vm.stack.integer(L, 1))),
    // apply(ops) → a token to wait on; its answer is the new current version.
    apply: (L, vm) =>
      answer(L, vm, () => {
        const ops = decodeValue(vm.stack.bytes(L, 1) ?? new Uint8Array());
        return backend.apply(changeSetOf(ops, callerNamespace(vm)));
      }),
    // apply_version(version) → a token to wait on; its answer is that version, now current.
    apply_version: (L, vm) => answer(L, vm, () => backend.applyVersion(vm.stack.integer(L, 1))),
    // settle(token) → nothing yet (the fiber is woken), the answer, or false, kind, message, details
    settle(L, vm) {
      const fiber = vm.current;
      if (!fiber) throw new Error('registry: settle outside a process');
      const settled = system.pending.take(vm.stack.integer(L, 1), fiber);
      if (settled === undefined) return 0;
      if (!settled.ok) return pushError(L, vm, settled.error);
      const { value } = settled;
      if (value === true) vm.stack.pushBoolean(L, true);
      else if (typeof value === 'string') vm.stack.pushString(L, value);
      else vm.stack.pushBytes(L, value);
      return 1;
    },
  };
  return {
    name: 'registry',
    scope: 'module',
    source: readFileSync(new URL('../../lua/registry.lua', import.meta.url), 'utf8'),
    functions,
  };
}

/** Answers `false, kind, message[, details]` (registry.lua makes the error, with its details). */
function pushError(L: LuaState, vm: LuaVm, error: LuactError): number {
  vm.stack.pushBoolean(L, false);
  vm.stack.pushString(L, error.kind);
  vm.stack.pushString(L, error.message);
  if (error.details === undefined) return 3;
  vm.stack.pushBytes(L, encodeValue(error.details));
  return 4;
}

function notFound(message: string): LuactError {
  return new LuactError('NOT_FOUND', message, { retryable: false });
}

function versionNotKept(registry: Registry, version: number): LuactError {
  const kept = registry.history.versions();
  return notFound(
    `registry version ${version} is not kept (kept: ${kept[0]}…${kept[kept.length - 1]})`,
  );
}

/** Criteria as Lua passed them; an empty table may arrive as an empty list. */
function criteriaOf(value: unknown): EntryCriteria {
  if (Array.isArray(value) && value.length === 0) return {};
  // A table with both list items and named fields arrives as a Map.
  if (Array.isArray(value) || value instanceof Map) {
    throw invalid('registry.find expects a table of named criteria, not a list');
  }
  return value as EntryCriteria;
}

/** The namespace of the entry whose code is calling, to resolve bare names in. */
function callerNamespace(vm: LuaVm): string | undefined {
  const owner = vm.current?.group.owner;
  return owner instanceof Process ? splitEntryId(owner.entry).namespace : undefined;
}

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
import { Process, type ProcessSystem, pushFailure } from '@luact/process';
import {
  type ChangeSet,
  type Diagnostic,
  type EntryCriteria,
  findEntries,
  type Registry,
  type RegistrySnapshot,
} from '@luact/registry';
import { changeSetOf, entryView, invalid, luaEntryId, refusedChangeSet } from './entry-view.js';

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
 * The `registry` Lua module (docs/lua-api/registry.md). Reads answer at once; applying a change
 * set or a version waits, so the node applies it once no Lua runs (listeners add and remove
 * hosts, and the Lua check compiles sources).
 */
export function registryModule(
  system: ProcessSystem,
  access: () => RegistryAccess | undefined,
): LuaModuleSpec {
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
  const functions: Record<string, HostFunction> = {
    current(L, vm) {
      vm.stack.pushInteger(L, node().registry.snapshot.version);
      return 1;
    },
    get: answering((L, vm) => {
      const snapshot = snapshotAt(vm.stack.integer(L, 1));
      const id = luaEntryId(vm.stack.text(L, 2), callerNamespace(vm), 'the entry ID');
      const entry = snapshot.get(id);
      if (!entry) throw notFound(`no entry ${id} in registry version ${snapshot.version}`);
      return entryView(entry);
    }),
    // list(version, namespace?) → every entry, or those of one namespace.
    list: answering((L, vm) => {
      const entries = snapshotAt(vm.stack.integer(L, 1)).entries();
      const namespace = vm.stack.text(L, 2);
      return (
        namespace === undefined ? entries : entries.filter((e) => e.namespace === namespace)
      ).map(entryView);
    }),
    find: answering((L, vm) => {
      const snapshot = snapshotAt(vm.stack.integer(L, 1));
      const criteria = decodeValue(vm.stack.bytes(L, 2) ?? new Uint8Array());
      const found = findEntries(snapshot.entries(), criteriaOf(criteria));
      if (!found.ok) throw invalid(`registry.find: ${found.error}`);
      return found.value.map(entryView);
    }),
    versions(L, vm) {
      vm.stack.pushBytes(L, encodeValue(node().registry.history.versions()));
      return 1;
    },
    // kept(version) → true, or false, NOT_FOUND, message
    kept: answering((L, vm) => {
      snapshotAt(vm.stack.integer(L, 1));
      return true;
    }),
    previous(L, vm) {
      return pushVersion(L, vm, node().registry.history.previousOf(vm.stack.integer(L, 1)));
    },
    next(L, vm) {
      return pushVersion(L, vm, node().registry.history.nextOf(vm.stack.integer(L, 1)));
    },
    // apply(ops) → a token to wait on; its answer is the new current version.
    apply(L, vm) {
      return later(L, vm, system, () => {
        const ops = decodeValue(vm.stack.bytes(L, 1) ?? new Uint8Array());
        const changes = changeSetOf(ops, callerNamespace(vm));
        return () => {
          const target = node();
          const applied = target.applyChanges(changes);
          if (!applied.ok) throw refusedChangeSet(applied.error);
          return target.registry.snapshot.version;
        };
      });
    },
    // apply_version(version) → a token to wait on; its answer is that version, now current.
    apply_version(L, vm) {
      const version = vm.stack.integer(L, 1);
      return later(L, vm, system, () => () => {
        const { registry } = node();
        const applied = registry.applyVersion(version);
        if (!applied.ok) throw applied.error;
        return version;
      });
    },
    // settle(token) → nothing yet (the fiber is woken), the answer, or false, kind, message, details
    settle(L, vm) {
      const fiber = vm.current;
      if (!fiber) throw new Error('registry: settle outside a process');
      const settled = system.pending.take(vm.stack.integer(L, 1), fiber);
      if (settled === undefined) return 0;
      if (!settled.ok) return pushError(L, vm, settled.error);
      vm.stack.pushInteger(L, Number(settled.value));
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

/** A host function answering a value (as msgpack bytes), or `false, kind, message, details`. */
function answering(read: (L: LuaState, vm: LuaVm) => unknown): HostFunction {
  return (L, vm) => {
    let value: unknown;
    try {
      value = read(L, vm);
    } catch (error) {
      return pushError(L, vm, LuactError.from(error));
    }
    if (value === true) vm.stack.pushBoolean(L, true);
    else vm.stack.pushBytes(L, encodeValue(value));
    return 1;
  };
}

/**
 * Reads the arguments now (`prepare`, which may refuse them at once) and runs the work it
 * returns after the current Lua slice, answering Lua with a token to wait on.
 */
function later(L: LuaState, vm: LuaVm, system: ProcessSystem, prepare: () => () => number): number {
  const owner = vm.current?.group.owner;
  if (!(owner instanceof Process)) {
    return pushFailure(L, vm, new LuactError('INTERNAL', 'registry changes need a process'));
  }
  let work: () => number;
  try {
    work = prepare();
  } catch (error) {
    return pushError(L, vm, LuactError.from(error));
  }
  const answer = Promise.resolve().then(() => String(work()));
  vm.stack.pushInteger(L, system.pending.begin(owner, answer));
  return 1;
}

function pushError(L: LuaState, vm: LuaVm, error: LuactError): number {
  pushFailure(L, vm, error);
  if (error.details === undefined) return 3;
  vm.stack.pushBytes(L, encodeValue(error.details));
  return 4;
}

function pushVersion(L: LuaState, vm: LuaVm, version: number | undefined): number {
  if (version === undefined) return 0;
  vm.stack.pushInteger(L, version);
  return 1;
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

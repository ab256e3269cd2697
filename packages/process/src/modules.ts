import { readFileSync } from 'node:fs';
import { type EntryId, LuactError, resolveReference, splitEntryId } from '@luact/core';
import {
  builtinModules,
  decodeValue,
  encodeValue,
  type HostFunction,
  type LogRecord,
  type LuaModuleSpec,
  type LuaState,
  type LuaVm,
} from '@luact/lua';
import { activateEntry } from '@luact/registry';
import { checkArguments } from './admission.js';
import { withCallSite } from './call-site.js';
import type { ExternalHost } from './external-host.js';
import { fallible, luaBytes, luaText, pushFailure, requiredText } from './host-call.js';
import type { Pid } from './pid.js';
import { Process } from './process.js';
import { deliverOutcome, type ProcessSystem } from './system.js';
import type { Delivery } from './transport.js';
import { boundedOutput, luaLimitsPrelude, shorten, VALUE_LIMITS } from './value-limits.js';

/**
 * The Lua side of a process module (`process`, `funcs`, `ctx`, `env`), for hosts that bring
 * their own host functions (workflow hosts). It starts with the value limits as the local
 * `LIMITS`, on the file's first line.
 */
export function processLua(name: 'process' | 'funcs' | 'ctx' | 'env'): string {
  return luaLimitsPrelude() + readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
}

/** Every module of a process host: the Lua runtime's own, then process, funcs, ctx, env. */
export function processModules(
  system: ProcessSystem,
  options: { log?: (record: LogRecord) => void } = {},
): LuaModuleSpec[] {
  const { log } = options;
  return [
    ...builtinModules(
      log ? { log: (record) => log({ ...record, message: boundedOutput(record.message) }) } : {},
    ),
    {
      name: 'process',
      scope: 'global',
      source: processLua('process'),
      functions: processFunctions(system),
    },
    {
      name: 'funcs',
      scope: 'module',
      source: processLua('funcs'),
      functions: funcsFunctions(system),
    },
    { name: 'ctx', scope: 'module', source: processLua('ctx'), functions: contextFunctions() },
    { name: 'env', scope: 'module', source: processLua('env'), functions: envFunctions(system) },
  ];
}

// ── Helpers ───────────────────────────────────────────────────────────────────────────────────

function caller(vm: LuaVm): Process {
  const owner = vm.current?.group.owner;
  if (!(owner instanceof Process)) throw new Error('only available inside a process');
  return owner;
}

/** Runs a call or spawn for Lua: a NOT_FOUND it throws names the Lua line that asked for it. */
function fromCaller<T>(L: LuaState, vm: LuaVm, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    throw withCallSite(error, () => vm.callSite(L));
  }
}

/**
 * An operation an external (workflow) host completes later: Lua gets a token to wait with
 * (process.lua turns it into a blocking receive).
 */
/**
 * Answers Lua for a send or signal: `true` once delivered, `nil, err` when refused, or a pending
 * answer for a receiver that takes it asynchronously (a workflow journals it first).
 */
function answerDelivery(
  system: ProcessSystem,
  L: LuaState,
  vm: LuaVm,
  self: Process,
  delivery: Delivery,
): number {
  if (delivery === undefined) {
    vm.api._lua_pushboolean(L, 1);
    return 1;
  }
  if (delivery instanceof LuactError) return pushFailure(L, vm, delivery);
  return pending(
    system,
    L,
    vm,
    self,
    delivery.then(() => true as const),
  );
}

function pending(
  system: ProcessSystem,
  L: LuaState,
  vm: LuaVm,
  process: Process,
  work: Promise<string | true>,
): number {
  vm.api._lua_pushinteger(L, BigInt(system.pending.begin(process, work)));
  return 1;
}

function destination(system: ProcessSystem, L: LuaState, vm: LuaVm): Pid {
  return system.resolveDestination(requiredText(L, vm, 1, 'the destination'));
}

function contextOf(values: unknown): Map<string, Uint8Array> {
  const context = new Map<string, Uint8Array>();
  if (values && typeof values === 'object' && !(values instanceof Map)) {
    for (const [key, value] of Object.entries(values)) context.set(key, encodeValue(value));
  }
  return context;
}

interface SpawnSpec {
  readonly context?: Record<string, unknown>;
  readonly options?: Record<string, unknown>;
  readonly name?: string;
  /** Payloads arrive as strings when their bytes happen to be valid UTF-8. */
  readonly messages?: [string, Uint8Array | string][];
}

/** The startup messages of a spawn spec, payloads as bytes (what the mailbox counts). */
function startupMessages(
  messages: NonNullable<SpawnSpec['messages']>,
): { topic: string; payload: Uint8Array }[] {
  return messages.map(([topic, payload]) => ({
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload,
  }));
}

// ── process ───────────────────────────────────────────────────────────────────────────────────

function processFunctions(system: ProcessSystem): Record<string, HostFunction> {
  return {
    pid(L, vm) {
      vm.memory.pushString(L, caller(vm).pid);
      return 1;
    },
    entry_id(L, vm) {
      vm.memory.pushString(L, caller(vm).entry);
      return 1;
    },
    // The hottest call there is: no closures, no intermediate results.
    send(L, vm) {
      const self = caller(vm);
      try {
        return answerDelivery(
          system,
          L,
          vm,
          self,
          system.send({
            to: destination(system, L, vm),
            from: self.pid,
            topic: requiredText(L, vm, 2, 'the topic'),
            payload: luaBytes(L, vm, 3),
          }),
        );
      } catch (error) {
        return pushFailure(L, vm, LuactError.from(error));
      }
    },
    settle(L, vm) {
      system.pending.settle(vm.api._lua_tonumberx(L, 1, 0), vm.api._lua_tonumberx(L, 2, 0));
      return 0;
    },
    spawn(L, vm) {
      const parent = caller(vm);
      const flags = vm.api._lua_tonumberx(L, 3, 0);
      const spec = (
        vm.api._lua_type(L, 4) === 4 ? decodeValue(luaBytes(L, vm, 4)) : {}
      ) as SpawnSpec;
      const outcomeChannel =
        vm.api._lua_type(L, 6) === 3 ? vm.api._lua_tonumberx(L, 6, 0) : undefined;
      let external: { id: EntryId; host: ExternalHost } | undefined;
      try {
        const namespace = splitEntryId(parent.entry).namespace;
        const id = system.resolveHostId(requiredText(L, vm, 2, 'the host'), namespace);
        const host = system.externalHost(id);
        if (host) external = { id, host };
      } catch (error) {
        return pushFailure(L, vm, LuactError.from(error));
      }
      if (external) {
        return spawnExternal(system, L, vm, parent, external.host, {
          flags,
          spec,
          outcomeChannel,
        });
      }
      return fallible(L, vm, () =>
        fromCaller(L, vm, () =>
          system.spawn({
            entry: requiredText(L, vm, 1, 'the entry'),
            host: requiredText(L, vm, 2, 'the host'),
            args: luaBytes(L, vm, 5),
            parent,
            monitor: (flags & 1) !== 0,
            link: (flags & 2) !== 0,
            ...(spec.context !== undefined ? { context: contextOf(spec.context) } : {}),
            ...(spec.name !== undefined ? { name: spec.name } : {}),
            ...(spec.options !== undefined ? { options: spec.options } : {}),
            ...(spec.messages ? { messages: startupMessages(spec.messages) } : {}),
            ...(outcomeChannel !== undefined ? { outcomeChannel } : {}),
          }),
        ),
      );
    },
    terminate(L, vm) {
      const self = caller(vm);
      let delivery: Delivery;
      try {
        delivery = system.signal({
          kind: 'terminate',
          to: destination(system, L, vm),
          from: self.pid,
        });
      } catch (error) {
        return pushFailure(L, vm, LuactError.from(error));
      }
      // A process that terminated itself stops here, not at its next instruction hook.
      if (self.exited) return vm.api._lua_error(L);
      return answerDelivery(system, L, vm, self, delivery);
    },
    cancel(L, vm) {
      const self = caller(vm);
      try {
        return answerDelivery(
          system,
          L,
          vm,
          self,
          system.signal({
            kind: 'cancel',
            to: destination(system, L, vm),
            from: self.pid,
            at: system.clock.now(),
            reason: luaText(L, vm, 2),
          }),
        );
      } catch (error) {
        return pushFailure(L, vm, LuactError.from(error));
      }
    },
    monitor(L, vm) {
      const self = caller(vm);
      const to = tryDestination(system, L, vm);
      const route = to === undefined ? undefined : system.route(to);
      if (route?.kind === 'external' && to !== undefined)
        return pending(system, L, vm, self, monitorExternal(system, self, route.host, to));
      return fallible(L, vm, () => system.monitor(self, destination(system, L, vm)));
    },
    unmonitor: (L, vm) =>
      fallible(L, vm, () => {
        system.unmonitor(caller(vm), destination(system, L, vm));
        return true;
      }),
    link: (L, vm) =>
      fallible(L, vm, () => {
        const to = destination(system, L, vm);
        if (system.route(to).kind === 'external') {
          return new LuactError('INVALID', `a process cannot link to workflow ${to}; monitor it`, {
            retryable: false,
          });
        }
        return system.link(caller(vm), to);
      }),
    unlink: (L, vm) =>
      fallible(L, vm, () => {
        system.unlink(caller(vm), destination(system, L, vm));
        return true;
      }),
    get_trap_links(L, vm) {
      vm.api._lua_pushboolean(L, caller(vm).trapLinks ? 1 : 0);
      return 1;
    },
    set_trap_links(L, vm) {
      caller(vm).trapLinks = vm.api._lua_toboolean(L, 1) !== 0;
      return 0;
    },
    inbox(L, vm) {
      caller(vm).mailbox.openInbox(vm.api._lua_tonumberx(L, 1, 0));
      return 0;
    },
    events(L, vm) {
      caller(vm).mailbox.openEvents(vm.api._lua_tonumberx(L, 1, 0));
      return 0;
    },
    listen(L, vm) {
      caller(vm).mailbox.listen(
        requiredText(L, vm, 1, 'the topic'),
        vm.api._lua_tonumberx(L, 2, 0),
      );
      return 0;
    },
    unlisten(L, vm) {
      caller(vm).mailbox.unlisten(requiredText(L, vm, 1, 'the topic'));
      return 0;
    },
    register(L, vm) {
      const self = caller(vm);
      return fallible(L, vm, () => {
        const name = requiredText(L, vm, 1, 'the name');
        const pid = luaText(L, vm, 2) ?? self.pid;
        const owner = system.process(pid);
        if (!owner)
          return new LuactError('NOT_FOUND', `process ${pid} does not exist or has ended`, {
            retryable: false,
          });
        // Names live in the node, outside any Lua heap: one process holds a bounded number.
        if (owner.names.size >= VALUE_LIMITS.namesPerProcess && !owner.names.has(name)) {
          return new LuactError(
            'RATE_LIMITED',
            `${owner.pid} already holds ${VALUE_LIMITS.namesPerProcess} names, the limit of names per process`,
          );
        }
        const taken = system.names.register(name, owner.pid);
        if (taken) return taken;
        owner.names.add(name);
        return true;
      });
    },
    lookup(L, vm) {
      return fallible(L, vm, () => {
        const name = requiredText(L, vm, 1, 'the name');
        return (
          system.names.lookup(name) ??
          new LuactError('NOT_FOUND', `no process is registered as "${name}"`, { retryable: false })
        );
      });
    },
    unregister(L, vm) {
      return fallible(L, vm, () => {
        const name = requiredText(L, vm, 1, 'the name');
        const owner = system.names.lookup(name);
        if (owner === undefined)
          return new LuactError('NOT_FOUND', `no process is registered as "${name}"`, {
            retryable: false,
          });
        system.names.unregister(name);
        system.process(owner)?.names.delete(name);
        return true;
      });
    },
    upgrade(L, vm) {
      const self = caller(vm);
      return fallible(L, vm, () => {
        const requested = luaText(L, vm, 1);
        const namespace = splitEntryId(self.entry).namespace;
        const entry = requested === undefined ? self.entry : resolveReference(requested, namespace);
        if (typeof entry !== 'string' && !entry.ok)
          return new LuactError('INVALID', entry.error, { retryable: false });
        const id = typeof entry === 'string' ? entry : entry.value;
        const target = system.snapshot().get(id);
        if (target?.kind !== 'process.lua') {
          return new LuactError(
            'NOT_FOUND',
            `cannot upgrade to ${id}: no process.lua entry with that ID`,
            { retryable: false },
          );
        }
        const args = luaBytes(L, vm, 2);
        const tooLarge = checkArguments(args, id, self.host);
        if (tooLarge) return tooLarge;
        self.upgrade = { entry: id, args };
        return true;
      });
    },
  };
}

/** A destination that resolves, or undefined (the regular path then reports why it does not). */
function tryDestination(system: ProcessSystem, L: LuaState, vm: LuaVm): Pid | undefined {
  try {
    return destination(system, L, vm);
  } catch {
    return undefined;
  }
}

/** EXIT to `watcher` when the workflow `target` ends (unless it stopped monitoring it). */
function monitorExternal(
  system: ProcessSystem,
  watcher: Process,
  external: ExternalHost,
  target: Pid,
): Promise<true> {
  watcher.monitoring.add(target);
  return external
    .watch(target, (outcome) => {
      if (!watcher.monitoring.has(target)) return;
      system.signal({
        kind: 'exit',
        to: watcher.pid,
        from: target,
        at: system.clock.now(),
        outcome,
      });
    })
    .then(
      () => true as const,
      (error: unknown) => {
        watcher.monitoring.delete(target);
        throw error;
      },
    );
}

/** A spawn on a workflow host: journaled there first, so the spawner waits for its PID. */
function spawnExternal(
  system: ProcessSystem,
  L: LuaState,
  vm: LuaVm,
  parent: Process,
  host: ExternalHost,
  request: { flags: number; spec: SpawnSpec; outcomeChannel: number | undefined },
): number {
  const { flags, spec, outcomeChannel } = request;
  // Read everything from the Lua stack now: the work below goes on after this call returned.
  const entry = luaText(L, vm, 1);
  const args = luaBytes(L, vm, 5);
  const site = vm.callSite(L);
  const work = (async (): Promise<string> => {
    if ((flags & 2) !== 0) {
      throw new LuactError('INVALID', 'a process cannot link to a workflow; monitor it', {
        retryable: false,
      });
    }
    if (entry === undefined) throw new LuactError('INVALID', 'the entry must be a string');
    const namespace = splitEntryId(parent.entry).namespace;
    const pid = await host.spawn({
      entry: system.resolveEntryId(entry, namespace),
      args,
      parent: parent.pid,
      context: spec.context !== undefined ? contextOf(spec.context) : new Map(),
      ...(spec.name !== undefined ? { name: spec.name } : {}),
      ...(spec.options !== undefined ? { options: spec.options } : {}),
      ...(spec.messages ? { messages: startupMessages(spec.messages) } : {}),
    });
    if ((flags & 1) !== 0) await monitorExternal(system, parent, host, pid);
    if (outcomeChannel !== undefined) {
      // Expected before watching: a workflow that already ended answers at once.
      parent.mailbox.expectResult(outcomeChannel);
      await host
        .watch(pid, (outcome) => deliverOutcome(parent, outcomeChannel, outcome, pid))
        .catch((error: unknown) => {
          parent.mailbox.forgetResult(outcomeChannel);
          throw error;
        });
    }
    return pid;
  })().catch((error: unknown) => {
    throw withCallSite(error, () => site);
  });
  return pending(system, L, vm, parent, work);
}

// ── funcs ─────────────────────────────────────────────────────────────────────────────────────

function funcsFunctions(system: ProcessSystem): Record<string, HostFunction> {
  return {
    call(L, vm) {
      const self = caller(vm);
      return fallible(L, vm, () => {
        const spec = (vm.api._lua_type(L, 2) === 4 ? decodeValue(luaBytes(L, vm, 2)) : {}) as {
          context?: Record<string, unknown>;
          options?: Record<string, unknown>;
        };
        let context = self.context;
        if (spec.context !== undefined) {
          const merged = new Map(self.context);
          for (const [key, value] of contextOf(spec.context)) merged.set(key, value);
          context = merged;
        }
        return fromCaller(L, vm, () =>
          system.call({
            entry: requiredText(L, vm, 1, 'the function entry'),
            args: luaBytes(L, vm, 3),
            caller: self,
            channel: vm.api._lua_tonumberx(L, 4, 0),
            context,
            timeoutMs: callTimeout(spec.options),
          }),
        );
      });
    },
    cancel_call(L, vm) {
      const canceled = system.cancelCall(requiredText(L, vm, 1, 'the call'), caller(vm));
      vm.api._lua_pushboolean(L, canceled ? 1 : 0);
      return 1;
    },
  };
}

function callTimeout(options: Record<string, unknown> | undefined): number | undefined {
  if (options === undefined) return undefined;
  for (const key of Object.keys(options)) {
    if (key !== 'timeout')
      throw new LuactError('INVALID', `unknown call option "${shorten(key)}"`, {
        retryable: false,
      });
  }
  const timeout = options.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || !(timeout > 0)) {
    throw new LuactError('INVALID', 'the timeout option is a positive number of milliseconds', {
      retryable: false,
    });
  }
  return timeout;
}

// ── ctx, env ──────────────────────────────────────────────────────────────────────────────────

function contextFunctions(): Record<string, HostFunction> {
  return {
    get(L, vm) {
      const value = caller(vm).context.get(requiredText(L, vm, 1, 'the key'));
      if (value === undefined) return 0;
      vm.memory.pushBytes(L, value);
      return 1;
    },
    all(L, vm) {
      const all: Record<string, unknown> = {};
      for (const [key, value] of caller(vm).context) all[key] = decodeValue(value);
      vm.memory.pushBytes(L, encodeValue(all));
      return 1;
    },
  };
}

function envFunctions(system: ProcessSystem): Record<string, HostFunction> {
  return {
    get(L, vm) {
      const self = caller(vm);
      return fallible(L, vm, () => {
        const name = requiredText(L, vm, 1, 'the name');
        const id = resolveReference(name, splitEntryId(self.entry).namespace);
        if (!id.ok) return new LuactError('INVALID', id.error, { retryable: false });
        const entry = system.snapshot().get(id.value);
        if (entry?.kind !== 'env.variable') {
          return new LuactError('NOT_FOUND', `no env.variable entry ${id.value}`, {
            retryable: false,
          });
        }
        const config = activateEntry(entry, system.options.env);
        if (!config.ok)
          return new LuactError('INVALID', config.error.map((d) => d.message).join('; '), {
            retryable: false,
          });
        const value = system.options.env[config.value.variable] ?? config.value.default;
        if (value === undefined) {
          return new LuactError(
            'NOT_FOUND',
            `environment variable ${config.value.variable} (${id.value}) is not set and has no default`,
            {
              retryable: false,
            },
          );
        }
        return value;
      });
    },
  };
}

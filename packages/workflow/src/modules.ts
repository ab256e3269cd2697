import { readFileSync } from 'node:fs';
import {
  checkWorkflowId,
  type EntryId,
  LuactError,
  resolveReference,
  splitEntryId,
} from '@luact/core';
import {
  decodeValue,
  encodeValue,
  type HostFunction,
  type LogLevel,
  type LogRecord,
  type LuaModuleSpec,
  type LuaState,
  type LuaVm,
  luaSource,
} from '@luact/lua';
import {
  boundedOutput,
  fallible,
  luaBytes,
  luaText,
  processLua,
  requiredText,
} from '@luact/process';
import { withCallOptions } from './activity-options.js';
import type { ActivityOptions, Bytes, StartupMessage } from './records.js';
import { WorkflowRun } from './run.js';
import { workflowSpawnOptions } from './spawn-options.js';

/** What the workflow modules need to know about the host they run on. */
export interface WorkflowModuleEnvironment {
  /** The workflow host's own ID (workflow.exec starts children there). */
  readonly hostId: string;
  /** Whether an entry ID names a workflow host (children may only start there). */
  isWorkflowHost(id: string): boolean;
  /**
   * The options an activity of function entry `id` gets when the call sets none: its
   * `meta.options` over the defaults (a host may keep them per entry version).
   */
  activityDefaults(id: string): ActivityOptions;
  readonly log?: (record: LogRecord) => void;
}

/** Modules a workflow.lua entry may list: the deterministic ones. */
export const WORKFLOW_MODULES = ['time', 'json', 'uuid', 'logger', 'funcs', 'ctx', 'workflow'];

function workflowLua(path: string): string {
  return readFileSync(new URL(`../lua/${path}.lua`, import.meta.url), 'utf8');
}

/**
 * The modules of a workflow host's VM. The Lua side is the same as in processes (`time.sleep`
 * reads the same in both); the host functions underneath turn each operation into a command
 * of the run, or read the run's deterministic state. `pairs`, `math` and `os` are replaced by
 * deterministic versions for every workflow.
 */
export function workflowModules(env: WorkflowModuleEnvironment): LuaModuleSpec[] {
  const references = new References();
  return [
    { name: 'pairs', scope: 'global', source: workflowLua('globals/pairs') },
    {
      name: 'math',
      scope: 'global',
      source: workflowLua('globals/math'),
      functions: randomFunctions(),
    },
    { name: 'os', scope: 'global', source: workflowLua('globals/os'), functions: clockFunctions() },
    {
      name: 'time',
      scope: 'module',
      source: luaSource('modules/time.lua'),
      functions: timeFunctions(),
    },
    { name: 'json', scope: 'module', source: luaSource('modules/json.lua') },
    {
      name: 'uuid',
      scope: 'module',
      source: luaSource('modules/uuid.lua'),
      functions: uuidFunctions(),
    },
    {
      name: 'logger',
      scope: 'module',
      source: luaSource('modules/logger.lua'),
      functions: loggerFunctions(env),
    },
    {
      name: 'process',
      scope: 'global',
      source: processLua('process'),
      functions: processFunctions(env, references),
    },
    {
      name: 'funcs',
      scope: 'module',
      source: processLua('funcs'),
      functions: funcsFunctions(env, references),
    },
    { name: 'ctx', scope: 'module', source: processLua('ctx'), functions: contextFunctions() },
    {
      name: 'workflow',
      scope: 'module',
      source: workflowLua('workflow'),
      functions: workflowFunctions(env),
    },
  ];
}

// ── Helpers ───────────────────────────────────────────────────────────────────────────────────

function runOf(vm: LuaVm): WorkflowRun {
  const owner = vm.current?.group.owner;
  if (!(owner instanceof WorkflowRun)) throw new Error('only available inside a workflow');
  return owner;
}

function integer(L: LuaState, vm: LuaVm, index: number): number {
  return Number(vm.api._lua_tointegerx(L, index, 0));
}

function notInWorkflows(what: string): HostFunction {
  return () => {
    throw new LuactError('INVALID', `${what} is not available in workflows`, {
      retryable: false,
    });
  };
}

/**
 * Entry and host references as workflows write them, resolved against the workflow's
 * namespace, remembered per entry: workflows repeat the same few.
 */
class References {
  private readonly resolved = new Map<string, Map<string, string>>();

  resolve(run: WorkflowRun, reference: string, what: string): string {
    let known = this.resolved.get(run.started.entry);
    if (!known) {
      known = new Map();
      this.resolved.set(run.started.entry, known);
    }
    const cached = known.get(reference);
    if (cached !== undefined) return cached;
    const resolved = resolveReference(
      reference,
      splitEntryId(run.started.entry as EntryId).namespace,
    );
    if (!resolved.ok)
      throw new LuactError('INVALID', `invalid ${what} ID: ${resolved.error}`, {
        retryable: false,
      });
    known.set(reference, resolved.value);
    return resolved.value;
  }
}

/** A destination as written (a PID, or a process's registered name) is resolved when sent. */
function destination(L: LuaState, vm: LuaVm): string {
  return requiredText(L, vm, 1, 'the destination');
}

function encodedContext(values: unknown): Record<string, Bytes> {
  const context: Record<string, Bytes> = {};
  if (values && typeof values === 'object') {
    for (const [key, value] of Object.entries(values)) context[key] = encodeValue(value);
  }
  return context;
}

/** The one rule for workflow IDs (bytes, printable characters, no PID delimiters) is core's. */
export { checkWorkflowId };

// ── pairs, math, os ───────────────────────────────────────────────────────────────────────────

function randomFunctions(): Record<string, HostFunction> {
  return {
    random(L, vm) {
      vm.api._lua_pushnumber(L, runOf(vm).nextRandom());
      return 1;
    },
    reseed(L, vm) {
      runOf(vm).reseed(Math.trunc(vm.api._lua_tonumberx(L, 1, 0)));
      return 0;
    },
  };
}

function clockFunctions(): Record<string, HostFunction> {
  return {
    now_ms(L, vm) {
      vm.api._lua_pushinteger(L, BigInt(Math.floor(runOf(vm).now)));
      return 1;
    },
    started_ms(L, vm) {
      vm.api._lua_pushinteger(L, BigInt(Math.floor(runOf(vm).started.at)));
      return 1;
    },
  };
}

// ── time, uuid, logger ────────────────────────────────────────────────────────────────────────

function timeFunctions(): Record<string, HostFunction> {
  return {
    now(L, vm) {
      vm.api._lua_pushinteger(L, BigInt(Math.floor(runOf(vm).now)) * 1_000_000n);
      return 1;
    },
    /** timer_start(channel, delay_ns, repeat_ns): a durable timer. */
    timer_start(L, vm) {
      const delayMs = integer(L, vm, 2) / 1e6;
      const everyMs = integer(L, vm, 3) / 1e6;
      runOf(vm).startTimer(integer(L, vm, 1), delayMs, everyMs > 0 ? everyMs : undefined, L);
      return 0;
    },
    timer_stop(L, vm) {
      vm.api._lua_pushboolean(L, runOf(vm).stopTimer(integer(L, vm, 1), L) ? 1 : 0);
      return 1;
    },
  };
}

function uuidFunctions(): Record<string, HostFunction> {
  return {
    random_bytes(L, vm) {
      vm.memory.pushBytes(L, runOf(vm).randomBytes(integer(L, vm, 1)));
      return 1;
    },
    now_ms(L, vm) {
      vm.api._lua_pushinteger(L, BigInt(Math.floor(runOf(vm).now)));
      return 1;
    },
  };
}

function loggerFunctions(env: WorkflowModuleEnvironment): Record<string, HostFunction> {
  return {
    log(L, vm) {
      const run = runOf(vm);
      // A replay repeats what was logged the first time: say it once.
      if (run.replaying || !env.log) return 0;
      const encoded = vm.memory.toBytes(L, 3);
      env.log({
        level: (vm.memory.toString(L, 1) ?? 'info') as LogLevel,
        message: boundedOutput(vm.memory.toString(L, 2) ?? ''),
        fields: encoded ? (decodeValue(encoded) as Record<string, unknown>) : {},
        labels: run.labels(),
      });
      return 0;
    },
  };
}

// ── process ───────────────────────────────────────────────────────────────────────────────────

interface SpawnSpec {
  readonly context?: Record<string, unknown>;
  readonly options?: Record<string, unknown>;
  readonly name?: string;
  readonly messages?: [string, Uint8Array][];
}

function processFunctions(
  env: WorkflowModuleEnvironment,
  references: References,
): Record<string, HostFunction> {
  return {
    pid(L, vm) {
      vm.memory.pushString(L, runOf(vm).pid);
      return 1;
    },
    entry_id(L, vm) {
      vm.memory.pushString(L, runOf(vm).started.entry);
      return 1;
    },
    /** A message from a workflow is a command: it is sent once the task is journaled. */
    send(L, vm) {
      const run = runOf(vm);
      return fallible(L, vm, () => {
        run.issue(
          {
            k: 'send',
            to: destination(L, vm),
            topic: requiredText(L, vm, 2, 'the topic'),
            payload: luaBytes(L, vm, 3),
          },
          L,
        );
        return true;
      });
    },
    spawn(L, vm) {
      const run = runOf(vm);
      return fallible(L, vm, () => {
        const host = references.resolve(run, requiredText(L, vm, 2, 'the host'), 'host');
        if (!env.isWorkflowHost(host)) {
          throw new LuactError(
            'INVALID',
            `a workflow starts child workflows on a workflow.host; ${host} is not one (call functions with funcs for other work)`,
            { retryable: false },
          );
        }
        const flags = vm.api._lua_tonumberx(L, 3, 0);
        const spec = (
          vm.api._lua_type(L, 4) === 4 ? decodeValue(luaBytes(L, vm, 4)) : {}
        ) as SpawnSpec;
        const channel = vm.api._lua_type(L, 6) === 3 ? vm.api._lua_tonumberx(L, 6, 0) : undefined;
        const { id, conflict } = workflowSpawnOptions(spec.options);
        const name = id ?? spec.name;
        const messages: StartupMessage[] = (spec.messages ?? []).map(([topic, payload]) => ({
          topic,
          from: run.pid,
          payload,
        }));
        return run.startChild(
          {
            k: 'child',
            entry: references.resolve(run, requiredText(L, vm, 1, 'the entry'), 'entry'),
            host,
            args: luaBytes(L, vm, 5),
            context: encodedContext(spec.context),
            messages,
            follow: (flags & 3) | (channel !== undefined ? 4 : 0),
            conflict,
          },
          name === undefined ? undefined : checkWorkflowId(name),
          channel,
          L,
        );
      });
    },
    terminate(L, vm) {
      const run = runOf(vm);
      return fallible(L, vm, () => {
        run.issue({ k: 'terminate', to: destination(L, vm) }, L);
        return true;
      });
    },
    cancel(L, vm) {
      const run = runOf(vm);
      return fallible(L, vm, () => {
        const reason = luaText(L, vm, 2);
        run.issue({ k: 'cancel', to: destination(L, vm), ...(reason ? { reason } : {}) }, L);
        return true;
      });
    },
    monitor(L, vm) {
      const run = runOf(vm);
      return fallible(L, vm, () => {
        run.monitor(destination(L, vm), L);
        return true;
      });
    },
    unmonitor: (L, vm) => fallible(L, vm, () => true),
    link: notInWorkflows('process.link (use spawn_linked for child workflows)'),
    unlink: notInWorkflows('process.unlink'),
    get_trap_links(L, vm) {
      vm.api._lua_pushboolean(L, runOf(vm).trapLinks ? 1 : 0);
      return 1;
    },
    set_trap_links(L, vm) {
      runOf(vm).trapLinks = vm.api._lua_toboolean(L, 1) !== 0;
      return 0;
    },
    inbox(L, vm) {
      runOf(vm).mailbox.openInbox(vm.api._lua_tonumberx(L, 1, 0));
      return 0;
    },
    events(L, vm) {
      runOf(vm).mailbox.openEvents(vm.api._lua_tonumberx(L, 1, 0));
      return 0;
    },
    listen(L, vm) {
      runOf(vm).mailbox.listen(requiredText(L, vm, 1, 'the topic'), vm.api._lua_tonumberx(L, 2, 0));
      return 0;
    },
    unlisten(L, vm) {
      runOf(vm).mailbox.unlisten(requiredText(L, vm, 1, 'the topic'));
      return 0;
    },
    register: notInWorkflows('process.registry (a workflow is found by its ID: use with_name)'),
    lookup: notInWorkflows('process.registry.lookup'),
    unregister: notInWorkflows('process.registry.unregister'),
    /** Continue as new: the run ends and a new one starts with these arguments. */
    upgrade(L, vm) {
      const run = runOf(vm);
      return fallible(L, vm, () => {
        const requested = luaText(L, vm, 1);
        const entry =
          requested === undefined ? run.started.entry : references.resolve(run, requested, 'entry');
        run.continueAsNew(entry, luaBytes(L, vm, 2));
        return true;
      });
    },
    settle: notInWorkflows('waiting for a host answer'),
  };
}

// ── funcs: activities ─────────────────────────────────────────────────────────────────────────

function funcsFunctions(
  env: WorkflowModuleEnvironment,
  references: References,
): Record<string, HostFunction> {
  return {
    call(L, vm) {
      const run = runOf(vm);
      return fallible(L, vm, () => {
        const spec = (vm.api._lua_type(L, 2) === 4 ? decodeValue(luaBytes(L, vm, 2)) : {}) as {
          context?: Record<string, unknown>;
          options?: Record<string, unknown>;
        };
        const entry = references.resolve(
          run,
          requiredText(L, vm, 1, 'the function entry'),
          'entry',
        );
        const defaults = env.activityDefaults(entry);
        const seq = run.callActivity(
          {
            k: 'activity',
            entry,
            args: luaBytes(L, vm, 3),
            context:
              spec.context === undefined
                ? run.started.context
                : { ...run.started.context, ...encodedContext(spec.context) },
            options:
              spec.options === undefined ? defaults : withCallOptions(defaults, spec.options),
          },
          vm.api._lua_tonumberx(L, 4, 0),
          L,
        );
        return String(seq);
      });
    },
    cancel_call(L, vm) {
      const run = runOf(vm);
      const seq = Number(requiredText(L, vm, 1, 'the call'));
      vm.api._lua_pushboolean(L, run.cancelActivity(seq, L) ? 1 : 0);
      return 1;
    },
  };
}

// ── ctx, workflow ─────────────────────────────────────────────────────────────────────────────

function contextFunctions(): Record<string, HostFunction> {
  return {
    get(L, vm) {
      const value = runOf(vm).started.context[requiredText(L, vm, 1, 'the key')];
      if (value === undefined) return 0;
      vm.memory.pushBytes(L, value);
      return 1;
    },
    all(L, vm) {
      const all: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(runOf(vm).started.context))
        all[key] = decodeValue(value);
      vm.memory.pushBytes(L, encodeValue(all));
      return 1;
    },
  };
}

function workflowFunctions(env: WorkflowModuleEnvironment): Record<string, HostFunction> {
  return {
    info(L, vm) {
      const run = runOf(vm);
      vm.memory.pushBytes(
        L,
        encodeValue({
          workflow_id: run.workflowId,
          run_id: `${run.workflowId}#${run.started.run}`,
          workflow_type: run.started.entry,
          attempt: run.started.run,
          history_length: run.eventsHandled,
        }),
      );
      return 1;
    },
    version(L, vm) {
      const run = runOf(vm);
      const change = requiredText(L, vm, 1, 'the change ID');
      vm.api._lua_pushinteger(
        L,
        BigInt(run.version(change, integer(L, vm, 2), integer(L, vm, 3), L)),
      );
      return 1;
    },
    host_id(L, vm) {
      vm.memory.pushString(L, env.hostId);
      return 1;
    },
  };
}

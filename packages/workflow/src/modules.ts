import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkWorkflowId, LuactError } from '@luact/core';
import {
  base64Module,
  type CryptoSources,
  cryptoModule,
  decodeValue,
  encodeValue,
  type HostFunction,
  hashModule,
  type LogLevel,
  type LogRecord,
  type LuaModuleSpec,
  type LuaVm,
  luaSource,
  textModule,
  timeValueFunctions,
  yamlModule,
} from '@luact/lua';
import { boundedOutput, processBinding, processLua, requiredText } from '@luact/process';
import { WorkflowRun } from './run.js';
import { type WorkflowHostView, WorkflowProcessApi } from './workflow-process-api.js';

/** What the workflow modules need to know about the host they run on. */
export interface WorkflowModuleEnvironment extends WorkflowHostView {
  /** The workflow host's own ID (workflow.exec starts children there). */
  readonly hostId: string;
  readonly log?: (record: LogRecord) => void;
}

/** Modules a workflow.lua entry may list: the deterministic ones. */
export const WORKFLOW_MODULES = [
  'time',
  'json',
  'base64',
  'hash',
  'crypto',
  'yaml',
  'text',
  'uuid',
  'logger',
  'funcs',
  'ctx',
  'workflow',
];

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
  const binding = processBinding(new WorkflowProcessApi(env));
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
    // Pure functions of their arguments: the same module as in processes.
    base64Module(),
    hashModule(),
    cryptoModule(journaledCrypto()),
    yamlModule(),
    // Diffs without their time limit, so a replay on a slower machine sees the same diff.
    textModule({ deterministic: true }),
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
    { name: 'process', scope: 'global', source: processLua('process'), functions: binding.process },
    { name: 'funcs', scope: 'module', source: processLua('funcs'), functions: binding.funcs },
    { name: 'ctx', scope: 'module', source: processLua('ctx'), functions: binding.ctx },
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

/** The one rule for workflow IDs (bytes, printable characters, no PID delimiters) is core's. */
export { checkWorkflowId };

// ── pairs, math, os ───────────────────────────────────────────────────────────────────────────

function randomFunctions(): Record<string, HostFunction> {
  return {
    random(L, vm) {
      vm.stack.pushNumber(L, runOf(vm).nextRandom());
      return 1;
    },
    reseed(L, vm) {
      runOf(vm).reseed(Math.trunc(vm.stack.number(L, 1)));
      return 0;
    },
  };
}

function clockFunctions(): Record<string, HostFunction> {
  return {
    now_ms(L, vm) {
      vm.stack.pushInteger(L, Math.floor(runOf(vm).now));
      return 1;
    },
    started_ms(L, vm) {
      vm.stack.pushInteger(L, Math.floor(runOf(vm).started.at));
      return 1;
    },
  };
}

// ── time, uuid, logger ────────────────────────────────────────────────────────────────────────

function timeFunctions(): Record<string, HostFunction> {
  return {
    // Zone offsets are pure functions of the zone data; time.localtz is UTC in every workflow,
    // so a replay on a node in another zone reads the same clock.
    ...timeValueFunctions('UTC'),
    now(L, vm) {
      vm.stack.pushInteger(L, BigInt(Math.floor(runOf(vm).now)) * 1_000_000n);
      return 1;
    },
    /** timer_start(channel, delay_ns, repeat_ns) → true: a durable timer. */
    timer_start(L, vm) {
      const delayMs = vm.stack.integer(L, 2) / 1e6;
      const everyMs = vm.stack.integer(L, 3) / 1e6;
      runOf(vm).startTimer(vm.stack.integer(L, 1), delayMs, everyMs > 0 ? everyMs : undefined, () =>
        vm.callSite(L),
      );
      vm.stack.pushBoolean(L, true);
      return 1;
    },
    /**
     * timer_drop(channel): nothing. A durable timer whose channel was collected fires in its
     * time all the same: when a collection happens is not journaled, and a replay must start
     * and stop the same timers.
     */
    timer_drop() {
      return 0;
    },
    timer_stop(L, vm) {
      vm.stack.pushBoolean(
        L,
        runOf(vm).stopTimer(vm.stack.integer(L, 1), () => vm.callSite(L)),
      );
      return 1;
    },
  };
}

function uuidFunctions(): Record<string, HostFunction> {
  return {
    random_bytes(L, vm) {
      vm.stack.pushBytes(L, runOf(vm).randomBytes(vm.stack.integer(L, 1)));
      return 1;
    },
    now_ms(L, vm) {
      vm.stack.pushInteger(L, Math.floor(runOf(vm).now));
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
      const encoded = vm.stack.bytes(L, 3);
      const record: LogRecord = {
        level: (vm.stack.text(L, 1) ?? 'info') as LogLevel,
        message: boundedOutput(vm.stack.text(L, 2) ?? ''),
        fields: encoded ? (decodeValue(encoded) as Record<string, unknown>) : {},
        labels: run.labels(),
      };
      run.output(() => env.log?.(record));
      return 0;
    },
  };
}

// ── crypto ──────────────────────────────────────────────────────────────────────────────

/** Random bytes one crypto call in a workflow may draw: they go into the journal with the step. */
const MAX_JOURNALED_RANDOM = 64 * 1024;

/**
 * crypto in a workflow: its secure random bytes (random values, nonces) are a side effect,
 * journaled with the step, so a replay reads them back; `jwt.verify` reads workflow time.
 */
function journaledCrypto(): CryptoSources {
  return {
    randomBytes(L, vm, count) {
      if (count > MAX_JOURNALED_RANDOM) {
        throw new LuactError(
          'INVALID',
          `crypto: a workflow draws at most ${MAX_JOURNALED_RANDOM} random bytes at once (they are kept in its journal); this call needs ${count}`,
          { retryable: false },
        );
      }
      const site = () => vm.callSite(L);
      return runOf(vm).sideEffect(`${count} random bytes`, () => randomBytes(count), site);
    },
    nowMs: (vm) => runOf(vm).now,
  };
}

// ── workflow ─────────────────────────────────────────────────────────────────────────────

function workflowFunctions(env: WorkflowModuleEnvironment): Record<string, HostFunction> {
  return {
    info(L, vm) {
      const run = runOf(vm);
      vm.stack.pushBytes(
        L,
        encodeValue({
          workflow_id: run.workflowId,
          run_id: `${run.workflowId}#${run.started.run}`,
          workflow_type: run.started.entry,
          // Temporal's names for where a run runs: its workflow host, and the host's namespace.
          task_queue: env.hostId,
          namespace: env.hostId.slice(0, env.hostId.lastIndexOf(':')),
          attempt: run.started.run,
          history_length: run.eventsHandled,
        }),
      );
      return 1;
    },
    history_length(L, vm) {
      vm.stack.pushInteger(L, runOf(vm).eventsHandled);
      return 1;
    },
    history_size(L, vm) {
      vm.stack.pushInteger(L, runOf(vm).historySize);
      return 1;
    },
    version(L, vm) {
      const run = runOf(vm);
      const change = requiredText(L, vm, 1, 'the change ID');
      vm.stack.pushInteger(
        L,
        run.version(change, vm.stack.integer(L, 2), vm.stack.integer(L, 3), () => vm.callSite(L)),
      );
      return 1;
    },
    host_id(L, vm) {
      vm.stack.pushString(L, env.hostId);
      return 1;
    },
  };
}

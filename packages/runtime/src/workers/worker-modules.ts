import { LuactError } from '@luact/core';
import type { HostFunction, LogRecord, LuaModuleSpec } from '@luact/lua';
import type { ProcessSystem } from '@luact/process';
import { nodeModules } from '../modules.js';
import { processConsole } from '../terminal/console.js';

/**
 * Modules whose state is the node's, kept on its main thread, and which a worker thread does
 * not reach yet: the event bus, env storages, the services, the registry (reads and changes),
 * the console. (Function calls run on the main thread's function host.) Their calls on a worker fail with why instead of acting on a copy.
 */
const MAIN_THREAD_MODULES: ReadonlySet<string> = new Set([
  'events',
  'env',
  'supervisor',
  'registry',
  'io',
]);

/**
 * The modules of a worker thread's processes: the same names as the main thread's (so an entry
 * that lists one loads everywhere), the node-wide ones refusing every call.
 */
export function workerModules(
  system: ProcessSystem,
  where: { readonly host: string; readonly workers: number },
  log: (record: LogRecord) => void,
  testHooks = false,
): LuaModuleSpec[] {
  return nodeModules(system, {
    log,
    terminal: { console: processConsole(), isTerminalHost: () => false },
    ...(testHooks ? { testHooks: 'worker' as const } : {}),
  }).map((module) =>
    MAIN_THREAD_MODULES.has(module.name)
      ? refusing(module, notOnWorker(module.name, where))
      : module,
  );
}

function refusing(module: LuaModuleSpec, why: LuactError): LuaModuleSpec {
  const raise: HostFunction = () => {
    throw why;
  };
  const functions = Object.fromEntries(
    Object.keys(module.functions ?? {}).map((name) => [name, raise]),
  );
  return { ...module, functions };
}

function notOnWorker(
  module: string,
  { host, workers }: { readonly host: string; readonly workers: number },
): LuactError {
  return new LuactError(
    'UNAVAILABLE',
    `the ${module} module is not supported yet in a process on a worker thread: host ${host} runs on ${workers} workers, and ${module} is kept on the node's main thread (run this process on a host with workers: 1)`,
    { retryable: false, details: { module, host, workers } },
  );
}

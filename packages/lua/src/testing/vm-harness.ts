import { afterEach } from 'vitest';
import { decodeValue, encodeValues } from '../codec/wire.js';
import { builtinModules, type LogRecord } from '../modules/builtin.js';
import type { Clock } from '../vm/clock.js';
import type { FiberGroup, GroupOutcome, GroupOwner } from '../vm/fiber.js';
import type { LuaModuleSpec } from '../vm/host-function.js';
import type { EngineMemory } from '../vm/lua-heap.js';
import { LuaVm, type LuaVmLimits, type PreparedEntry } from '../vm/lua-vm.js';
import { loadLuaApi } from '../wasm/load-module.js';
import type { LuaApi } from '../wasm/lua-api.js';

let api: Promise<LuaApi> | undefined;

/** One WebAssembly module for all tests of a file, as a node would share it. */
/** The limits of a process.host that sets none. */
export const TEST_LIMITS: LuaVmLimits = {
  reductions: 10_000,
  timeSliceMs: 2,
  maxSliceMs: 1_000,
  memoryBytes: 256 * 1024 * 1024,
  processMemoryBytes: 64 * 1024 * 1024,
};

export function sharedApi(): Promise<LuaApi> {
  api ??= loadLuaApi();
  return api;
}

export interface Exit {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: {
    kind: string;
    message: string;
    retryable: boolean;
    details?: Record<string, unknown>;
  };
  readonly killed?: boolean;
}

/** A VM with a recording owner: start Lua snippets as processes and wait for how they end. */
export class VmHarness implements GroupOwner {
  readonly printed: string[] = [];
  /** How often each group became idle (every fiber blocked). */
  readonly idles = new Map<FiberGroup, number>();
  private readonly exits = new Map<FiberGroup, Exit>();
  private readonly waiting = new Map<FiberGroup, (exit: Exit) => void>();
  private nextId = 1;

  private constructor(
    readonly vm: LuaVm,
    readonly serialFibers: boolean,
  ) {}

  readonly logs: LogRecord[] = [];

  static async create(
    options: {
      modules?: LuaModuleSpec[];
      limits?: Partial<LuaVmLimits>;
      engine?: EngineMemory;
      clock?: Clock;
      /** The harness owns its groups as a workflow host does: their fibers run serially. */
      serialFibers?: boolean;
    } = {},
  ) {
    const harness: { value?: VmHarness } = {};
    const vm = new LuaVm(await sharedApi(), {
      name: 'test:host',
      limits: { ...TEST_LIMITS, ...options.limits },
      ...(options.engine ? { engine: options.engine } : {}),
      modules:
        options.modules ?? builtinModules({ log: (record) => harness.value?.logs.push(record) }),
      print: (text) => harness.value?.printed.push(text),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    harness.value = new VmHarness(vm, options.serialFibers === true);
    return harness.value;
  }

  labels(): Record<string, string> {
    return { pid: 'test', entry: 'test:entry' };
  }

  onGroupIdle(group: FiberGroup): void {
    this.idles.set(group, (this.idles.get(group) ?? 0) + 1);
  }

  onGroupExit(group: FiberGroup, outcome: GroupOutcome): void {
    const exit: Exit = outcome.ok
      ? { ok: true, value: decodeValue(outcome.value) }
      : {
          ok: false,
          error: decodeValue(outcome.error) as Exit['error'] & object,
          killed: outcome.killed,
        };
    this.exits.set(group, exit);
    this.waiting.get(group)?.(exit);
  }

  prepare(
    source: string,
    options: { modules?: string[]; imports?: Record<string, PreparedEntry>; id?: string } = {},
  ): PreparedEntry {
    const id = options.id ?? `test:entry${this.nextId++}`;
    return this.vm.prepareEntry({
      id,
      fingerprint: id,
      source,
      file: `${id.replace(':', '/')}.lua`,
      firstLine: 1,
      modules: options.modules ?? [],
      imports: options.imports ?? {},
    });
  }

  /** Starts `source`'s `main` with `args` (msgpack-encoded by the caller) as a process. */
  start(entry: PreparedEntry, args: Uint8Array, method = 'main'): FiberGroup {
    return this.vm.startGroup(this, entry, method, args);
  }

  /** Prepares `source` (with `options.modules`), runs its `main` with `args` and waits for its exit. */
  run(source: string, args: readonly unknown[] = [], options: { modules?: string[] } = {}) {
    return this.wait(this.start(this.prepare(source, options), encodeValues(args)));
  }

  exitOf(group: FiberGroup): Exit | undefined {
    return this.exits.get(group);
  }

  /** Resolves when the group ends; rejects after `timeoutMs`. */
  wait(group: FiberGroup, timeoutMs = 5_000): Promise<Exit> {
    const done = this.exits.get(group);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`group ${group.id} did not end within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.set(group, (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }

  close(): void {
    this.vm.close();
  }
}

/**
 * A test file's runner of Lua snippets that use built-in module `module`: `run(body)` runs `body`
 * as a process's main function, with `local <module> = require("<module>")` and `prelude` (Lua
 * run before main: helper functions) in scope, in a new harness closed after each test.
 */
export function moduleSnippets(
  module: string,
  prelude = '',
): (body: string, clock?: Clock) => Promise<Exit> {
  let h: VmHarness | undefined;
  afterEach(() => {
    h?.close();
    h = undefined;
  });
  return async (body, clock) => {
    h = await VmHarness.create(clock ? { clock } : {});
    const source = `local ${module} = require("${module}")\n${prelude}return { main = function()\n${body}\nend }`;
    return h.run(source, [], { modules: [module] });
  };
}

import { LuactError } from '@luact/core';
import {
  isLuaUnwind,
  LUA_REGISTRYINDEX,
  type LuaApi,
  type LuaState,
  LuaStatus,
  LuaType,
  type Pointer,
} from '../wasm/lua-api.js';
import type { WasmMemory } from '../wasm/memory.js';
import type { HostFunction, LuaModuleSpec } from './host-function.js';
import { kernelFiles, luaSource } from './kernel-files.js';
import { kernelHostFunctions } from './kernel-host-functions.js';
import type { LuaVm } from './lua-vm.js';
import { type Preemption, TERMINATED } from './preemption.js';
import { typePatternFunctions } from './type-patterns.js';

/** Sentinels yielded or raised between Lua and the scheduler (light userdata values). */
/**
 * The kernel's functions that are the engine's (luact_kernelfunction): a string made by one
 * process and kept by another is charged to the holder (kernel/channel.lua, "Mail channels").
 */
const KERNEL_C_FUNCTIONS = [
  ['charge_to_running', 0],
  ['charge_to_host', 1],
  ['fiber_ids', 2],
] as const;

export const BLOCK = 1;
const PREEMPT = 2;

/** Kernel functions TypeScript calls, kept as registry references. */
const KERNEL_FUNCTIONS = [
  'boot',
  'outcome',
  'run_fiber',
  'describe_error',
  'prepare_entry',
  'drop_group',
  'mail_drain',
  // Not functions: the mail channels by id, and the processes' states by group id (their mail
  // boxes in slots 1 and 2), which TypeScript reads.
  'MAIL',
  'GROUP_STATE',
];

/**
 * Pure-Lua libraries under lua/, given to the kernel and modules as `rt.libs`. Their chunks
 * are named "=luact-lib:…", so they are preempted where user code calls them (not where the
 * kernel does), except those that keep state between calls in the one instance every process
 * of a host shares (uuid's v7 sequence), which count as kernel code.
 */
const LIBRARIES = [
  'msgpack',
  'duration',
  'calendar',
  'layout',
  'layout_parse',
  'json',
  'uuid',
  'patterns',
  'sort',
  'builtins',
  'text_regexp',
  'text_diff',
  'text_splitter',
  'type_validators',
  'types',
] as const;
const STATEFUL_LIBRARIES: ReadonlySet<string> = new Set(['uuid']);

/**
 * The kernel of a VM: its Lua files (fibers, channels, errors, codec, sandbox, boot) and
 * libraries loaded into the main state, the built-in modules installed through it, and the
 * calls TypeScript makes into it. Kernel calls run on the main state, bounded like a fiber.
 */
export class Kernel {
  /** Registry references of the kernel table `rt` and of the functions TypeScript calls. */
  private readonly refs: Record<string, number> = {};
  private readonly keys = new Map<string, bigint>();
  /** Host functions added to the engine's function table, removed at dispose. */
  private readonly functionPointers: Pointer[] = [];

  constructor(
    private readonly vm: LuaVm,
    private readonly api: LuaApi,
    private readonly L: LuaState,
    private readonly memory: WasmMemory,
    private readonly preemption: Preemption,
  ) {}

  /** Loads the kernel, then installs `modules` through it. */
  load(modules: readonly LuaModuleSpec[]): void {
    const { api, L } = this;
    // rt: the kernel's table of internals, shared by kernel files and module chunks.
    api._lua_createtable(L, 0, 32);
    const rt = api._luaL_ref(L, LUA_REGISTRYINDEX);
    this.refs.rt = rt;
    this.loadLibraries(rt);
    const host = this.hostTable({ ...kernelHostFunctions(), ...typePatternFunctions() }, true);
    for (const file of kernelFiles()) {
      this.runChunk(
        `=luact:${file.name}`,
        file.source,
        () => {
          api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(host));
          api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(rt));
          return 2;
        },
        0,
      );
    }
    api._luaL_unref(L, LUA_REGISTRYINDEX, host);
    for (const name of KERNEL_FUNCTIONS) {
      api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(rt));
      api._lua_getfield(L, -1, this.memory.cString(name));
      this.refs[name] = api._luaL_ref(L, LUA_REGISTRYINDEX);
      api._lua_settop(L, -2);
    }
    for (const spec of modules) this.installModule(spec);
  }

  /** Registry key of a kernel function (`boot`, `run_fiber`, …), for lua_rawgeti. */
  key(name: string): bigint {
    let key = this.keys.get(name);
    if (key === undefined) {
      const ref = this.refs[name];
      if (ref === undefined) throw new Error(`unknown kernel function ${name}`);
      key = BigInt(ref);
      this.keys.set(name, key);
    }
    return key;
  }

  /** Calls kernel function `name` on the main state; `pushArgs` pushes its arguments. */
  call(name: string, pushArgs: () => number, results: number): void {
    this.api._lua_rawgeti(this.L, LUA_REGISTRYINDEX, this.key(name));
    this.pcall(pushArgs(), results, name);
  }

  dispose(): void {
    for (const pointer of this.functionPointers) this.api.removeFunction(pointer);
  }

  /** Pure-Lua libraries, compiled but not run: modules instantiate them with their dependencies. */
  private loadLibraries(rt: number): void {
    const { api, L } = this;
    api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(rt));
    api._lua_createtable(L, 0, LIBRARIES.length);
    for (const name of LIBRARIES) {
      const chunkName = STATEFUL_LIBRARIES.has(name) ? `=luact:${name}` : `=luact-lib:${name}`;
      if (this.memory.loadChunk(L, luaSource(`${name}.lua`), chunkName) !== LuaStatus.ok) {
        throw new Error(`luact library ${name} does not compile: ${this.memory.toString(L, -1)}`);
      }
      api._lua_setfield(L, -2, this.memory.cString(name));
    }
    api._lua_setfield(L, -2, this.memory.cString('libs'));
    api._lua_settop(L, -2);
  }

  private installModule(spec: LuaModuleSpec): void {
    const { api, L } = this;
    const host = this.hostTable(spec.functions ?? {}, false);
    this.runChunk(
      `=luact:${spec.name}`,
      spec.source,
      () => {
        api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(host));
        api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(this.refs.rt ?? 0));
        return 2;
      },
      1,
    );
    const module = api._luaL_ref(L, LUA_REGISTRYINDEX);
    api._luaL_unref(L, LUA_REGISTRYINDEX, host);
    this.callField(spec.scope === 'global' ? 'add_global' : 'add_module', () => {
      this.memory.pushString(L, spec.name);
      api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(module));
      return 2;
    });
    api._luaL_unref(L, LUA_REGISTRYINDEX, module);
  }

  /** A Lua table of host functions (plus the scheduler sentinels for the kernel), as a registry ref. */
  private hostTable(
    functions: Readonly<Record<string, HostFunction>>,
    withSentinels: boolean,
  ): number {
    const { api, L } = this;
    api._lua_createtable(L, 0, Object.keys(functions).length + 3 + KERNEL_C_FUNCTIONS.length);
    for (const [name, fn] of Object.entries(functions)) {
      const pointer = api.addFunction((state) => this.callHost(fn, state), 'ii');
      this.functionPointers.push(pointer);
      api._lua_pushcclosure(L, pointer, 0);
      api._lua_setfield(L, -2, this.memory.cString(name));
    }
    if (withSentinels) {
      // The engine's own: no call out of it.
      for (const [name, which] of KERNEL_C_FUNCTIONS) {
        api._lua_pushcclosure(L, api._luact_kernelfunction(which), 0);
        api._lua_setfield(L, -2, this.memory.cString(name));
      }
      for (const [name, value] of [
        ['BLOCK', BLOCK],
        ['PREEMPT', PREEMPT],
        ['TERMINATED', TERMINATED],
      ] as const) {
        api._lua_pushlightuserdata(L, value);
        api._lua_setfield(L, -2, this.memory.cString(name));
      }
    }
    return api._luaL_ref(L, LUA_REGISTRYINDEX);
  }

  /** Host functions may throw; the exception becomes a Lua error in the caller. */
  private callHost(fn: HostFunction, L: LuaState): number {
    try {
      return fn(L, this.vm);
    } catch (error) {
      if (isLuaUnwind(error)) throw error;
      const raised = LuactError.from(error);
      this.memory.pushString(L, raised.message);
      return this.api._lua_error(L);
    }
  }

  private runChunk(name: string, source: string, pushArgs: () => number, results: number): void {
    const { api, L } = this;
    if (this.memory.loadChunk(L, source, name) !== LuaStatus.ok) {
      const message = this.memory.toString(L, -1);
      api._lua_settop(L, -2);
      throw new Error(`luact kernel ${name} does not compile: ${message}`);
    }
    const nargs = pushArgs();
    this.pcall(nargs, results, name);
  }

  /** Calls `rt[name]` (a kernel function not kept as a reference). */
  private callField(name: string, pushArgs: () => number): void {
    const { api, L } = this;
    api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(this.refs.rt ?? 0));
    api._lua_getfield(L, -1, this.memory.cString(name));
    api._lua_rotate(L, -2, -1);
    api._lua_settop(L, -2);
    this.pcall(pushArgs(), 0, name);
  }

  private pcall(nargs: number, results: number, what: string): void {
    const { api, L } = this;
    const status = this.preemption.kernelCall(() => api._lua_pcallk(L, nargs, results, 0, 0, 0));
    if (status !== LuaStatus.ok) {
      const message = this.errorText(L, -1);
      api._lua_settop(L, -2);
      throw new Error(`${what}: ${message}`);
    }
  }

  /** The text of an error value on the stack (a string, or an error object's message). */
  private errorText(L: LuaState, index: number): string {
    if (this.api._lua_type(L, index) === LuaType.string)
      return this.memory.toString(L, index) ?? '';
    this.api._lua_getfield(L, index, this.memory.cString('_message'));
    const message = this.memory.toString(L, -1);
    this.api._lua_settop(L, -2);
    return message ?? 'error object';
  }
}

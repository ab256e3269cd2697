import { LuactError, RingQueue } from '@luact/core';
import { decodeValue, encodeValue } from '../codec/wire.js';
import { stripTypeAnnotations, type TypeAnnotationError } from '../dialect/strip-types.js';
import {
  LUA_DEBUG_CURRENTLINE_OFFSET,
  LUA_DEBUG_SIZE,
  LUA_DEBUG_SOURCE_OFFSET,
  LUA_REGISTRYINDEX,
  type LuaApi,
  type LuaState,
  LuaStatus,
  LuaType,
  type Pointer,
} from '../wasm/lua-api.js';
import { WasmMemory } from '../wasm/memory.js';
import { type Clock, systemClock } from './clock.js';
import { type EngineLoop, SLICE_MS, type SliceRunner } from './engine-loop.js';
import {
  type Delivery,
  type DeliveryField,
  Fiber,
  FiberGroup,
  type GroupOutcome,
  type GroupOwner,
} from './fiber.js';
import { FiberTable } from './fiber-table.js';
import type { LuaModuleSpec } from './host-function.js';
import type { SharedHostMemory } from './host-memory-lease.js';
import { HostStack } from './host-stack.js';
import { BLOCK, Kernel } from './kernel.js';
import { type EngineMemory, LuaHeap, type MemoryRefusal } from './lua-heap.js';
import { type PreemptedVm, Preemption } from './preemption.js';

/** msgpack of nil: the value of a process that returned nothing. */
const NIL_VALUE = Uint8Array.of(0xc0);

/** The outcome of a main function that returned nothing or nil (most do): one for all. */
const NIL_OUTCOME: GroupOutcome = { ok: true, value: NIL_VALUE };

/** What a process's mail channels hold in the engine: messages, and their bytes. */
export interface MailHeld {
  readonly messages: number;
  readonly bytes: number;
}

const NO_MAIL: MailHeld = { messages: 0, bytes: 0 };

/** What one process may use of the VM before it is preempted, stopped or refused memory. */
export interface LuaVmLimits {
  /** Lua instructions a fiber runs before it is preempted. */
  readonly reductions: number;
  /** Milliseconds a fiber runs before it is preempted (whichever comes first). */
  readonly timeSliceMs: number;
  /**
   * Milliseconds a fiber may run where it cannot be preempted (code called from C, kernel
   * code) before its process is stopped with a TIMEOUT error.
   */
  readonly maxSliceMs: number;
  /** Bytes the Lua heap of the whole VM may hold. */
  readonly memoryBytes: number;
  /** Bytes one process may hold. */
  readonly processMemoryBytes: number;
}

export interface LuaVmOptions {
  /** Names the VM in errors (the process.host entry ID). */
  readonly name: string;
  readonly limits: LuaVmLimits;
  /** The budget this VM shares with the others of its engine (default: the engine's own). */
  readonly engine?: EngineMemory;
  /**
   * The host runs on several threads, a VM each: `limits.memoryBytes` holds for all of them
   * through this pool (see HostMemoryPool).
   */
  readonly sharedMemory?: SharedHostMemory;
  /** Built-in modules beyond the kernel's (process, funcs, time, …). */
  readonly modules: readonly LuaModuleSpec[];
  readonly print?: (text: string) => void;
  /** Time and timers (default: the system clock). */
  readonly clock?: Clock;
  /** Told around each slice (a worker thread's pulse, which its watchdog reads); none on main. */
  readonly onSlice?: SliceObserver;
}

/** Told when a VM's slice begins and when it ends. */
export interface SliceObserver {
  begin(): void;
  end(): void;
}

/** A compiled registry entry with its environment, ready to start processes from. */
export interface PreparedEntry {
  readonly id: string;
  readonly fingerprint: string;
  readonly ref: number;
  /** `ref` as the bigint lua_rawgeti takes, made once instead of per spawn. */
  readonly registryKey: bigint;
}

export interface EntrySource {
  readonly id: string;
  readonly fingerprint: string;
  readonly source: string;
  /** Where the source text starts, for error messages: `file:line`. */
  readonly file: string;
  readonly firstLine: number;
  /** The column where the source's lines start in the file (an inline YAML block is indented). */
  readonly firstColumn?: number;
  readonly modules: readonly string[];
  readonly imports: Readonly<Record<string, PreparedEntry>>;
}

/** The method a process runs unless its entry names another (boot.lua's default). */
const DEFAULT_METHOD = 'main';

/** Whether `args` is msgpack's empty array: no arguments (boot.lua's default). */
function isNoValues(args: Uint8Array): boolean {
  return args.length === 1 && args[0] === 0x90;
}

/** Bytes in front of each Lua thread that hold its fiber's ids (LUA_EXTRASPACE, luaconf.h). */
const THREAD_EXTRA_SPACE = 16;

/**
 * Spare threads a VM keeps at most (see LuaVm.spareThreads): enough for a burst of spawns. A
 * process spawning in a loop on another host makes some 3,000 children in its time slice,
 * which then run and end; with room for 1,024, a quarter of them made a new thread (and
 * dropped one for the collector), and a spawn took 1.2× the time.
 */
const SPARE_THREADS = 4096;
/**
 * A spare holds about 1 KiB of its host's memory (measured: 3,120 spares, 3.1 MiB), more if a
 * deep recursion grew it (luact_trimthread keeps up to four times the basic stack): a host
 * keeps one per 64 KiB of its max_memory at most, a 64th of it, so a small host keeps few.
 */
const MEMORY_PER_SPARE_THREAD = 64 * 1024;

/**
 * One Lua state: the engine of a process host. Processes are groups of fibers (Lua threads)
 * in it, each with its own global environment; a cooperative scheduler resumes them from
 * TypeScript through the raw C API, one yield per blocking operation, and preempts a fiber
 * that runs too long without blocking (see Preemption). Its heap knows at every allocation
 * what each process holds (see LuaHeap).
 */
export class LuaVm implements PreemptedVm, SliceRunner {
  readonly L: LuaState;
  readonly memory: WasmMemory;
  /** Typed arguments and results for host functions (bindings outside this package use it). */
  readonly stack: HostStack;
  readonly heap: LuaHeap;
  readonly clock: Clock;
  /** Runs this VM's slices, in turn with the other VMs of its engine. */
  private readonly loop: EngineLoop;
  /** The fiber inside lua_resume right now, if any. */
  current: Fiber | undefined;
  private readonly preemption: Preemption;
  private readonly fibers = new FiberTable();
  private readonly ready = new RingQueue<Fiber>();
  private readonly resultCount: Pointer;
  private readonly debugRecord: Pointer;
  /** Where the engine writes a mail box's two counts (see heldMail). */
  private readonly boxCounts: Pointer;
  /** The registry reference of the kernel's GROUP_STATE (mail boxes), once asked. */
  private groupStatesRef: number | undefined;
  private readonly panicPointer: Pointer;
  /** Registry key of the native collectgarbage. */
  private readonly collectgarbage: bigint;
  private readonly kernel: Kernel;
  /**
   * Threads of fibers that returned, as (state, registry reference) pairs. A thread whose
   * function returned holds nothing (empty stack, no call, no open upvalue; the large stack
   * and call records a deep recursion grew given back, luact_trimthread) and starts a new
   * function like a new thread does: reusing it saves making, referencing and collecting a
   * Lua thread (a stack of about 1 KB) per spawn. A fiber that failed or was killed leaves
   * its thread mid-call: that one is released.
   */
  private readonly spareThreads: number[] = [];
  /** How many spare threads this VM keeps at most. */
  private readonly spareThreadsMax: number;
  private nextGroupId = 1;
  private nextFedId = 1;
  private inSlice = false;
  private sliceScheduled = false;
  private closed = false;
  /** Stops answering the host's other threads when they ask for room (see `answerForRoom`). */
  private readonly stopAnswering: (() => void) | undefined;

  constructor(
    readonly api: LuaApi,
    readonly options: LuaVmOptions,
  ) {
    const { limits } = options;
    this.memory = new WasmMemory(api);
    // A host call over a large string runs no instruction: the time is looked at as after a
    // large allocation (the answer matters to the hook, not to the read).
    this.stack = new HostStack(api, this.memory, () => {
      if (this.current !== undefined) this.preemption.checkSlice();
    });
    this.clock = options.clock ?? systemClock();
    this.loop = api.engineLoop;
    this.resultCount = api._malloc(4);
    this.debugRecord = api._malloc(LUA_DEBUG_SIZE);
    this.boxCounts = api._malloc(16);
    this.spareThreadsMax = Math.min(
      SPARE_THREADS,
      Math.max(16, Math.floor(limits.memoryBytes / MEMORY_PER_SPARE_THREAD)),
    );
    this.heap = new LuaHeap(api, {
      hostLimit: limits.memoryBytes,
      processLimit: limits.processMemoryBytes,
      engine: options.engine ?? api.engineMemory,
      ...(options.sharedMemory ? { shared: options.sharedMemory } : {}),
      onLargeAllocation: () => this.current !== undefined && this.preemption.checkSlice(),
      onPressure: () => {
        if (this.current !== undefined) this.preemption.hookSoon();
      },
    });
    this.L = api._lua_newstate(this.heap.allocator, this.heap.record);
    // Copied into every thread Lua makes: no fiber runs on any of them until told.
    this.markThread(this.L, 0, 0);
    // Reached only by an error outside any protected call: a bug, reported as one.
    this.panicPointer = api.addFunction((L) => {
      throw new Error(`Lua panic in ${options.name}: ${this.memory.toString(L, -1) ?? '?'}`);
    }, 'ii');
    api._lua_atpanic(this.L, this.panicPointer);
    api._luaL_openlibs(this.L);
    api._lua_getglobal(this.L, this.memory.cString('collectgarbage'));
    this.collectgarbage = BigInt(api._luaL_ref(this.L, LUA_REGISTRYINDEX));
    this.useGenerationalCollector();
    this.preemption = new Preemption(api, this.memory, limits, this);
    this.preemption.attach(this.L);
    this.kernel = new Kernel(this, api, this.L, this.memory, this.preemption);
    this.kernel.load(options.modules);
    const shared = options.sharedMemory;
    this.stopAnswering = shared?.pool.whenAsked(shared.member, () => this.answerForRoom());
  }

  // ── Entries ──────────────────────────────────────────────────────────────────────────────

  /**
   * Compiles an entry's source once and builds its environment. The chunk is compiled as a
   * function of its environment, so every process runs the same bytecode with its own globals;
   * blank lines in front keep Lua's line numbers equal to the file's. Type annotations
   * (Wippy's typed Lua) are checked and blanked first, positions kept.
   */
  prepareEntry(entry: EntrySource): PreparedEntry {
    const { api, L } = this;
    const plain = stripTypeAnnotations(entry.source);
    if (!plain.ok) throw annotationError(entry, plain.error);
    const padding = '\n'.repeat(Math.max(0, entry.firstLine - 1));
    const code = `local _ENV = ...;${padding}${plain.source}`;
    const status = this.memory.loadChunk(L, code, `@${entry.file}`);
    if (status !== LuaStatus.ok) {
      const message = this.memory.toString(L, -1) ?? 'syntax error';
      api._lua_settop(L, -2);
      throw compileError(entry, message);
    }
    const chunk = api._luaL_ref(L, LUA_REGISTRYINDEX);
    try {
      this.kernel.call(
        'prepare_entry',
        () => {
          this.memory.pushString(L, entry.id);
          api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(chunk));
          api._lua_createtable(L, entry.modules.length, 0);
          entry.modules.forEach((name, index) => {
            this.memory.pushString(L, name);
            api._lua_rawseti(L, -2, BigInt(index + 1));
          });
          api._lua_createtable(L, 0, Object.keys(entry.imports).length);
          for (const [alias, library] of Object.entries(entry.imports)) {
            api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(library.ref));
            api._lua_setfield(L, -2, this.memory.cString(alias));
          }
          return 4;
        },
        1,
      );
    } catch (error) {
      throw new LuactError('INVALID', LuactError.from(error).message, {
        retryable: false,
        details: { entry: entry.id },
      });
    } finally {
      api._luaL_unref(L, LUA_REGISTRYINDEX, chunk);
    }
    const ref = api._luaL_ref(L, LUA_REGISTRYINDEX);
    return { id: entry.id, fingerprint: entry.fingerprint, ref, registryKey: BigInt(ref) };
  }

  releaseEntry(entry: PreparedEntry): void {
    this.api._luaL_unref(this.L, LUA_REGISTRYINDEX, entry.ref);
  }

  // ── Groups ───────────────────────────────────────────────────────────────────────────────

  /** Starts a process: its main fiber runs `method` of the entry with msgpack-encoded `args`. */
  startGroup(
    owner: GroupOwner,
    entry: PreparedEntry,
    method: string,
    args: Uint8Array,
  ): FiberGroup {
    const { api, heap } = this;
    const group = new FiberGroup(this.nextGroupId++, owner);
    group.memorySlot = heap.openSlot();
    // What the child is given is the child's, and never refused: a spawner calls this from its
    // host call, where its own slot would be charged for every child's thread, and a refusal
    // (outside any protected call) would panic the engine.
    const spawner = heap.owner;
    const refusable = heap.refusable;
    heap.owner = group.memorySlot;
    heap.refusable = false;
    let thread: { state: LuaState; ref: number } | undefined;
    // boot(group, entry, method, args): the last two are left out (nil) for the usual method
    // and no arguments, two strings fewer made and two values fewer pushed per spawn.
    const withArgs = !isNoValues(args);
    const withMethod = withArgs || method !== DEFAULT_METHOD;
    try {
      thread = this.newThread();
      api._lua_rawgeti(thread.state, LUA_REGISTRYINDEX, this.kernelKey('boot'));
      api._lua_pushnumber(thread.state, group.id);
      api._lua_rawgeti(thread.state, LUA_REGISTRYINDEX, entry.registryKey);
      if (withMethod) {
        if (method === DEFAULT_METHOD) api._lua_pushnil(thread.state);
        else this.memory.pushString(thread.state, method);
      }
      if (withArgs) this.memory.pushBytes(thread.state, args);
    } catch (error) {
      // The engine's memory could not grow (a panic): the child's slot and thread go, and the
      // spawner gets its own charge back (below), not left charging a slot that nothing owns.
      if (thread !== undefined) this.releaseThread(thread);
      heap.closeSlot(group.memorySlot);
      throw error;
    } finally {
      heap.owner = spawner;
      heap.refusable = refusable;
    }
    const nargs = withArgs ? 4 : withMethod ? 3 : 2;
    const fiber = new Fiber(
      this.fibers.reserve(),
      thread.state,
      thread.ref,
      group,
      entry.id,
      nargs,
    );
    this.addFiber(fiber);
    return group;
  }

  /** Queues a value for fed channel `channel` of `group` and wakes the fibers waiting on it. */
  deliver(
    group: FiberGroup,
    channel: number,
    a?: DeliveryField,
    b?: DeliveryField,
    c?: DeliveryField,
  ): void {
    this.queueDelivery(group, channel, false, a, b, c);
  }

  /**
   * `deliver`, for the last value `channel` gets (a call's result, a one-shot timer's tick):
   * its queue is forgotten once the value is taken.
   */
  deliverLast(
    group: FiberGroup,
    channel: number,
    a?: DeliveryField,
    b?: DeliveryField,
    c?: DeliveryField,
  ): void {
    this.queueDelivery(group, channel, true, a, b, c);
  }

  private queueDelivery(
    group: FiberGroup,
    channel: number,
    last: boolean,
    a: DeliveryField | undefined,
    b: DeliveryField | undefined,
    c: DeliveryField | undefined,
  ): void {
    if (group.ended) return;
    const queue = group.queue(channel);
    queue.push({ channel, a, b, c });
    if (last) queue.last = true;
    // A mail channel must know before its next direct send that mail waits here (the order
    // rule in kernel/channel.lua, "Mail channels"), and its receivers wait without asking to
    // be woken from here (Channel:_await): wake the group's blocked fibers to look.
    if (queue.length === 1 && group.isMailChannel(channel)) {
      this.markInflow(channel);
      for (const fiber of group.fibers) if (fiber.state === 'blocked') this.wake(fiber);
      return;
    }
    const waiters = queue.waiters;
    if (waiters === undefined) return;
    for (const fiber of [...waiters]) this.wake(fiber);
  }

  /**
   * The messages and bytes the mail channels of `group` hold (its box: see kernel/channel.lua,
   * "Mail channels"), read together: a mailbox's limits check both.
   */
  heldMail(group: FiberGroup): MailHeld {
    if (!group.hasMailChannels || group.ended) return NO_MAIL;
    const { api, boxCounts } = this;
    this.groupStatesRef ??= Number(this.kernelKey('GROUP_STATE'));
    if (api._luact_boxcounts(this.L, this.groupStatesRef, group.id, boxCounts) === 0)
      return NO_MAIL;
    const counts = api.HEAPF64;
    return {
      messages: counts[boxCounts >> 3] as number,
      bytes: counts[(boxCounts >> 3) + 1] as number,
    };
  }

  /**
   * Forgets fed channel `channel` of `group` and returns what it still held: for a mail
   * channel, its queue in Lua too (or, once the group has ended, what was kept of it).
   */
  releaseChannel(group: FiberGroup, channel: number): Delivery[] {
    // What is queued in Lua is older than what JS holds (kernel/channel.lua, "Mail channels").
    const older = group.forgetMailChannel(channel) && !group.ended ? this.drainMail(channel) : [];
    const released = group.releaseChannel(channel);
    return older.length === 0 ? released : [...older, ...released];
  }

  /**
   * Sets `inflow` of mail channel `channel`: slot 3 of its record (kernel/channel.lua,
   * M_INFLOW), which exists, so nothing is allocated.
   */
  private markInflow(channel: number): void {
    const { api, L } = this;
    api._lua_rawgeti(L, LUA_REGISTRYINDEX, this.kernelKey('MAIL'));
    if (api._lua_rawgeti(L, -1, BigInt(channel)) === LuaType.table) {
      api._lua_pushboolean(L, 1);
      api._lua_rawseti(L, -2, 3n);
    }
    api._lua_settop(L, -3);
  }

  /** Takes what mail channel `channel` holds in Lua, oldest first (kernel rt.mail_drain). */
  private drainMail(channel: number): Delivery[] {
    const { api, L } = this;
    let encoded: Uint8Array | undefined;
    try {
      this.asHost(() => {
        this.kernel.call(
          'mail_drain',
          () => {
            api._lua_pushnumber(L, channel);
            return 1;
          },
          1,
        );
        encoded = this.memory.toBytes(L, -1);
        api._lua_settop(L, -2);
      });
    } catch {
      // Not expected: the queue is the kernel's, out of the process's reach, and what it holds
      // encodes. Should the engine fail here, that mail is lost to this process, nobody else.
      return [];
    }
    if (encoded === undefined) return [];
    const parts = decodeValue(encoded) as (string | Uint8Array | false)[];
    const drained: Delivery[] = [];
    for (let i = 0; i < parts.length; i += 3) {
      const from = parts[i + 1];
      const payload = parts[i + 2] as string | Uint8Array;
      drained.push({
        channel,
        a: parts[i] as string,
        b: from === false ? undefined : (from as string),
        c: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload,
      });
    }
    return drained;
  }

  /**
   * Pushes a new table with room for `slots` array slots, charged to the host and never
   * refused: the room a sender's mail makes in another process's queue is neither the
   * sender's to pay for nor a reason to fail its send.
   */
  pushHostTable(L: LuaState, slots: number): void {
    this.asHost(() => this.api._lua_createtable(L, slots, 0));
  }

  /**
   * Runs `work` with allocations charged to the host, never refused: the list a drain builds
   * is the host's (a drain may run inside a process's host call, and that process's memory
   * limit must not fail the unlisten or upgrade that takes its mail back).
   */
  private asHost(work: () => void): void {
    const { heap } = this;
    const owner = heap.owner;
    const refusable = heap.refusable;
    heap.owner = 0;
    heap.refusable = false;
    try {
      work();
    } finally {
      heap.owner = owner;
      heap.refusable = refusable;
    }
  }

  /** Allocates the id of a fed channel (unique within this VM). */
  allocateFedChannel(): number {
    return this.nextFedId++;
  }

  /**
   * Ends a group at once: blocked and ready fibers are dropped; a running one is unwound by
   * the next instruction hook. The owner is told with `error`.
   */
  killGroup(group: FiberGroup, error: Uint8Array): void {
    if (group.ended) return;
    this.endGroup(group);
    group.owner.onGroupExit(group, { ok: false, error, killed: true });
  }

  doom(group: FiberGroup, error: LuactError): void {
    group.doom ??= error;
  }

  /**
   * Most of what processes allocate dies young (a spawned child's frames and values, a
   * message's payload and envelope), which a generational collector frees in minor
   * collections without traversing the long-lived rest: a spawn took 0.90× the time it took
   * under the incremental collector (one process, alternating), ping-pong the same, idle
   * memory no higher (bench/README.md, "lua actors").
   */
  private useGenerationalCollector(): void {
    const { api, L } = this;
    api._lua_rawgeti(L, LUA_REGISTRYINDEX, this.collectgarbage);
    this.memory.pushString(L, 'generational');
    api._lua_callk(L, 1, 0, 0, 0);
  }

  collectIfPressed(L: LuaState): void {
    if (!this.heap.pressure) return;
    const { api } = this;
    api._lua_rawgeti(L, LUA_REGISTRYINDEX, this.collectgarbage);
    this.memory.pushString(L, 'collect');
    api._lua_callk(L, 1, 0, 0, 0);
    this.heap.collected();
  }

  /**
   * Another thread of the host found no room in their pool: garbage here takes room it could
   * use, so it is collected now (between slices: no process runs) and what that frees goes
   * back to the pool, as a single VM collects before it refuses an allocation.
   */
  private answerForRoom(): void {
    this.collectGarbage();
  }

  /** A full collection of the heap, between slices (no-op inside one, or once closed). */
  collectGarbage(): void {
    if (this.closed || this.inSlice) return;
    const { api, L } = this;
    api._lua_rawgeti(L, LUA_REGISTRYINDEX, this.collectgarbage);
    this.memory.pushString(L, 'collect');
    // Protected: no Lua call is under this one to catch an error.
    if (api._lua_pcallk(L, 1, 0, 0, 0, 0) !== LuaStatus.ok) api._lua_settop(L, -2);
    this.heap.collected();
  }

  /** Bytes the processes of `group` hold in the Lua heap. */
  memoryOf(group: FiberGroup): number {
    return this.heap.bytesOf(group.memorySlot);
  }

  // ── Scheduling ───────────────────────────────────────────────────────────────────────────

  wake(fiber: Fiber): void {
    const awaiting = fiber.awaiting;
    if (awaiting !== undefined) {
      for (const queue of awaiting) queue.removeWaiter(fiber);
      fiber.awaiting = undefined;
    }
    if (fiber.state !== 'blocked') return;
    fiber.state = 'ready';
    fiber.group.active++;
    this.ready.push(fiber);
    this.schedule();
  }

  fiberById(id: number): Fiber | undefined {
    return this.fibers.get(id);
  }

  /** Starts a fiber in `group` whose thread holds `nargs` values (function and arguments). */
  spawnFiber(group: FiberGroup, thread: { state: LuaState; ref: number }, nargs: number): Fiber {
    const fiber = new Fiber(
      this.fibers.reserve(),
      thread.state,
      thread.ref,
      group,
      undefined,
      nargs,
    );
    this.addFiber(fiber);
    return fiber;
  }

  /**
   * A thread with the preemption hook (inherited from `from`), kept alive by a registry
   * reference: a spare one (see `spareThreads`) or a new one.
   */
  newThread(from: LuaState = this.L): { state: LuaState; ref: number } {
    const { api } = this;
    const spare = this.spareThreads;
    if (spare.length > 0) {
      const ref = spare.pop() as number;
      const state = spare.pop() as LuaState;
      return { state, ref };
    }
    const state = api._lua_newthread(from);
    const ref = api._luaL_ref(from, LUA_REGISTRYINDEX);
    return { state, ref };
  }

  /**
   * Ends the running process's code from a host function it called, once that call ended the
   * process (it terminated itself): raises TERMINATED, which no pcall, xpcall or
   * coroutine.resume hands back, and again at each later instruction of `L`.
   */
  raiseTerminated(L: LuaState): number {
    return this.preemption.raiseTerminated(L);
  }

  /** Lets go of a thread `newThread` gave that no fiber runs on. */
  releaseThread(thread: { state: LuaState; ref: number }): void {
    this.api._luaL_unref(this.L, LUA_REGISTRYINDEX, thread.ref);
  }

  /** Runs ready fibers until none is left (tests and shutdown; normally slices run by themselves). */
  drain(): void {
    while (this.ready.length > 0) this.runSlice();
  }

  get readyCount(): number {
    return this.ready.length;
  }

  /** Threads kept for the next fibers (see spareThreads). */
  get spareThreadCount(): number {
    return this.spareThreads.length / 2;
  }

  get fiberCount(): number {
    return this.fibers.size;
  }

  /** The Lua heap of this VM, in bytes. */
  heapBytes(): number {
    return this.heap.used;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopAnswering?.();
    for (const fiber of this.fibers.values()) fiber.state = 'done';
    this.fibers.clear();
    this.api._lua_close(this.L);
    this.heap.dispose();
    this.preemption.dispose();
    this.api.removeFunction(this.panicPointer);
    this.kernel.dispose();
    this.api._free(this.resultCount);
    this.api._free(this.debugRecord);
    this.api._free(this.boxCounts);
  }

  private addFiber(fiber: Fiber): void {
    this.markThread(fiber.thread, fiber.id, fiber.group.id);
    this.fibers.add(fiber);
    fiber.group.addFiber(fiber);
    fiber.group.active++;
    this.ready.push(fiber);
    this.schedule();
  }

  /** Whether some fiber is ready to run (or running): the VM has work before it is idle. */
  get busy(): boolean {
    return this.inSlice || this.ready.length > 0;
  }

  private schedule(): void {
    if (this.inSlice || this.sliceScheduled || this.closed) return;
    this.sliceScheduled = true;
    this.loop.request(this);
  }

  /** The engine loop's turn for this VM (see EngineLoop). */
  runQueuedSlice(deadline: number): void {
    this.sliceScheduled = false;
    if (this.closed) return;
    this.runSlice(deadline);
    if (this.ready.length > 0) this.schedule();
  }

  private runSlice(deadline = performance.now() + SLICE_MS): void {
    const { heap } = this;
    this.inSlice = true;
    this.options.onSlice?.begin();
    heap.startSlice();
    let resumed = 0;
    try {
      while (this.ready.length > 0) {
        const fiber = this.ready.shift() as Fiber;
        if (fiber.state !== 'ready') continue;
        const first = fiber.group.preempted;
        if (first !== undefined && first !== fiber) {
          // Its group's preempted fiber goes first; this one waits its turn behind it.
          this.ready.push(fiber);
          continue;
        }
        const preempted = this.resume(fiber);
        // A preempted fiber used up its time slice, and one whose allocation waited for the
        // host's other threads (it ends with the refusal, not preempted) may have taken long:
        // look at the clock now, not 32 resumes on, so waits do not pile up in one slice.
        if (
          (preempted || (++resumed & 31) === 0 || heap.waitedOnPool) &&
          performance.now() > deadline
        )
          break;
      }
    } finally {
      this.inSlice = false;
      this.options.onSlice?.end();
    }
  }

  /** Runs `fiber` until it blocks, ends or is preempted; returns whether it was preempted. */
  private resume(fiber: Fiber): boolean {
    const { api, heap } = this;
    const thread = fiber.thread;
    const group = fiber.group;
    const nargs = fiber.pendingArgs;
    fiber.pendingArgs = 0;
    fiber.state = 'running';
    this.current = fiber;
    heap.owner = group.memorySlot;
    heap.refusable = true;
    // At once when garbage waits for a collection that was asked for outside any slice.
    const hookCount = this.preemption.startSlice(heap.pressure);
    const status = api._luact_resume(thread, this.L, nargs, this.resultCount, hookCount);
    heap.refusable = false;
    heap.owner = 0;
    this.current = undefined;
    const count = api.HEAP32[this.resultCount >> 2] ?? 0;
    if (group.preempted === fiber) group.preempted = undefined;
    if (group.doom !== undefined && !group.ended) this.killGroup(group, encodeError(group.doom));
    if (group.ended) {
      this.dropFiber(fiber);
      return false;
    }
    if (status === LuaStatus.yield) {
      const blocked =
        count > 0 &&
        api._lua_type(thread, -count) === LuaType.lightUserdata &&
        api._lua_touserdata(thread, -count) === BLOCK;
      // Pop only the yielded values: below them (after a hook's yield) live the frames of
      // the interrupted Lua function.
      if (count > 0) api._lua_settop(thread, -count - 1);
      if (blocked) {
        fiber.state = 'blocked';
        group.active--;
        if (!group.ready) {
          // Blocked for the first time: many a process waits from now on, and its start-up
          // (the chunk, the first calls) grew its stack past what waiting needs.
          api._luact_shrinkstack(thread);
          group.ready = true;
          group.owner.onGroupReady?.(group);
        }
        if (group.active === 0 && !group.ended) group.owner.onGroupIdle?.(group);
        return false;
      }
      this.preemption.pending = false;
      fiber.state = 'ready';
      if (group.owner.serialFibers === true) group.preempted = fiber;
      this.ready.push(fiber);
      return true;
    }
    if (status === LuaStatus.ok) this.finish(fiber, count);
    else if (status === LuaStatus.memoryError && heap.refusal?.slot === group.memorySlot)
      this.failOutOfMemory(fiber, heap.refusal.what);
    else this.fail(fiber);
    return false;
  }

  private finish(fiber: Fiber, count: number): void {
    const { api } = this;
    if (fiber.entry === undefined) {
      api._lua_settop(fiber.thread, 0);
      this.dropFiber(fiber, true);
      const group = fiber.group;
      if (group.active === 0 && !group.ended) group.owner.onGroupIdle?.(group);
      return;
    }
    const group = fiber.group;
    const outcome = this.outcomeOf(fiber, count);
    this.endGroup(group, fiber);
    group.owner.onGroupExit(group, outcome);
  }

  /**
   * What the main function of `fiber` returned, its `count` values on the thread's stack
   * (taken off it), as the group's outcome: rt.outcome encodes the first value, or the error a
   * second one that is a string or an error stands for.
   */
  private outcomeOf(fiber: Fiber, count: number): GroupOutcome {
    const { api, L } = this;
    const thread = fiber.thread;
    // Most processes end returning nothing (or nil alone): that is msgpack's nil, no Lua call.
    if (count === 0) return NIL_OUTCOME;
    if (count === 1 && api._lua_type(thread, -1) === LuaType.nil) {
      api._lua_settop(thread, 0);
      return NIL_OUTCOME;
    }
    // Only the first two values count: the rest is not moved (there may be many).
    if (count > 2) api._lua_settop(thread, -(count - 2) - 1);
    const moved = Math.min(count, 2);
    try {
      this.kernel.call(
        'outcome',
        () => {
          // The entry's ID, not its prepared table: that may be released (new code) by now.
          this.memory.pushString(L, fiber.entry as string);
          api._lua_xmove(thread, L, moved);
          return 1 + moved;
        },
        2,
      );
    } catch (error) {
      api._lua_settop(thread, 0);
      const problem = `the outcome of the main function could not be encoded: ${LuactError.from(error).message}`;
      return { ok: false, error: encodeError(new LuactError('INTERNAL', problem)), killed: false };
    }
    const ok = api._lua_toboolean(L, -2) !== 0;
    const payload = this.memory.readBytes(L, -1) ?? new Uint8Array();
    api._lua_settop(L, -3);
    return ok ? { ok: true, value: payload } : { ok: false, error: payload, killed: false };
  }

  /** A fiber raised: the whole group fails with the error, described with its Lua traceback. */
  private fail(fiber: Fiber): void {
    const { api, L } = this;
    const group = fiber.group;
    let described: Uint8Array;
    try {
      this.kernel.call(
        'describe_error',
        () => {
          api._lua_xmove(fiber.thread, L, 1);
          api._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(fiber.ref));
          const entry = group.owner.labels?.().entry;
          if (entry === undefined) api._lua_pushnil(L);
          else this.memory.pushString(L, entry);
          return 3;
        },
        1,
      );
      described = this.memory.toBytes(L, -1) ?? new Uint8Array();
      api._lua_settop(L, -2);
    } catch (error) {
      described = new Uint8Array();
      this.options.print?.(
        `luact: could not describe a Lua error: ${LuactError.from(error).message}`,
      );
    }
    this.endGroup(group);
    group.owner.onGroupExit(group, { ok: false, error: described, killed: false });
  }

  /** A fiber raised "not enough memory" after the heap refused it: say which limit it hit. */
  private failOutOfMemory(fiber: Fiber, refusal: MemoryRefusal): void {
    const { api } = this;
    api._lua_settop(fiber.thread, -2);
    const group = fiber.group;
    const error = outOfMemory(this.options.name, refusal);
    this.endGroup(group);
    group.owner.onGroupExit(group, { ok: false, error: encodeError(error), killed: false });
  }

  /** Ends `group`; the thread of `returned`, its main fiber that returned, is kept as a spare. */
  private endGroup(group: FiberGroup, returned?: Fiber): void {
    // What its mail channels hold goes where releaseChannel finds it after the end.
    if (group.hasMailChannels && group.owner.keepsMailAtEnd?.(group) === true) {
      for (const channel of group.mailChannels()) {
        const queue = group.queue(channel);
        const later = queue.drain();
        for (const delivery of [...this.drainMail(channel), ...later]) queue.push(delivery);
      }
    }
    group.end();
    this.heap.closeSlot(group.memorySlot);
    for (const fiber of group.fibers) {
      if (fiber === this.current) continue;
      this.dropFiber(fiber, fiber === returned);
    }
    if (!group.hasLuaState) return;
    try {
      this.kernel.call(
        'drop_group',
        () => {
          this.api._lua_pushnumber(this.L, group.id);
          return 1;
        },
        0,
      );
    } catch {
      // Best effort: only Lua-side caches of the group are dropped here.
    }
  }

  /** Forgets `fiber`; the thread of one that `returned` is kept as a spare (see spareThreads). */
  private dropFiber(fiber: Fiber, returned = false): void {
    if (fiber.state === 'done') return;
    if (fiber.state !== 'blocked') fiber.group.active--;
    if (fiber.group.preempted === fiber) fiber.group.preempted = undefined;
    fiber.state = 'done';
    this.fibers.delete(fiber);
    fiber.group.removeFiber(fiber);
    if (returned && !fiber.threadHeld && this.spareThreads.length < 2 * this.spareThreadsMax) {
      // What a deep recursion grew it to is not the next fiber's to hold.
      this.api._luact_trimthread(fiber.thread);
      this.markThread(fiber.thread, 0, 0);
      this.spareThreads.push(fiber.thread, fiber.ref);
    } else this.api._luaL_unref(this.L, LUA_REGISTRYINDEX, fiber.ref);
  }

  /**
   * Writes into `thread` the ids of the fiber that runs on it and of its group (zeros: none),
   * where the kernel's fiber_ids reads them without a call out of the engine (luaconf.h's
   * LUA_EXTRASPACE: two numbers in front of the thread).
   */
  private markThread(thread: LuaState, fiberId: number, groupId: number): void {
    const at = (thread - THREAD_EXTRA_SPACE) >> 3;
    const numbers = this.api.HEAPF64;
    numbers[at] = fiberId;
    numbers[at + 1] = groupId;
  }

  /** Registry key of a kernel function (`boot`, `run_fiber`, …), for lua_rawgeti. */
  kernelKey(name: string): bigint {
    return this.kernel.key(name);
  }

  /**
   * Where user code called into luact: the innermost frame on `L`'s stack that is not one of
   * luact's own chunks (kernel, modules) nor a C function. Workflows record it with each
   * command so a non-determinism error can point at both call sites. A tail call
   * (`return funcs.call(…)`) leaves no frame of its caller: then there is none.
   */
  callSite(L: LuaState): { readonly file: string; readonly line: number } | undefined {
    const { api } = this;
    const ar = this.debugRecord;
    for (let level = 0; level < 64; level++) {
      if (api._lua_getstack(L, level, ar) === 0) return undefined;
      api._lua_getinfo(L, this.memory.cString('Sl'), ar);
      const source = api.HEAP32[(ar + LUA_DEBUG_SOURCE_OFFSET) >> 2] ?? 0;
      if (api.HEAPU8[source] !== 0x40 /* @: a file */) continue;
      const file = this.memory.readCString(source + 1);
      const line = api.HEAP32[(ar + LUA_DEBUG_CURRENTLINE_OFFSET) >> 2] ?? 0;
      return { file, line };
    }
    return undefined;
  }

  takePreempt(): boolean {
    const pending = this.preemption.pending;
    this.preemption.pending = false;
    return pending;
  }
}

function compileError(entry: EntrySource, message: string): LuactError {
  const match = /^(.*?):(\d+): (.*)$/s.exec(message);
  return new LuactError('INVALID', `${entry.id}: Lua syntax error: ${message}`, {
    retryable: false,
    details: match
      ? { entry: entry.id, file: match[1], line: Number(match[2]) }
      : { entry: entry.id },
  });
}

/** A malformed type annotation, reported like a syntax error, with its column too. */
function annotationError(entry: EntrySource, error: TypeAnnotationError): LuactError {
  const line = error.line + entry.firstLine - 1;
  const column = error.column + (entry.firstColumn ?? 1) - 1;
  return new LuactError(
    'INVALID',
    `${entry.id}: Lua syntax error: ${entry.file}:${line}:${column}: ${error.message}`,
    { retryable: false, details: { entry: entry.id, file: entry.file, line, column } },
  );
}

/** Group outcomes carry errors as msgpack-encoded ErrorData. */
export function encodeError(error: LuactError): Uint8Array {
  return encodeValue(error.toData());
}

/** The error of a process whose allocation its heap refused. */
function outOfMemory(host: string, refusal: MemoryRefusal): LuactError {
  const held = `${formatBytes(refusal.held)} and may hold ${formatBytes(refusal.limitBytes)}`;
  const what = {
    process: `this process holds ${held} (max_process_memory of host ${host})`,
    host: `the processes of host ${host} hold ${held} (its max_memory)`,
    engine: `the node's Lua engine, which all its hosts share, holds ${held}`,
  }[refusal.limit];
  return new LuactError(
    'RATE_LIMITED',
    `out of memory: ${what}; an allocation of ${formatBytes(refusal.requested)} was refused`,
    {
      retryable: false,
      details: { limit: refusal.limit, held: refusal.held, limit_bytes: refusal.limitBytes },
    },
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

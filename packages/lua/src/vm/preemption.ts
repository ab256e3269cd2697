import { LuactError } from '@luact/core';
import {
  LUA_DEBUG_CURRENTLINE_OFFSET,
  LUA_DEBUG_SIZE,
  LUA_DEBUG_SOURCE_OFFSET,
  LUA_MASKCOUNT,
  type LuaApi,
  type LuaState,
  type Pointer,
} from '../wasm/lua-api.js';
import type { WasmMemory } from '../wasm/memory.js';
import type { Fiber, FiberGroup } from './fiber.js';

/** Light userdata raised through a fiber's frames to end it (see the sandbox's pcall). */
export const TERMINATED = 3;

/**
 * Instructions a slice runs before the hook first looks (fewer when `reductions` is smaller).
 * Each look reads the clock, so a fiber whose instructions are slow (errors caught by pcall,
 * big string operations) is preempted close to its time slice all the same. Our Lua build
 * counts instructions where code can repeat (a backward jump: the loop's length; a call: 1; a
 * return, a tail call or an error that unwinds a frame: the instructions since its function
 * began) and calls the hook at the instruction after the one that ran the count out, so the
 * count, and `reductions`, approximate instructions run.
 */
const FIRST_COUNT = 1000;

/**
 * The most instructions between two looks. Code that ran fast may turn slow: this bounds how
 * far past its time slice it runs before the hook sees it.
 */
const MAX_COUNT = 2 * FIRST_COUNT;

/** The fewest instructions between two looks of a slice whose instructions are slow. */
const MIN_COUNT = 100;

/** Instructions until the hook looks again after landing where it may not preempt. */
const RETRY_COUNT = 101;

/**
 * How old the reading of the node's CPU time may be when the clock is read (see `ranSoFar`):
 * reading it costs some 2 µs, so it is read at most this often.
 */
const CPU_READ_EVERY_MS = 1;

/** Frames the hook looks through for the code that called a library (deeper: not preempted). */
const MAX_FRAMES = 64;

/** Whose code a frame runs (from its chunk name). */
enum Code {
  /** The kernel and modules ("=luact:…"): never interrupted halfway. */
  Kernel,
  /** Pure libraries ("=luact-lib:…"): interrupted when user code called them. */
  Library,
  /** C functions ("=[C]"): transparent; whether they let a yield through is isyieldable's. */
  C,
  User,
}

export interface PreemptionLimits {
  readonly reductions: number;
  readonly timeSliceMs: number;
  readonly maxSliceMs: number;
}

/** What the hook needs of the VM. */
export interface PreemptedVm {
  /** The main thread, where kernel calls from TypeScript run. */
  readonly L: LuaState;
  /** The fiber inside lua_resume, if any. */
  readonly current: Fiber | undefined;
  /** Ends `group` with `error` as soon as its running fiber is out of lua_resume. */
  doom(group: FiberGroup, error: LuactError): void;
  /**
   * Collects garbage now if the heap asked for it (the hook is a safe point to). Its time is
   * the fiber's: credited, it let a fiber that cannot yield, and that kept the heap pressed,
   * run seconds past max_slice.
   */
  collectIfPressed(L: LuaState): void;
}

/**
 * The instruction hook of every thread: the scheduler's only way back into a fiber that does
 * not block. A fiber gives way after `reductions` instructions or `timeSliceMs`, whichever
 * comes first, at the first instruction where it can yield (not inside the kernel, not in code
 * called from C). Where it cannot yield for `maxSliceMs` — a metamethod looping inside
 * `tostring`, a sort comparator, a load reader — its process is stopped: an error raised from
 * the hook crosses C frames where a yield cannot, and every later instruction of the doomed
 * process raises again, so no pcall, xpcall handler or __close can keep it alive.
 */
export class Preemption {
  readonly hook: Pointer;
  /** Called by C code that works long without Lua instructions (`luact_onwork`). */
  private readonly workCheck: Pointer;
  /** The interrupted fiber yielded for preemption (and not for a blocking operation). */
  pending = false;
  private readonly firstCount: number;
  private startedAt = 0;
  /** When the running slice last read the clock (see ranSoFar). */
  private lookedAt = 0;
  /** The node's CPU time (ms, all its threads) when the clock read `cpuReadAt` (ms). */
  private cpuTime = 0;
  private cpuReadAt = Number.NEGATIVE_INFINITY;
  /** Instructions the running slice ran up to the hook's last look. */
  private counted = 0;
  /**
   * The count the running thread's hook is set to, and what the hook's next look charges the
   * slice: the same, but for a look asked for early (`hookSoon`), which charges the count it
   * cut short, as if it had run out (so no fiber can stretch its slice by making the hook
   * look early, say by allocating till a collection is due).
   */
  private armed = 0;
  private charge = 0;
  private readonly frame: Pointer;
  /** Depth of kernel calls made from TypeScript outside any fiber, and when the outer began. */
  private kernelDepth = 0;
  private kernelStartedAt = 0;

  constructor(
    private readonly api: LuaApi,
    private readonly memory: WasmMemory,
    private readonly limits: PreemptionLimits,
    private readonly vm: PreemptedVm,
  ) {
    this.firstCount = Math.min(limits.reductions, FIRST_COUNT);
    this.hook = api.addFunction((L) => this.onHook(L), 'vii');
    this.workCheck = api.addFunction((L) => this.onWork(L), 'ii');
    this.frame = api._malloc(LUA_DEBUG_SIZE);
  }

  /**
   * Hooks the main thread. Every thread is made from it or from a thread made from it, and
   * inherits the hook: a slice sets only its count (`startSlice`). And has the engine report
   * C work that runs no instruction (`onWork`).
   */
  attach(L: LuaState): void {
    this.arm(L, this.firstCount);
    this.api._luact_onwork(L, this.workCheck);
  }

  /**
   * A fiber is about to be resumed: its slice starts now. Returns the instruction count its
   * hook starts the slice with (`luact_resume`): what earlier slices ran is not charged to it,
   * so a fiber that blocks within the count (most do, in a few hundred instructions) is never
   * interrupted to read the clock. `lookAtOnce`: 1, for the hook to collect the garbage that
   * waits (a look charged as a whole first count, as `hookSoon`'s are).
   */
  startSlice(lookAtOnce: boolean): number {
    this.startedAt = performance.now();
    this.lookedAt = this.startedAt;
    this.keepCpuFresh(this.startedAt);
    this.counted = 0;
    this.armed = lookAtOnce ? 1 : this.firstCount;
    this.charge = this.firstCount;
    return this.armed;
  }

  /** The hook of `L` runs after `count` more instructions. */
  private arm(L: LuaState, count: number): void {
    this.armed = count;
    this.api._lua_sethook(L, this.hook, LUA_MASKCOUNT, count);
  }

  /**
   * The count until the next look of a slice that ran `counted` instructions in `ran` ms and
   * goes on: double the last, up to MAX_COUNT, so code that runs fast is interrupted a few
   * times a slice and not every thousand instructions (each look is a call out of the engine:
   * ~10% of a ping-pong's time when it looked every thousand); no more than its reductions
   * leave; and no more than the instructions that, at the pace so far, would take half the
   * time left, so slow instructions are looked at more often as the slice's end nears.
   */
  private nextCount(ran: number): number {
    const { reductions, timeSliceMs } = this.limits;
    let count = Math.min(
      Math.max(this.charge * 2, this.firstCount),
      MAX_COUNT,
      reductions - this.counted,
    );
    if (ran > 0) {
      const inTime = Math.floor(((this.counted / ran) * (timeSliceMs - ran)) / 2);
      if (inTime < count) count = Math.max(inTime, Math.min(MIN_COUNT, count));
    }
    return count;
  }

  /**
   * Work was done without instructions (a large block is about to be filled, by a built-in
   * over a large value): if the slice is over, the fiber `L` is preempted at its next
   * instruction instead of after the hook interval. Past `maxSliceMs`, where no instruction
   * may come for a long time yet (one call of a built-in), its process is stopped: true, and
   * the allocation is refused, which ends the built-in.
   */
  checkSlice(): boolean {
    const ran = this.ranSoFar();
    if (ran < this.limits.timeSliceMs) return false;
    const L = this.hookSoon();
    const fiber = this.vm.current;
    if (fiber === undefined) return false;
    if (fiber.group.doom !== undefined) return true;
    if (ran < this.limits.maxSliceMs) return false;
    this.vm.doom(fiber.group, this.stuck(L, ran));
    return true;
  }

  /**
   * How long the running fiber's slice has run. The clock is read often while Lua runs (every
   * hook interval, every large allocation), and a gap longer than `maxSliceMs` between two
   * reads may be a pause of the node (a stopped process, a debugger): the part of it in which
   * no thread of the node ran is not counted, so that a node paused in the middle of a slice
   * does not stop the process that was running when it comes back. The rest is the fiber's,
   * whatever it ran: slow built-ins, or a call into the runtime that held the thread.
   */
  private ranSoFar(): number {
    const now = performance.now();
    const gap = now - this.lookedAt;
    if (gap > this.limits.maxSliceMs) this.startedAt += Math.min(gap, this.notRunningSince(now));
    else this.keepCpuFresh(now);
    this.lookedAt = now;
    return now - this.startedAt;
  }

  /**
   * The time since the last reading of the CPU time (at most `CPU_READ_EVERY_MS` before the
   * last reading of the clock) in which the node's threads ran nothing.
   */
  private notRunningSince(now: number): number {
    const { cpuTime, cpuReadAt } = this;
    this.readCpu(now);
    return Math.max(0, now - cpuReadAt - (this.cpuTime - cpuTime));
  }

  /** Reads the CPU time if its last reading is `CPU_READ_EVERY_MS` older than `now`. */
  private keepCpuFresh(now: number): void {
    if (now - this.cpuReadAt >= CPU_READ_EVERY_MS) this.readCpu(now);
  }

  private readCpu(now: number): void {
    const { user, system } = process.cpuUsage();
    this.cpuTime = (user + system) / 1000;
    this.cpuReadAt = now;
  }

  /**
   * Calls the hook at the next instruction of the thread that runs (a coroutine of the
   * running fiber's, maybe: the count is the one it runs on); returns that thread.
   */
  hookSoon(): LuaState {
    const L = this.api._luact_running(this.vm.L);
    this.arm(L, 1);
    return L;
  }

  /** Runs `call` as kernel code from TypeScript (bounded by `maxSliceMs` like a fiber). */
  kernelCall<T>(call: () => T): T {
    if (this.kernelDepth++ === 0) this.kernelStartedAt = performance.now();
    try {
      return call();
    } finally {
      this.kernelDepth--;
    }
  }

  /** Raises TERMINATED in `L`, and again at each of its next instructions. */
  raiseTerminated(L: LuaState): number {
    const { api } = this;
    this.arm(L, 1);
    api._lua_pushlightuserdata(L, TERMINATED);
    return api._lua_error(L);
  }

  dispose(): void {
    this.api.removeFunction(this.hook);
    this.api.removeFunction(this.workCheck);
    this.api._free(this.frame);
  }

  private onHook(L: LuaState): number {
    const fiber = this.vm.current;
    if (fiber === undefined || L === this.vm.L) return this.onKernelHook(L);
    const group = fiber.group;
    if (group.ended || group.doom !== undefined) return this.raiseTerminated(L);
    this.vm.collectIfPressed(L);
    const ran = this.ranSoFar();
    this.counted += this.charge;
    if (this.counted < this.limits.reductions && ran < this.limits.timeSliceMs) {
      const next = this.nextCount(ran);
      if (next !== this.armed) this.arm(L, next);
      this.charge = next;
      return 0;
    }
    const { api } = this;
    const caller = this.callerOfLibraries(L);
    // In a coroutine, the yield must reach the scheduler through every coroutine that
    // resumed it: one resumed inside a metamethod could yield only to its resumer, which
    // could not pass the yield on.
    if (caller === Code.User && api._luact_canyield(L) !== 0) {
      this.pending = true;
      return api._lua_yieldk(L, 0, 0, 0);
    }
    if (ran >= this.limits.maxSliceMs) {
      this.vm.doom(group, this.stuck(L, ran));
      return this.raiseTerminated(L);
    }
    // Kernel code (channels, scheduler glue) is never interrupted halfway, and code called
    // from C cannot yield. Look again soon, with a short prime count: a loop whose length
    // divides the count would otherwise be caught at the same spot every time.
    this.arm(L, RETRY_COUNT);
    return 0;
  }

  /**
   * C code in thread `L` did a count of work without Lua instructions (a metatable chain
   * walked for each element of a table, a string scanned): as after a large allocation, the
   * hook looks at the next instruction once the slice is over, and a process being stopped
   * is stopped here, which ends the work.
   */
  private onWork(L: LuaState): number {
    // Kernel code on the main thread (run from TypeScript: preparing an entry, delivering
    // mail) is the runtime's, and is never stopped halfway: the fiber is, when it next runs.
    if (L === this.vm.L || this.vm.current === undefined || !this.checkSlice()) return 0;
    return this.raiseTerminated(L);
  }

  /** Kernel code run from TypeScript: it must never run long, whatever it was given. */
  private onKernelHook(L: LuaState): number {
    if (this.kernelDepth === 0) return 0;
    const ran = performance.now() - this.kernelStartedAt;
    if (ran < this.limits.maxSliceMs) return 0;
    this.memory.pushString(L, `a kernel call ran ${Math.round(ran)} ms and was stopped`);
    return this.api._lua_error(L);
  }

  /**
   * Whose code runs at the top of `L`'s stack, looking through libraries and C functions:
   * a library called by user code may be preempted, one called by the kernel may not (the
   * kernel may be halfway through changing a channel). When the kernel runs for user code,
   * the hook is asked to run again when the kernel returns to that code, where it can stop
   * it: most kernel calls are short, and the count of instructions that ran out in one (its
   * return charges them) would otherwise be retried at random until it ran out in user code.
   */
  private callerOfLibraries(L: LuaState): Code {
    const { api } = this;
    const frame = this.frame;
    let found: Code | undefined;
    for (let level = 0; level < MAX_FRAMES; level++) {
      if (api._lua_getstack(L, level, frame) === 0) return found ?? Code.User;
      api._lua_getinfo(L, this.memory.cString('S'), frame);
      const code = codeOf(api.HEAPU8, api.HEAP32[(frame + LUA_DEBUG_SOURCE_OFFSET) >> 2] ?? 0);
      if (code === Code.User) {
        if (found === undefined) return code;
        api._luact_preemptat(L, frame);
        return found;
      }
      if (code === Code.Kernel) found = code;
    }
    return Code.Kernel;
  }

  /** The innermost frame of user code on `L`'s stack, as `file:line`. */
  private userFrame(L: LuaState): string | undefined {
    const { api } = this;
    const frame = this.frame;
    for (let level = 0; level < MAX_FRAMES; level++) {
      if (api._lua_getstack(L, level, frame) === 0) return undefined;
      api._lua_getinfo(L, this.memory.cString('Sl'), frame);
      const source = api.HEAP32[(frame + LUA_DEBUG_SOURCE_OFFSET) >> 2] ?? 0;
      if (codeOf(api.HEAPU8, source) !== Code.User) continue;
      const name = this.memory.readCString(source);
      const line = api.HEAP32[(frame + LUA_DEBUG_CURRENTLINE_OFFSET) >> 2] ?? 0;
      return `${name.startsWith('@') || name.startsWith('=') ? name.slice(1) : name}:${line}`;
    }
    return undefined;
  }

  private stuck(L: LuaState, ran: number): LuactError {
    const frame = this.userFrame(L);
    const where = frame === undefined ? '' : ` at ${frame}`;
    return new LuactError(
      'TIMEOUT',
      `stopped after running ${Math.round(ran)} ms where it could not be preempted${where} ` +
        `(code called from C cannot yield: a metamethod, a sort comparator, a gsub function, ` +
        `an xpcall handler, a load reader; the host's max_slice is ${this.limits.maxSliceMs} ms)`,
      { retryable: false },
    );
  }
}

/** Whose code a chunk name (a C string at `pointer`) stands for. */
function codeOf(heap: Uint8Array, pointer: number): Code {
  // "=luact:" / "=luact-lib:" / "=[C]"
  if (heap[pointer] !== 0x3d) return Code.User;
  if (heap[pointer + 1] === 0x5b && heap[pointer + 2] === 0x43 && heap[pointer + 3] === 0x5d)
    return Code.C;
  if (
    heap[pointer + 1] !== 0x6c ||
    heap[pointer + 2] !== 0x75 ||
    heap[pointer + 3] !== 0x61 ||
    heap[pointer + 4] !== 0x63 ||
    heap[pointer + 5] !== 0x74
  )
    return Code.User;
  if (heap[pointer + 6] === 0x3a) return Code.Kernel;
  return heap[pointer + 6] === 0x2d ? Code.Library : Code.User;
}

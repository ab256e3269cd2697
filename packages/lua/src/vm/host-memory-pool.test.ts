import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedApi } from '../testing/vm-harness.js';
import { type LuaApi, type LuaState, LuaStatus } from '../wasm/lua-api.js';
import { WasmMemory } from '../wasm/memory.js';
import { HostMemoryLease } from './host-memory-lease.js';
import { HostMemoryPool } from './host-memory-pool.js';
import { EngineMemory, LuaHeap } from './lua-heap.js';

/**
 * The max_memory of a host on several threads, shared through one pool: by the pool alone, by
 * two heaps against one pool, and by two threads at once.
 */

const KIB = 1024;
const MIB = 1024 * KIB;

describe('the memory pool of a host on several threads', () => {
  it('leases between the least and the most asked for, never past its limit, and takes leases back', () => {
    const pool = HostMemoryPool.create(10 * MIB, 2);
    expect(pool.take(0, 3 * MIB, 6 * MIB)).toBe(6 * MIB);
    // Only 4 MiB are left: less than the most asked for, at least the least.
    expect(pool.take(1, 1 * MIB, 6 * MIB)).toBe(4 * MIB);
    expect(pool.take(1, 1, 1)).toBe(0);
    expect(pool.leasedBytes).toBe(10 * MIB);
    pool.giveBack(0, 2 * MIB);
    expect(pool.take(1, 3 * MIB, 6 * MIB)).toBe(0);
    expect(pool.take(1, 1 * MIB, 6 * MIB)).toBe(2 * MIB);
    expect([pool.leaseOf(0), pool.leaseOf(1)]).toEqual([4 * MIB, 6 * MIB]);
    // A member whose thread ended gives back all of its lease, and is not waited for.
    pool.release(1);
    expect(pool.leasedBytes).toBe(4 * MIB);
    expect(pool.askForRoom(0, 10_000)).toBe(true);
  });

  it('keeps the leases of two threads taking and giving back at once within its limit', async () => {
    const pool = HostMemoryPool.create(4 * MIB, 2);
    const rounds = 20_000;
    const threads = [0, 1].map((member) => churn(pool, member, rounds));
    let highest = 0;
    let done = false;
    const finished = Promise.all(threads).finally(() => {
      done = true;
    });
    while (!done) {
      highest = Math.max(highest, pool.leasedBytes);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const granted = await finished;
    expect(granted.every((count) => count > 0)).toBe(true);
    expect(highest).toBeLessThanOrEqual(4 * MIB);
    // Each gave back all it took: nothing leaked on the way.
    expect(pool.leasedBytes).toBe(0);
    expect([pool.leaseOf(0), pool.leaseOf(1)]).toEqual([0, 0]);
  });

  it('lets a member ask another thread for room, and waits for its answer', async () => {
    const pool = HostMemoryPool.create(8 * MIB, 2);
    const other = await holder(pool, 1, 6 * MIB);
    try {
      expect(pool.take(0, 4 * MIB, 4 * MIB)).toBe(0);
      // The other thread gives back all but 1 MiB when asked.
      expect(pool.askForRoom(0, 10_000)).toBe(true);
      expect(pool.leaseOf(1)).toBe(1 * MIB);
      expect(pool.take(0, 4 * MIB, 4 * MIB)).toBe(4 * MIB);
    } finally {
      await other.terminate();
    }
  });
});

describe("a heap's lease of the pool", () => {
  it('takes a chunk at a time, and gives back all but a spare chunk above what is held', () => {
    const pool = HostMemoryPool.create(64 * MIB, 2);
    const lease = new HostMemoryLease({ pool, member: 0 });
    expect(lease.grow(0, 100)).toEqual({ ok: true, lease: 1 * MIB });
    // An allocation larger than a chunk takes what it needs.
    expect(lease.grow(1 * MIB, 5 * MIB)).toEqual({ ok: true, lease: 6 * MIB });
    expect(lease.surplus(1.5 * MIB)).toBe(3 * MIB);
    expect(pool.leaseOf(0)).toBe(3 * MIB);
    lease.end();
    expect(pool.leasedBytes).toBe(0);
  });

  it('after a member did not answer in time, refuses without waiting again for a while', () => {
    const pool = HostMemoryPool.create(8 * MIB, 2);
    // Member 1 takes everything and never answers (its thread is busy, say).
    pool.join(1);
    pool.take(1, 8 * MIB, 8 * MIB);
    const lease = new HostMemoryLease({ pool, member: 0, askWaitMs: 20 });
    const asks = vi.spyOn(pool, 'askForRoom');
    expect(lease.grow(0, 1 * MIB)).toEqual({ ok: false, held: 8 * MIB });
    expect(asks).toHaveBeenCalledTimes(1);
    expect(lease.grow(0, 1 * MIB)).toMatchObject({ ok: false });
    expect(asks).toHaveBeenCalledTimes(1);
  });

  it('after an ask that every member answered without room, refuses without asking for a while', () => {
    const clock = fakeClock();
    const pool = HostMemoryPool.create(8 * MIB, 2);
    pool.take(1, 8 * MIB, 8 * MIB);
    const lease = new HostMemoryLease({ pool, member: 0 });
    // Every member answers, after a collection of 30 ms (a large heap), and frees nothing.
    const asks = vi.spyOn(pool, 'askForRoom').mockImplementation(() => {
      clock.now += 30;
      return true;
    });
    try {
      expect(lease.grow(0, 1 * MIB)).toEqual({ ok: false, held: 8 * MIB });
      expect(asks).toHaveBeenCalledTimes(1);
      // Lua's retry after its emergency collection, then the other allocations of a burst:
      // refused at once, not after another 30 ms each.
      clock.now += 1;
      expect(lease.grow(0, 1 * MIB)).toMatchObject({ ok: false });
      clock.now += 100;
      expect(lease.grow(0, 1 * MIB)).toMatchObject({ ok: false });
      expect(asks).toHaveBeenCalledTimes(1);
      // Four times as long as the ask took, and the others are asked again.
      clock.now += 20;
      expect(lease.grow(0, 1 * MIB)).toMatchObject({ ok: false });
      expect(asks).toHaveBeenCalledTimes(2);
    } finally {
      asks.mockRestore();
      clock.restore();
    }
  });

  it('waits for the others at most askWaitMs in all in one slice', () => {
    const clock = fakeClock();
    const pool = HostMemoryPool.create(64 * MIB, 2);
    pool.take(1, 64 * MIB, 64 * MIB);
    const lease = new HostMemoryLease({ pool, member: 0, askWaitMs: 200 });
    // Every answer takes 150 ms (or all the asker waits) and frees a chunk.
    const asks = vi.spyOn(pool, 'askForRoom').mockImplementation((_member, waitMs) => {
      clock.now += Math.min(150, waitMs);
      pool.giveBack(1, 1 * MIB);
      return waitMs >= 150;
    });
    try {
      lease.startSlice();
      expect(lease.waited).toBe(false);
      expect(lease.grow(0, 100)).toEqual({ ok: true, lease: 1 * MIB });
      expect(asks).toHaveBeenLastCalledWith(0, 200);
      // The next ask may wait only what is left of the slice's 200 ms.
      expect(lease.grow(1 * MIB, 100)).toEqual({ ok: true, lease: 2 * MIB });
      expect(asks).toHaveBeenLastCalledWith(0, 50);
      // Nothing is left: refused without asking, however long ago the last ask was.
      clock.now += 1000;
      expect(lease.grow(2 * MIB, 100)).toMatchObject({ ok: false });
      expect(asks).toHaveBeenCalledTimes(2);
      // A new slice may wait again.
      lease.startSlice();
      expect(lease.grow(2 * MIB, 100)).toEqual({ ok: true, lease: 3 * MIB });
      expect(asks).toHaveBeenCalledTimes(3);
      expect(lease.waited).toBe(true);
    } finally {
      asks.mockRestore();
      clock.restore();
    }
  });
});

/** performance.now() made to return `now`, moved by the test. */
function fakeClock(): { now: number; restore(): void } {
  const clock = { now: 1_000, restore: () => spy.mockRestore() };
  const spy = vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
  return clock;
}

interface Bare {
  readonly api: LuaApi;
  readonly heap: LuaHeap;
  readonly L: LuaState;
  readonly memory: WasmMemory;
  closed: boolean;
}

const states: Bare[] = [];

afterEach(() => {
  for (const state of states.splice(0)) close(state);
});

/** A Lua state with its libraries whose heap leases from `pool` as `member`. */
async function member(pool: HostMemoryPool, index: number): Promise<Bare> {
  const api = await sharedApi();
  const heap = new LuaHeap(api, {
    hostLimit: pool.limitBytes,
    processLimit: 64 * MIB,
    engine: new EngineMemory(1024 * MIB),
    // The other member runs on this thread: it cannot answer while this one waits.
    shared: { pool, member: index, askWaitMs: 0 },
    onPressure: () => {},
    onLargeAllocation: () => false,
  });
  const L = api._lua_newstate(heap.allocator, heap.record);
  api._luaL_openlibs(L);
  const state = { api, heap, L, memory: new WasmMemory(api), closed: false };
  states.push(state);
  return state;
}

function close(state: Bare): void {
  if (state.closed) return;
  state.closed = true;
  state.api._lua_close(state.L);
  state.heap.dispose();
}

/** Runs `source` where the heap may refuse (as a process does); returns its status. */
function run(state: Bare, source: string): number {
  const { api, L, heap, memory } = state;
  expect(memory.loadChunk(L, source, '=test')).toBe(LuaStatus.ok);
  heap.owner = heap.openSlot();
  heap.refusable = true;
  const status = api._lua_pcallk(L, 0, 0, 0, 0, 0);
  heap.refusable = false;
  heap.owner = 0;
  if (status !== LuaStatus.ok) api._lua_settop(L, -2);
  return status;
}

describe('two heaps leasing from one pool', () => {
  it('refuse what would pass the limit together, naming the host-wide figures, and give chunks back', async () => {
    const pool = HostMemoryPool.create(16 * MIB, 2);
    const one = await member(pool, 0);
    const two = await member(pool, 1);
    const leases = () => (one.heap.leased ?? 0) + (two.heap.leased ?? 0);
    // string.rep holds twice the string's size for a moment (its buffer, then the string).
    expect(run(one, 'big = string.rep("a", 5 * 1048576)')).toBe(LuaStatus.ok);
    expect(one.heap.leased).toBeGreaterThanOrEqual(one.heap.used);
    expect(run(two, 'big = string.rep("b", 6 * 1048576)')).toBe(LuaStatus.memoryError);
    const refusal = two.heap.refusal?.what;
    expect(refusal?.limit).toBe('host');
    expect(refusal?.limitBytes).toBe(16 * MIB);
    // What the host holds: the other heap's lease and this heap's own use.
    expect(refusal?.held).toBeGreaterThan(5 * MIB);
    expect((refusal?.held ?? 0) + (refusal?.requested ?? 0)).toBeGreaterThan(16 * MIB);
    expect(leases()).toBeLessThanOrEqual(16 * MIB);
    expect(pool.leasedBytes).toBe(leases());
    // The first heap's string becomes garbage: once collected, its chunks go back.
    expect(run(one, 'big = nil collectgarbage()')).toBe(LuaStatus.ok);
    expect(one.heap.leased).toBeGreaterThan(10 * MIB);
    one.heap.collected();
    expect(one.heap.leased).toBeLessThanOrEqual(one.heap.used + 2 * MIB);
    expect(run(two, 'big = string.rep("b", 6 * 1048576)')).toBe(LuaStatus.ok);
    expect(leases()).toBeLessThanOrEqual(16 * MIB);
    // A heap disposed of gives all of its lease back.
    close(one);
    expect(pool.leaseOf(0)).toBe(0);
    expect(pool.leasedBytes).toBe(two.heap.leased);
  });

  it('leave a heap of a host on one thread as it was: max_memory is its own', async () => {
    const api = await sharedApi();
    const heap = new LuaHeap(api, {
      hostLimit: 16 * MIB,
      processLimit: 64 * MIB,
      engine: new EngineMemory(1024 * MIB),
      onPressure: () => {},
      onLargeAllocation: () => false,
    });
    expect(heap.leased).toBeUndefined();
    heap.dispose();
  });
});

/**
 * A thread that takes `rounds` times 1–512 KiB for `member` of the pool and gives each back at
 * once; resolves with how many takes were granted. Runs the built module (threads cannot load
 * TypeScript).
 */
function churn(pool: HostMemoryPool, member: number, rounds: number): Promise<number> {
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.module).then(({ HostMemoryPool }) => {
      const pool = new HostMemoryPool(workerData.buffer);
      let granted = 0;
      for (let i = 0; i < workerData.rounds; i++) {
        const bytes = pool.take(workerData.member, 1, 1024 + ((i * 7919) % 512) * 1024);
        if (bytes > 0) { granted++; pool.giveBack(workerData.member, bytes); }
      }
      parentPort.postMessage(granted);
    });`,
    { eval: true, workerData: { module: BUILT_POOL, buffer: pool.buffer, member, rounds } },
  );
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/**
 * A thread that leases `bytes` as `member` and, when asked for room, gives back all but 1 MiB;
 * resolves once it listens.
 */
async function holder(pool: HostMemoryPool, member: number, bytes: number): Promise<Worker> {
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.module).then(({ HostMemoryPool }) => {
      const pool = new HostMemoryPool(workerData.buffer);
      pool.join(workerData.member);
      pool.take(workerData.member, workerData.bytes, workerData.bytes);
      pool.whenAsked(workerData.member, () => {
        pool.giveBack(workerData.member, pool.leaseOf(workerData.member) - 1048576);
      });
      setInterval(() => {}, 1000);
      parentPort.postMessage('listening');
    });`,
    { eval: true, workerData: { module: BUILT_POOL, buffer: pool.buffer, member, bytes } },
  );
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return worker;
}

/** The pool as built (dist), for threads. */
const BUILT_POOL = new URL('../../dist/vm/host-memory-pool.js', import.meta.url).href;

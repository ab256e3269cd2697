import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeValue, encodeValues } from '../codec/wire.js';
import { timeModule } from '../modules/time.js';
import { sharedApi, TEST_LIMITS } from '../testing/vm-harness.js';
import { ManualClock } from './clock.js';
import type { FiberGroup, GroupOutcome, GroupOwner } from './fiber.js';
import { HostMemoryPool } from './host-memory-pool.js';
import { LuaVm } from './lua-vm.js';

/**
 * A VM of a host on several threads whose allocations find the host's pool used up: each
 * waits for the other threads' answers inside its slice, which the thread's watchdog counts as
 * busy. The waits must not pile up in one slice, whatever number of processes are refused at
 * once (they end on the refusal, so none is preempted).
 */

const MIB = 1024 * 1024;

const vms: LuaVm[] = [];

afterEach(() => {
  for (const vm of vms.splice(0)) vm.close();
  vi.restoreAllMocks();
});

/**
 * A VM that leases from a pool of 64 MiB as member 0, counting its slices; the other member
 * holds all that is left, and its answers to requests for room take 20 ms (a large heap of
 * small objects to collect) and give back `answer` bytes. Returns in which slice each ask was.
 */
async function pooledVm(answer: number) {
  const pool = HostMemoryPool.create(64 * MIB, 2);
  let slice = 0;
  const vm = new LuaVm(await sharedApi(), {
    name: 'test:pooled',
    limits: { ...TEST_LIMITS, memoryBytes: 64 * MIB },
    modules: [timeModule()],
    clock: new ManualClock(),
    sharedMemory: { pool, member: 0 },
    onSlice: {
      begin: () => {
        slice++;
      },
      end: () => {},
    },
  });
  vms.push(vm);
  // A first process: the lease takes what the VM holds (its start-up was never refused), and
  // its answers need to cover only what the processes below allocate.
  const warmUp = vm.prepareEntry({
    id: 'test:warm-up',
    fingerprint: 'test:warm-up',
    source: 'return { main = function() return #string.rep("x", 50000) end }',
    file: 'test/warm-up.lua',
    firstLine: 1,
    modules: [],
    imports: {},
  });
  vm.startGroup({ onGroupExit: () => {} }, warmUp, 'main', encodeValues([]));
  vm.drain();
  expect(vm.heapBytes()).toBeGreaterThan(0);
  const room = pool.limitBytes - pool.leasedBytes;
  expect(pool.take(1, room, room)).toBe(room);
  const askedIn: number[] = [];
  vi.spyOn(pool, 'askForRoom').mockImplementation(() => {
    askedIn.push(slice);
    const until = performance.now() + 20;
    while (performance.now() < until) {
      // The answer comes from another thread: this one waits.
    }
    pool.giveBack(1, Math.min(answer, pool.leaseOf(1)));
    return true;
  });
  const exits: GroupOutcome[] = [];
  const ready: FiberGroup[] = [];
  const owner: GroupOwner = {
    onGroupExit: (_group, outcome) => {
      exits.push(outcome);
    },
    onGroupReady: (group) => {
      ready.push(group);
    },
  };
  /** Starts `count` processes of `main`'s body, all ready before the first slice. */
  const start = (count: number, body: string) => {
    const entry = vm.prepareEntry({
      id: 'test:greedy',
      fingerprint: 'test:greedy',
      source: `local time = require("time") return { main = function() ${body} end }`,
      file: 'test/greedy.lua',
      firstLine: 1,
      modules: ['time'],
      imports: {},
    });
    for (let i = 0; i < count; i++) vm.startGroup(owner, entry, 'main', encodeValues([]));
  };
  /** The most asks made in one slice. */
  const mostAsksInASlice = () => {
    const perSlice = new Map<number, number>();
    for (const s of askedIn) perSlice.set(s, (perSlice.get(s) ?? 0) + 1);
    return Math.max(0, ...perSlice.values());
  };
  return { start, exits, ready, askedIn, mostAsksInASlice };
}

describe('a VM whose host pool is used up', () => {
  it('refuses a burst of allocations with one wait in a slice, and not twice for one allocation', async () => {
    const { start, exits, askedIn, mostAsksInASlice } = await pooledVm(0);
    // Ten processes: fewer than the 32 resumes after which a slice looks at the clock anyway.
    // Each ends on its refusal (none is preempted).
    const processes = 10;
    start(processes, 'return #string.rep("x", 8 * 1048576)');
    await vi.waitFor(() => expect(exits).toHaveLength(processes), { timeout: 20_000 });
    for (const exit of exits) {
      expect(exit.ok).toBe(false);
      const error = exit.ok ? undefined : (decodeValue(exit.error) as { message: string });
      expect(error?.message).toMatch(/^out of memory: the processes of host test:pooled hold/);
    }
    // At most one wait in a slice (the slice ends after it), and none for Lua's own retry of
    // the refused allocation after its emergency collection.
    expect(askedIn.length).toBeGreaterThan(0);
    expect(mostAsksInASlice()).toBe(1);
    expect(askedIn.length).toBeLessThanOrEqual(processes);
  });

  it('ends a slice after a resume that waited, even when the wait found room', async () => {
    const { start, ready, exits, askedIn, mostAsksInASlice } = await pooledVm(512 * 1024);
    // Thirty processes each keep 50 kB (no large allocation: nothing looks at the clock) and
    // block: every ten or so find the pool used up, and the answer gives back room for more.
    const processes = 30;
    start(processes, 'local s = string.rep("x", 50000) time.sleep("1h") return #s');
    await vi.waitFor(() => expect(ready.length + exits.length).toBe(processes), {
      timeout: 20_000,
    });
    expect(exits).toEqual([]);
    expect(askedIn.length).toBeGreaterThan(1);
    expect(mostAsksInASlice()).toBe(1);
  });
});

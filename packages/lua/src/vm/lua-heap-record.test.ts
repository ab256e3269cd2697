import { afterEach, describe, expect, it } from 'vitest';
import { sharedApi } from '../testing/vm-harness.js';
import { loadLuaApi } from '../wasm/load-module.js';
import { type LuaApi, type LuaState, LuaStatus } from '../wasm/lua-api.js';
import { WasmMemory } from '../wasm/memory.js';
import { EngineMemory, LuaHeap } from './lua-heap.js';

/**
 * The heap's accounting seen from TypeScript, on bare Lua states (no VM): what the allocator
 * in the engine (wasm/luact_heap.c) counts, refuses and reports.
 */

const KIB = 1024;
const MIB = 1024 * KIB;

interface Bare {
  readonly api: LuaApi;
  readonly heap: LuaHeap;
  readonly L: LuaState;
  readonly events: { pressure: number; large: number };
  luaClosed: boolean;
  disposed: boolean;
}

const states: Bare[] = [];

afterEach(() => {
  for (const state of states.splice(0)) close(state);
});

async function bare(
  options: { hostLimit?: number; processLimit?: number; engine?: EngineMemory; api?: LuaApi } = {},
): Promise<Bare> {
  const api = options.api ?? (await sharedApi());
  const events = { pressure: 0, large: 0 };
  const heap = new LuaHeap(api, {
    hostLimit: options.hostLimit ?? 256 * MIB,
    processLimit: options.processLimit ?? 64 * MIB,
    engine: options.engine ?? new EngineMemory(1024 * MIB),
    onPressure: () => events.pressure++,
    onLargeAllocation: () => {
      events.large++;
      return false;
    },
  });
  const L = api._lua_newstate(heap.allocator, heap.record);
  const state = { api, heap, L, events, luaClosed: false, disposed: false };
  states.push(state);
  return state;
}

/** Frees every block of the state (lua_close); its heap stays readable until `close`. */
function closeLua(state: Bare): void {
  if (state.luaClosed) return;
  state.luaClosed = true;
  state.api._lua_close(state.L);
}

function close(state: Bare): void {
  closeLua(state);
  if (state.disposed) return;
  state.disposed = true;
  state.heap.dispose();
}

/** Pushes a string of `bytes` bytes (one block of a little more) onto the state's stack. */
function pushString({ api, L }: Bare, bytes: number): void {
  const buffer = api._malloc(bytes);
  api._lua_pushlstring(L, buffer, bytes);
  api._free(buffer);
}

/** Runs `source` in a protected call where the heap may refuse; returns its status. */
function run(state: Bare, source: string): number {
  const { api, L, heap } = state;
  const memory = new WasmMemory(api);
  expect(memory.loadChunk(L, source, '=test')).toBe(LuaStatus.ok);
  heap.refusable = true;
  const status = api._lua_pcallk(L, 0, 0, 0, 0, 0);
  heap.refusable = false;
  if (status !== LuaStatus.ok) api._lua_settop(L, -2);
  return status;
}

describe("the heap's accounting in the engine", () => {
  it('credits a block freed after its owner ended to the host, not to the next process in its slot', async () => {
    const state = await bare();
    const { heap } = state;
    const first = heap.openSlot();
    heap.owner = first;
    pushString(state, 100 * KIB);
    heap.owner = 0;
    expect(heap.bytesOf(first)).toBeGreaterThanOrEqual(100 * KIB);
    heap.closeSlot(first);
    const next = heap.openSlot();
    expect(next).toBe(first);
    expect(heap.bytesOf(next)).toBe(0);
    // The new process runs the collector that frees the old block (here: every block).
    heap.owner = next;
    closeLua(state);
    expect(heap.bytesOf(next)).toBe(0);
    expect(heap.bytesOf(0)).toBe(0);
    expect(heap.used).toBe(0);
    heap.owner = 0;
  });

  it('records the limit, the bytes asked for, the bytes held and the slot of a refusal', async () => {
    const state = await bare({ processLimit: 1 * MIB });
    const { heap } = state;
    const slot = heap.openSlot();
    heap.owner = slot;
    const status = run(state, 'local t = {} for i = 1, 1e7 do t[i] = i end');
    expect(status).toBe(LuaStatus.memoryError);
    const refusal = heap.refusal;
    expect(refusal?.slot).toBe(slot);
    expect(refusal?.what.limit).toBe('process');
    expect(refusal?.what.limitBytes).toBe(1 * MIB);
    expect(refusal?.what.held).toBe(heap.bytesOf(slot));
    expect(refusal?.what.held).toBeLessThanOrEqual(1 * MIB);
    expect((refusal?.what.held ?? 0) + (refusal?.what.requested ?? 0)).toBeGreaterThan(1 * MIB);
    // Another owner's allocation keeps it; the slot's own next one clears it.
    heap.owner = 0;
    pushString(state, 100);
    expect(heap.refusal?.slot).toBe(slot);
    heap.owner = slot;
    pushString(state, 100);
    expect(heap.refusal).toBeUndefined();
    heap.owner = 0;
  });

  it('names the host limit when the state would cross it, and refuses nothing outside a protected call', async () => {
    const state = await bare({ hostLimit: 4 * MIB, processLimit: 64 * MIB });
    const { heap } = state;
    const slot = heap.openSlot();
    heap.owner = slot;
    pushString(state, 6 * MIB);
    expect(heap.bytesOf(slot)).toBeGreaterThan(6 * MIB);
    expect(heap.refusal).toBeUndefined();
    expect(run(state, 'local x = "x" local s = x .. x')).toBe(LuaStatus.memoryError);
    const refusal = heap.refusal;
    expect(refusal?.slot).toBe(slot);
    expect(refusal?.what.limit).toBe('host');
    expect(refusal?.what.limitBytes).toBe(4 * MIB);
    expect(refusal?.what.held).toBeGreaterThan(6 * MIB);
    heap.owner = 0;
  });

  it('counts the heaps of one engine into one budget, until a heap is disposed', async () => {
    const engine = new EngineMemory(1024 * MIB);
    const one = await bare({ engine });
    const two = await bare({ engine });
    pushString(one, 1 * MIB);
    pushString(two, 2 * MIB);
    expect(engine.used).toBe(one.heap.used + two.heap.used);
    expect(engine.used).toBeGreaterThan(3 * MIB);
    close(one);
    expect(engine.used).toBe(two.heap.used);
  });

  it('asks for a collection once the state has used half its room, and again after half what is left', async () => {
    const state = await bare({ hostLimit: 8 * MIB });
    const { heap, events } = state;
    pushString(state, 3 * MIB);
    expect(events.pressure).toBe(0);
    pushString(state, 2 * MIB);
    expect(events.pressure).toBe(1);
    expect(heap.pressure).toBe(true);
    pushString(state, 1 * KIB);
    expect(events.pressure).toBe(1);
    heap.collected();
    expect(heap.pressure).toBe(false);
    // ~5 MiB held of 8: the next threshold is ~6.5 MiB.
    pushString(state, 1 * MIB);
    expect(events.pressure).toBe(1);
    pushString(state, 1 * MIB);
    expect(events.pressure).toBe(2);
  });

  it('asks for a collection when a process has used half its room, measured from its first growth after the last one', async () => {
    const state = await bare({ processLimit: 4 * MIB });
    const { heap, events } = state;
    const slot = heap.openSlot();
    heap.owner = slot;
    pushString(state, 1.5 * MIB);
    expect(events.pressure).toBe(0);
    pushString(state, 1 * MIB);
    expect(events.pressure).toBe(1);
    heap.collected();
    // The next threshold is halfway from what it holds at its first growth (~3 MiB) to 4.
    pushString(state, 0.5 * MIB);
    expect(events.pressure).toBe(1);
    pushString(state, 0.6 * MIB);
    expect(events.pressure).toBe(2);
    heap.owner = 0;
  });

  it('tells of each block of 64 KiB or more, and of no smaller one', async () => {
    const state = await bare();
    pushString(state, 64 * KIB);
    expect(state.events.large).toBe(1);
    pushString(state, 60 * KIB);
    expect(state.events.large).toBe(1);
  });

  it("charges the owner stored after the engine's memory grew, and keeps a budget to its engine", async () => {
    const api = await loadLuaApi();
    const engine = new EngineMemory(1024 * MIB);
    const state = await bare({ api, engine });
    const { heap } = state;
    const before = api.HEAPU8.buffer;
    pushString(state, 64 * MIB);
    expect(api.HEAPU8.buffer).not.toBe(before);
    const slot = heap.openSlot();
    heap.owner = slot;
    pushString(state, 100);
    heap.owner = 0;
    expect(heap.bytesOf(slot)).toBeGreaterThanOrEqual(100);
    expect(heap.used).toBeGreaterThan(64 * MIB);
    const shared = await sharedApi();
    expect(() => new LuaHeap(shared, { ...heapOptions(), engine })).toThrow(
      /shared by two engines/,
    );
  });
});

function heapOptions() {
  return {
    hostLimit: 16 * MIB,
    processLimit: 16 * MIB,
    onPressure: () => {},
    onLargeAllocation: () => false,
  };
}

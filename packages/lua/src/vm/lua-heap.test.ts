import { afterEach, describe, expect, it } from 'vitest';
import { encodeValues } from '../codec/wire.js';
import { VmHarness } from '../testing/vm-harness.js';
import { EngineMemory } from './lua-heap.js';

const MIB = 1024 * 1024;
const harnesses: VmHarness[] = [];

afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
});

async function harness(options: Parameters<typeof VmHarness.create>[0] = {}): Promise<VmHarness> {
  const h = await VmHarness.create(options);
  harnesses.push(h);
  return h;
}

function start(vm: VmHarness, source: string) {
  return vm.start(vm.prepare(source), encodeValues([]));
}

/**
 * Holds `mib` MiB in one string and blocks until its channel closes (never). Building the
 * string takes twice that for a moment (string.rep fills a buffer, then copies it).
 */
const HOLDER = (mib: number) =>
  `return { main = function() local keep = string.rep("x", ${mib} * 1048576); channel.new():receive(); return #keep end }`;

/** Grows a table of small strings without end. */
const GROWER = `return { main = function()
  local keep = {}
  for i = 1, 1e9 do keep[i] = "item " .. i end
end }`;

async function settled(vm: VmHarness): Promise<void> {
  for (let i = 0; i < 100 && vm.vm.readyCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('the Lua heap', () => {
  it('knows what each process holds, and gives it back when the process ends', async () => {
    const vm = await harness();
    // 8,192 strings of 1,000 bytes: no garbage is made on the way.
    const holder = start(
      vm,
      `return { main = function()
        local keep, piece = {}, string.rep("h", 1000)
        for i = 1, 8192 do keep[i] = piece .. i end
        channel.new():receive()
      end }`,
    );
    await settled(vm);
    expect(vm.vm.memoryOf(holder)).toBeGreaterThanOrEqual(8192 * 1000);
    // Each string and its slot in the table cost a little more than the bytes in it.
    expect(vm.vm.memoryOf(holder)).toBeLessThan(8192 * 1100);
    expect(vm.vm.heapBytes()).toBeGreaterThanOrEqual(8192 * 1000);
    const quick = start(vm, 'return { main = function() return #string.rep("y", 1000) end }');
    expect(await vm.wait(quick)).toEqual({ ok: true, value: 1000 });
    expect(vm.vm.memoryOf(quick)).toBe(0);
  });

  it('keeps nothing of what a deep recursion grew once its fiber has returned', async () => {
    const vm = await harness();
    const before = vm.vm.heapBytes();
    // Five threads (the process's and four fibers') grow their stacks and call records to
    // over 1 MiB each; their functions return, and the threads are kept for later fibers.
    const deep = start(
      vm,
      `local function rec(n) if n == 0 then return 0 end return 1 + rec(n - 1) end
      return { main = function()
        local done = channel.new(4)
        for i = 1, 4 do coroutine.spawn(function() done:send(rec(20000)) end) end
        local sum = rec(20000)
        for i = 1, 4 do sum = sum + done:receive() end
        return sum
      end }`,
    );
    expect(await vm.wait(deep)).toEqual({ ok: true, value: 100_000 });
    // Threads no fiber keeps are garbage, freed whenever the collector comes to them.
    vm.vm.collectGarbage();
    expect(vm.vm.heapBytes() - before).toBeLessThan(MIB);
  });

  it("fails a process that allocates past max_process_memory, in one go, and spares its neighbour's", async () => {
    const vm = await harness({ limits: { processMemoryBytes: 16 * MIB } });
    const neighbour = start(vm, HOLDER(6));
    const greedy = start(vm, HOLDER(32));
    const exit = await vm.wait(greedy);
    expect(exit).toMatchObject({
      ok: false,
      error: {
        kind: 'RATE_LIMITED',
        message: expect.stringMatching(
          /^out of memory: this process holds .* and may hold 16\.0 MiB \(max_process_memory of host test:host\); an allocation of \d+\.\d MiB was refused$/,
        ),
      },
    });
    expect(vm.exitOf(neighbour)).toBeUndefined();
    expect(vm.vm.memoryOf(neighbour)).toBeGreaterThanOrEqual(6 * MIB);
  });

  it("grows the kernel's own tables at the host's charge, whichever process needs the room", async () => {
    // Every fiber has an entry in tables of the kernel: past 16,384 of them, the next start
    // doubles those tables (~1.1 MiB). Charged to the process that starts then, it failed on
    // its 1 MiB, and so did each start after it, each collecting the whole heap first.
    const vm = await harness({ limits: { processMemoryBytes: MIB } });
    const idle = vm.prepare('return { main = function() channel.new():receive() end }');
    const started = [];
    for (let i = 0; i < 17_000; i++) started.push(vm.start(idle, encodeValues([])));
    await settled(vm);
    expect(started.filter((group) => vm.exitOf(group) !== undefined)).toEqual([]);
    expect(await vm.run('return { main = function() return 1 end }')).toEqual({
      ok: true,
      value: 1,
    });
    expect(Math.max(...started.map((group) => vm.vm.memoryOf(group)))).toBeLessThan(64 * 1024);
  });

  it('fails a process that grows past max_process_memory in small steps', async () => {
    const vm = await harness({ limits: { processMemoryBytes: 16 * MIB } });
    const exit = await vm.wait(start(vm, GROWER), 20_000);
    expect(exit).toMatchObject({
      ok: false,
      error: { kind: 'RATE_LIMITED', message: expect.stringContaining('max_process_memory') },
    });
    expect(await vm.wait(start(vm, 'return { main = function() return 1 end }'))).toEqual({
      ok: true,
      value: 1,
    });
  });

  it("fails the allocating process when the host's processes together reach max_memory", async () => {
    const vm = await harness({ limits: { memoryBytes: 48 * MIB, processMemoryBytes: 48 * MIB } });
    const first = start(vm, HOLDER(12));
    await settled(vm);
    const second = start(vm, HOLDER(20));
    expect(await vm.wait(second)).toMatchObject({
      ok: false,
      error: {
        kind: 'RATE_LIMITED',
        message: expect.stringContaining('the processes of host test:host hold'),
      },
    });
    expect(vm.exitOf(first)).toBeUndefined();
  });

  it('refuses an allocation past the budget every VM of the engine shares', async () => {
    const engine = new EngineMemory(0);
    const one = await harness({ engine });
    const two = await harness({ engine });
    // The budget: what the two VMs hold now (kernel, modules) and 24 MiB more.
    engine.limitBytes += engine.used + 24 * MIB;
    const holder = start(one, HOLDER(8));
    await settled(one);
    const exit = await two.wait(start(two, HOLDER(16)));
    expect(exit).toMatchObject({
      ok: false,
      error: { kind: 'RATE_LIMITED', message: expect.stringContaining("the node's Lua engine") },
    });
    expect(one.exitOf(holder)).toBeUndefined();
  });

  it('lets a process catch a refused allocation and go on within its limit', async () => {
    const vm = await harness({ limits: { processMemoryBytes: 16 * MIB } });
    const exit = await vm.wait(
      start(
        vm,
        `return { main = function()
          local ok, err = pcall(string.rep, "x", 32 * 1048576)
          return { ok = ok, err = err, after = #string.rep("y", 1048576) }
        end }`,
      ),
    );
    expect(exit).toEqual({
      ok: true,
      value: { ok: false, err: 'not enough memory', after: MIB },
    });
  });
});

describe('garbage and the limits', () => {
  it('collects garbage before a limit refuses what garbage takes the room of', async () => {
    // Lua starts a collection when the heap has doubled since the last: with 40 MiB live in
    // a host of 64, garbage alone would reach the limit first.
    const vm = await harness({ limits: { memoryBytes: 64 * MIB, processMemoryBytes: 64 * MIB } });
    start(
      vm,
      `return { main = function()
        local keep, piece = {}, string.rep("h", 1000)
        for i = 1, 40 * 1024 do keep[i] = piece .. i end
        channel.new():receive()
      end }`,
    );
    await settled(vm);
    // 200 strings of 1 MiB, each garbage as soon as the next is made, built by table.concat
    // (whose buffer, when it cannot grow, collects and tries again: wasm/README, item 13).
    const exit = await vm.wait(
      start(
        vm,
        `return { main = function()
          local parts = {}
          for j = 1, 16 do parts[j] = string.rep("g", 65536) end
          local last
          for i = 1, 200 do last = table.concat(parts, "", 1, 16) end
          return #last
        end }`,
      ),
      20_000,
    );
    expect(exit).toEqual({ ok: true, value: MIB });
  });

  it('gives the room a process that ended held to the next one at once', async () => {
    const vm = await harness({ limits: { memoryBytes: 64 * MIB, processMemoryBytes: 60 * MIB } });
    const hog = start(
      vm,
      `return { main = function()
        local keep = {}
        for i = 1, 50 do keep[i] = string.rep(string.char(64 + i % 26), MIB - 64 - i) end
        return #keep
      end }`.replace('MIB', String(MIB)),
    );
    expect(await vm.wait(hog)).toEqual({ ok: true, value: 50 });
    // Its 50 MiB are garbage now; the buffer string.rep fills finds room once they are collected.
    const next = start(vm, `return { main = function() return #string.rep("y", 20 * ${MIB}) end }`);
    expect(await vm.wait(next)).toEqual({ ok: true, value: 20 * MIB });
  });
});

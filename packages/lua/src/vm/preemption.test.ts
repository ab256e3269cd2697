import { afterEach, describe, expect, it } from 'vitest';
import { encodeValues } from '../codec/wire.js';
import { VmHarness } from '../testing/vm-harness.js';
import type { LuaVm } from './lua-vm.js';

let h: VmHarness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

async function harness(options: Parameters<typeof VmHarness.create>[0] = {}): Promise<VmHarness> {
  h = await VmHarness.create(options);
  return h;
}

/** The CPU time of this test's process, in milliseconds. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Host calls that hold the thread for the milliseconds they are given: `hold` busy (that much
 * CPU time, however loaded the machine), `sleep` asleep, as a node stopped or paused in a
 * debugger would be (no thread of it runs).
 */
const STALL = {
  name: 'stall',
  scope: 'module' as const,
  source: 'local host = ... ; return { hold = host.hold, sleep = host.sleep }',
  functions: {
    hold(L: number, vm: LuaVm) {
      const until = cpuMs() + vm.api._lua_tonumberx(L, 1, 0);
      while (cpuMs() < until) {}
      return 0;
    },
    sleep(L: number, vm: LuaVm) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, vm.api._lua_tonumberx(L, 1, 0));
      return 0;
    },
  },
};

function start(vm: VmHarness, source: string, modules: string[] = []) {
  return vm.start(vm.prepare(source, { modules }), encodeValues([]));
}

const QUICK = 'return { main = function() return "done" end }';

describe('preemption by time', () => {
  it('preempts a spinning process by its time slice even when its reductions never run out', async () => {
    const vm = await harness({ limits: { reductions: 1_000_000_000, timeSliceMs: 2 } });
    const spinner = start(vm, 'return { main = function() while true do end end }');
    expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
    expect(vm.exitOf(spinner)).toBeUndefined();
  });

  it('preempts a process whose instructions are slow (errors caught by pcall, big strings)', async () => {
    const vm = await harness({ limits: { reductions: 1_000_000_000, timeSliceMs: 2 } });
    const errors = start(
      vm,
      'return { main = function() while true do pcall(error, "x") end end }',
    );
    const strings = start(
      vm,
      'return { main = function() while true do local _ = string.rep("x", 1 << 20) end end }',
    );
    expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
    expect(vm.exitOf(errors)).toBeUndefined();
    expect(vm.exitOf(strings)).toBeUndefined();
  });
});

describe('preemption by reductions', () => {
  // The instruction budget is charged where code can repeat (a backward jump, a call, a
  // return): each shape of endless loop must run it out, with the clock out of the picture.
  const LOOPS = {
    'while true do end': 'while true do end',
    'repeat until false': 'repeat until false',
    'a goto loop': '::again:: goto again',
    'a numeric for': 'for _ = 1, math.huge do end',
    'a generic for': 'for _ in function() return 1 end do end',
    'endless tail calls': 'local function f() return f() end f()',
    'recursion that never ends':
      'local function f(n) if n > 60 then return end f(n + 1) f(n + 1) end f(0)',
    'a loop of calls to a C function': 'while true do math.abs(1) end',
  };

  for (const [what, code] of Object.entries(LOOPS)) {
    it(`preempts ${what} by its reductions and can end it`, async () => {
      const vm = await harness({ limits: { reductions: 10_000, timeSliceMs: 60_000 } });
      const spinner = start(vm, `return { main = function() ${code} end }`);
      expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
      expect(vm.exitOf(spinner)).toBeUndefined();
      vm.vm.killGroup(spinner, encodeValues(['killed']));
      expect(vm.exitOf(spinner)).toMatchObject({ ok: false, killed: true });
      expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
    });
  }
});

describe('what one slice runs', () => {
  /**
   * Runs `work` in one fiber of a process, which counts its turns in `n`, and a watcher in
   * another (fibers of one process share its variables): the watcher runs between two of the
   * worker's slices and notes how many turns each ran. The median and the most of those.
   */
  async function turnsPerSlice(vm: VmHarness, work: string, modules: string[] = []) {
    const outcome = await vm.wait(start(vm, watched(work), modules));
    expect(outcome.ok).toBe(true);
    const [median, most] = String(outcome.value).split(' ').map(Number) as [number, number];
    return { median, most };
  }

  const watched = (work: string) => `return { main = function()
    local n, done = 0, false
    coroutine.spawn(function()
      ${work}
      done = true
    end)
    local seen, last = {}, 0
    while not done do
      if n ~= last then seen[#seen + 1] = n - last; last = n end
    end
    if n ~= last then seen[#seen + 1] = n - last end
    table.sort(seen)
    return seen[#seen // 2 + 1] .. " " .. seen[#seen]
  end }`;

  /**
   * The most turns a slice of `work` ran with a time slice of 0 (every look of the hook
   * preempts) and reductions that never run out: how often the time is looked at.
   */
  async function mostTurnsWhenEveryLookPreempts(work: string, modules: string[] = []) {
    const vm = await harness({ limits: { reductions: 1_000_000_000, timeSliceMs: 0 } });
    return (await turnsPerSlice(vm, work, modules)).most;
  }

  it('runs about `reductions` instructions of a fast loop, counted afresh each slice', async () => {
    const vm = await harness({ limits: { reductions: 10_000, timeSliceMs: 60_000 } });
    // Five counted instructions a turn (get, add, its metamethod slot, set, loop).
    const { median, most } = await turnsPerSlice(vm, 'for _ = 1, 400000 do n = n + 1 end');
    expect(median).toBeGreaterThan(1_500);
    expect(median).toBeLessThanOrEqual(2_000);
    expect(most).toBeLessThanOrEqual(2_000);
  }, 30_000);

  it('charges a look the allocator asked for early as a full one', async () => {
    // A collection is due every few dozen turns (each makes 10 kB of garbage, of a 1 MiB
    // process): each makes the hook look at once. Were such a look charged only for the
    // instruction it came after, the loop would run until its time slice (a minute), not its
    // reductions.
    const vm = await harness({
      limits: { reductions: 10_000, timeSliceMs: 60_000, processMemoryBytes: 1024 * 1024 },
    });
    const { most } = await turnsPerSlice(
      vm,
      'for _ = 1, 5000 do local s = string.rep("x", 10000) n = n + 1 end',
    );
    // Some 8 instructions a turn: 1,250 turns in 10,000.
    expect(most).toBeLessThanOrEqual(1_250);
  }, 30_000);

  it('charges a function that ends in a tail call for all it ran', async () => {
    const vm = await harness({ limits: { reductions: 10_000, timeSliceMs: 60_000 } });
    // 20,000 instructions of straight-line code, then a tail call: no loop, no return to
    // charge them at, but the tail call's.
    const body = `local x = 0 ${'x = x + 1 '.repeat(5_000)}return math.abs(x)`;
    const { most } = await turnsPerSlice(
      vm,
      `local function f() ${body} end for _ = 1, 300 do f() n = n + 1 end`,
    );
    // Each call runs past the look the hook set (a look charges the slice what it was set
    // to), so a slice holds a few calls; charged 1 for the tail call, it held all 300.
    expect(most).toBeLessThan(20);
  }, 30_000);

  it('charges a coroutine closed while suspended for all it ran', async () => {
    const vm = await harness({ limits: { reductions: 10_000, timeSliceMs: 60_000 } });
    // As above, but the frame yields, and the coroutine is closed: no return charges it.
    const body = `local x = 0 ${'x = x + 1 '.repeat(5_000)}coroutine.yield()`;
    const { most } = await turnsPerSlice(
      vm,
      `local function f() ${body} end
      for _ = 1, 300 do
        local co = coroutine.create(f)
        coroutine.resume(co)
        coroutine.close(co)
        n = n + 1
      end`,
    );
    expect(most).toBeLessThan(20);
  }, 30_000);

  it('charges a function that raises for all it ran', async () => {
    const vm = await harness({ limits: { reductions: 10_000, timeSliceMs: 60_000 } });
    // As above, but the frame ends by raising: no return charges it, and the error unwinds it.
    const body = `local x = 0 ${'x = x + 1 '.repeat(5_000)}error(x)`;
    const { most } = await turnsPerSlice(
      vm,
      `local function f() ${body} end for _ = 1, 300 do pcall(f) n = n + 1 end`,
    );
    expect(most).toBeLessThan(20);
  }, 30_000);

  // Each coroutine below runs fewer instructions than a look of the hook is set to: counting
  // for itself, from a whole count of its own, none would ever be looked at.
  const SPREAD = {
    'work spread over fresh coroutines':
      'for _ = 1, 2000 do coroutine.wrap(function() for _ = 1, 50 do n = n + 1 end end)() end',
    'a tree of coroutines, each resumed by its parent': `local function tree(depth)
        for _ = 1, 20 do n = n + 1 end
        if depth > 0 then for _ = 1, 3 do coroutine.wrap(tree)(depth - 1) end end
      end
      tree(7)`,
    'the __close handlers of coroutines closed from Lua': `local mt = { __close = function()
        for _ = 1, 50 do n = n + 1 end
      end }
      for _ = 1, 2000 do
        local co = coroutine.create(function()
          local _ <close> = setmetatable({}, mt)
          coroutine.yield()
        end)
        coroutine.resume(co)
        coroutine.close(co)
      end`,
  };

  for (const [what, work] of Object.entries(SPREAD)) {
    it(`counts ${what} against the slice of the fiber`, async () => {
      const vm = await harness({ limits: { reductions: 10_000, timeSliceMs: 60_000 } });
      // At least five counted instructions a turn, and more for starting each coroutine.
      const { most } = await turnsPerSlice(vm, work);
      expect(most).toBeLessThanOrEqual(2_000);
    }, 30_000);
  }

  it('looks at once when a coroutine of the fiber allocates a large block past its slice', async () => {
    // A time slice of 0: every large block the allocator is asked for is past it, and must
    // make the hook look at the next instruction of the thread that asked, the coroutine;
    // arming the fiber's own thread, the look waits for the coroutine's count to run out.
    const most = await mostTurnsWhenEveryLookPreempts(
      'coroutine.wrap(function() for _ = 1, 200 do local _ = string.rep("x", 1 << 17) n = n + 1 end end)()',
    );
    expect(most).toBeLessThanOrEqual(2);
  }, 30_000);

  // Built-ins that scan or compare a megabyte without a Lua instruction, and without
  // allocating for it: each call counts as work enough for the time to be looked at after it.
  const SLOW_CALLS = {
    'utf8.len': 'utf8.len(s)',
    'utf8.offset': 'utf8.offset(s, #s)',
    'string comparison': 'local _ = s < t',
    'equality of long strings': 'local _ = s == u',
    tonumber: 'tonumber(z)',
    'tonumber with a base': 'tonumber(z, 36)',
    'a number argument given as a string': 'math.abs(z)',
    'string.packsize': 'string.packsize(f)',
    'a metatable chain walked from C': 'table.unpack(chain, 1, 100)',
  };

  for (const [what, call] of Object.entries(SLOW_CALLS)) {
    it(`looks at the time after each call of ${what} over a megabyte`, async () => {
      // A time slice of 0: every look preempts. Without looks between calls, the hook would
      // look only after a thousand instructions: all hundred calls in one slice.
      const most = await mostTurnsWhenEveryLookPreempts(
        `local s = string.rep("x", 1 << 20)
        local t, u = s:sub(1, -2) .. "y", s:sub(1, -2) .. "x"
        local z, f = string.rep("0", 1 << 20) .. "1", string.rep(" ", 1 << 20) .. "i"
        local chain = { "x" }
        for _ = 1, 1999 do chain = setmetatable({}, { __index = chain }) end
        for _ = 1, 100 do ${call} n = n + 1 end`,
      );
      expect(most).toBeLessThanOrEqual(2);
    }, 30_000);
  }

  it('looks at the time after each host call over a large string', async () => {
    // A hash of 256 KiB runs in TypeScript: no instruction, no allocation in Lua.
    const most = await mostTurnsWhenEveryLookPreempts(
      `local hash = require("hash")
      local s = string.rep("x", 1 << 18)
      for _ = 1, 100 do hash.fnv64(s) n = n + 1 end`,
      ['hash'],
    );
    expect(most).toBeLessThanOrEqual(2);
  }, 30_000);

  it('looks at the clock often enough once fast code turns slow', async () => {
    const vm = await harness({ limits: { reductions: 1_000_000_000, timeSliceMs: 2 } });
    // A long fast start lets the hook look rarely; then each turn raises and catches an
    // error (microseconds a turn): the slice must end close to its 2 ms all the same.
    const { most } = await turnsPerSlice(
      vm,
      `local x = 0 for i = 1, 3000000 do x = x + i end
       for _ = 1, 20000 do pcall(error, "x") n = n + 1 end`,
    );
    // Some 200-400 turns a slice here (a look of the hook: 2,000 instructions). Had the hook
    // gone on doubling the instructions between its looks while the code ran fast, the slice
    // where it turned slow would run up to ten times that.
    expect(most).toBeLessThan(1_500);
  }, 30_000);
});

describe('a process that cannot be preempted', () => {
  const STUCK = {
    'a __lt called by table.sort without a comparator':
      'local mt = { __lt = spin }\n  table.sort({ setmetatable({}, mt), setmetatable({}, mt) })',
    'an xpcall handler, called again and again': 'while true do xpcall(error, spin) end',
    'a __index called from table.concat':
      'table.concat(setmetatable({}, { __index = spin, __len = function() return 2 end }))',
    'pcall around a __index called from C, in a loop':
      'while true do pcall(table.concat, setmetatable({}, { __index = spin, __len = function() return 2 end })) end',
  };

  for (const [what, code] of Object.entries(STUCK)) {
    it(`is stopped past max_slice when it loops in ${what}, and fails alone`, async () => {
      const vm = await harness({ limits: { maxSliceMs: 100 } });
      const stuck = start(
        vm,
        `local function spin() while true do end end\nreturn { main = function()\n  ${code}\nend }`,
      );
      const exit = await vm.wait(stuck, 10_000);
      expect(exit.ok).toBe(false);
      expect(exit.error).toMatchObject({
        kind: 'TIMEOUT',
        message: expect.stringMatching(
          /^stopped after running \d+ ms where it could not be preempted at test\/entry\d+\.lua:1 .*max_slice is 100 ms/,
        ),
      });
      expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
    });
  }

  it('is stopped past max_slice in a tree of short coroutines that a __index resumes', async () => {
    // Each coroutine runs a few instructions and resumes three more, twelve deep (half a
    // million coroutines a tree), and the __index makes trees for ever; none of it can yield
    // to the scheduler (the __index is called from C).
    const vm = await harness({ limits: { maxSliceMs: 100 } });
    const stuck = start(
      vm,
      `local function tree(depth)
        if depth > 0 then for _ = 1, 3 do coroutine.wrap(tree)(depth - 1) end end
      end
      return { main = function()
        local function index() while true do tree(12) end end
        return table.concat(setmetatable({}, { __index = index, __len = function() return 1 end }))
      end }`,
    );
    const exit = await vm.wait(stuck, 10_000);
    expect(exit).toMatchObject({
      ok: false,
      error: { kind: 'TIMEOUT', message: expect.stringMatching(/^stopped after running \d+ ms/) },
    });
    expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
  });

  // Code that runs inside a metamethod called from C cannot yield to the scheduler, nor can
  // a coroutine resumed there: preempting it would fail it with "attempt to yield across a
  // C-call boundary". It runs on, and is stopped only past max_slice.
  const IN_METAMETHOD = {
    'a coroutine that runs long':
      'return coroutine.wrap(function() local x = 0 for i = 1, 20000 do x = x + i end return x end)()',
    'a generator that yields its values':
      'local x = 0 for i in coroutine.wrap(function() for i = 1, 20000 do coroutine.yield(i) end end) do x = x + i end return x',
  };

  for (const [what, code] of Object.entries(IN_METAMETHOD)) {
    it(`runs ${what} in a __index called from C to its end`, async () => {
      // A max_slice it cannot reach, loaded as the machine may be: the hook tries to preempt
      // it every 10,000 instructions.
      const vm = await harness({ limits: { reductions: 10_000, maxSliceMs: 60_000 } });
      const outcome = await vm.wait(
        start(
          vm,
          `local function index() ${code} end
          return { main = function()
            return table.concat(setmetatable({}, { __index = index, __len = function() return 1 end }))
          end }`,
        ),
        20_000,
      );
      expect(outcome).toEqual({ ok: true, value: '200010000' });
    });
  }

  it('is stopped past max_slice in one call of a built-in that walks a metatable chain', async () => {
    // 200,000 elements, each read through a chain of 2,000 tables: seconds in C, with no
    // instruction and no allocation (the stack has grown for them before).
    const vm = await harness({ limits: { maxSliceMs: 100 } });
    const stuck = start(
      vm,
      `return { main = function()
        local chain, plain = {}, {}
        for _ = 1, 1999 do chain = setmetatable({}, { __index = chain }) end
        for i = 1, 200100 do plain[i] = i end
        local function count(...) return select("#", ...) end
        count(table.unpack(plain))
        return count(table.unpack(chain, 1, 200000))
      end }`,
    );
    expect(await vm.wait(stuck, 20_000)).toMatchObject({
      ok: false,
      error: { kind: 'TIMEOUT', message: expect.stringMatching(/^stopped after running \d+ ms/) },
    });
    expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
  });

  it('never stops kernel code on the main thread, however much it works past max_slice', async () => {
    // A host call of a process past its max_slice prepares an entry (as a spawn of an entry
    // not yet prepared does): compiling 2,000 `or`s is work the engine counts (two million
    // steps, in blocks too small to be looked at as large allocations), on the main thread.
    // Stopped there, the entry would fail to compile; the process is stopped after.
    let prepared: string | undefined;
    const PREPARE = {
      name: 'prepare',
      scope: 'module' as const,
      source: 'local host = ... ; return { entry = host.entry, hold = host.hold }',
      functions: {
        hold: STALL.functions.hold,
        entry(_L: number, vm: LuaVm) {
          try {
            vm.prepareEntry({
              id: 'test:big',
              fingerprint: 'big',
              source: `return { main = function(a) return a${' or a'.repeat(2_000)} end }`,
              file: 'big.lua',
              firstLine: 1,
              modules: [],
              imports: {},
            });
            prepared = 'ok';
          } catch (error) {
            prepared = String(error);
          }
          return 0;
        },
      },
    };
    const vm = await harness({ limits: { maxSliceMs: 100 }, modules: [PREPARE] });
    const exit = await vm.wait(
      start(
        vm,
        `local prepare = require("prepare")
        return { main = function()
          local function index()
            prepare.hold(150)
            prepare.entry()
            for _ = 1, 100000 do end
            return "x"
          end
          return table.concat(setmetatable({}, { __index = index, __len = function() return 1 end }))
        end }`,
        ['prepare'],
      ),
      20_000,
    );
    expect(prepared).toBe('ok');
    expect(exit).toMatchObject({ ok: false, error: { kind: 'TIMEOUT' } });
    expect(vm.vm.api._lua_gettop(vm.vm.L)).toBe(0);
    expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
  }, 30_000);

  it('is stopped past max_slice in one long call of a built-in, at its next large allocation', async () => {
    // table.concat of 8M pieces runs in C for ~100 ms or more, without an instruction: its
    // buffer's growths (allocations of 64 KiB or more) are where the time is looked at.
    const vm = await harness({
      limits: {
        maxSliceMs: 20,
        memoryBytes: 1024 * 1024 * 1024,
        processMemoryBytes: 512 * 1024 * 1024,
      },
    });
    const busy = start(
      vm,
      `return { main = function()
        local pieces = {}
        for i = 1, 8000000 do pieces[i] = "xyz" end
        return #table.concat(pieces)
      end }`,
    );
    const exit = await vm.wait(busy, 30_000);
    expect(exit).toMatchObject({
      ok: false,
      error: {
        kind: 'TIMEOUT',
        message: expect.stringMatching(
          /^stopped after running \d+ ms where it could not be preempted at test\/entry\d+\.lua:4 /,
        ),
      },
    });
    expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
  });

  /** Runs `call` (of the stall module) in a __index called from C, then 100,000 turns. */
  async function stalledInMetamethod(call: string) {
    const vm = await harness({ limits: { maxSliceMs: 100 }, modules: [STALL] });
    const entry = vm.prepare(
      `local stall = require("stall")
      local function index() ${call} local n = 0 for i = 1, 100000 do n = n + i end return "x" end
      return { main = function()
        return table.concat(setmetatable({}, { __index = index, __len = function() return 1 end }))
      end }`,
      { modules: ['stall'] },
    );
    return vm.wait(vm.start(entry, encodeValues([])), 10_000);
  }

  it('does not count time in which the node ran nothing (it was paused)', async () => {
    expect(await stalledInMetamethod('stall.sleep(300)')).toEqual({ ok: true, value: 'x' });
  });

  it('counts a call into the runtime that held the thread, as the code that made it', async () => {
    expect(await stalledInMetamethod('stall.hold(300)')).toMatchObject({
      ok: false,
      error: { kind: 'TIMEOUT', message: expect.stringMatching(/^stopped after running \d+ ms/) },
    });
  });

  it('does not charge a process for the time of the one that ran before it', async () => {
    const vm = await harness({ limits: { maxSliceMs: 200 }, modules: [STALL] });
    // A neighbour that holds the thread in a host call for 170 ms, then blocks, in turns; and
    // a process that spends 50 ms in a metamethod it cannot be preempted in. Its turns come
    // after the neighbour's: charged for those, it would pass max_slice and be stopped.
    const neighbour = vm.prepare(
      `local stall = require("stall")
      return { main = function()
        local a, b = channel.new(), channel.new()
        coroutine.spawn(function() for _ = 1, 6 do a:receive() stall.hold(170) b:send(1) end end)
        for _ = 1, 6 do stall.hold(170) a:send(1) b:receive() end
      end }`,
      { modules: ['stall'] },
    );
    const victim = start(
      vm,
      `return { main = function()
        local function index()
          local t, x = os.clock(), 0
          while os.clock() - t < 0.05 do for i = 1, 1000 do x = x + i end end
          return "x"
        end
        local mt = { __index = index, __len = function() return 1 end }
        for _ = 1, 6 do table.concat(setmetatable({}, mt)) for _ = 1, 1000 do end end
        return "done"
      end }`,
    );
    const other = vm.start(neighbour, encodeValues([]));
    expect(await vm.wait(victim, 20_000)).toEqual({ ok: true, value: 'done' });
    expect(await vm.wait(other, 20_000)).toMatchObject({ ok: true });
  });

  const PREEMPTIBLE = {
    'a __tostring called by tostring': 'tostring(setmetatable({}, { __tostring = spin }))',
    'a __tostring called by string.format':
      'string.format("%s", setmetatable({}, { __tostring = spin }))',
    'a __tostring called by print': 'print(setmetatable({}, { __tostring = spin }))',
    'a sort comparator': 'table.sort({ 3, 1, 2 }, spin)',
    'a gsub function over a long subject': 'string.gsub(string.rep("a", 10000), "a", spin)',
    // Patterns whose native matching would take seconds over a subject of 63 bytes.
    'a pattern that backtracks, over a short subject':
      'string.find(string.rep("a", 63), string.rep(".-", 6) .. "b")',
    'a pattern of optional items, over a short subject':
      'string.match(string.rep("a", 63), string.rep("a?", 24) .. string.rep("a", 24) .. "b")',
    'a pattern with a long set, over a short subject':
      'string.find(string.rep("a", 63), "[" .. string.rep("b", 1 << 22) .. "]")',
    'a pattern with a long frontier set, over a short subject':
      'string.find(string.rep("a", 63), "%f[" .. string.rep("b", 1 << 22) .. "]a")',
  };

  for (const [what, code] of Object.entries(PREEMPTIBLE)) {
    it(`preempts a loop in ${what} (which luact calls from Lua), and does not stop it`, async () => {
      const vm = await harness({ limits: { maxSliceMs: 100 } });
      const looping = start(
        vm,
        `local function spin() while true do end end\nreturn { main = function()\n  ${code}\nend }`,
      );
      expect(await vm.wait(start(vm, QUICK))).toEqual({ ok: true, value: 'done' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(vm.exitOf(looping)).toBeUndefined();
    });
  }

  it('is not stopped while it runs preemptible code, however long', async () => {
    const vm = await harness({ limits: { maxSliceMs: 50, timeSliceMs: 1 } });
    const exit = await vm.wait(
      start(
        vm,
        `return { main = function()
          local deadline = os.clock() + 0.3
          local n = 0
          while os.clock() < deadline do n = n + 1 end
          return n > 0
        end }`,
      ),
      10_000,
    );
    expect(exit).toEqual({ ok: true, value: true });
  });
});

describe('serial fibers (workflows)', () => {
  const ORDER = `return { main = function()
    local order, ch = {}, channel.new()
    coroutine.spawn(function() order[#order + 1] = "spawned"; ch:send(1) end)
    local n = 0
    for i = 1, 3000000 do n = n + i end
    order[#order + 1] = "main"
    ch:receive()
    return order
  end }`;

  it('lets a preempted fiber of a serial group go on before any other fiber of its group', async () => {
    const vm = await harness({ serialFibers: true, limits: { timeSliceMs: 0 } });
    expect(await vm.wait(start(vm, ORDER), 20_000)).toEqual({
      ok: true,
      value: ['main', 'spawned'],
    });
  });

  it('lets the other fibers of an ordinary process run when one is preempted', async () => {
    const vm = await harness({ limits: { timeSliceMs: 0 } });
    expect(await vm.wait(start(vm, ORDER), 20_000)).toEqual({
      ok: true,
      value: ['spawned', 'main'],
    });
  });
});

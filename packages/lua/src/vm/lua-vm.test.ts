import { LuactError } from '@luact/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeValues } from '../codec/wire.js';
import { VmHarness } from '../testing/vm-harness.js';
import { ManualClock } from './clock.js';
import { encodeError, type LuaVm } from './lua-vm.js';

let h: VmHarness;

beforeEach(async () => {
  h = await VmHarness.create();
});

afterEach(() => {
  h.close();
});

function run(source: string, ...args: unknown[]) {
  return h.run(source, args);
}

describe('LuaVm processes', () => {
  it('runs main with its arguments and reports the first return value', async () => {
    const exit = await run(
      'return { main = function(a, b) return { sum = a + b, a = a } end }',
      2,
      40,
    );
    expect(exit).toEqual({ ok: true, value: { sum: 42, a: 2 } });
  });

  it('fails a process whose main raises, naming file and line', async () => {
    const exit = await run('return { main = function()\n  local t = nil\n  return t.x\nend }');
    expect(exit.ok).toBe(false);
    expect(exit.error?.message).toMatch(/test\/entry1\.lua:3: attempt to index a nil value/);
    expect(exit.error?.details).toMatchObject({
      file: 'test/entry1.lua',
      line: 3,
      entry: 'test:entry',
    });
    expect(String(exit.error?.details?.traceback)).toContain('stack traceback');
  });

  it('keeps what a raised table says, in the details', async () => {
    const exit = await run(
      'return { main = function() error({ code = 42, reason = "quota" }) end }',
    );
    expect(exit.ok).toBe(false);
    expect(exit.error?.message).toBe(
      'a table was raised, not an error: its fields are in details.value',
    );
    expect(exit.error?.details).toMatchObject({ value: { code: 42, reason: 'quota' } });
  });

  it('keeps the kind and message of an error whose details cannot leave the process, and says so', async () => {
    const error = 'errors.new{ kind = errors.CONFLICT, message = "mine", details = { f = print } }';
    for (const how of [`error(${error})`, `return nil, ${error}`]) {
      const exit = await run(`return { main = function() ${how} end }`);
      expect(exit).toMatchObject({ ok: false, error: { kind: 'CONFLICT', message: 'mine' } });
      expect(exit.error?.details).toMatchObject({
        entry: expect.stringMatching(/^test:entry/),
        unsent: expect.stringContaining("cannot encode a function (at key 'details.f')"),
      });
    }
  });

  it('fails a process that returns a second value that is a string or an error', async () => {
    expect(await run('return { main = function() return nil, "boom" end }')).toMatchObject({
      ok: false,
      error: { kind: 'UNKNOWN', message: 'boom' },
    });
    expect(
      await run(
        'return { main = function() return nil, errors.new{ message = "nope", kind = errors.CONFLICT } end }',
      ),
    ).toMatchObject({ ok: false, error: { kind: 'CONFLICT', message: 'nope', retryable: false } });
    expect(await run('return { main = function() return 1, 2 end }')).toEqual({
      ok: true,
      value: 1,
    });
  });

  it('names the entry of a process that returns what cannot leave it, also once its code was replaced', async () => {
    expect(await run('return { main = function() return function() end end }')).toMatchObject({
      ok: false,
      error: {
        kind: 'INVALID',
        message: expect.stringMatching(/^test:entry\d+ returned a value that cannot leave it/),
      },
    });
    // Still running when its prepared entry is released (new code came): it ends with its own
    // ID in the message, not with whatever the released reference holds by then.
    const entry = h.prepare(
      'return { main = function() local n = 0 for i = 1, 3000000 do n = n + i end return function() end end }',
    );
    const old = h.start(entry, encodeValues([]));
    h.vm.releaseEntry(entry);
    h.prepare('return { main = function() return 1 end }'); // takes the released reference
    expect(await h.wait(old)).toMatchObject({
      ok: false,
      error: {
        kind: 'INVALID',
        message: expect.stringContaining(`${entry.id} returned a value that cannot leave it`),
      },
    });
  });

  it('reports a syntax error with file and line when the entry is prepared', () => {
    expect(() => h.prepare('return { main = function() return 1 + end }')).toThrow(
      /Lua syntax error: test\/entry1\.lua:1: unexpected symbol near 'end'/,
    );
  });

  it('runs the function a chunk returns, with the arguments', async () => {
    const entry = h.prepare('return function(a, b) return a + b end');
    expect(await h.wait(h.start(entry, encodeValues([2, 3])))).toEqual({ ok: true, value: 5 });
  });

  it('refuses a chunk that returns neither a function nor a table, and a missing method', async () => {
    expect(await run('return 42')).toMatchObject({
      ok: false,
      error: {
        kind: 'INVALID',
        message: 'entry test:entry1 returned number instead of a function or a table of functions',
      },
    });
    expect(await run('return { other = function() end }')).toMatchObject({
      ok: false,
      error: { kind: 'INVALID', message: 'entry test:entry2 has no function "main"' },
    });
  });

  it('gives every process its own globals', async () => {
    const entry = h.prepare(
      'return { main = function(v) counter = (counter or 0) + v; shared = v; return counter end }',
    );
    const first = await h.wait(h.start(entry, encodeValues([5])));
    const second = await h.wait(h.start(entry, encodeValues([7])));
    expect([first.value, second.value]).toEqual([5, 7]);
  });

  it('keeps shared libraries read-only', async () => {
    expect(await run('return { main = function() string.upper = nil end }')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('attempt to modify read-only string') },
    });
    expect(await run('return { main = function() rawset(table, "x", 1) end }')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('read-only table') },
    });
    expect(await run('return { main = function() return getmetatable("") end }')).toEqual({
      ok: true,
      value: false,
    });
  });
});

describe('fibers, channels and coroutines', () => {
  it('passes values between coroutine.spawn fibers over an unbuffered channel', async () => {
    const exit = await run(`
      return { main = function()
        local ch = channel.new()
        local done = channel.new(1)
        coroutine.spawn(function()
          local sum = 0
          for i = 1, 10 do sum = sum + ch:receive() end
          done:send(sum)
        end)
        for i = 1, 10 do ch:send(i) end
        return done:receive()
      end }`);
    expect(exit).toEqual({ ok: true, value: 55 });
  });

  it('hands a coroutine.spawn fiber all of its arguments, however many, and nothing of the engine breaks', async () => {
    // More values than a thread's stack starts with (40 slots): they once went past its end.
    for (const count of [40, 300, 5000]) {
      const exit = await run(
        `return { main = function(n)
          local args = {}
          for i = 1, n do args[i] = i end
          local got = channel.new(1)
          coroutine.spawn(function(...) got:send({ select('#', ...), (select(n, ...)) }) end,
            table.unpack(args))
          return got:receive()
        end }`,
        count,
      );
      expect(exit).toEqual({ ok: true, value: [count, count] });
      // Another process after it, on the same engine, allocating: its memory is intact.
      expect(
        await run(
          `return { main = function(s)
          local t = {}
          for i = 1, 2000 do t[i] = { i, s .. i } end
          return t[1999][2]
        end }`,
          'k',
        ),
      ).toEqual({ ok: true, value: 'k1999' });
    }
  });

  it('never runs another fiber on a thread that code holds (coroutine.running)', async () => {
    const exit = await run(`
      return { main = function()
        local threads = channel.new(1)
        coroutine.spawn(function() threads:send(coroutine.running()) end)
        local first = threads:receive()
        -- That fiber has returned; the next one runs on a thread of its own.
        coroutine.spawn(function() threads:send(coroutine.running()); channel.new():receive() end)
        local second = threads:receive()
        return { rawequal(first, second), coroutine.status(first) }
      end }`);
    expect(exit).toEqual({ ok: true, value: [false, 'dead'] });
  });

  it('runs a worker pool over channels and closes it', async () => {
    const exit = await run(`
      return { main = function()
        local jobs, results = channel.new(100), channel.new(100)
        for w = 1, 4 do
          coroutine.spawn(function()
            while true do
              local job, ok = jobs:receive()
              if not ok then return end
              results:send(job * job)
            end
          end)
        end
        for i = 1, 20 do jobs:send(i) end
        jobs:close()
        local total = 0
        for i = 1, 20 do total = total + results:receive() end
        return total
      end }`);
    expect(exit).toEqual({ ok: true, value: 2870 });
  });

  it('selects the first ready case in list order, or the default', async () => {
    const exit = await run(`
      return { main = function()
        local a, b = channel.new(1), channel.new(1)
        local r0 = channel.select{ a:case_receive(), b:case_receive(), default = true }
        a:send("from a"); b:send("from b")
        local r1 = channel.select{ b:case_receive(), a:case_receive() }
        local r2 = channel.select{ b:case_receive(), a:case_receive() }
        local _, one_case = pcall(channel.select, a:case_receive())
        return { r0.default, r1.value, r1.channel == b, r2.value, r2.channel == a, one_case }
      end }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        true,
        'from b',
        true,
        'from a',
        true,
        expect.stringContaining(
          'channel.select expects a list of cases, got one case: write channel.select({ case })',
        ),
      ],
    });
  });

  it('blocks inside a user coroutine and passes the scheduler through it', async () => {
    const exit = await run(`
      return { main = function()
        local ch = channel.new()
        coroutine.spawn(function() ch:send("late") end)
        local co = coroutine.create(function(x)
          local got = ch:receive()
          local y = coroutine.yield(x .. "+" .. got)
          return y * 2
        end)
        local ok1, v1 = coroutine.resume(co, "start")
        local ok2, v2 = coroutine.resume(co, 21)
        local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
        return { ok1, v1, ok2, v2, coroutine.status(co), gen() + gen() + gen() }
      end }`);
    expect(exit).toEqual({ ok: true, value: [true, 'start+late', true, 42, 'dead', 6] });
  });

  it('lets no other fiber resume or close a coroutine a fiber is waiting in, and loses no value', async () => {
    const exit = await run(`
      return { main = function()
        local ch, done, started = channel.new(), channel.new(1), channel.new(1)
        local co = coroutine.create(function() return ch:receive() end)
        coroutine.spawn(function()
          started:send(true)
          done:send({ coroutine.resume(co) })
        end)
        started:receive()
        -- The spawned fiber now waits in co, which looks suspended.
        local status = coroutine.status(co)
        local resumed = { coroutine.resume(co) }
        local closed = { coroutine.close(co) }
        ch:send("kept")
        local first = done:receive()
        return { status, resumed, closed, first, coroutine.status(co) }
      end }`);
    const refused = 'cannot resume or close a coroutine that another fiber is waiting in';
    expect(exit).toEqual({
      ok: true,
      value: ['suspended', [false, refused], [false, refused], [true, 'kept', true], 'dead'],
    });
  });

  it('lets no other fiber resume a coroutine whose fiber was preempted inside it', async () => {
    const exit = await run(`
      return { main = function()
        local done = channel.new(1)
        local co = coroutine.create(function()
          local x = 0
          for i = 1, 3000000 do x = x + 1 end
          return x
        end)
        coroutine.spawn(function()
          -- Runs when the main fiber is preempted inside co, which then looks suspended.
          done:send({ coroutine.status(co), coroutine.resume(co) })
        end)
        local mine = { coroutine.resume(co) }
        return { mine, (done:receive()) }
      end }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        [true, 3000000],
        ['suspended', false, 'cannot resume or close a coroutine that another fiber is waiting in'],
      ],
    });
  });

  it('keeps a select waiting on a channel many selects share (and swept) working', async () => {
    const exit = await run(`
      return { main = function()
        local quit, ready, results = channel.new(), channel.new(200), channel.new(200)
        for f = 1, 200 do
          local own = channel.new()
          coroutine.spawn(function()
            local rounds = 0
            while true do
              local r = channel.select({ own:case_receive(), quit:case_receive() })
              if r.channel == quit then results:send(rounds) return end
              rounds = rounds + 1
              if rounds == 5 then ready:send(true) end
            end
          end)
          coroutine.spawn(function() for i = 1, 5 do own:send(i) end end)
        end
        -- Every fiber took its five values, each select leaving a stale waiter on quit.
        for f = 1, 200 do ready:receive() end
        quit:close()
        local total, seen = 0, 0
        for f = 1, 200 do total = total + results:receive() seen = seen + 1 end
        return { seen, total }
      end }`);
    expect(exit).toEqual({ ok: true, value: [200, 1000] });
  });

  it('refuses a top-level coroutine.yield like plain Lua does', async () => {
    expect(await run('return { main = function() coroutine.yield(1) end }')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('attempt to yield from outside a coroutine') },
    });
  });

  it('fails the whole process when a spawned coroutine raises', async () => {
    const exit = await run(`
      return { main = function()
        coroutine.spawn(function() error("worker broke") end)
        channel.new():receive()
      end }`);
    expect(exit).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('worker broke') },
    });
  });

  it('preempts a spinning process so others keep running, also inside a user coroutine', async () => {
    const spinner = h.start(
      h.prepare('return { main = function() while true do end end }'),
      encodeValues([]),
    );
    const nested = h.start(
      h.prepare(
        'return { main = function() coroutine.wrap(function() while true do end end)() end }',
      ),
      encodeValues([]),
    );
    const worker = await run(`
      return { main = function()
        local n = 0
        for i = 1, 3000000 do n = n + i end
        return n
      end }`);
    expect(worker).toEqual({ ok: true, value: 4500001500000 });
    expect(h.exitOf(spinner)).toBeUndefined();
    expect(h.exitOf(nested)).toBeUndefined();
  });

  it('preempts a loop that spends most of its instructions in kernel code', async () => {
    // 25 instructions per iteration divide the 10,000 reductions: without the hook's retry
    // the check would land inside string.rep's kernel wrapper every single time.
    const looper = h.start(
      h.prepare(
        'return { main = function() local keep = {} for i = 1, 40000 do keep[i] = string.rep("x", 1000) .. i end end }',
      ),
      encodeValues([]),
    );
    const quick = h.start(
      h.prepare('return { main = function() return "done" end }'),
      encodeValues([]),
    );
    expect(await h.wait(quick)).toEqual({ ok: true, value: 'done' });
    expect(h.exitOf(looper)).toBeUndefined();
    await h.wait(looper, 30_000);
  });
});

describe('LuaVm threads', () => {
  it('starts each process as on a new thread after others returned, failed or were killed', async () => {
    // Threads of fibers that returned are reused; what ended mid-call must never be resumed.
    const returned = await run(`
      return { main = function()
        local done = channel.new(1)
        coroutine.spawn(function() done:send(1) return 1, 2, 3 end)
        done:receive()
        return 1, 2, 3
      end }`);
    expect(returned).toEqual({ ok: true, value: 1 });
    expect((await run('return { main = function() error("boom") end }')).ok).toBe(false);
    const blocked = h.start(
      h.prepare('return { main = function() channel.new(0):receive() return "woke" end }'),
      encodeValues([]),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    h.vm.killGroup(blocked, encodeError(new LuactError('CANCELED', 'stop')));
    expect((await h.wait(blocked)).killed).toBe(true);

    const spinner = h.start(
      h.prepare('return { main = function() while true do end end }'),
      encodeValues([]),
    );
    const entry = h.prepare(`
      return { main = function(...)
        seen = (seen or 0) + 1
        return { select("#", ...), ..., seen, coroutine.isyieldable() }
      end }`);
    const runs = await Promise.all(
      [1, 2, 3, 4].map((n) => h.wait(h.start(entry, encodeValues([n * 10])))),
    );
    expect(runs.map((exit) => exit.value)).toEqual([
      [1, 10, 1, false],
      [1, 20, 1, false],
      [1, 30, 1, false],
      [1, 40, 1, false],
    ]);
    // The spinner, on a thread a returned fiber left, is preempted like any other.
    expect(h.exitOf(spinner)).toBeUndefined();
  });

  it('keeps the threads of a burst of 3,000 processes for the next, and a small host fewer', async () => {
    /** Starts `count` processes at once (each on a thread of its own), lets them all return. */
    async function burst(harness: VmHarness, count: number): Promise<void> {
      const entry = harness.prepare('return { main = function() end }');
      const groups = Array.from({ length: count }, () => harness.start(entry, encodeValues([])));
      for (const group of groups) expect((await harness.wait(group)).ok).toBe(true);
    }
    await burst(h, 3000);
    expect(h.vm.spareThreadCount).toBe(3000);
    await burst(h, 3000);
    expect(h.vm.spareThreadCount).toBe(3000);
    await burst(h, 5000);
    expect(h.vm.spareThreadCount).toBe(4096);

    // One spare per 64 KiB of max_memory: 32 for a host of 2 MiB.
    const small = await VmHarness.create({ limits: { memoryBytes: 2 * 1024 * 1024 } });
    try {
      await burst(small, 100);
      expect(small.vm.spareThreadCount).toBe(32);
    } finally {
      small.close();
    }
  });

  it('lets go of the thread of a start that failed while its arguments were pushed', async () => {
    const entry = h.prepare('return { main = function() end }');
    // Spares to take from: a start takes the newest.
    for (const group of Array.from({ length: 10 }, () => h.start(entry, encodeValues([]))))
      expect((await h.wait(group)).ok).toBe(true);
    const spares = h.vm.spareThreadCount;
    h.vm.collectGarbage();
    const before = h.vm.heapBytes();
    // As when the engine's memory cannot grow (a panic), here while the arguments are pushed.
    const memory = (h.vm as unknown as { memory: { pushBytes: () => void } }).memory;
    const pushBytes = memory.pushBytes;
    memory.pushBytes = () => {
      throw new Error('Lua panic: not enough memory');
    };
    try {
      expect(() => h.start(entry, encodeValues(['an argument']))).toThrow('Lua panic');
    } finally {
      memory.pushBytes = pushBytes;
    }
    h.vm.collectGarbage();
    // The thread it took is let go, not held by a registry reference for nobody.
    expect(h.vm.spareThreadCount).toBe(spares - 1);
    // (~1,370 bytes freed: the thread, ~1 KiB, and what the start made; ~400 while it leaked.)
    expect(before - h.vm.heapBytes()).toBeGreaterThan(900);
    const group = h.start(entry, encodeValues([]));
    expect((await h.wait(group)).ok).toBe(true);
  });
});

describe('LuaVm for workflows', () => {
  it('tells the owner when every fiber of a group is blocked, once per quiet spell', async () => {
    const clock = new ManualClock();
    const vm = await VmHarness.create({ clock });
    try {
      const group = vm.start(
        vm.prepare(
          `local time = require("time")
           return { main = function()
             local ch = channel.new()
             coroutine.spawn(function() ch:send(time.now()) end)
             for i = 1, 1000 do local _ = i * i end
             ch:receive()
             time.sleep("1s")
             return "woke"
           end }`,
          { modules: ['time'] },
        ),
        encodeValues([]),
      );
      vm.vm.drain();
      expect(vm.idles.get(group)).toBe(1);
      clock.advance(1000);
      vm.vm.drain();
      expect(await vm.wait(group)).toEqual({ ok: true, value: 'woke' });
      expect(vm.idles.get(group)).toBe(1);
    } finally {
      vm.close();
    }
  });

  it('finds the user call site of a module function, skipping luact chunks', async () => {
    const probe = {
      name: 'probe',
      scope: 'module' as const,
      source: 'local host = ... ; return { where = function() return host.where() end }',
      functions: {
        where(L: number, vm: LuaVm) {
          const site = vm.callSite(L);
          vm.memory.pushString(L, site ? `${site.file}:${site.line}` : 'unknown');
          return 1;
        },
      },
    };
    const vm = await VmHarness.create({ modules: [probe] });
    try {
      const entry = vm.prepare(
        'local probe = require("probe")\nreturn { main = function()\n  local site = probe.where()\n  return site\nend }',
        { modules: ['probe'], id: 'test:site' },
      );
      expect(await vm.wait(vm.start(entry, encodeValues([])))).toEqual({
        ok: true,
        value: 'test/site.lua:3',
      });
    } finally {
      vm.close();
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { encodeValues } from '../codec/wire.js';
import { VmHarness } from '../testing/vm-harness.js';
import { ManualClock } from '../vm/clock.js';

let h: VmHarness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

async function harness(clock?: ManualClock) {
  h = await VmHarness.create(clock ? { clock } : {});
  return h;
}

function start(vm: VmHarness, source: string, modules: string[], ...args: unknown[]) {
  return vm.start(vm.prepare(source, { modules }), encodeValues(args));
}

describe('time', () => {
  it('sleeps on the clock it is given: two 150 ms sleeps take 300 ms of that clock', async () => {
    const clock = new ManualClock();
    const vm = await harness(clock);
    const group = start(
      vm,
      `local time = require("time")
       return { main = function()
         local t0 = time.now()
         time.sleep("150ms")
         time.sleep(150 * time.MILLISECOND)
         return time.now():sub(t0):milliseconds()
       end }`,
      ['time'],
    );
    vm.vm.drain();
    expect(vm.exitOf(group)).toBeUndefined();
    clock.advance(149);
    vm.vm.drain();
    expect(vm.exitOf(group)).toBeUndefined();
    clock.advance(1);
    vm.vm.drain();
    clock.advance(150);
    vm.vm.drain();
    expect(vm.exitOf(group)).toEqual({ ok: true, value: 300 });
  });

  it('selects between a message channel and a timeout', async () => {
    const clock = new ManualClock();
    const vm = await harness(clock);
    const group = start(
      vm,
      `local time = require("time")
       return { main = function()
         local never = channel.new()
         local r = channel.select{ never:case_receive(), time.after("1s"):case_receive() }
         return r.channel == never and "message" or "timeout"
       end }`,
      ['time'],
    );
    vm.vm.drain();
    clock.advance(1000);
    vm.vm.drain();
    expect(vm.exitOf(group)).toEqual({ ok: true, value: 'timeout' });
  });

  it('ticks a ticker and stops it; stops a timer before it fires', async () => {
    const clock = new ManualClock();
    const vm = await harness(clock);
    const group = start(
      vm,
      `local time = require("time")
       return { main = function()
         local ticker = time.ticker("10ms")
         local ticks = 0
         for i = 1, 3 do ticker:channel():receive(); ticks = ticks + 1 end
         ticker:stop()
         local timer = time.timer("1h")
         return { ticks, timer:stop(), timer:stop() }
       end }`,
      ['time'],
    );
    for (let i = 0; i < 3; i++) {
      vm.vm.drain();
      clock.advance(10);
    }
    vm.vm.drain();
    expect(vm.exitOf(group)).toEqual({ ok: true, value: [3, true, false] });
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancels the timers of a process that ends', async () => {
    const clock = new ManualClock();
    const vm = await harness(clock);
    const group = start(
      vm,
      'local time = require("time") return { main = function() time.after("1h"); time.ticker("1s"); return 1 end }',
      ['time'],
    );
    vm.vm.drain();
    expect(vm.exitOf(group)).toEqual({ ok: true, value: 1 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('parses and formats durations and times', async () => {
    const vm = await harness(new ManualClock(Date.UTC(2026, 10, 25, 17, 4, 5, 123)));
    const group = start(
      vm,
      `local time = require("time")
       return { main = function()
         local d = assert(time.parse_duration("1h30m"))
         local bad, err = time.parse_duration("5")
         local now = time.now()
         return {
           d:minutes(), tostring(d), bad == nil, err:kind(),
           now:format_rfc3339(), now:format("Mon Jan _2 15:04:05.000 2006"),
           now:unix(), now:add("1s"):after(now), now:sub(now:add(-time.SECOND)):seconds(),
         }
       end }`,
      ['time'],
    );
    vm.vm.drain();
    expect(vm.exitOf(group)).toEqual({
      ok: true,
      value: [
        90,
        '1h30m0s',
        true,
        'Invalid',
        '2026-11-25T17:04:05Z',
        'Wed Nov 25 17:04:05.123 2026',
        Math.floor(Date.UTC(2026, 10, 25, 17, 4, 5) / 1000),
        true,
        1,
      ],
    });
  });

  it('refuses a malformed duration with an error in the caller', async () => {
    const vm = await harness();
    const exit = await vm.wait(
      start(
        vm,
        'local time = require("time") return { main = function() time.sleep("soon") end }',
        ['time'],
      ),
    );
    expect(exit).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('time: invalid duration "soon"') },
    });
  });

  it('refuses more armed timers than one process may hold, and takes new ones once some stop', async () => {
    const vm = await harness();
    const exit = await vm.wait(
      start(
        vm,
        `local time = require("time")
         return { main = function()
           local timers = {}
           for i = 1, 10000 do timers[i] = time.timer("1h") end
           local none, err = time.timer("1h")
           local raised, after_err = pcall(time.after, "1h")
           timers[1]:stop()
           local kept = time.timer("1h")
           local again = kept ~= nil
           local reset, reset_err = pcall(timers[1].reset, timers[1], "1h")
           kept:stop()
           for _, t in ipairs(timers) do t:stop() end
           return { none = none == nil, kind = err:kind(), err = err:message(),
                    raised = raised, after_kind = after_err:kind(), again = again,
                    reset = reset, reset_kind = reset_err:kind() }
         end }`,
        ['time'],
      ),
      20_000,
    );
    expect(exit).toEqual({
      ok: true,
      value: {
        none: true,
        kind: 'RateLimited',
        err: expect.stringContaining(
          'this process has 10000 timers armed, the most one process may have',
        ),
        raised: false,
        after_kind: 'RateLimited',
        again: true,
        reset: false,
        reset_kind: 'RateLimited',
      },
    });
  });

  it('stops the timers of channels nobody holds: a deadline per receive in a loop never adds up', async () => {
    const vm = await harness();
    const exit = await vm.wait(
      start(
        vm,
        `local time = require("time")
         return { main = function()
           local ch = channel.new(1)
           local got = 0
           for i = 1, 30000 do
             ch:send(i)
             local r = channel.select({ ch:case_receive(), time.after("1h"):case_receive() })
             if r.channel == ch then got = got + 1 end
           end
           return got
         end }`,
        ['time'],
      ),
      60_000,
    );
    expect(exit).toEqual({ ok: true, value: 30000 });
  });
});

describe('json, uuid, logger and require', () => {
  it('encodes and decodes JSON and reports a decode error as a value', async () => {
    const vm = await harness();
    const exit = await vm.wait(
      start(
        vm,
        `local json = require("json")
         return { main = function()
           local v = json.decode('{"a":[1,2,{"b":null}],"c":"é"}')
           local bad, err = json.decode('{"a":')
           return { json.encode({ x = 1, y = { true, false } }), v.a[2], v.c, bad == nil,
             err:kind() == errors.INTERNAL }
         end }`,
        ['json'],
      ),
    );
    expect(exit).toEqual({
      ok: true,
      value: ['{"x":1,"y":[true,false]}', 2, 'é', true, true],
    });
  });

  it('makes version 4 and 7 UUIDs', async () => {
    const vm = await harness();
    const exit = await vm.wait(
      start(
        vm,
        'local uuid = require("uuid") return { main = function() return { uuid.v4(), uuid.v7(), uuid.v4() } end }',
        ['uuid'],
      ),
    );
    const [a, b, c] = exit.value as string[];
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(c);
  });

  it('tags log records with the process and keeps their fields', async () => {
    const vm = await harness();
    await vm.wait(
      start(
        vm,
        'local logger = require("logger") return { main = function() logger.info("paid", { order = 7 }) end }',
        ['logger'],
      ),
    );
    expect(vm.logs).toEqual([
      {
        level: 'info',
        message: 'paid',
        fields: { order: 7 },
        labels: { pid: 'test', entry: 'test:entry' },
      },
    ]);
  });

  it('logs with a dot or a colon; with and named make loggers that add fields and a name', async () => {
    const vm = await harness();
    const exit = await vm.wait(
      start(
        vm,
        `local logger = require("logger")
         return { main = function()
           logger:warn("colon", { n = 1 })
           logger.info("dot")
           local auth = logger:with({ component = "auth", n = 0 })
           auth:error("child", { n = 2 })
           local named = auth:named("svc"):named("handler")
           named.debug("nested")
           logger.with({ a = 1 }).info("dot with")
           local function raised(...) return select(2, pcall(...)) end
           return { raised(logger.named, logger, ""), raised(logger.with, logger, "x"),
             raised(auth.info, auth, 42) }
         end }`,
        ['logger'],
      ),
    );
    const labels = { pid: 'test', entry: 'test:entry' };
    expect(vm.logs).toEqual([
      { level: 'warn', message: 'colon', fields: { n: 1 }, labels },
      { level: 'info', message: 'dot', fields: {}, labels },
      { level: 'error', message: 'child', fields: { component: 'auth', n: 2 }, labels },
      {
        level: 'debug',
        message: 'nested',
        fields: { component: 'auth', n: 0, logger: 'svc.handler' },
        labels,
      },
      { level: 'info', message: 'dot with', fields: { a: 1 }, labels },
    ]);
    expect(exit).toEqual({
      ok: true,
      value: [
        expect.stringMatching(/logger\.named expects a non-empty name string$/),
        expect.stringMatching(/logger\.with expects a table of fields$/),
        expect.stringMatching(/logger\.info expects a message string$/),
      ],
    });
  });

  it('refuses to require a module the entry does not list, naming both', async () => {
    const vm = await harness();
    const exit = await vm.wait(
      start(vm, 'return { main = function() return require("json") end }', []),
    );
    expect(exit).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('module "json" is not available to test:entry1') },
    });
  });

  it('rejects an unknown module name when the entry is prepared', async () => {
    const vm = await harness();
    expect(() => vm.prepare('return {}', { modules: ['jsn'] })).toThrow(/unknown module "jsn"/);
  });

  it('gives each process its own instance of an imported library', async () => {
    const vm = await harness();
    const library = vm.prepare(
      'local count = 0 return { bump = function() count = count + 1 return count end }',
      {
        id: 'test:counter',
      },
    );
    const entry = vm.prepare(
      'local c = require("counter") return { main = function() c.bump() return c.bump() end }',
      {
        imports: { counter: library },
      },
    );
    const first = await vm.wait(vm.start(entry, encodeValues([])));
    const second = await vm.wait(vm.start(entry, encodeValues([])));
    expect([first, second]).toEqual([
      { ok: true, value: 2 },
      { ok: true, value: 2 },
    ]);
  });
});

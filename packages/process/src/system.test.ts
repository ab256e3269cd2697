import { LuactError } from '@luact/core';
import { decodeValue, decodeValues, encodeValues } from '@luact/lua';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Pid } from './pid.js';
import { type Harness, harness, lua } from './testing/system-harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

const HOST = { 'app:processes': { kind: 'process.host' } };

async function with_(
  entries: Parameters<typeof harness>[0],
  options?: Parameters<typeof harness>[1],
) {
  h = await harness({ ...HOST, ...entries }, options);
  return h;
}

describe('messages', () => {
  it('reach an inbox TypeScript opened, with their sender, until it is closed', async () => {
    const t = await with_({
      'app:main': lua(`return { main = function(inbox)
        local sent = process.send(inbox, "answer", 42)
        process.listen("again"):receive()
        local ok, err = process.send(inbox, "answer", 43)
        return { sent = sent, ok = ok == true, kind = err and err:kind() }
      end }`),
    });
    let pid = '' as Pid;
    const received = new Promise<unknown[]>((resolve) => {
      const inbox = t.system.openInbox((envelope) => {
        inbox.close();
        resolve([envelope.from === pid, envelope.topic, decodeValues(envelope.payload)]);
      });
      pid = t.spawn('app:main', inbox.pid);
    });
    const exit = t.system.waitForExit(pid);
    expect(await received).toEqual([true, 'answer', [42]]);
    t.system.send({ to: pid, from: undefined, topic: 'again', payload: encodeValues([]) });
    const outcome = await exit;
    expect(outcome.ok && decodeValue(outcome.value)).toEqual({
      sent: true,
      ok: false,
      kind: 'NotFound',
    });
  });

  it('delivers five messages from one sender in send order', async () => {
    const t = await with_({
      'app:receiver': lua(`return { main = function(parent)
        local inbox = process.inbox()
        local got = {}
        for i = 1, 5 do got[i] = inbox:receive():payload():data() end
        process.send(parent, "done", got)
      end }`),
      'app:main': lua(`return { main = function()
        local done = process.listen("done")
        local child = process.spawn("receiver", "app:processes", process.pid())
        for i = 1, 5 do process.send(child, "n", i) end
        return done:receive()
      end }`),
    });
    expect(await t.run('app:main')).toEqual({ ok: true, value: [1, 2, 3, 4, 5] });
  });

  it('routes a topic to its listen channel and the rest to the inbox, keeping early messages', async () => {
    const t = await with_({
      'app:main': lua(`return { main = function()
        local me = process.pid()
        process.send(me, "a", "early a")
        process.send(me, "b", "early b")
        local a = process.listen("a")
        local inbox = process.inbox()
        local msg = inbox:receive()
        return { a:receive(), msg:topic(), msg:payload():data(), msg:from() == me,
                 process.inbox() == inbox, process.listen("a") == a }
      end }`),
    });
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: ['early a', 'b', 'early b', true, true, true],
    });
  });

  it('refuses to send to an unknown PID or name and to a reserved topic', async () => {
    const t = await with_({
      'app:main': lua(`return { main = function()
        local ok1, e1 = process.send("{app:processes|9999}", "x", 1)
        local ok2, e2 = process.send("nobody", "x", 1)
        local ok3, e3 = process.send(process.pid(), "@exit", 1)
        return { ok1 == nil, e1:kind(), ok2 == nil, e2:kind(), ok3 == nil, e3:kind(), e3:message() }
      end }`),
    });
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: [
        true,
        'NotFound',
        true,
        'NotFound',
        true,
        'Invalid',
        'process.send: topic "@exit" is reserved (topics starting with @)',
      ],
    });
  });
});

describe('exits, links and monitors', () => {
  it('sends EXIT with the value or the error to monitors', async () => {
    const t = await with_({
      'app:good': lua('return { main = function() return { answer = 42 } end }'),
      'app:bad': lua(
        'return { main = function() error(errors.new{ message = "broke", kind = errors.CONFLICT }) end }',
      ),
      'app:main': lua(`return { main = function()
        local events = process.events()
        local good = process.spawn_monitored("good", "app:processes")
        local e1 = events:receive()
        local bad = process.spawn_monitored("bad", "app:processes")
        local e2 = events:receive()
        return { e1.kind, e1.from == good, e1.result.value.answer, e1.result.error == nil,
                 e2.kind, e2.from == bad, e2.result.error:kind(), e2.result.error:message() }
      end }`),
    });
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: ['EXIT', true, 42, true, 'EXIT', true, 'Conflict', 'broke'],
    });
  });

  it('fails a linked process without trap_links when its peer fails', async () => {
    const t = await with_({
      'app:bad': lua('return { main = function() error("peer broke") end }'),
      'app:main': lua(`return { main = function()
        process.spawn_linked("bad", "app:processes")
        channel.new():receive()
      end }`),
    });
    const result = await t.run('app:main');
    expect(result.ok).toBe(false);
    expect(result.error?.message).toMatch(
      /^linked process failed: \{app:processes\|\d+\}: .*peer broke/,
    );
  });

  it('gives LINK_DOWN to a process with trap_links, and nothing on a normal exit', async () => {
    const t = await with_({
      'app:bad': lua('return { main = function() error("peer broke") end }'),
      'app:fine': lua('return { main = function() return "ok" end }'),
      'app:main': lua(
        `local time = require("time")
      return { main = function()
        process.set_options{ trap_links = true }
        local events = process.events()
        process.spawn_linked("fine", "app:processes")
        local quiet = channel.select{ events:case_receive(), time.after("50ms"):case_receive() }
        local bad = process.spawn_linked("bad", "app:processes")
        local e = events:receive()
        return { quiet.channel ~= events, e.kind, e.from == bad, e.result.error ~= nil }
      end }`,
        ['time'],
      ),
    });
    expect(await t.run('app:main')).toEqual({ ok: true, value: [true, 'LINK_DOWN', true, true] });
  });

  it('delivers CANCEL with its reason; the target decides when to return', async () => {
    const t = await with_({
      'app:worker': lua(`return { main = function()
        local e = process.events():receive()
        return e.kind .. ":" .. e.reason
      end }`),
      'app:main': lua(`return { main = function()
        local events = process.events()
        local w = process.spawn_monitored("worker", "app:processes")
        process.cancel(w, "shutting down")
        return events:receive().result.value
      end }`),
    });
    expect(await t.run('app:main')).toEqual({ ok: true, value: 'CANCEL:shutting down' });
  });

  it('terminates a spinning process; monitors see the error "terminated"', async () => {
    const t = await with_({
      'app:spin': lua('return { main = function() while true do end end }'),
      'app:main': lua(`return { main = function()
        local events = process.events()
        local s = process.spawn_monitored("spin", "app:processes")
        process.terminate(s)
        local e = events:receive()
        return { e.result.error:message(), e.result.error:kind() }
      end }`),
    });
    expect(await t.run('app:main')).toEqual({ ok: true, value: ['terminated', 'Canceled'] });
  });

  it('stops EXIT after unmonitor, and refuses to monitor an ended process', async () => {
    const t = await with_({
      'app:quick': lua('return { main = function() return 1 end }'),
      'app:waiter': lua('return { main = function() process.inbox():receive() end }'),
      'app:main': lua(
        `local time = require("time")
      return { main = function()
        local events = process.events()
        local w = process.spawn_monitored("waiter", "app:processes")
        process.unmonitor(w)
        process.send(w, "go")
        local r = channel.select{ events:case_receive(), time.after("50ms"):case_receive() }
        local q = process.spawn("quick", "app:processes")
        time.sleep("20ms")
        local ok, err = process.monitor(q)
        return { r.channel ~= events, ok == nil, err:kind() }
      end }`,
        ['time'],
      ),
    });
    expect(await t.run('app:main')).toEqual({ ok: true, value: [true, true, 'NotFound'] });
  });
});

describe('ends that cause ends', () => {
  it('ends a chain of 2,000 nested function calls whose root timed out, one after the other', async () => {
    const t = await with_({
      'app:nested': {
        kind: 'function.lua',
        source: `local funcs = require("funcs")
          return { main = function(n)
            if n == 0 then channel.new():receive() end
            return funcs.call("nested", n - 1)
          end }`,
        modules: ['funcs'],
      },
      'app:main': lua(
        `local funcs = require("funcs")
        return { main = function(depth)
          local _, err = funcs.new():with_options({ timeout = 1500 }):call("nested", depth)
          return err:kind()
        end }`,
        ['funcs'],
      ),
    });
    expect(await t.run('app:main', 2000)).toEqual({ ok: true, value: 'Timeout' });
    await vi.waitFor(() => expect(t.system.host('luact:functions')?.processCount).toBe(0));
  });

  it('makes every kill an end causes, even when a listener of that end throws', async () => {
    const t = await with_({
      'app:idle': lua('return { main = function() process.inbox():receive() end }'),
      'app:linker': lua(
        `return { main = function()
          process.spawn_linked("idle", "app:processes")
          process.spawn_linked("idle", "app:processes")
          process.inbox():receive()
        end }`,
      ),
    });
    const linker = t.spawn('app:linker');
    const host = t.system.host('app:processes');
    await vi.waitFor(() => expect(host?.processCount).toBe(3));
    const inbox = t.system.openInbox(() => {});
    inbox.watch(linker, () => {
      throw new Error('a listener bug');
    });
    const process = t.system.process(linker);
    expect(() => t.system.kill(process as never, new LuactError('CANCELED', 'stop'))).toThrow(
      'a listener bug',
    );
    // Its two linked children were killed all the same.
    expect(host?.processCount).toBe(0);
  });

  it('passes a failure over 300 links, naming the process that failed first and its error', async () => {
    const t = await with_({
      'app:link': lua(
        `return { main = function(n, top)
          if n == 0 then
            process.send(top, "leaf", true)
            process.inbox():receive()
            error("the leaf fails")
          end
          process.spawn_linked("link", "app:processes", n - 1, top)
          process.inbox():receive()
        end }`,
      ),
      'app:main': lua(
        `return { main = function(n)
          local first = process.spawn_monitored("link", "app:processes", n, process.pid())
          local leaf = process.listen("leaf", { message = true }):receive():from()
          process.send(leaf, "go", true)
          local err = process.events():receive().result.error
          local d = err:details()
          return { err:kind(), err:message(), d.linked ~= first and d.linked ~= nil,
                   d.origin == leaf, d.cause.message }
        end }`,
      ),
    });
    const run = await t.run('app:main', 300);
    expect(run).toMatchObject({
      ok: true,
      value: [
        'Unavailable',
        expect.stringMatching(
          /^linked process failed: \{[^}]+\}, after \{[^}]+\}: .*the leaf fails$/,
        ),
        true,
        true,
        expect.stringContaining('the leaf fails'),
      ],
    });
    await vi.waitFor(() => expect(t.system.host('app:processes')?.processCount).toBe(0));
  });
});

describe('names, exec, functions and context', () => {
  it('releases a registered name when its process ends; a taken name is ALREADY_EXISTS', async () => {
    const t = await with_({
      'app:holder': lua(`return { main = function()
        process.registry.register("holder")
        process.inbox():receive()
      end }`),
      'app:main': lua(
        `local time = require("time")
      return { main = function()
        local events = process.events()
        local h = process.spawn_monitored("holder", "app:processes")
        time.sleep("10ms")
        local found = process.registry.lookup("holder") == h
        local ok, err = process.registry.register("holder")
        process.send("holder", "stop")
        events:receive()
        local gone, lookup_err = process.registry.lookup("holder")
        return { found, err:kind(), gone == nil, lookup_err:kind() }
      end }`,
        ['time'],
      ),
    });
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: [true, 'AlreadyExists', true, 'NotFound'],
    });
  });

  it('keeps no queue per call, sleep or exec a process made once their results are taken', async () => {
    const t = await with_({
      'app:double': {
        kind: 'function.lua',
        source: 'return { main = function(x) return x * 2 end }',
      },
      'app:child': lua('return { main = function(x) return x end }'),
      'app:main': lua(
        `local funcs, time = require("funcs"), require("time")
      return { main = function(n)
        local sum = 0
        for i = 1, n do
          sum = sum + funcs.call("app:double", i)
          local future = funcs.async("app:double", i)
          sum = sum + future:channel():receive():data()
          time.sleep("1ms")
        end
        for i = 1, 5 do sum = sum + process.exec("app:child", "app:processes", i) end
        print("done " .. sum)
        return process.listen("stop"):receive()
      end }`,
        ['funcs', 'time'],
      ),
    });
    const pid = t.spawn('app:main', 200);
    const group = () => t.system.process(pid)?.group;
    await expect.poll(() => t.printed, { timeout: 20_000 }).toContain('done 80415');
    // Its events (exec) and the topic it listens to: nothing for 400 calls, 200 sleeps, 5 execs.
    expect(group()?.fedQueueCount).toBeLessThanOrEqual(2);
  });

  it('exec returns the child value or its error', async () => {
    const t = await with_({
      'app:double': lua(
        'return { main = function(x) if x < 0 then return nil, "negative" end return x * 2 end }',
      ),
      'app:main': lua(`return { main = function()
        local v = process.exec("double", "app:processes", 21)
        local nothing, err = process.exec("double", "app:processes", -1)
        return { v, nothing == nil, err:message() }
      end }`),
    });
    expect(await t.run('app:main')).toEqual({ ok: true, value: [42, true, 'negative'] });
  });

  it('calls functions, three in parallel, with the caller context', async () => {
    const t = await with_({
      'app:slow': {
        kind: 'function.lua',
        source: `local time = require("time") local ctx = require("ctx")
          return { main = function(n) time.sleep("100ms") return n * 10 + (ctx.get("bonus") or 0) end }`,
        modules: ['time', 'ctx'],
      },
      'app:span': {
        kind: 'function.lua',
        source: `local time = require("time")
          return { main = function()
            local from = time.now():unix_nano() // 1000000
            time.sleep("100ms")
            return { from, time.now():unix_nano() // 1000000 }
          end }`,
        modules: ['time'],
      },
      'app:main': lua(
        `local funcs = require("funcs") local time = require("time")
      return { main = function()
        local t0 = time.now()
        local f = funcs.new():with_context({ bonus = 1 })
        local a, b, c = f:async("slow", 1), f:async("slow", 2), f:async("slow", 3)
        local function value(future) return future:response():receive():data() end
        local sum = value(a) + value(b) + value(c)
        local direct = funcs.call("slow", 4)
        local spans = { funcs.async("span"), funcs.async("span"), funcs.async("span") }
        for i, span in ipairs(spans) do spans[i] = value(span) end
        return { sum, direct, time.now():sub(t0):milliseconds(), spans }
      end }`,
        ['funcs', 'time'],
      ),
    });
    const result = await t.run('app:main');
    const [sum, direct, ms, spans] = result.value as [number, number, number, [number, number][]];
    expect([sum, direct]).toEqual([63, 40]);
    expect(ms).toBeGreaterThanOrEqual(300);
    // In parallel, each call's sleep began before any ended (by the order of events, not by
    // how long it all took, which a loaded machine stretches).
    const lastStart = Math.max(...spans.map(([from]) => from));
    const firstEnd = Math.min(...spans.map(([, to]) => to));
    expect(lastStart).toBeLessThan(firstEnd);
  });

  it('passes context to a spawned child and to TypeScript host functions', async () => {
    const t = await with_({
      'app:child': lua(
        'local ctx = require("ctx") return { main = function() return ctx.get("user") end }',
        ['ctx'],
      ),
      'app:main': lua(
        `local funcs = require("funcs")
      return { main = function()
        local v = process.with_context({ user = "ada" }):exec("child", "app:processes")
        local h = funcs.new():with_context({ user = "grace" }):call("app:hash", "x")
        return { v, h }
      end }`,
        ['funcs'],
      ),
    });
    t.system.registerFunction('app:hash', (call, input) => `${call.context.user}:${String(input)}`);
    expect(await t.run('app:main')).toEqual({ ok: true, value: ['ada', 'grace:x'] });
  });

  it('gives a TypeScript function’s unencodable value to its caller as INVALID, and a thrown error object as the error it describes', async () => {
    const t = await with_({
      'app:main': lua(
        `local funcs = require("funcs")
      return { main = function()
        local v, err = funcs.call("app:leaky")
        local _, refused = funcs.call("app:refusing")
        return { v == nil, err:kind(), err:message(), funcs.call("app:fine"),
                 refused:kind() .. ": " .. refused:message() }
      end }`,
        ['funcs'],
      ),
    });
    t.system.registerFunction('app:leaky', () => () => 'a function');
    t.system.registerFunction('app:fine', () => 'fine');
    t.system.registerFunction('app:refusing', () => {
      throw { kind: 'NOT_FOUND', message: 'no such account' };
    });
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: [
        true,
        'Invalid',
        'app:leaky returned a value that cannot leave it: msgpack: cannot encode a function',
        'fine',
        'NotFound: no such account',
      ],
    });
  });

  it('times out and cancels a TypeScript function’s call, and aborts its signal', async () => {
    const t = await with_({
      'app:main': lua(
        `local funcs = require("funcs")
      local time = require("time")
      return { main = function()
        local v, err = funcs.new():with_options({ timeout = 30 }):call("app:slow")
        local f = funcs.async("app:slow")
        time.sleep("10ms")
        local canceled = f:cancel()
        local cancel_err = f:channel():receive()
        return { v == nil, err:kind(), err:message(), canceled, cancel_err:kind() }
      end }`,
        ['funcs', 'time'],
      ),
    });
    const aborted: string[] = [];
    t.system.registerFunction(
      'app:slow',
      (call) =>
        new Promise((resolve) => {
          const late = setTimeout(() => resolve('late'), 5_000);
          call.signal.addEventListener('abort', () => {
            clearTimeout(late);
            aborted.push(LuactError.from(call.signal.reason).kind);
            resolve('after the end');
          });
        }),
    );
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: [true, 'Timeout', 'call of app:slow timed out after 30 ms', true, 'Canceled'],
    });
    expect(aborted).toEqual(['TIMEOUT', 'CANCELED']);
  });

  it('ends a TypeScript function’s call with its caller: the signal is aborted', async () => {
    const t = await with_({
      'app:main': lua(
        `local funcs = require("funcs")
      local time = require("time")
      return { main = function()
        funcs.async("app:slow")
        time.sleep("20ms")
        error("the caller fails")
      end }`,
        ['funcs', 'time'],
      ),
    });
    let reason: unknown;
    const called = new Promise<void>((resolve) =>
      t.system.registerFunction('app:slow', (call) => {
        resolve();
        return new Promise((done) =>
          call.signal.addEventListener('abort', () => {
            reason = call.signal.reason;
            done(undefined);
          }),
        );
      }),
    );
    expect((await t.run('app:main')).ok).toBe(false);
    await called;
    await vi.waitFor(() => expect(LuactError.from(reason).message).toBe('the caller ended'));
  });

  it('refuses context and options keys that are not strings, and reads nothing written into a spawner', async () => {
    const t = await with_({
      'app:child': lua(
        `local ctx = require("ctx")
        return { main = function()
          local all = ctx.all()
          local got = process.inbox():receive()
          return { tenant = ctx.get("tenant"), proto = all["__proto__"], topic = got:topic() }
        end }`,
        ['ctx'],
      ),
      'app:main': lua(
        `local funcs = require("funcs")
        return { main = function()
          local out = {}
          out.context = select(2, pcall(process.with_context, { tenant = "acme", [1] = "x" }))
          out.options = select(2, pcall(process.with_options, { trap_links = true, [2] = true }))
          out.executor = select(2, pcall(funcs.new().with_context, funcs.new(), { [true] = 1 }))
          local s = process.with_context({ tenant = "acme", __proto__ = "kept" })
          s.context = { tenant = "forged" }
          rawset(s, "messages", { { "@exit", "forged" } })
          rawset(s, "name", "forged-name")
          s = s:with_message("plain", 1)
          out.child = s:exec("child", "app:processes")
          return out
        end }`,
        ['funcs'],
      ),
    });
    const keys = (what: string, key: string) =>
      expect.stringContaining(`${what}: keys must be strings, got ${key}`);
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: {
        context: keys('with_context', 'number key 1'),
        options: keys('with_options', 'number key 2'),
        executor: keys('with_context', 'boolean key true'),
        child: { tenant: 'acme', proto: 'kept', topic: 'plain' },
      },
    });
  });

  it.each([
    ['', {}],
    [', each with a retry policy', { meta: { options: { retry: { max_attempts: 3 } } } }],
  ])(
    'counts the calls a chain of calls makes against the process that started it%s',
    async (_, meta) => {
      const t = await with_({
        'app:small': { kind: 'process.host', host: { max_mailbox: 50 } },
        'app:endless': {
          kind: 'function.lua',
          source: `local funcs = require("funcs")
          return { main = function(n) return funcs.call("endless", n + 1) end }`,
          modules: ['funcs'],
          ...meta,
        },
        'app:main': lua(
          `local funcs = require("funcs")
        return { main = function()
          local _, err = funcs.call("endless", 1)
          return { err:kind(), err:message() }
        end }`,
          ['funcs'],
        ),
      });
      const outcome = await t.system.waitForExit(
        t.system.spawn({ entry: 'app:main', host: 'app:small', args: encodeValues([]) }),
      );
      expect(outcome.ok && decodeValue(outcome.value)).toEqual([
        'RateLimited',
        expect.stringMatching(
          /^cannot call app:endless: the calls \{app:small\|\d+\} made, and the calls those made, number 50, the limit of host app:small \(max_mailbox\)/,
        ),
      ]);
      await vi.waitFor(() => expect(t.system.host('luact:functions')?.processCount).toBe(0));
    },
  );

  it('places no process on the function host, and a function call cannot upgrade', async () => {
    const t = await with_({
      'app:idle': lua('return { main = function() process.inbox():receive() end }'),
      'app:upgrader': {
        kind: 'function.lua',
        source: `return { main = function() return process.upgrade("app:idle") end }`,
      },
      'app:main': lua(
        `local funcs = require("funcs")
        return { main = function()
          local _, spawn_err = process.spawn("idle", "luact:functions")
          local _, upgrade_err = funcs.call("upgrader")
          return { spawn_err:message(), upgrade_err:message() }
        end }`,
        ['funcs'],
      ),
    });
    expect(await t.run('app:main')).toEqual({
      ok: true,
      value: [
        'cannot spawn idle on luact:functions: that host runs function.lua calls only (spawn it, or name as its meta.default_host, a process.host)',
        'process.upgrade: app:upgrader runs as a function call, which cannot become a process',
      ],
    });
  });

  it('times out a function call', async () => {
    const t = await with_({
      'app:forever': {
        kind: 'function.lua',
        source: 'return { main = function() channel.new():receive() end }',
      },
      'app:main': lua(
        `local funcs = require("funcs")
      return { main = function()
        local v, err = funcs.new():with_options({ timeout = 30 }):call("forever")
        return { v == nil, err:kind() }
      end }`,
        ['funcs'],
      ),
    });
    expect(await t.run('app:main')).toEqual({ ok: true, value: [true, 'Timeout'] });
  });
});

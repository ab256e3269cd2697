import { LuactError } from '@luact/core';
import { afterEach, describe, expect, it } from 'vitest';
import { fn, type Node, node, until, workflow } from './testing/harness.js';

let n: Node | undefined;

afterEach(async () => {
  await n?.stop();
  n = undefined;
});

const lua = (source: string, modules: string[] = []) => ({ kind: 'process.lua', source, modules });

describe('signals', () => {
  it('journals a message before send returns and hands it to the waiting workflow', async () => {
    n = await node({
      'app:approval': workflow(
        `return { main = function(order)
           local decisions = process.listen("decision")
           local other = process.inbox():receive()
           local decision = decisions:receive()
           return { order = order, decision = decision, other = other:topic() }
         end }`,
      ),
      'app:client': lua(
        `return { main = function()
           local pid = process.spawn("app:approval", "app:flows", "A-1")
           local ok1 = process.send(pid, "note", "first")
           local ok2 = process.send(pid, "decision", "approved")
           local missing, err = process.send("{app:flows|nobody}", "decision", "x")
           return { ok1 = ok1, ok2 = ok2, pid = pid, missing = missing == nil, kind = err:kind() }
         end }`,
      ),
    });
    const client = await n.process('app:client');
    expect(client).toMatchObject({
      ok: true,
      value: { ok1: true, ok2: true, missing: true, kind: 'NotFound' },
    });
    const pid = (client as { value: { pid: string } }).value.pid as never;
    expect(await n.result(pid)).toEqual({
      ok: true,
      value: { order: 'A-1', decision: 'approved', other: 'note' },
    });
  });

  it('refuses a message to a workflow that has ended', async () => {
    n = await node({ 'app:quick': workflow('return { main = function() return 1 end }') });
    const pid = await n.start('app:quick', [], { workflow: 'q' });
    await n.result(pid);
    await expect(
      n.host.send({ to: pid, from: undefined, topic: 'late', payload: new Uint8Array([0x90]) }),
    ).rejects.toMatchObject({
      kind: 'NOT_FOUND',
      message: 'workflow q has ended (completed)',
    });
  });
});

describe('timers', () => {
  it('sleeps durably: two 150 ms sleeps take at least 300 ms of workflow time', async () => {
    n = await node({
      'app:sleeper': workflow(
        `local time = require("time")
         return { main = function()
           local t0 = time.now()
           time.sleep("150ms")
           time.sleep(150 * time.MILLISECOND)
           return time.now():sub(t0):milliseconds()
         end }`,
        ['time'],
      ),
    });
    const started = Date.now();
    const result = await n.run('app:sleeper');
    expect(result.ok && (result.value as number) >= 300).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(295);
  });

  it('skips time in tests: a 24 h sleep and a ticker finish at once, in workflow time', async () => {
    n = await node(
      {
        'app:sleeper': workflow(
          `local time = require("time")
           return { main = function()
             local t0 = time.now()
             time.sleep("24h")
             local ticker = time.ticker("1h")
             for i = 1, 3 do ticker:channel():receive() end
             ticker:stop()
             local r = channel.select{ time.after("10m"):case_receive(), time.after("5m"):case_receive() }
             return { hours = time.now():sub(t0):hours(), os = os.time() - t0:unix() }
           end }`,
          ['time'],
        ),
      },
      { timeSkip: true },
    );
    const started = Date.now();
    const result = await n.run('app:sleeper');
    if (!result.ok) throw new Error(`the sleeper failed: ${result.error.message}`);
    const { hours, os } = result.value as { hours: number; os: number };
    // Workflow time is the real time plus what was skipped: the real milliseconds that pass
    // between the timers (many on a loaded machine) count too, a second at most.
    expect(hours).toBeGreaterThanOrEqual(27 + 5 / 60);
    expect(hours).toBeLessThan(27 + 5 / 60 + 1 / 3600);
    expect([27 * 3600 + 300, 27 * 3600 + 301]).toContain(os);
    // 27 hours of workflow time in a few real seconds at most, even on a loaded machine.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('child workflows', () => {
  it('gives the parent the child result, and the error kind and retryable flag of a failed child', async () => {
    n = await node({
      'app:child': workflow(
        `return { main = function(x)
           if x < 0 then error(errors.new{ message = "negative", kind = errors.INVALID, retryable = false }) end
           return x + 1
         end }`,
      ),
      'app:parent': workflow(
        `local workflow = require("workflow")
         return { main = function()
           local good = workflow.exec("app:child", 41)
           local bad, err = process.exec("app:child", "app:flows", -1)
           local pid = process.spawn_monitored("app:child", "app:flows", 1)
           local exit = process.events():receive()
           return { good = good, bad = bad, kind = err:kind(), retryable = err:retryable(),
                    message = err:message(), exit = exit.kind, value = exit.result.value, same = exit.from == pid }
         end }`,
        ['workflow'],
      ),
    });
    expect(await n.run('app:parent', [], { workflow: 'p' })).toEqual({
      ok: true,
      value: {
        good: 42,
        kind: 'Invalid',
        retryable: false,
        message: 'negative',
        exit: 'EXIT',
        value: 2,
        same: true,
      },
    });
    expect(n.host.list().map((w) => w.workflow)).toEqual(['p', 'p.1', 'p.2', 'p.3']);
  });
});

describe('names, startup messages, cancel and terminate', () => {
  it('spawning a named workflow again returns its PID and still delivers the new startup messages', async () => {
    n = await node({
      'app:counter': workflow(
        `return { main = function()
           local inbox, total = process.inbox(), 0
           while true do
             local msg = inbox:receive()
             if msg:topic() == "done" then return total end
             total = total + msg:payload():data()
           end
         end }`,
      ),
      'app:client': lua(
        `return { main = function()
           local a = process.with_name("counter-1"):with_message("add", 2):spawn("app:counter", "app:flows")
           local b = process.with_options({ ["workflow.id"] = "counter-1" }):with_message("add", 3):spawn("app:counter", "app:flows")
           local c, err = process.with_options({ ["temporal.workflow.id"] = "counter-1", ["temporal.workflow.id_conflict_policy"] = "fail" }):spawn("app:counter", "app:flows")
           process.send(b, "done")
           return { a = a, same = a == b, refused = c == nil, kind = err:kind() }
         end }`,
      ),
    });
    expect(await n.process('app:client')).toEqual({
      ok: true,
      value: { a: '{app:flows|counter-1}', same: true, refused: true, kind: 'AlreadyExists' },
    });
    expect(await n.result('{app:flows|counter-1}' as never)).toEqual({ ok: true, value: 5 });
  });

  it('delivers a cancel with its reason as a CANCEL event', async () => {
    n = await node({
      'app:patient': workflow(
        `return { main = function()
           local event = process.events():receive()
           return { kind = event.kind, reason = event.reason }
         end }`,
      ),
      'app:client': lua(
        `return { main = function(pid) return process.cancel(pid, "customer changed their mind") end }`,
      ),
    });
    const pid = await n.start('app:patient', [], { workflow: 'c' });
    expect(await n.process('app:client', pid)).toEqual({ ok: true, value: true });
    expect(await n.result(pid)).toEqual({
      ok: true,
      value: { kind: 'CANCEL', reason: 'customer changed their mind' },
    });
  });

  it('terminates a workflow at once; its monitors see the error', async () => {
    n = await node({
      'app:stuck': workflow('return { main = function() process.inbox():receive() end }'),
      'app:watcher': lua(
        `return { main = function(pid)
           process.monitor(pid)
           process.terminate(pid)
           local event = process.events():receive()
           return { kind = event.kind, error = event.result.error:kind() }
         end }`,
      ),
    });
    const pid = await n.start('app:stuck', [], { workflow: 't' });
    expect(await n.process('app:watcher', pid)).toEqual({
      ok: true,
      value: { kind: 'EXIT', error: 'Canceled' },
    });
    expect(n.host.list()[0]?.status).toBe('terminated');
  });
});

describe('activities', () => {
  it('retries a failing call by its policy, and fails at once on a non-retryable error', async () => {
    let attempts = 0;
    n = await node(
      {
        'app:flow': workflow(
          `local funcs = require("funcs")
           return { main = function()
             local retried = funcs.new():with_options({ ["activity.retry_policy"] = { initial_interval = "5ms", maximum_attempts = 4 } }):call("flaky")
             local _, err = funcs.call("app:broken")
             return { retried = retried, kind = err:kind() }
           end }`,
          ['funcs'],
        ),
        'app:broken': fn(
          'return { main = function() error(errors.new{ message = "bad input", kind = errors.INVALID, retryable = false }) end }',
        ),
      },
      {
        functions: {
          'app:flaky': async () => {
            attempts++;
            if (attempts < 3) throw new Error('try again');
            return attempts;
          },
        },
      },
    );
    expect(await n.run('app:flow')).toEqual({ ok: true, value: { retried: 3, kind: 'Invalid' } });
  });

  it('retries a Lua error that did not say whether to retry by its kind', async () => {
    const failing = (kind: string) =>
      fn(
        `return { main = function()
           print("${kind}")
           local err = errors.new{ message = "m", kind = errors.${kind} }
           assert(err:retryable() == nil)
           return nil, err
         end }`,
        { meta: { options: { retry: { initial_interval: 1, maximum_attempts: 3 } } } },
      );
    n = await node({
      'app:flow': workflow(
        `local funcs = require("funcs")
         return { main = function()
           local _, down = funcs.call("down")
           local _, bad = funcs.call("bad")
           return { down:kind(), down:retryable(), bad:kind(), bad:retryable() }
         end }`,
        ['funcs'],
      ),
      'app:down': failing('UNAVAILABLE'),
      'app:bad': failing('INVALID'),
    });
    expect(await n.run('app:flow')).toEqual({
      ok: true,
      value: ['Unavailable', true, 'Invalid', false],
    });
    expect(n.printed).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'INVALID']);
  });

  it('does not retry the kinds a policy lists, written either way', async () => {
    const attempts: Record<string, number> = {};
    n = await node(
      {
        'app:flow': workflow(
          `local funcs = require("funcs")
           local function attempts_with(kinds)
             local policy = { initial_interval = "1ms", maximum_attempts = 3, non_retryable_error_types = kinds }
             local _, err = funcs.new():with_options({ ["activity.retry_policy"] = policy }):call("busy", table.concat(kinds, ","))
             return err:kind()
           end
           return { main = function()
             return { attempts_with({ errors.CONFLICT }), attempts_with({ "CONFLICT" }),
                      attempts_with({ "Timeout" }) }
           end }`,
          ['funcs'],
        ),
        'app:bad': workflow(
          `local funcs = require("funcs")
           return { main = function()
             local policy = { non_retryable_error_types = { "conflict" } }
             local _, err = funcs.new():with_options({ ["activity.retry_policy"] = policy }):call("busy", "x")
             return { kind = err:kind(), message = err:message() }
           end }`,
          ['funcs'],
        ),
      },
      {
        functions: {
          'app:busy': async (_call, key) => {
            attempts[String(key)] = (attempts[String(key)] ?? 0) + 1;
            throw new LuactError('CONFLICT', 'busy', { retryable: true });
          },
        },
      },
    );
    expect(await n.run('app:flow')).toEqual({
      ok: true,
      value: ['Conflict', 'Conflict', 'Conflict'],
    });
    expect(attempts).toEqual({ Conflict: 1, CONFLICT: 1, Timeout: 3 });
    expect(await n.run('app:bad')).toEqual({
      ok: true,
      value: {
        kind: 'Invalid',
        message: expect.stringContaining('non_retryable_error_types must list error kinds'),
      },
    });
  });

  it("takes Temporal's activity option names and Wippy's retry spelling; schedule_to_close_timeout bounds all attempts", async () => {
    const attempts: Record<string, number> = {};
    n = await node(
      {
        'app:flow': workflow(
          `local funcs = require("funcs")
           return { main = function()
             local wippy = funcs.new():with_options({
               ["temporal.activity.retry_policy"] = { initial_delay = "1ms", backoff_factor = 1, max_attempts = 3 },
               ["activity.heartbeat_timeout"] = "5s", ["activity.task_queue"] = "elsewhere",
             }):call("busy", "wippy")
             local _, bounded = funcs.new():with_options({
               ["activity.schedule_to_close_timeout"] = 300,
               ["activity.retry_policy"] = { initial_interval = 40, backoff_coefficient = 1, maximum_attempts = 0 },
             }):call("busy", "bounded")
             local _, unknown = funcs.new():with_options({ ["activity.priority_key"] = 1 }):call("busy", "never")
             return { wippy = wippy, bounded = bounded:kind(), unknown = unknown:message() }
           end }`,
          ['funcs'],
        ),
      },
      {
        functions: {
          'app:busy': async (_call, key) => {
            const name = String(key);
            attempts[name] = (attempts[name] ?? 0) + 1;
            if (name === 'wippy' && attempts[name] === 3) return 'third time';
            throw new LuactError('CONFLICT', 'busy', { retryable: true });
          },
        },
      },
    );
    expect(await n.run('app:flow')).toEqual({
      ok: true,
      value: {
        wippy: 'third time',
        bounded: 'Conflict',
        unknown: expect.stringContaining('unknown activity option "activity.priority_key"'),
      },
    });
    // Unlimited attempts 40 ms apart, stopped by the 300 ms for all of them.
    expect(attempts.bounded).toBeGreaterThanOrEqual(2);
    expect(attempts.bounded).toBeLessThanOrEqual(9);
    expect(attempts.never).toBeUndefined();
  });

  it('uses the retry policy in the function entry meta.options.retry', async () => {
    n = await node({
      'app:flow': workflow(
        `local funcs = require("funcs")
         return { main = function() local v, err = funcs.call("limited"); return err:message() end }`,
        ['funcs'],
      ),
      'app:limited': fn(
        'return { main = function() print("attempt"); return nil, "still failing" end }',
        { meta: { options: { retry: { initial_interval: 1, maximum_attempts: 2 } } } },
      ),
    });
    expect(await n.run('app:flow')).toEqual({ ok: true, value: 'still failing' });
    expect(n.printed).toEqual(['attempt', 'attempt']);
  });
});

describe('versions and continue-as-new', () => {
  it('continues as new with a fresh journal and the same PID', async () => {
    n = await node({
      'app:looper': workflow(
        `local workflow = require("workflow")
         return { main = function(n, total)
           total = (total or 0) + n
           if n > 1 then return process.upgrade(nil, n - 1, total) end
           local info = workflow.info()
           return { total = total, run = info.attempt, id = info.workflow_id }
         end }`,
        ['workflow'],
      ),
    });
    expect(await n.run('app:looper', [4], { workflow: 'loop' })).toEqual({
      ok: true,
      value: { total: 10, run: 4, id: 'loop' },
    });
    expect((await n.journal.list()).map((s) => s.id).sort()).toEqual([
      'loop~1',
      'loop~2',
      'loop~3',
      'loop~4',
    ]);
  });

  it('records the version of new code', async () => {
    n = await node({
      'app:versioned': workflow(
        `local workflow = require("workflow")
         return { main = function() return workflow.version("new-step", 1, 3) end }`,
        ['workflow'],
      ),
    });
    expect(await n.run('app:versioned')).toEqual({ ok: true, value: 3 });
  });
});

describe('a child started in the last task of its parent', () => {
  it('starts and runs to its end although the parent has ended', async () => {
    n = await node({
      'app:parent': workflow(
        'return { main = function() process.with_name("kid"):spawn("app:child", "app:flows", 20) return "parent done" end }',
      ),
      'app:child': workflow('return { main = function(x) return x + 1 end }'),
    });
    const node_ = n;
    expect(await node_.run('app:parent', [], { workflow: 'parent' })).toEqual({
      ok: true,
      value: 'parent done',
    });
    await until(
      () => node_.host.list().some((s) => s.workflow === 'kid' && s.status === 'completed'),
      'the child completed',
    );
  });
});

import { LuactError } from '@luact/core';
import { MemoryJournal } from '@luact/journal';
import { encodeValue, encodeValues } from '@luact/lua';
import { afterEach, expect, it } from 'vitest';
import { fn, type Node, node, until, workflow } from './testing/harness.js';

const nodes: Node[] = [];

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

async function start(...args: Parameters<typeof node>) {
  const n = await node(...args);
  nodes.push(n);
  return n;
}

const never = () => new Promise<never>(() => {});

it('resumes after a crash: finished calls are not repeated, the one in flight runs again', async () => {
  const journal = new MemoryJournal();
  const calls: string[] = [];
  const entries = {
    'app:flow': workflow(
      `local funcs = require("funcs")
       return { main = function()
         local a = funcs.call("step", "one")
         local b = funcs.call("step", "two")
         return a .. "+" .. b
       end }`,
      ['funcs'],
    ),
  };
  const first = await start(entries, {
    journal,
    functions: {
      'app:step': async (_call, name) => {
        calls.push(String(name));
        return name === 'two' ? never() : `${name}`;
      },
    },
  });
  const pid = await first.start('app:flow', [], { workflow: 'w' });
  await until(() => calls.includes('two'), 'the second call runs');
  await first.stop();

  const second = await start(entries, {
    journal,
    functions: {
      'app:step': async (_call, name) => {
        calls.push(String(name));
        return String(name).toUpperCase();
      },
    },
  });
  expect(await second.result(pid)).toEqual({ ok: true, value: 'one+TWO' });
  expect(calls).toEqual(['one', 'two', 'two']);
});

it('replays to the same random numbers, UUIDs, times and key order', async () => {
  const journal = new MemoryJournal();
  const reported: unknown[] = [];
  const entries = {
    'app:flow': workflow(
      `local funcs, uuid, time = require("funcs"), require("uuid"), require("time")
       return { main = function()
         local keys = {}
         for k in pairs({ zeta = 1, alpha = 2, mid = 3, [3] = 4, [1] = 5 }) do keys[#keys + 1] = tostring(k) end
         local seen = { uuid = uuid.v4(), random = math.random(1, 1000000), now = time.now():unix_nano(),
                        os = os.time(), keys = table.concat(keys, ",") }
         funcs.call("report", seen)
         return seen
       end }`,
      ['funcs', 'uuid', 'time'],
    ),
  };
  const first = await start(entries, {
    journal,
    functions: {
      'app:report': async (_call, seen) => {
        reported.push(seen);
        return never();
      },
    },
  });
  const pid = await first.start('app:flow', [], { workflow: 'r' });
  await until(() => reported.length === 1, 'the values are reported');
  await first.stop();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = await start(entries, {
    journal,
    functions: { 'app:report': async () => true },
  });
  const result = await second.result(pid);
  expect(result).toEqual({ ok: true, value: reported[0] });
  expect((reported[0] as { keys: string }).keys).toBe('1,3,alpha,mid,zeta');
});

it('blocks a run whose code changed what it does, naming both call sites and the position', async () => {
  const journal = new MemoryJournal();
  const source = (call: string) =>
    `local funcs = require("funcs")
return { main = function()
  local a = funcs.call("${call}")
  local b = funcs.call("wait")
  return a
end }`;
  const first = await start(
    { 'app:flow': workflow(source('one'), ['funcs']) },
    {
      journal,
      functions: { 'app:one': async () => 1, 'app:two': async () => 2, 'app:wait': never },
    },
  );
  await first.start('app:flow', [], { workflow: 'changed' });
  await until(async () => (await journal.read('changed~1')).length >= 4, 'the run waits');
  await first.stop();

  const second = await start(
    { 'app:flow': workflow(`-- edited\n${source('two')}`, ['funcs']) },
    {
      journal,
      functions: { 'app:one': async () => 1, 'app:two': async () => 2, 'app:wait': never },
    },
  );
  await until(() => second.host.list()[0]?.status === 'blocked', 'the run is blocked');
  const problem = second.host.list()[0]?.problem ?? '';
  expect(problem).toContain('workflow changed is blocked');
  expect(problem).toContain('At journal position 1');
  expect(problem).toContain('a call of app:one at app:flow.lua:3');
  expect(problem).toContain('a call of app:two at app:flow.lua:4');
  expect(second.logs.some((r) => r.message === 'workflow blocked')).toBe(true);
});

it('replays coroutines, channels and select to the same interleaving', async () => {
  const journal = new MemoryJournal();
  const calls: string[] = [];
  const entries = {
    'app:flow': workflow(
      `local funcs = require("funcs")
       return { main = function()
         local results, done = {}, channel.new()
         for _, name in ipairs({ "a", "b", "c" }) do
           coroutine.spawn(function()
             for i = 1, 3 do results[#results + 1] = funcs.call("step", name .. i) end
             done:send(name)
           end)
         end
         local finished = {}
         for _ = 1, 3 do
           local r = channel.select({ done:case_receive() })
           finished[#finished + 1] = r.value
         end
         return { order = table.concat(results, ","), finished = table.concat(finished, ",") }
       end }`,
      ['funcs'],
    ),
  };
  let stopAt = 5;
  const first = await start(entries, {
    journal,
    functions: {
      'app:step': async (_call, name) => {
        calls.push(String(name));
        if (--stopAt <= 0) return never();
        return name;
      },
    },
  });
  const pid = await first.start('app:flow', [], { workflow: 'co' });
  await until(() => stopAt <= 0, 'five calls ran');
  await first.stop();
  const uncrashed = await start(entries, {
    functions: { 'app:step': async (_call, name) => name },
  });
  const reference = await uncrashed.run('app:flow', [], { workflow: 'co' });
  const second = await start(entries, {
    journal,
    functions: { 'app:step': async (_call, name) => name },
  });
  expect(await second.result(pid)).toEqual(reference);
  expect(reference.ok).toBe(true);
});

it('replays journaled activity errors with their kind, retryable flag and details', async () => {
  const journal = new MemoryJournal();
  const calls: string[] = [];
  const entries = {
    'app:flow': workflow(
      `local funcs = require("funcs")
       return { main = function()
         local _, declined = funcs.call("charge")
         local _, missing = funcs.call("lookup")
         funcs.call("wait")
         return {
           kind = declined:kind(), conflict = errors.is(declined, errors.CONFLICT),
           retryable = declined:retryable(), details = declined:details(),
           text = tostring(errors.wrap(declined, "paying")),
           missing = missing:kind(), missing_retryable = missing:retryable(),
         }
       end }`,
      ['funcs'],
    ),
    // Made in Lua with the upper-snake spelling and without saying whether to retry.
    'app:lookup': fn(
      'return { main = function() return nil, errors.new{ message = "no such card", kind = "NOT_FOUND" } end }',
    ),
  };
  const charge = async () => {
    calls.push('charge');
    throw new LuactError('CONFLICT', 'card declined', { retryable: false, details: { code: 51 } });
  };
  const wait = async () => {
    calls.push('wait');
    return never();
  };
  const first = await start(entries, {
    journal,
    functions: { 'app:charge': charge, 'app:wait': wait },
  });
  const pid = await first.start('app:flow', [], { workflow: 'errs' });
  await until(() => calls.includes('wait'), 'the run waits');
  await first.stop();

  const second = await start(entries, {
    journal,
    functions: { 'app:charge': charge, 'app:wait': async () => true },
  });
  expect(await second.result(pid)).toEqual({
    ok: true,
    value: {
      kind: 'Conflict',
      conflict: true,
      retryable: false,
      details: { code: 51 },
      text: 'paying: card declined',
      missing: 'NotFound',
      missing_retryable: false,
    },
  });
  expect(calls).toEqual(['charge', 'wait']);
});

it('replays a long chain of calls (results, errors, a sleep, a coroutine waiting aside) to the same values without running a call again', async () => {
  const journal = new MemoryJournal();
  let runs = 0;
  let stopAfter = 60;
  const step = async (_call: unknown, i: unknown) => {
    runs++;
    if (--stopAfter < 0) return never();
    if (Number(i) % 7 === 0) throw new LuactError('INVALID', `no ${String(i)}`);
    return Number(i) * 2;
  };
  const entries = {
    'app:flow': workflow(
      `local funcs, time = require("funcs"), require("time")
       return { main = function()
         local aside, seen = channel.new(), {}
         coroutine.spawn(function() seen[#seen + 1] = aside:receive() end)
         local sum, failures = 0, {}
         for i = 1, 80 do
           local value, err = funcs.call("step", i)
           if value then sum = sum + value else failures[#failures + 1] = err:message() end
           if i == 30 then time.sleep("1ms") end
           if i == 40 then aside:send(sum) end
         end
         return { sum = sum, failures = table.concat(failures, ","), seen = seen[1] }
       end }`,
      ['funcs', 'time'],
    ),
  };
  const first = await start(entries, { journal, functions: { 'app:step': step } });
  const pid = await first.start('app:flow', [], { workflow: 'chain' });
  await until(() => stopAfter < 0, 'sixty calls ran');
  await first.stop();
  expect(runs).toBe(61);
  stopAfter = Number.POSITIVE_INFINITY;

  const second = await start(entries, { journal, functions: { 'app:step': step } });
  const result = await second.result(pid);
  // The 60 journaled calls are not run again: the one in flight and the 19 after it are.
  expect(runs).toBe(61 + 20);
  const reference = await (
    await start(entries, {
      functions: {
        'app:step': async (_call: unknown, i: unknown) => {
          if (Number(i) % 7 === 0) throw new LuactError('INVALID', `no ${String(i)}`);
          return Number(i) * 2;
        },
      },
    })
  ).run('app:flow', [], { workflow: 'chain' });
  expect(reference.ok).toBe(true);
  expect(result).toEqual(reference);
});

it('blocks a run whose code changed deep in a chain of replayed calls, at the call that changed', async () => {
  const journal = new MemoryJournal();
  const source = (changedAt: number) =>
    `local funcs = require("funcs")
return { main = function()
  for i = 1, 50 do
    if i == ${changedAt} then funcs.call("other", i) else funcs.call("step", i) end
  end
  return funcs.call("wait")
end }`;
  const functions = {
    'app:step': async (_call: unknown, i: unknown) => Number(i),
    'app:other': async (_call: unknown, i: unknown) => Number(i),
    'app:wait': never,
  };
  const first = await start({ 'app:flow': workflow(source(0), ['funcs']) }, { journal, functions });
  await first.start('app:flow', [], { workflow: 'deep' });
  await until(async () => (await journal.read('deep~1')).length >= 102, 'the run waits');
  await first.stop();

  const second = await start(
    { 'app:flow': workflow(source(40), ['funcs']) },
    { journal, functions },
  );
  await until(() => second.host.list()[0]?.status === 'blocked', 'the run is blocked');
  const problem = second.host.list()[0]?.problem ?? '';
  expect(problem).toContain('a call of app:step');
  expect(problem).toContain('a call of app:other');
  expect(problem).toContain('command 1 after event 39');
});

it('resumes a run of more events than a function call may take arguments (130,001 records)', async () => {
  const journal = new MemoryJournal();
  const entries = {
    'app:flow': workflow(
      `local funcs = require("funcs")
       return { main = function(n)
         local sum = 0
         for i = 1, n do sum = sum + funcs.call("step", i) end
         return sum + funcs.call("step", -n)
       end }`,
      ['funcs'],
    ),
  };
  // The last call of a run (-n) waits forever: the run is live by then.
  const waiting = new Set<number>();
  const functions = {
    'app:step': async (_call: unknown, i: unknown) => {
      if (Number(i) >= 0) return Number(i);
      waiting.add(Number(i));
      return never();
    },
  };
  // A short run gives the records' shapes; the long one is written from them.
  const first = await start(entries, { journal, functions });
  await first.start('app:flow', [2], { workflow: 'short' });
  await until(() => waiting.has(-2), 'the short run waits');
  await first.stop();
  const [started, task, result] = (await journal.read('short~1')) as Record<string, unknown>[];
  if (!task) throw new Error('the short run has no task record');
  const count = 65_000;
  const records: Record<string, unknown>[] = [
    { ...started, workflow: 'long', args: encodeValues([count]) },
  ];
  const command = (task.commands as Record<string, unknown>[])[0];
  for (let i = 1; i <= count; i++) {
    records.push({
      ...task,
      event: i - 1,
      commands: [{ ...command, args: encodeValue(i), seq: i }],
      executed: i - 1,
    });
    records.push({ ...result, seq: i, outcome: { ok: true, value: encodeValue(i) } });
  }
  await journal.append('long~1', 0, records as never);

  const second = await start(entries, { journal, functions });
  await until(() => waiting.has(-count), 'the long run replays and calls again', 60_000);
  expect(second.host.list().find((w) => w.workflow === 'long')?.status).toBe('running');
  expect(await journal.read('long~1')).toHaveLength(2 * count + 2);
}, 90_000);

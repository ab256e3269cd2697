import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { ManualClock } from '@luact/lua';
import { Node } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PONGER_ENTRY } from './worker-entries.js';

/**
 * `workers: 2` on a process host, against real threads: the host's processes run on two worker
 * threads (each with its own Lua engine), reached from the main thread and from each other.
 */

const APP = `
namespace: app
entries:
  - name: w2
    kind: process.host
    host:
      workers: 2
  - name: solo
    kind: process.host

  - name: double
    kind: process.lua
    source: |
      return { main = function(x) return { value = x * 2, pid = process.pid() } end }

  - name: idle
    kind: process.lua
    source: |
      return { main = function() process.listen("stop"):receive() end }

${PONGER_ENTRY}
  # Pings a ponger n times, one at a time: on its own worker when given none.
  - name: pinger
    kind: process.lua
    source: |
      return { main = function(n, ponger)
        ponger = ponger or process.spawn("app:ponger", "app:w2", n)
        if ponger ~= nil and type(ponger) ~= "string" then error(ponger) end
        local pongs = process.listen("pong")
        for i = 1, n do
          process.send(ponger, "ping", i)
          local got = pongs:receive()
          if got ~= i then error("pong " .. tostring(got) .. " for ping " .. i) end
        end
        return { pings = n, ponger = ponger, pid = process.pid() }
      end }

  - name: ping_pong
    kind: process.lua
    imports:
      shells: app:shells
    source: |
      local shells = require("shells")
      return { main = function(n)
        local within = process.exec("app:pinger", "app:w2", n)
        local a, b = shells.two_workers()
        process.send(b, "become", { "ponger", n })
        process.send(a, "become", { "pinger", n, b })
        local across = process.listen("pinged"):receive()
        return { within = within, across = across }
      end }

  # A process of app:w2 that waits to be told what to run (see shells.two_workers).
  - name: shell
    kind: process.lua
    source: |
      local roles = {}
      function roles.ponger(n)
        local pings = process.inbox()
        for _ = 1, n do
          local msg = pings:receive()
          process.send(msg:from(), "pong", msg:payload():data())
        end
      end
      function roles.pinger(n, ponger, report)
        local pongs = process.listen("pong")
        for i = 1, n do
          process.send(ponger, "ping", i)
          local got = pongs:receive()
          if got ~= i then error("pong " .. tostring(got) .. " for ping " .. i) end
        end
        process.send(report, "pinged", { pings = n, ponger = ponger, pid = process.pid() })
      end
      function roles.victim()
        process.listen("go"):receive()
        error("boom")
      end
      function roles.bystander(victim)
        process.link(victim)
        process.listen("never"):receive()
      end
      function roles.watcher(victim, bystander)
        process.set_options({ trap_links = true })
        local events = process.events()
        process.link(victim)
        process.monitor(victim)
        process.monitor(bystander)
        process.send(victim, "go", true)
        local seen = {}
        for _ = 1, 3 do
          local e = events:receive()
          seen[#seen + 1] = { kind = e.kind, from = e.from, error = e.result.error:message() }
        end
        -- a PID of the other worker that never ran (ids there have the other parity)
        local other = tonumber(process.pid():match("|(%d+)}")) % 2 == 0 and 999999 or 1000000
        process.monitor("{app:w2|" .. other .. "}")
        local e = events:receive()
        seen[#seen + 1] = { kind = e.kind, from = e.from, error = e.result.error:kind() }
        return { me = process.pid(), seen = seen }
      end
      function roles.quit() end
      return { main = function(parent)
        local order = process.listen("become"):receive()
        local role = table.remove(order, 1)
        if role == "pinger" then order[#order + 1] = parent end
        return roles[role](table.unpack(order))
      end }

  # Spawns shells on app:w2 from the calling process (a process of another host: each goes to
  # the least loaded worker) until it has one on each worker; spare ones quit.
  - name: shells
    kind: library.lua
    source: |
      local function worker(pid) return tonumber(pid:match("|(%d+)}")) % 2 end
      local function two_workers()
        local on = {}
        for _ = 1, 20 do
          local pid = process.spawn("app:shell", "app:w2", process.pid())
          if on[worker(pid)] == nil then on[worker(pid)] = pid
          else process.send(pid, "become", { "quit" }) end
          if on[0] and on[1] then return on[0], on[1] end
        end
        error("20 spawns from another host all landed on one worker")
      end
      return { two_workers = two_workers, worker = worker }

  # Receives numbered mail from senders until each said done; reports what was out of order.
  - name: receiver
    kind: process.lua
    source: |
      return { main = function(senders)
        local inbox = process.inbox()
        local last, count, problems, done = {}, 0, {}, 0
        while done < senders do
          local msg = inbox:receive()
          local from = msg:from()
          if msg:topic() == "done" then
            done = done + 1
            if msg:payload():data() ~= last[from] then
              problems[#problems + 1] = from .. " said done after " .. tostring(msg:payload():data()) .. " but sent up to " .. tostring(last[from])
            end
          else
            local n = msg:payload():data()
            if n ~= (last[from] or 0) + 1 and #problems < 5 then
              problems[#problems + 1] = from .. ": " .. tostring(n) .. " after " .. tostring(last[from])
            end
            last[from] = n
            count = count + 1
          end
        end
        return { count = count, problems = table.concat(problems, "; ") }
      end }

  # Sends n numbered messages to the receiver with links, unlinks and a monitor in between;
  # the monitor, set before "done", must be in place when the receiver ends (an EXIT with its
  # value, not NOT_FOUND).
  - name: sender
    kind: process.lua
    source: |
      return { main = function(receiver, n)
        local events = process.events()
        for i = 1, n do
          process.send(receiver, "n", i)
          if i % 100 == 10 then process.link(receiver) end
          if i % 100 == 60 then process.unlink(receiver) end
        end
        process.monitor(receiver)
        process.send(receiver, "done", n)
        local exit = events:receive()
        return { pid = process.pid(), kind = exit.kind, from = exit.from, ok = exit.result.error == nil,
                 error = exit.result.error and exit.result.error:message() }
      end }

  - name: order
    kind: process.lua
    source: |
      return { main = function(senders, n)
        local events = process.events()
        local receiver = process.spawn_monitored("app:receiver", "app:w2", senders)
        local pids = {}
        for i = 1, senders do
          pids[i] = process.spawn_monitored("app:sender", "app:w2", receiver, n)
        end
        local results, received = {}, nil
        for _ = 1, senders + 1 do
          local exit = events:receive()
          if exit.from == receiver then received = exit.result.value or exit.result.error:message()
          else results[#results + 1] = exit.result.value or exit.result.error:message() end
        end
        return { receiver = receiver, received = received, senders = results }
      end }

  # Sends a table, then changes it: the receiver must see it as it was sent.
  - name: mutator
    kind: process.lua
    source: |
      return { main = function(peer)
        local sent = { a = 1, nested = { b = 2 }, list = { 1, 2, 3 } }
        process.send(peer, "table", sent)
        sent.a = 99
        sent.nested.b = 99
        sent.list[1] = 99
        process.send(peer, "go", true)
        return true
      end }
  - name: keeper
    kind: process.lua
    source: |
      return { main = function()
        local tables = process.listen("table")
        local got = tables:receive()
        process.listen("go"):receive()
        return { got = got, pid = process.pid() }
      end }
  - name: copies
    kind: process.lua
    source: |
      return { main = function()
        local events = process.events()
        local across = process.spawn_monitored("app:keeper", "app:w2")
        process.spawn("app:mutator", "app:w2", across)
        local a = events:receive()
        -- the mutator spawns its keeper itself: both on one worker
        local within = process.exec("app:local_copies", "app:w2")
        return { across = a.result.value, within = within }
      end }
  - name: local_copies
    kind: process.lua
    source: |
      return { main = function()
        local events = process.events()
        local keeper = process.spawn_monitored("app:keeper", "app:w2")
        process.spawn("app:mutator", "app:w2", keeper)
        local exit = events:receive()
        return { kept = exit.result.value, me = process.pid() }
      end }

  # EXIT and LINK_DOWN between processes of different workers: the victim on one, the
  # bystander (linked to it) and the watcher (linked, monitoring, trapping) on the other.
  - name: exits
    kind: process.lua
    modules: [time]
    imports:
      shells: app:shells
    source: |
      local shells = require("shells")
      return { main = function()
        local events = process.events()
        local victim, other = shells.two_workers()
        local watcher, bystander = other, process.spawn("app:shell", "app:w2", process.pid())
        while shells.worker(bystander) == shells.worker(victim) do
          process.send(bystander, "become", { "quit" })
          bystander = process.spawn("app:shell", "app:w2", process.pid())
        end
        for _, pid in ipairs({ victim, bystander, watcher }) do process.monitor(pid) end
        process.send(victim, "become", { "victim" })
        process.send(bystander, "become", { "bystander", victim })
        -- the bystander's link first: the watcher's "go" ends the victim
        require("time").sleep("50ms")
        process.send(watcher, "become", { "watcher", victim, bystander })
        local ends = {}
        while ends[victim] == nil or ends[bystander] == nil or ends[watcher] == nil do
          local e = events:receive()
          ends[e.from] = e.result.error and e.result.error:message() or e.result.value
        end
        return { victim = victim, bystander = bystander, watcher = watcher, ends = ends }
      end }

  # Placement: a process's children on its own host stay on its worker.
  - name: parent
    kind: process.lua
    source: |
      return { main = function(n)
        local children = {}
        for i = 1, n do children[i] = process.spawn("app:idle", "app:w2") end
        for i = 1, n do process.send(children[i], "stop", true) end
        return { me = process.pid(), children = children }
      end }

  - name: chatty
    kind: process.lua
    modules: [logger]
    source: |
      local logger = require("logger")
      return { main = function(n)
        for i = 1, n do
          print("chatty " .. i)
          logger:info("chatty log " .. i)
        end
        return process.pid()
      end }

  # Function calls from a worker run on the main thread's function host.
  - name: triple
    kind: function.lua
    source: |
      return { main = function(x)
        if x < 0 then error("negative: " .. x) end
        return x * 3
      end }
  - name: nap
    kind: function.lua
    modules: [time]
    source: |
      return { main = function(ms) require("time").sleep(ms .. "ms"); return ms end }
  - name: caller
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function()
        local value = funcs.call("app:triple", 7)
        local none, err = funcs.call("app:triple", -1)
        local late, timeout = funcs.new():with_options({ timeout = 50 }):call("app:nap", 2000)
        return { pid = process.pid(), value = value, err = err:message(),
                 timeout = timeout and timeout:kind(), late = late }
      end }

  # What a worker's process cannot do yet.
  - name: unsupported
    kind: process.lua
    modules: [funcs, events, env]
    source: |
      local funcs = require("funcs")
      local events = require("events")
      local env = require("env")
      return { main = function()
        local out = {}
        local v, ferr = funcs.call("app:from_typescript", 1)
        out.funcs = { ok = v, kind = ferr and ferr:kind(), message = ferr and ferr:message() }
        local eok, eerr = pcall(events.send, "app", "thing", "/x", {})
        out.events = { ok = eok, message = tostring(eerr) }
        local vok, verr = pcall(env.get, "HOME")
        out.env = { ok = vok, message = tostring(verr) }
        return out
      end }
`;

let dir: string;
let node: Node;
const printed: string[] = [];
const logged: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-workers-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  node = await Node.start({
    dir,
    env: {},
    print: (text) => printed.push(text),
    log: (record) => logged.push(record.message),
  });
  node.registerFunction('app:from_typescript', (_, x) => x);
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The worker a PID of app:w2 runs on (its number mod 2), or undefined for another host. */
function workerOf(pid: unknown): number | undefined {
  const match = /^\{app:w2\|(\d+)\}$/.exec(String(pid));
  return match ? Number(match[1]) % 2 : undefined;
}

/** Runs `entry` on the main host (or `host`) and returns its value. */
async function run(
  entry: string,
  args: readonly unknown[] = [],
  host = 'luact:main',
): Promise<Record<string, unknown>> {
  const outcome = await node.run(entry, args, { timeoutMs: 15_000, host });
  if (!outcome.ok) throw outcome.error;
  return outcome.value as Record<string, unknown>;
}

describe('a process host with workers: 2', () => {
  it('runs on two worker threads, and the main thread keeps no host of it', () => {
    expect(node.workers?.threadCount).toBe(2);
    expect(node.system.hostIds()).not.toContain('app:w2');
    expect(node.system.hostIds()).toContain('app:solo');
  });

  it('runs a process exec-ed from the main host on a worker, and Node.run there', async () => {
    const outcome = await node.run('app:double', [21], { host: 'luact:main' });
    expect(outcome).toMatchObject({ ok: true, value: { value: 42 } });
    const exec = await run('app:ping_pong', [1]);
    expect(workerOf((exec.within as { pid: string }).pid)).toBeTypeOf('number');
    const direct = await node.run('app:double', [5], { host: 'app:w2' });
    expect(direct).toMatchObject({ ok: true, value: { value: 10 } });
    expect(workerOf((direct as { value: { pid: string } }).value.pid)).toBeTypeOf('number');
  });

  it('answers Node.call and Node.send from TypeScript for a process on a worker', async () => {
    const ponger = await node.spawn('app:ponger', [2], 'app:w2');
    expect(workerOf(ponger)).toBeTypeOf('number');
    expect(await node.call(ponger, 'ping', 'hello')).toBe('hello');
    await node.send(ponger, 'ping', 'no one waits for this answer');
    // Ended after two pings: a call now says so instead of waiting for its timeout.
    await expect(node.call(ponger, 'ping', 3, { timeoutMs: 10_000 })).rejects.toMatchObject({
      kind: expect.stringMatching(/NOT_FOUND|UNAVAILABLE/),
    });
  });

  it('ping-pongs within one worker and across the two', async () => {
    const { within, across } = (await run('app:ping_pong', [200])) as {
      within: { pings: number; ponger: string; pid: string };
      across: { pings: number; ponger: string; pid: string };
    };
    expect(within.pings).toBe(200);
    expect(workerOf(within.ponger)).toBe(workerOf(within.pid));
    expect(across.pings).toBe(200);
    expect(workerOf(across.ponger)).not.toBe(workerOf(across.pid));
  });

  it('keeps each sender’s order, and a monitor set before its last message, across workers', async () => {
    const result = (await run('app:order', [6, 600])) as {
      receiver: string;
      received: { count: number; problems: string };
      senders: { pid: string; kind: string; from: string; ok: boolean; error?: string }[];
    };
    expect(result.received).toEqual({ count: 3600, problems: '' });
    expect(result.senders).toHaveLength(6);
    const receiverWorker = workerOf(result.receiver);
    const crossing = result.senders.filter((s) => workerOf(s.pid) !== receiverWorker);
    const sameEngine = result.senders.filter((s) => workerOf(s.pid) === receiverWorker);
    expect(crossing.length).toBeGreaterThan(0);
    expect(sameEngine.length).toBeGreaterThan(0);
    for (const sender of result.senders)
      expect(sender).toMatchObject({ kind: 'EXIT', from: result.receiver, ok: true });
  });

  it('copies a table on send, across workers and within one', async () => {
    const { across, within } = (await run('app:copies')) as {
      across: { got: unknown };
      within: { kept: { got: unknown; pid: string }; me: string };
    };
    const original = { a: 1, nested: { b: 2 }, list: [1, 2, 3] };
    expect(across.got).toEqual(original);
    expect(within.kept.got).toEqual(original);
    expect(workerOf(within.kept.pid)).toBe(workerOf(within.me));
  });

  it('tells linked and monitoring processes of other workers and of the main thread of an end', async () => {
    const { victim, bystander, watcher, ends } = (await run('app:exits')) as {
      victim: string;
      bystander: string;
      watcher: string;
      ends: Record<string, unknown>;
    };
    expect(workerOf(bystander)).not.toBe(workerOf(victim));
    expect(workerOf(watcher)).not.toBe(workerOf(victim));
    expect(ends[victim]).toContain('boom');
    // Linked without trapping: the victim's failure ended it.
    expect(ends[bystander]).toContain('linked process failed');
    const { me, seen } = ends[watcher] as {
      me: string;
      seen: { kind: string; from: string; error: string }[];
    };
    expect(me).toBe(watcher);
    expect(seen.slice(0, 3)).toEqual(
      expect.arrayContaining([
        { kind: 'LINK_DOWN', from: victim, error: expect.stringContaining('boom') },
        { kind: 'EXIT', from: victim, error: expect.stringContaining('boom') },
        { kind: 'EXIT', from: bystander, error: expect.stringContaining('linked process failed') },
      ]),
    );
    // A monitor of a PID of the other worker that is not alive: EXIT with NOT_FOUND.
    expect(seen[3]).toMatchObject({ kind: 'EXIT', error: 'NotFound' });
    expect(workerOf(seen[3]?.from)).not.toBe(workerOf(watcher));
  });

  it('places a child on its parent’s worker, and spawns from the main thread on both', async () => {
    const { me, children } = (await run('app:parent', [8], 'app:w2')) as {
      me: string;
      children: string[];
    };
    expect(children).toHaveLength(8);
    for (const child of children) expect(workerOf(child)).toBe(workerOf(me));
    // Told to stop, the children end; then whatever else runs on the host is left as it is.
    const running = async () => (await node.processes()).filter((p) => p.host === 'app:w2');
    await expect
      .poll(async () => (await running()).filter((p) => children.includes(p.pid)).length, {
        timeout: 15_000,
      })
      .toBe(0);
    const pids = await Promise.all(
      Array.from({ length: 100 }, () => node.spawn('app:idle', [], 'app:w2')),
    );
    expect(new Set(pids).size).toBe(100);
    expect(pids.filter((pid) => workerOf(pid) === 0).length).toBeGreaterThan(0);
    expect(pids.filter((pid) => workerOf(pid) === 1).length).toBeGreaterThan(0);
    // Each spawn went where fewer ran, counting those still on their way: the two are even,
    // but for a few that a process ending meanwhile elsewhere on the host can tip.
    const after = await running();
    const onFirst = after.filter((p) => workerOf(p.pid) === 0).length;
    const onSecond = after.filter((p) => workerOf(p.pid) === 1).length;
    expect(Math.abs(onFirst - onSecond), `${onFirst} and ${onSecond}`).toBeLessThanOrEqual(4);
    await Promise.all(pids.map((pid) => node.send(pid, 'stop', true)));
  });

  it('prints and logs on the main thread in the order a worker’s process wrote', async () => {
    const pid = await run('app:chatty', [100], 'app:w2');
    expect(workerOf(pid)).toBeTypeOf('number');
    const numbers = (lines: string[], prefix: string) =>
      lines
        .filter((line) => line.startsWith(prefix))
        .map((line) => Number(line.slice(prefix.length)));
    const expected = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(numbers(printed, 'chatty ')).toEqual(expected);
    expect(numbers(logged, 'chatty log ')).toEqual(expected);
  });

  it('calls functions from a worker on the main thread, with errors and time limits', async () => {
    const result = await run('app:caller', [], 'app:w2');
    expect(workerOf(result.pid)).toBeTypeOf('number');
    expect(result).toMatchObject({ value: 21, timeout: 'Timeout' });
    expect(result.err).toContain('negative: -1');
    expect(result.late).toBeUndefined();
  });

  it('carries what a worker once refused: TypeScript functions, events, env', async () => {
    const out = (await node.run('app:unsupported', [], { host: 'app:w2' })) as {
      ok: boolean;
      value: Record<string, { ok: unknown; kind?: string; message: string }>;
    };
    expect(out.ok).toBe(true);
    const { funcs, events, env } = out.value;
    // Carried now (workers-main-services.test.ts): they run on, or ask, the main thread.
    expect(funcs).toMatchObject({ ok: 1 });
    expect(events).toMatchObject({ ok: true });
    expect(env).toMatchObject({ ok: true });
  });
});

/** Starts a node on an application of `yaml` (stopped and removed after the test). */
async function startApp(yaml: string, options: { clock?: boolean } = {}) {
  const appDir = await mkdtemp(path.join(tmpdir(), 'luact-workers-'));
  await writeFile(path.join(appDir, 'app.yaml'), yaml);
  const cleanup = async (started?: Node) => {
    await started?.stop();
    await rm(appDir, { recursive: true, force: true });
  };
  try {
    const started = await Node.start({
      dir: appDir,
      env: {},
      print: () => {},
      ...(options.clock ? { clock: new ManualClock() } : {}),
    });
    return { node: started, stop: () => cleanup(started) };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

const ONE_HOST = (fields: string) => `
namespace: app
entries:
  - name: procs
    kind: process.host
${fields}
  - name: echo
    kind: process.lua
    source: |
      return { main = function(x) return { x = x, version = 1, pid = process.pid() } end }
`;

describe('workers and the rest of the node', () => {
  it('keeps a workers: 1 node on today’s path: no threads, no links, no thread router', async () => {
    const { node: plain, stop } = await startApp(ONE_HOST(''));
    try {
      expect(plain.workers).toBeUndefined();
      expect((plain.system as unknown as { threads: unknown }).threads).toBeUndefined();
      expect((plain.system as unknown as { ids: unknown }).ids).toBeUndefined();
      expect(plain.system.hostIds()).toContain('app:procs');
      expect(await plain.run('app:echo', [1], { host: 'app:procs' })).toMatchObject({
        ok: true,
        value: { pid: expect.stringMatching(/^\{app:procs\|\d+\}$/) },
      });
    } finally {
      await stop();
    }
  });

  it('runs as many threads as the machine has cores, and says so', async () => {
    const cores = availableParallelism();
    const { node: clamped, stop } = await startApp(
      ONE_HOST(`    host:\n      workers: ${cores + 3}`),
    );
    try {
      expect(clamped.workers?.threadCount ?? 1).toBe(cores);
      expect(clamped.warnings).toContainEqual(
        expect.objectContaining({
          severity: 'warning',
          entry: 'app:procs',
          field: 'host.workers',
          message: expect.stringContaining(`the host runs on ${cores} worker threads`),
        }),
      );
    } finally {
      await stop();
    }
  });

  it('gives workers each registry change, and changes a worker host while running', async () => {
    const { node: live, stop } = await startApp(ONE_HOST('    host:\n      workers: 2'));
    try {
      const changed = live.applyChanges([
        {
          op: 'update',
          definition: {
            namespace: 'app',
            name: 'echo',
            kind: 'process.lua',
            fields: { source: 'return { main = function(x) return { x = x, version = 2 } end }' },
          },
        },
      ]);
      expect(changed.ok).toBe(true);
      // Both workers run the new version (spawns from the main thread alternate between them).
      for (const x of [1, 2])
        expect(await live.run('app:echo', [x], { host: 'app:procs' })).toEqual({
          ok: true,
          value: { x, version: 2 },
        });
      const changedHost = live.applyChanges([
        {
          op: 'update',
          definition: {
            namespace: 'app',
            name: 'procs',
            kind: 'process.host',
            fields: { host: { workers: 2, max_processes: 10 } },
          },
        },
      ]);
      // As a host of the main thread: removed and started again (workers-runtime-hosts.test.ts).
      expect(changedHost).toMatchObject({ ok: true });
      await expect
        .poll(async () => (await live.run('app:echo', [3], { host: 'app:procs' })).ok, {
          timeout: 20_000,
        })
        .toBe(true);
    } finally {
      await stop();
    }
  });

  it('refuses worker threads with an injected clock (it cannot cross threads)', async () => {
    await expect(
      startApp(ONE_HOST('    host:\n      workers: 2'), { clock: true }),
    ).rejects.toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('injected clock'),
    });
  });
});

describe('a service on a host with workers: 2', () => {
  it('runs on a worker, is restarted when it fails, and stops cleanly', async () => {
    const appDir = await mkdtemp(path.join(tmpdir(), 'luact-workers-'));
    const lines: string[] = [];
    await writeFile(
      path.join(appDir, 'app.yaml'),
      `
namespace: app
entries:
  - name: w2
    kind: process.host
    host: { workers: 2 }
  - name: steady
    kind: process.lua
    source: |
      return { main = function()
        print("steady up on " .. process.pid())
        local event = process.events():receive()
        print("steady got " .. event.kind)
        return "stopped"
      end }
  - name: flaky
    kind: process.lua
    source: |
      return { main = function()
        print("flaky up on " .. process.pid())
        error("flaky fails")
      end }
  - name: steady_service
    kind: process.service
    process: steady
    host: w2
    lifecycle: { auto_start: true }
  - name: flaky_service
    kind: process.service
    process: flaky
    host: w2
    lifecycle: { auto_start: true, restart: { initial_delay: 20ms, max_delay: 20ms } }
`,
    );
    const started = await Node.start({ dir: appDir, env: {}, print: (text) => lines.push(text) });
    try {
      await started.startServices();
      const deadline = Date.now() + 10_000;
      while (
        lines.filter((line) => line.startsWith('flaky up')).length < 3 &&
        Date.now() < deadline
      )
        await new Promise((resolve) => setTimeout(resolve, 20));
      const flakyPids = lines
        .filter((l) => l.startsWith('flaky up'))
        .map((l) => /\{.*\}/.exec(l)?.[0]);
      expect(flakyPids.length).toBeGreaterThanOrEqual(3);
      expect(new Set(flakyPids).size).toBe(flakyPids.length);
      for (const pid of flakyPids) expect(workerOf(pid)).toBeTypeOf('number');
      const steady = started.services.list().find((s) => s.id === 'app:steady_service');
      expect(steady?.state).toBe('running');
      const steadyPid = /\{.*\}/.exec(lines.find((l) => l.startsWith('steady up')) ?? '')?.[0];
      expect(workerOf(steadyPid)).toBeTypeOf('number');
      const stopped = await started.stop();
      expect(stopped.clean).toBe(true);
      expect(lines).toContain('steady got CANCEL');
    } finally {
      await started.stop();
      await rm(appDir, { recursive: true, force: true });
    }
  });
});

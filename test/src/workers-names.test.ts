import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Node } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * Process names on a node whose host `app:w2` runs on two worker threads: registered, looked
 * up, sent to and released from and for processes of either worker and of the main thread,
 * with one holder per name across the threads.
 */

const APP = `
namespace: app
entries:
  - name: w2
    kind: process.host
    host:
      workers: 2

  - name: idle
    kind: process.lua
    source: |
      return { main = function() process.listen("stop"):receive() end }

  # A process of app:w2 that waits to be told what to be (see two_workers below).
  - name: shell
    kind: process.lua
    source: |
      local roles = {}
      -- Registers name, says how it went, then answers pings with its PID until stopped.
      function roles.holder(name, report)
        local ok, err = process.registry.register(name)
        process.send(report, "registered", { ok = ok, err = err and err:kind(), pid = process.pid() })
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return end
          process.send(msg:from(), "pong", process.pid())
        end
      end
      -- Looks name up, pings it by name, says what it found.
      function roles.asker(name, report)
        local found = process.registry.lookup(name)
        local sent, err = process.send(name, "ping", true)
        local pong = sent and process.listen("pong"):receive() or nil
        process.send(report, "asked", { found = found, pong = pong, err = err and err:kind() })
      end
      -- Registers name when told to go, says how it went and whom its thread finds as name.
      function roles.racer(name, report)
        process.listen("go"):receive()
        local ok, err = process.registry.register(name)
        process.send(report, "raced", { ok = ok, err = err and err:kind(), pid = process.pid(),
                                        seen = process.registry.lookup(name) })
        process.listen("stop"):receive()
      end
      -- Watches pid end, then looks name up, sends to it, and registers it when told to go.
      function roles.heir(name, pid, report)
        local events = process.events()
        process.monitor(pid)
        process.send(report, "watching", true)
        events:receive()
        local before = process.registry.lookup(name)
        local sent, serr = process.send(name, "ping", true)
        process.listen("go"):receive()
        local ok, err = process.registry.register(name)
        process.send(report, "inherited", { before = before, sent = sent, serr = serr and serr:kind(),
          ok = ok, err = err and err:kind(), pid = process.pid(), after = process.registry.lookup(name) })
        process.listen("stop"):receive()
      end
      -- Spawns a named idle child on its own host (its own worker) and reports it.
      function roles.namer(name, report)
        local pid, err = process.with_name(name):spawn("app:idle", "app:w2")
        local again, aerr = process.with_name(name):spawn("app:idle", "app:w2")
        process.send(report, "named", { pid = pid, err = err and err:kind(), found = process.registry.lookup(name),
                                        again = again, again_err = aerr and aerr:kind() })
      end
      -- Registers name, then counts numbered mail until "done": what came out of order.
      function roles.counter(name, report)
        assert(process.registry.register(name))
        process.send(report, "counting", true)
        local inbox, last, problems = process.inbox(), 0, 0
        while true do
          local msg = inbox:receive()
          if msg:topic() == "done" then
            process.send(report, "counted", { last = last, problems = problems })
            return
          end
          if msg:payload():data() ~= last + 1 then problems = problems + 1 end
          last = msg:payload():data()
        end
      end
      -- Sends n numbered messages to name's holder, by name and by PID in turn.
      function roles.mixed(name, n)
        local pid = process.registry.lookup(name)
        for i = 1, n do
          local ok, err = process.send(i % 2 == 0 and name or pid, "n", i)
          if not ok then error(err) end
        end
        process.send(name, "done", n)
      end
      -- Gives names to processes of other threads, and says how it went.
      function roles.giver(report, ...)
        local out = {}
        for i, pid in ipairs({ ... }) do
          local name = "given" .. i
          local ok, err = process.registry.register(name, pid)
          out[i] = { ok = ok, err = err and err:kind(), found = process.registry.lookup(name) }
        end
        process.send(report, "given", out)
      end
      function roles.quit() end
      return { main = function()
        local order = process.listen("become"):receive()
        local role = table.remove(order, 1)
        return roles[role](table.unpack(order))
      end }

  - name: shells
    kind: library.lua
    source: |
      local M = {}
      function M.worker(pid) return tonumber(pid:match("|(%d+)}")) % 2 end
      -- A shell on each worker of app:w2 (spawns from another host go to the least loaded one).
      function M.two_workers()
        local on = {}
        for _ = 1, 20 do
          local pid = process.spawn("app:shell", "app:w2")
          if on[M.worker(pid)] == nil then on[M.worker(pid)] = pid
          else process.send(pid, "become", { "quit" }) end
          if on[0] and on[1] then return on[0], on[1] end
        end
        error("20 spawns from the main thread all landed on one worker")
      end
      return M

  # A name registered on one worker: looked up and sent to from the other and from main,
  # released when its holder ends and taken again by a process of the other worker.
  - name: across
    kind: process.lua
    imports:
      shells: app:shells
    source: |
      local shells = require("shells")
      return { main = function()
        local me = process.pid()
        local a, b = shells.two_workers()
        process.send(a, "become", { "holder", "cashier", me })
        local registered = process.listen("registered"):receive()
        process.send(b, "become", { "asker", "cashier", me })
        local asked = process.listen("asked"):receive()
        local found_here = process.registry.lookup("cashier")
        assert(process.send("cashier", "ping", true))
        local pong_here = process.listen("pong"):receive()
        local spare, heir = shells.two_workers()
        process.send(spare, "become", { "quit" })
        process.send(heir, "become", { "heir", "cashier", a, me })
        process.listen("watching"):receive()
        local events = process.events()
        process.monitor(a)
        process.send("cashier", "stop", true)
        events:receive()
        local after_end, gone = process.registry.lookup("cashier")
        process.send(heir, "go", true)
        local inherited = process.listen("inherited"):receive()
        local now = process.registry.lookup("cashier")
        process.send(heir, "stop", true)
        return { registered = registered, asked = asked, found_here = found_here,
                 pong_here = pong_here, holder = a, after_end = after_end,
                 gone = gone and gone:kind(), inherited = inherited, now = now }
      end }

  # Two processes on two workers register one name at once.
  - name: race
    kind: process.lua
    imports:
      shells: app:shells
    source: |
      local shells = require("shells")
      return { main = function(name)
        local me = process.pid()
        local a, b = shells.two_workers()
        process.send(a, "become", { "racer", name, me })
        process.send(b, "become", { "racer", name, me })
        process.send(a, "go", true)
        process.send(b, "go", true)
        local results = process.listen("raced")
        local first, second = results:receive(), results:receive()
        local holder = process.registry.lookup(name)
        process.send(a, "stop", true)
        process.send(b, "stop", true)
        return { first = first, second = second, holder = holder }
      end }

  # Mail by name and by PID from one worker to a process of the other keeps its order.
  - name: order
    kind: process.lua
    imports:
      shells: app:shells
    source: |
      local shells = require("shells")
      return { main = function(n)
        local a, b = shells.two_workers()
        process.send(b, "become", { "counter", "orderly", process.pid() })
        process.listen("counting"):receive()
        process.send(a, "become", { "mixed", "orderly", n })
        return process.listen("counted"):receive()
      end }

  # A worker's process gives names to a process of the other worker and to one of main.
  - name: giving
    kind: process.lua
    imports:
      shells: app:shells
    source: |
      local shells = require("shells")
      return { main = function()
        local a, b = shells.two_workers()
        local on_b = process.spawn("app:idle", "app:w2")
        while shells.worker(on_b) ~= 1 do
          process.send(on_b, "stop", true)
          on_b = process.spawn("app:idle", "app:w2")
        end
        local on_main = process.spawn("app:idle", "luact:main")
        process.send(b, "become", { "quit" })
        process.send(a, "become", { "giver", process.pid(), on_b, on_main, "{app:w2|999998}" })
        local given = process.listen("given"):receive()
        local found = { process.registry.lookup("given1"), process.registry.lookup("given2") }
        local events = process.events()
        process.monitor(on_b)
        process.monitor(on_main)
        process.send(on_b, "stop", true)
        process.send(on_main, "stop", true)
        events:receive()
        events:receive()
        local gone = process.registry.lookup("given1") == nil and process.registry.lookup("given2") == nil
        return { a = a, on_b = on_b, on_main = on_main, given = given, found = found, gone = gone }
      end }

  # Names given from the main thread to a worker's process and released there again.
  - name: for_worker
    kind: process.lua
    source: |
      return { main = function()
        local pid = process.spawn("app:idle", "app:w2")
        local ok, err = process.registry.register("given", pid)
        local found = process.registry.lookup("given")
        local dropped = process.registry.unregister("given")
        local after = process.registry.lookup("given")
        local again, again_err = process.registry.unregister("given")
        process.send(pid, "stop", true)
        return { pid = pid, ok = ok, err = err and err:kind(), found = found, dropped = dropped,
                 after = after, again = again, again_err = again_err and again_err:kind() }
      end }

  # with_name onto the worker host from the main thread, and from a worker's process onto its
  # own host (its own worker).
  - name: with_name
    kind: process.lua
    imports:
      shells: app:shells
    source: |
      local shells = require("shells")
      return { main = function()
        local pid, err = process.with_name("from_main"):spawn("app:idle", "app:w2")
        local found = process.registry.lookup("from_main")
        local again, again_err = process.with_name("from_main"):spawn("app:idle", "app:w2")
        local a, spare = shells.two_workers()
        process.send(spare, "become", { "quit" })
        process.send(a, "become", { "namer", "from_worker", process.pid() })
        local named = process.listen("named"):receive()
        local here = process.registry.lookup("from_worker")
        process.send(pid, "stop", true)
        process.send("from_worker", "stop", true)
        return { pid = pid, err = err and err:kind(), found = found, again = again,
                 again_err = again_err and again_err:kind(), namer = a, named = named, here = here }
      end }
`;

let dir: string;
let node: Node;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-workers-names-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  node = await Node.start({ dir, env: {}, print: () => {} });
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The worker a PID of app:w2 runs on, or undefined for another host. */
function workerOf(pid: unknown): number | undefined {
  const match = /^\{app:w2\|(\d+)\}$/.exec(String(pid));
  return match ? Number(match[1]) % 2 : undefined;
}

async function run(entry: string, args: readonly unknown[] = []) {
  const outcome = await node.run(entry, args, { timeoutMs: 15_000 });
  if (!outcome.ok) throw outcome.error;
  return outcome.value as Record<string, unknown>;
}

describe('process names across worker threads', () => {
  it('finds a name a worker’s process registered from the other worker and from main, and frees it at its end', async () => {
    const out = await run('app:across');
    const holder = out.holder as string;
    expect(workerOf(holder)).toBe(0);
    expect(out.registered).toMatchObject({ ok: true, pid: holder });
    expect(out.asked).toEqual({ found: holder, pong: holder });
    expect(out.found_here).toBe(holder);
    expect(out.pong_here).toBe(holder);
    // The holder ended: its name is gone for main at once, and another worker's process takes it.
    expect(out.after_end).toBeUndefined();
    expect(out.gone).toBe('NotFound');
    const inherited = out.inherited as Record<string, unknown>;
    expect(workerOf(inherited.pid)).toBe(1);
    expect(inherited).toMatchObject({ ok: true, after: inherited.pid });
    expect(inherited.before).toBeUndefined();
    expect(inherited.sent).toBeUndefined();
    expect(inherited.serr).toBe('NotFound');
    expect(out.now).toBe(inherited.pid);
  });

  it('gives a name two processes of two workers race for to exactly one, and every thread agrees', async () => {
    for (let round = 0; round < 5; round++) {
      const name = `prize${round}`;
      const out = await run('app:race', [name]);
      const results = [out.first, out.second] as Record<string, unknown>[];
      const winners = results.filter((r) => r.ok === true);
      const losers = results.filter((r) => r.ok !== true);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const winner = winners[0]?.pid;
      expect(losers[0]).toMatchObject({ err: 'AlreadyExists', seen: winner });
      expect(winners[0]?.seen).toBe(winner);
      expect(out.holder).toBe(winner);
      expect(workerOf(winner)).toBeTypeOf('number');
    }
  });

  it('keeps the order of one sender’s mail by name and by PID across workers', async () => {
    expect(await run('app:order', [3000])).toEqual({ last: 3000, problems: 0 });
  });

  it('lets a worker’s process name a process of the other worker and one of main, until they end', async () => {
    const out = await run('app:giving');
    expect(workerOf(out.a)).toBe(0);
    expect(workerOf(out.on_b)).toBe(1);
    const given = out.given as Record<string, unknown>[];
    expect(given[0]).toEqual({ ok: true, found: out.on_b });
    expect(given[1]).toEqual({ ok: true, found: out.on_main });
    // A PID of a worker that never ran: the process has ended, as on one thread.
    expect(given[2]).toMatchObject({ err: 'NotFound' });
    expect(out.found).toEqual([out.on_b, out.on_main]);
    expect(out.gone).toBe(true);
  });

  it('lets the main thread register and unregister a name for a worker’s process', async () => {
    const out = await run('app:for_worker');
    expect(workerOf(out.pid)).toBeTypeOf('number');
    expect(out).toMatchObject({ ok: true, found: out.pid, dropped: true, again_err: 'NotFound' });
    expect(out.after).toBeUndefined();
  });

  it('spawns with a name onto a worker host: with_name from main and from a worker, Node.spawn', async () => {
    const out = await run('app:with_name');
    expect(workerOf(out.pid)).toBeTypeOf('number');
    expect(out).toMatchObject({ found: out.pid, again_err: 'AlreadyExists' });
    expect(out.again).toBeUndefined();
    const named = out.named as Record<string, unknown>;
    // A process's child on its own host stays on its worker, under the name.
    expect(workerOf(named.pid)).toBe(workerOf(out.namer));
    expect(named).toMatchObject({ found: named.pid, again_err: 'AlreadyExists' });
    expect(out.here).toBe(named.pid);

    const pid = await node.spawn('app:idle', [], { host: 'app:w2', name: 'typescript' });
    expect(workerOf(pid)).toBeTypeOf('number');
    expect(node.system.lookupName('typescript')).toBe(pid);
    await expect(
      node.spawn('app:idle', [], { host: 'app:w2', name: 'typescript' }),
    ).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
    await node.send('typescript', 'stop', true);
  });
});

describe('names of a worker thread that is lost', () => {
  it('are free again, and later names are not held up by the lost thread', async () => {
    const appDir = await mkdtemp(path.join(tmpdir(), 'luact-workers-names-'));
    await writeFile(path.join(appDir, 'app.yaml'), APP);
    const started = await Node.start({ dir: appDir, env: {}, print: () => {}, log: () => {} });
    try {
      const first = await started.spawn('app:idle', [], { host: 'app:w2', name: 'one' });
      const second = await started.spawn('app:idle', [], { host: 'app:w2', name: 'two' });
      expect([workerOf(first), workerOf(second)].sort()).toEqual([0, 1]);
      const [onZero, onOne] = workerOf(first) === 0 ? ['one', 'two'] : ['two', 'one'];
      const running = (
        started.workers as unknown as { running: Map<string, { terminate(): Promise<number> }> }
      ).running;
      await running.get('app:w2#0')?.terminate();
      // The lost thread's names go with it (it is replaced meanwhile: spawns go to worker 1).
      await vi.waitFor(
        () => expect(started.system.lookupName(onZero)).toMatchObject({ kind: 'NOT_FOUND' }),
        { timeout: 10_000, interval: 20 },
      );
      expect(workerOf(started.system.lookupName(onOne))).toBe(1);
      const again = await started.spawn('app:idle', [], { host: 'app:w2', name: onZero });
      expect(workerOf(again)).toBe(1);
      expect(started.system.lookupName(onZero)).toBe(again);
      // A main-thread process's name is given by the main thread alone, the lost one not waited for.
      const onMain = await started.spawn('app:idle', [], { name: 'on_main' });
      expect(started.system.lookupName('on_main')).toBe(onMain);
    } finally {
      await started.stop();
      await rm(appDir, { recursive: true, force: true });
    }
  });
});

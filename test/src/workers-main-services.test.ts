import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LuactError } from '@luact/core';
import { Node } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * What the node keeps on its main thread (env storages, the event bus, the services), used by
 * processes on worker threads (`workers: 2`), against real threads: each call asks the main
 * thread through the thread link and the process waits for the answer.
 */

const APP = `
namespace: app
entries:
  - name: w2
    kind: process.host
    host: { workers: 2 }
  - name: solo
    kind: process.host
    host: { workers: 1 }
  - name: few
    kind: process.host
    host: { workers: 2, max_processes: 2 }

  - name: memory
    kind: env.storage.memory
  - { name: shared, kind: env.variable, variable: APP_SHARED, storage: memory }
  - { name: fixed, kind: env.variable, variable: APP_FIXED, storage: memory, default: "d" }

  - name: env_user
    kind: process.lua
    modules: [env]
    source: |
      local env = require("env")
      return { main = function(value)
        local before = env.get("APP_SHARED")
        if value ~= nil then assert(env.set("APP_SHARED", value)) end
        local _, missing = env.get("APP_NOWHERE")
        return { before = before, after = env.get("shared"), fixed = env.get("APP_FIXED"),
                 all = env.get_all(), missing = missing and missing:kind(), pid = process.pid() }
      end }

  # Publishes n numbered events under its own path.
  - name: publisher
    kind: process.lua
    modules: [events]
    source: |
      local events = require("events")
      return { main = function(path, n)
        for i = 1, n do assert(events.send("app", "tick", path, i)) end
      end }

  # Subscribes, then has publishers on the main thread and on its own worker send, and sends too.
  - name: listener
    kind: process.lua
    modules: [events]
    source: |
      local events = require("events")
      return { main = function(n)
        local sub = assert(events.subscribe("app", "tick"))
        process.spawn("app:publisher", "app:solo", "main", n)
        process.spawn("app:publisher", "app:w2", "worker", n)
        for i = 1, n do assert(events.send("app", "tick", "self", i)) end
        local next, seen = {}, 0
        while seen < 3 * n do
          local event = sub:channel():receive()
          local expected = (next[event.path] or 0) + 1
          if event.data ~= expected then
            error(event.path .. ": event " .. tostring(event.data) .. " where " .. expected .. " was due")
          end
          next[event.path] = expected
          seen = seen + 1
        end
        return { main = next.main, worker = next.worker, self = next.self, pid = process.pid() }
      end }

  - name: services_reader
    kind: process.lua
    modules: [supervisor]
    source: |
      local supervisor = require("supervisor")
      return { main = function()
        local status = assert(supervisor.status("steady_service"))
        local _, missing = supervisor.status("nothing_like_it")
        local list = supervisor.list()
        return { state = status.state, missing = missing:kind(),
                 listed = list["app:steady_service"] ~= nil, pid = process.pid() }
      end }

  # Calls a TypeScript function and a process function of a host on the main thread.
  - name: caller
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(x)
        local ts = assert(funcs.new():with_context({ tag = "ctx" }):call("app:from_typescript", x))
        local _, failed = funcs.call("app:failing_typescript")
        local doubled = assert(funcs.call("app:doubles", x))
        local _, unknown = funcs.call("app:nobody_has_this")
        return { ts = ts, failed = failed:message(), doubled = doubled,
                 unknown = unknown:kind(), pid = process.pid() }
      end }
  # Calls a TypeScript function that never answers by itself: with a time limit, then canceled.
  - name: impatient_caller
    kind: process.lua
    modules: [funcs, time]
    source: |
      local funcs = require("funcs")
      local time = require("time")
      return { main = function()
        local _, late = funcs.new():with_options({ timeout = 50 }):call("app:slow_typescript")
        local f = funcs.async("app:slow_typescript")
        time.sleep("20ms")
        local canceled = f:cancel()
        return { late = late:kind(), message = late:message(), canceled = canceled,
                 after_cancel = f:channel():receive():kind() }
      end }
  - name: doubles
    kind: process.lua
    meta: { default_host: app:solo }
    source: |
      return { main = function(x) return { value = x * 2, pid = process.pid() } end }
  - name: doubles_on_workers
    kind: process.lua
    meta: { default_host: app:w2 }
    source: |
      return { main = function(x) return { value = x * 2, pid = process.pid() } end }
  - name: main_caller
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(x) return assert(funcs.call("app:doubles_on_workers", x)) end }

  - name: io_user
    kind: process.lua
    modules: [io]
    source: |
      local io = require("io")
      return { main = function()
        local ok, err = io.write("x")
        return { ok = ok, kind = err and err:kind(), message = err and err:message() }
      end }

  - name: flows
    kind: workflow.host
  - name: square
    kind: workflow.lua
    meta: { host: app:flows }
    source: "return { main = function(x) return x * x end }"
  # Adds up "add" messages until "done".
  - name: collector
    kind: workflow.lua
    meta: { host: app:flows }
    source: |
      return { main = function()
        local inbox, total = process.inbox(), 0
        while true do
          local msg = inbox:receive()
          if msg:topic() == "done" then return total end
          total = total + msg:payload():data()
        end
      end }
  - name: patient
    kind: workflow.lua
    meta: { host: app:flows }
    source: |
      return { main = function() return process.events():receive().kind end }
  # Monitors a process (of a worker thread), tells it to end, returns how it ended.
  - name: watcher
    kind: workflow.lua
    meta: { host: app:flows }
    source: |
      return { main = function(pid)
        process.monitor(pid)
        process.send(pid, "end", "bye")
        local exit = process.events():receive()
        return { kind = exit.kind, from = exit.from, value = exit.result.value }
      end }

  # A process of a worker host using workflows.
  - name: flow_user
    kind: process.lua
    source: |
      return { main = function()
        local squared = assert(process.exec("app:square", "app:flows", 7))
        local collector = assert(process.spawn_monitored("app:collector", "app:flows"))
        for i = 1, 3 do assert(process.send(collector, "add", i)) end
        assert(process.send(collector, "done", true))
        local exit = process.events():receive()
        local patient = assert(process.spawn_monitored("app:patient", "app:flows"))
        assert(process.cancel(patient, "enough"))
        local canceled = process.events():receive()
        return { squared = squared, total = exit.result.value, collector = collector,
                 canceled = canceled.result.value, pid = process.pid() }
      end }
  # Started by a workflow's watch: ends when told.
  - name: watched
    kind: process.lua
    source: |
      return { main = function() return process.listen("end"):receive() end }

  # Reads the registry, applies a change, and reads it back.
  - name: registry_user
    kind: process.lua
    modules: [registry]
    source: |
      local registry = require("registry")
      return { main = function(text)
        local before = registry.current_version():id()
        local kind = assert(registry.get("app:io_user")).kind
        local _, missing = registry.get("app:nothing_like_it")
        local changes = registry.snapshot():changes()
        changes:create({ id = "app:greeting", kind = "registry.entry", meta = { type = "text" },
                         data = { text = text } })
        local after = assert(changes:apply())
        local previous = after:previous()
        return { before = before, after = after:id(), previous = previous and previous:id(),
                 kind = kind, missing = missing:kind(),
                 greeting = assert(registry.get("app:greeting")).data.text,
                 versions = #registry.versions(), pid = process.pid() }
      end }

  - name: error_with_cause
    kind: process.lua
    source: |
      return { main = function()
        return nil, errors.new{ kind = errors.UNAVAILABLE, message = "upstream down",
          details = { cause = errors.new{ kind = errors.TIMEOUT, message = "no answer" } } }
      end }

  - name: steady
    kind: process.lua
    source: |
      return { main = function() process.listen("stop"):receive() end }
  - name: steady_service
    kind: process.service
    process: steady
    host: solo
    lifecycle: { auto_start: true }
`;

let dir: string;
let node: Node;
/** How each call of app:slow_typescript on main was stopped (kind: message). */
const slowCallsStopped: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-workers-main-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  node = await Node.start({ dir, env: {}, print: () => {} });
  node.registerFunction('app:from_typescript', (call, x) => ({
    x,
    caller: call.caller,
    tag: call.context.tag,
  }));
  node.registerFunction('app:failing_typescript', () => {
    throw new Error('it failed on main');
  });
  node.registerFunction(
    'app:slow_typescript',
    (call) =>
      new Promise((resolve) => {
        const late = setTimeout(() => resolve('late'), 10_000);
        call.signal.addEventListener('abort', () => {
          clearTimeout(late);
          const { kind, message } = LuactError.from(call.signal.reason);
          slowCallsStopped.push(`${kind}: ${message}`);
          resolve('after the end');
        });
      }),
  );
  await node.startServices();
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(entry: string, args: readonly unknown[], host: string) {
  const outcome = await node.run(entry, args, { timeoutMs: 15_000, host });
  if (!outcome.ok) throw outcome.error;
  return outcome.value as Record<string, unknown>;
}

const onWorker = (pid: unknown) => expect(String(pid)).toMatch(/^\{app:w2\|\d+\}$/);

describe('the main thread services of processes on worker threads', () => {
  it('env: one set of storages for every thread, errors as on the main thread', async () => {
    const set = await run('app:env_user', ['from a worker'], 'app:w2');
    onWorker(set.pid);
    expect(set).toMatchObject({ after: 'from a worker', fixed: 'd', missing: 'NotFound' });
    expect(set.all).toMatchObject({ APP_SHARED: 'from a worker', APP_FIXED: 'd' });
    // The main thread's processes see what a worker's process stored, and the other way round.
    const read = await run('app:env_user', ['from main'], 'app:solo');
    expect(read).toMatchObject({ before: 'from a worker', after: 'from main' });
    const back = await run('app:env_user', [], 'app:w2');
    expect(back).toMatchObject({ before: 'from main', after: 'from main' });
  });

  it('events: a worker process subscribes and gets every publisher’s events in order', async () => {
    const before = node.events.size;
    const got = await run('app:listener', [200], 'app:w2');
    onWorker(got.pid);
    expect(got).toMatchObject({ main: 200, worker: 200, self: 200 });
    // The subscription ended with its process: main forwards nothing to the worker any more.
    const deadline = Date.now() + 5_000;
    while (node.events.size > before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(node.events.size).toBe(before);
  });

  it('events: a worker process’s events reach the main thread’s subscribers', async () => {
    const seen: unknown[] = [];
    const unsubscribe = node.events.subscribe(
      { text: 'app', matches: (s) => s === 'app' },
      undefined,
      (event) => {
        seen.push(event.path);
        return true;
      },
    );
    try {
      await run('app:publisher', ['from-worker', 3], 'app:w2');
      expect(seen).toEqual(['from-worker', 'from-worker', 'from-worker']);
    } finally {
      unsubscribe();
    }
  });

  it('supervisor: a worker process reads the node’s service states', async () => {
    const got = await run('app:services_reader', [], 'app:w2');
    onWorker(got.pid);
    expect(got).toMatchObject({ state: 'running', missing: 'NotFound', listed: true });
  });

  it('registry: a worker process reads the node’s registry and changes it', async () => {
    const before = node.registry.snapshot.version;
    const got = await run('app:registry_user', ['hello from a worker'], 'app:w2');
    onWorker(got.pid);
    expect(got).toMatchObject({
      before,
      after: before + 1,
      previous: before,
      kind: 'process.lua',
      missing: 'NotFound',
      greeting: 'hello from a worker',
    });
    expect(node.registry.snapshot.version).toBe(before + 1);
    expect(node.registry.snapshot.get('app:greeting')).toBeDefined();
  });

  it('io: answers as on any host that is not a terminal.host', async () => {
    const got = await run('app:io_user', [], 'app:w2');
    expect(got).toMatchObject({ kind: 'Unavailable' });
    expect(got.message).toContain('no terminal context');
  });
});

describe('function calls from a process on a worker thread', () => {
  it('run TypeScript functions and process functions where they are registered or hosted', async () => {
    const got = await run('app:caller', [21], 'app:w2');
    onWorker(got.pid);
    expect(got.ts).toEqual({ x: 21, caller: got.pid, tag: 'ctx' });
    expect(got.failed).toContain('it failed on main');
    expect(got.doubled).toMatchObject({ value: 42, pid: expect.stringMatching(/^\{app:solo\|/) });
    expect(got.unknown).toBe('NotFound');
  });

  it('time out and cancel a TypeScript function’s call, which main stops too', async () => {
    const got = await run('app:impatient_caller', [], 'app:w2');
    expect(got).toEqual({
      late: 'Timeout',
      message: 'call of app:slow_typescript timed out after 50 ms',
      canceled: true,
      after_cancel: 'Canceled',
    });
    // Main hears of both as a cancel from the worker, the first one saying why.
    await vi.waitFor(() =>
      expect(slowCallsStopped).toEqual([
        'CANCELED: call of app:slow_typescript timed out after 50 ms',
        'CANCELED: call canceled',
      ]),
    );
  });

  it('run a process function of a worker host called from the main thread there', async () => {
    const got = await run('app:main_caller', [5], 'app:solo');
    expect(got).toMatchObject({ value: 10 });
    onWorker(got.pid);
  });
});

describe('workflows and processes on worker threads', () => {
  it('a worker process spawns, sends to, cancels and monitors workflows', async () => {
    const got = await run('app:flow_user', [], 'app:w2');
    onWorker(got.pid);
    expect(got).toMatchObject({ squared: 49, total: 6, canceled: 'CANCEL' });
    expect(String(got.collector)).toMatch(/^\{app:flows\|/);
  });

  it('a workflow monitors a process of a worker thread and sees it end', async () => {
    const pid = await node.spawn('app:watched', [], { host: 'app:w2' });
    onWorker(pid);
    const outcome = await node.run('app:watcher', [pid], { timeoutMs: 15_000 });
    expect(outcome).toMatchObject({ ok: true, value: { kind: 'EXIT', from: pid, value: 'bye' } });
  });
});

describe('errors that cross threads', () => {
  it('keep the errors in their details, kind and message', async () => {
    const outcome = await node.run('app:error_with_cause', [], {
      host: 'app:w2',
      timeoutMs: 15_000,
    });
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: LuactError }).error;
    expect(error).toMatchObject({ kind: 'UNAVAILABLE', message: 'upstream down' });
    expect(error.details?.cause).toBeInstanceOf(LuactError);
    expect(error.details?.cause).toMatchObject({ kind: 'TIMEOUT', message: 'no answer' });
  });
});

describe('limits of a host on worker threads', () => {
  it('max_processes counts the processes of all its threads', async () => {
    const first = await node.spawn('app:watched', [], { host: 'app:few' });
    const second = await node.spawn('app:watched', [], { host: 'app:few' });
    // Spawns from main go to the least loaded thread: one each, and the third is refused.
    expect(new Set([first, second].map((pid) => Number(/\|(\d+)\}/.exec(pid)?.[1]) % 2)).size).toBe(
      2,
    );
    await expect(node.spawn('app:watched', [], { host: 'app:few' })).rejects.toMatchObject({
      kind: 'RATE_LIMITED',
    });
    // Once one has ended, there is room again.
    await node.send(first, 'end', 'done');
    let third: string | undefined;
    const deadline = Date.now() + 10_000;
    while (third === undefined && Date.now() < deadline) {
      third = await node.spawn('app:watched', [], { host: 'app:few' }).catch(() => undefined);
      if (third === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(third).toMatch(/^\{app:few\|/);
    for (const pid of [second, third as string]) await node.send(pid, 'end', 'done');
  });
});

describe('the LUACT_WORKERS switch (NodeOptions.workers)', () => {
  it('puts the main host and every process.host without workers on worker threads', async () => {
    const appDir = await mkdtemp(path.join(tmpdir(), 'luact-workers-switch-'));
    await writeFile(
      path.join(appDir, 'app.yaml'),
      `
namespace: app
entries:
  - { name: plain, kind: process.host }
  - { name: one, kind: process.host, host: { workers: 1 } }
  - name: where
    kind: process.lua
    source: |
      return { main = function() return process.pid() end }
`,
    );
    const started = await Node.start({ dir: appDir, env: {}, print: () => {}, workers: 2 });
    try {
      expect(started.workers?.runs('luact:main')).toBe(true);
      expect(started.workers?.runs('app:plain')).toBe(true);
      expect(started.workers?.runs('app:one')).toBe(false);
      expect(started.system.hostIds()).toContain('app:one');
      expect(started.system.hostIds()).not.toContain('luact:main');
      expect(started.workers?.threadCount).toBe(4);
      const ran = await started.run('app:where', [], { timeoutMs: 15_000 });
      expect(ran).toMatchObject({ ok: true, value: expect.stringMatching(/^\{luact:main\|/) });
    } finally {
      await started.stop();
      await rm(appDir, { recursive: true, force: true });
    }
  });
});

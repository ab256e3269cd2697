import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { entryId } from '@luact/core';
import type { Change } from '@luact/registry';
import { Node } from '@luact/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './luact-cli.js';
import { PONGER_ENTRY } from './worker-entries.js';

/**
 * A process host with `workers: 2` added while the node runs (Node.applyChanges), against real
 * threads: its threads start and link to every thread of the node, as at start.
 */

const APP = (hostFields: string) => `
namespace: app
entries:
  - name: w2
    kind: process.host
${hostFields}

  - name: double
    kind: process.lua
    source: |
      return { main = function(x) return { value = x * 2, pid = process.pid() } end }

  - name: ts_caller
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(x)
        local value, err = funcs.call("app:from_typescript", x)
        if err then error(err) end
        return { value = value, pid = process.pid() }
      end }

  # Spawns app:ts_caller onto \`host\`, monitored, and reports how it ended.
  - name: ts_relay
    kind: process.lua
    source: |
      return { main = function(host, x)
        local events = process.events()
        local child, err = process.spawn_monitored("app:ts_caller", host, x)
        if not child then return { spawn = err:message() } end
        local e = events:receive()
        return { value = e.result.value, error = e.result.error and e.result.error:message() }
      end }

  - name: sleeper
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function() time.sleep("300ms") end }

  - name: idle
    kind: process.lua
    source: |
      return { main = function() process.listen("stop"):receive() end }

  # Spawns n idle processes on \`host\`, monitored, and reports their EXITs; then spawns there again.
  - name: watcher
    kind: process.lua
    source: |
      return { main = function(host, n)
        local events = process.events()
        local pids = {}
        for i = 1, n do pids[i] = assert(process.spawn_monitored("app:idle", host)) end
        local seen = {}
        for _ = 1, n do
          local e = events:receive()
          seen[#seen + 1] = { kind = e.kind, from = e.from, error = e.result.error and e.result.error:kind(),
                             message = e.result.error and e.result.error:message() }
        end
        local child, err = process.spawn("app:idle", host)
        local sent, unsent = process.send(pids[1], "stop", true)
        return { me = process.pid(), pids = pids, seen = seen,
                 spawn = child or err:kind(), send = sent or unsent:kind() }
      end }

  # Spawns app:double on \`host\` again and again (a few ms apart) until a spawn that failed is
  # followed by \`after\` that succeed, or \`tries\` are used up; reports how each failure failed.
  - name: respawner
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function(host, after, tries)
        local failures, streak = {}, 0
        for _ = 1, tries do
          local child, err = process.spawn("app:double", host, 1)
          if child then streak = streak + 1 else
            streak = 0
            failures[#failures + 1] = { kind = err:kind(), retryable = err:retryable(), message = err:message() }
          end
          if #failures > 0 and streak >= after then break end
          time.sleep("2ms")
        end
        return { failures = failures, streak = streak }
      end }

${PONGER_ENTRY}
  # Spawns a ponger on \`host\` and pings it n times, one at a time: the pongs must come in order.
  - name: pinger
    kind: process.lua
    source: |
      return { main = function(n, host)
        local ponger = process.spawn("app:ponger", host, n)
        if type(ponger) ~= "string" then error(ponger) end
        local pongs = process.listen("pong")
        for i = 1, n do
          process.send(ponger, "ping", i)
          local got = pongs:receive()
          if got ~= i then error("pong " .. tostring(got) .. " for ping " .. i) end
        end
        return { ponger = ponger, pid = process.pid() }
      end }
`;

const ADDED = {
  op: 'create',
  definition: {
    namespace: 'app',
    name: 'added',
    kind: 'process.host',
    fields: { host: { workers: 2 } },
  },
} as const;

let stopApp: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stopApp?.();
  stopApp = undefined;
});

async function startApp(hostFields: string): Promise<Node> {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-runtime-hosts-'));
  await writeFile(path.join(dir, 'app.yaml'), APP(hostFields));
  const node = await Node.start({ dir, env: {}, print: () => {}, workers: 1 });
  stopApp = async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  };
  return node;
}

/** Polls `check` (after `look`, if given) until it holds, for at most 20 s. */
async function until(
  what: string,
  check: () => boolean,
  look?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await look?.();
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`still not: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function run(node: Node, entry: string, args: readonly unknown[], host: string) {
  const outcome = await node.run(entry, args, { timeoutMs: 15_000, host });
  if (!outcome.ok) throw outcome.error;
  return outcome.value as Record<string, unknown>;
}

const HOST = (name: string, workers?: number): Change => ({
  op: 'update',
  definition: {
    namespace: 'app',
    name,
    kind: 'process.host',
    fields: workers === undefined ? {} : { host: { workers } },
  },
});

/** The number of a PID of `host` (the part after its `|`). */
function numberOf(pid: unknown, host: string): number {
  const match = new RegExp(`^\\{${host}\\|(\\d+)\\}$`).exec(String(pid));
  if (!match) throw new Error(`${String(pid)} is no PID of ${host}`);
  return Number(match[1]);
}

describe.skipIf(availableParallelism() < 2)('a workers host added while the node runs', () => {
  it('starts its threads, takes spawns from main and from another workers host, and carries mail both ways in order', async () => {
    const node = await startApp('    host:\n      workers: 2');
    expect(node.workers?.threadCount).toBe(2);
    const added = node.applyChanges([ADDED]);
    expect(added).toMatchObject({ ok: true });
    await node.workers?.hostChangesApplied();
    expect(node.workers?.threadCount).toBe(4);

    // From the main thread: spawns alternate between its two workers.
    const direct = await Promise.all(
      [1, 2, 3, 4].map((x) => run(node, 'app:double', [x], 'app:added')),
    );
    expect(direct.map((d) => d.value)).toEqual([2, 4, 6, 8]);
    const numbers = direct.map((d) => Number(/^\{app:added\|(\d+)\}$/.exec(String(d.pid))?.[1]));
    expect(new Set(numbers.map((n) => n % 2))).toEqual(new Set([0, 1]));

    // A process of the main host, and one of app:w2 (another workers host), each ping a ponger
    // they spawned onto the added host.
    for (const host of ['luact:main', 'app:w2']) {
      const result = await run(node, 'app:pinger', [200, 'app:added'], host);
      expect(result.ponger).toMatch(/^\{app:added\|\d+\}$/);
      expect(result.pid).toMatch(host === 'app:w2' ? /^\{app:w2\|\d+\}$/ : /^\{luact:main\|/);
    }
    // And the other way: a process of the added host spawns onto app:w2 and main.
    for (const host of ['app:w2', 'luact:main']) {
      const result = await run(node, 'app:pinger', [200, host], 'app:added');
      expect(result.pid).toMatch(/^\{app:added\|\d+\}$/);
    }
  });

  it('takes Node.run and Node.spawn at once after the change that adds it: they wait for it', async () => {
    const node = await startApp('    host:\n      workers: 2');
    expect(node.applyChanges([ADDED])).toMatchObject({ ok: true });
    const [ran, spawned] = await Promise.all([
      node.run('app:double', [5], { host: 'app:added' }),
      node.spawn('app:idle', [], 'app:added'),
    ]);
    expect(ran).toMatchObject({ ok: true, value: { value: 10 } });
    expect(spawned).toMatch(/^\{app:added\|\d+\}$/);
    await node.send(spawned, 'stop', true);
  });

  it('lets its processes call the TypeScript functions registered before it was added', async () => {
    const node = await startApp('    host:\n      workers: 2');
    node.registerFunction('app:from_typescript', (_call, x) => ({ doubled: Number(x) * 2 }));
    expect(node.applyChanges([ADDED])).toMatchObject({ ok: true });
    // Also from another worker thread, as the added host starts (its spawn comes on that
    // thread's link to the new thread, not on main's).
    const relayed = await run(node, 'app:ts_relay', ['app:added', 5], 'app:w2');
    expect(relayed).toMatchObject({ value: { value: { doubled: 10 } } });
    // Both threads of the added host (spawns from the main thread alternate between them).
    const results = await Promise.all(
      [3, 4].map((x) => run(node, 'app:ts_caller', [x], 'app:added')),
    );
    expect(results.map((result) => result.value)).toEqual([{ doubled: 6 }, { doubled: 8 }]);
    expect(new Set(results.map((result) => numberOf(result.pid, 'app:added') % 2))).toEqual(
      new Set([0, 1]),
    );
  });

  it('runs an added host that sets no workers on as many threads as LUACT_WORKERS (NodeOptions.workers) says', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-runtime-hosts-'));
    await writeFile(path.join(dir, 'app.yaml'), APP(''));
    const node = await Node.start({ dir, env: {}, print: () => {}, workers: 2 });
    stopApp = async () => {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    };
    // The main host and app:w2 (no `workers`) run on 2 threads each.
    expect(node.workers?.threadCount).toBe(4);
    const { workers: _, ...plain } = ADDED.definition.fields.host;
    const added = node.applyChanges([
      { ...ADDED, definition: { ...ADDED.definition, fields: { host: plain } } },
    ]);
    expect(added).toMatchObject({ ok: true });
    await node.workers?.hostChangesApplied();
    expect(node.workers?.threadCount).toBe(6);
    const on = await Promise.all(
      [1, 2, 3, 4].map((x) => run(node, 'app:double', [x], 'app:added')),
    );
    expect(new Set(on.map((d) => numberOf(d.pid, 'app:added') % 2))).toEqual(new Set([0, 1]));
  });

  it('is still refused on a node that runs no worker threads (restart it)', async () => {
    const node = await startApp('');
    expect(node.workers).toBeUndefined();
    expect(node.applyChanges([ADDED])).toMatchObject({
      ok: false,
      error: [
        expect.objectContaining({
          entry: 'app:added',
          message: expect.stringContaining('while a node that runs no worker threads runs'),
        }),
      ],
    });
  });

  it('ends the processes of a removed workers host as a removed host does, stops its threads, and forgets it', async () => {
    const node = await startApp(
      `    host:\n      workers: 2\n  - name: keep\n    kind: process.host\n    host:\n      workers: 2`,
    );
    await until('4 worker threads', () => node.workers?.threadCount === 4);
    // Watchers on the main thread and on app:keep (other threads) each monitor 2 processes of app:w2.
    const watching = ['luact:main', 'app:keep'].map((host) =>
      node.run('app:watcher', ['app:w2', 2], { timeoutMs: 30_000, host }),
    );
    let onW2 = 0;
    await until(
      '4 processes on app:w2',
      () => onW2 === 4,
      async () => {
        onW2 = (await node.processes()).filter((p) => p.pid.startsWith('{app:w2|')).length;
      },
    );
    expect(node.applyChanges([{ op: 'delete', id: entryId('app', 'w2') }])).toMatchObject({
      ok: true,
    });
    const outcomes = await Promise.all(watching);
    for (const outcome of outcomes) {
      if (!outcome.ok) throw outcome.error;
      const { pids, seen, spawn, send } = outcome.value as {
        pids: string[];
        seen: { kind: string; from: string; error: string; message: string }[];
        spawn: string;
        send: string;
      };
      expect(seen.map((e) => e.from).sort()).toEqual([...pids].sort());
      // As a process of a host removed on its own thread: CANCELED "terminated".
      for (const e of seen)
        expect(e).toMatchObject({
          kind: 'EXIT',
          error: 'Canceled',
          message: expect.stringContaining('terminated'),
        });
      expect(spawn).toBe('NotFound');
      expect(send).toBe('NotFound');
    }
    await node.workers?.hostChangesApplied();
    expect(node.workers?.threadCount).toBe(2);
    expect((await node.processes()).filter((p) => p.pid.startsWith('{app:w2|'))).toEqual([]);
    // From main, as onto any host that is not there.
    await expect(node.run('app:double', [1], { host: 'app:w2' })).rejects.toMatchObject({
      kind: 'NOT_FOUND',
    });
  });

  it('answers spawns onto a workers host that a change restarts with a retryable UNAVAILABLE, not NOT_FOUND', async () => {
    const node = await startApp(
      `    host:\n      workers: 2\n  - name: keep\n    kind: process.host\n    host:\n      workers: 2`,
    );
    await until('4 worker threads', () => node.workers?.threadCount === 4);
    // From another workers host's thread and from the main thread.
    const respawning = ['app:keep', 'luact:main'].map((host) =>
      node.run('app:respawner', ['app:w2', 20, 5_000], { timeoutMs: 60_000, host }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const changed: Change = {
      op: 'update',
      definition: {
        namespace: 'app',
        name: 'w2',
        kind: 'process.host',
        fields: { host: { workers: 2, max_processes: 5_000 } },
      },
    };
    expect(node.applyChanges([changed])).toMatchObject({ ok: true });
    for (const outcome of await Promise.all(respawning)) {
      if (!outcome.ok) throw outcome.error;
      const { failures, streak } = outcome.value as {
        failures: { kind: string; retryable: boolean; message: string }[];
        streak: number;
      };
      // The host was away for a while, then took spawns again.
      expect(failures.length).toBeGreaterThan(0);
      expect(streak).toBe(20);
      for (const failure of failures)
        expect(failure).toMatchObject({
          kind: 'Unavailable',
          retryable: true,
          message: expect.stringContaining('app:w2 is being restarted by a registry change'),
        });
    }
  });

  it('moves a host from the main thread onto 2 worker threads and back, its PIDs never handed out twice', async () => {
    const node = await startApp(
      `  - name: keep\n    kind: process.host\n    host:\n      workers: 2`,
    );
    expect(node.workers?.threadCount).toBe(2);
    const before = numberOf((await run(node, 'app:double', [1], 'app:w2')).pid, 'app:w2');
    expect(node.applyChanges([HOST('w2', 2)])).toMatchObject({ ok: true });
    await node.workers?.hostChangesApplied();
    expect(node.workers?.threadCount).toBe(4);
    const on = await Promise.all([1, 2, 3, 4].map((x) => run(node, 'app:double', [x], 'app:w2')));
    const numbers = on.map((d) => numberOf(d.pid, 'app:w2'));
    expect(new Set(numbers.map((n) => n % 2))).toEqual(new Set([0, 1]));
    for (const n of numbers) expect(n).toBeGreaterThan(before);
    expect(await run(node, 'app:pinger', [100, 'app:w2'], 'app:keep')).toMatchObject({
      ponger: expect.stringMatching(/^\{app:w2\|/),
    });

    expect(node.applyChanges([HOST('w2')])).toMatchObject({ ok: true });
    await node.workers?.hostChangesApplied();
    expect(node.workers?.threadCount).toBe(2);
    expect(node.system.hostIds()).toContain('app:w2');
    const back = await run(node, 'app:double', [5], 'app:w2');
    expect(numberOf(back.pid, 'app:w2')).toBeGreaterThan(Math.max(...numbers));
    // A process of another workers host reaches it on main.
    expect(await run(node, 'app:pinger', [100, 'app:w2'], 'app:keep')).toMatchObject({
      ponger: expect.stringMatching(/^\{app:w2\|/),
    });
  });

  it.skipIf(availableParallelism() < 3)(
    'changes a host from 2 worker threads to 3: spawns land on all 3',
    async () => {
      const node = await startApp('    host:\n      workers: 2');
      expect(node.applyChanges([HOST('w2', 3)])).toMatchObject({ ok: true });
      await node.workers?.hostChangesApplied();
      expect(node.workers?.threadCount).toBe(3);
      const on = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((x) => run(node, 'app:double', [x], 'app:w2')),
      );
      expect(new Set(on.map((d) => numberOf(d.pid, 'app:w2') % 3))).toEqual(new Set([0, 1, 2]));
    },
  );

  it('leaves Node.onIdle working: silent while a process of a changed host sleeps, heard once nothing is left', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-runtime-hosts-idle-'));
    try {
      await writeFile(path.join(dir, 'app.yaml'), APP('    host:\n      workers: 2'));
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--input-type=module', '-e', IDLE_PROGRAM, dir],
          { cwd: REPO_ROOT, timeout: 30_000 },
          (error, out) =>
            resolve({
              code: typeof error?.code === 'number' ? error.code : error ? -1 : 0,
              stdout: out,
            }),
        );
      });
      expect(stdout.trim().split('\n')).toEqual([
        JSON.stringify({ added: true, changed: true }),
        JSON.stringify({ threads: 4 }),
        JSON.stringify({ ok: true, value: 'slept' }),
        'idle',
        'stopped',
      ]);
      expect(code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

/**
 * Adds a workers host and changes app:w2 (removed and started again) while the node runs, then
 * runs a sleeper on each; once the node is idle it stops (else the program never ends).
 */
const IDLE_PROGRAM = `
import { Node } from '@luact/runtime';
const node = await Node.start({ dir: process.argv[1], env: {}, workers: 1, print: () => {} });
let ran = false;
let heard = false;
node.onIdle(async () => {
  if (!ran || heard) return;
  heard = true;
  console.log('idle');
  await node.stop();
  console.log('stopped');
});
const added = node.applyChanges([${JSON.stringify(ADDED)}]).ok;
const changed = node.applyChanges([
  { op: 'update', definition: { namespace: 'app', name: 'w2', kind: 'process.host', fields: { host: { workers: 2, max_processes: 50 } } } },
]).ok;
console.log(JSON.stringify({ added, changed }));
await node.workers.hostChangesApplied();
console.log(JSON.stringify({ threads: node.workers.threadCount }));
const runs = await Promise.all(['app:added', 'app:w2'].map((host) => node.run('app:sleeper', [], { host })));
ran = true;
console.log(JSON.stringify(runs.find((outcome) => !outcome.ok) ?? { ok: true, value: 'slept' }));
`;

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExitOutcome } from '@luact/process';
import { type Node as LuactNode, Node } from '@luact/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { luact } from './luact-cli.js';
import { PONGER_ENTRY } from './worker-entries.js';

/**
 * A worker thread of a `workers: 2` host that stops answering (frozen on purpose by the test
 * hook: blocked where no hook and no event loop runs, as a C loop would be), throws, or exits:
 * its watchdog or its end is noticed, what followed its processes ends with "worker down", and
 * a new thread takes its place. Against real threads; every wait polls with a bound.
 */

const APP = `
namespace: app
entries:
  - name: w2
    kind: process.host
    host: { workers: 2, max_slice: 100ms }

  - name: svc_proc
    kind: process.lua
    source: |
      return { main = function()
        print("svc up on " .. process.pid())
        process.events():receive()
      end }
  - name: svc
    kind: process.service
    process: svc_proc
    host: w2
    lifecycle: { auto_start: true, restart: { initial_delay: 20ms, max_delay: 100ms } }

  - name: idle
    kind: process.lua
    source: |
      return { main = function() process.listen("stop"):receive() end }

  - name: double
    kind: process.lua
    source: |
      return { main = function(x) return { value = x * 2, pid = process.pid() } end }

  # Fills its worker with idle children (spawns from elsewhere then go to the other worker),
  # then monitors and links to the processes it is given, and says what it heard of them.
  - name: guard
    kind: process.lua
    source: |
      return { main = function()
        local fill = process.listen("fill"):receive()
        if fill == 0 then return end
        local children = {}
        for i = 1, fill do children[i] = process.spawn("app:idle", "app:w2") end
        print("guard filled " .. process.pid())
        local targets = process.listen("watch"):receive()
        process.set_options({ trap_links = true })
        local events = process.events()
        for _, pid in ipairs(targets) do
          process.monitor(pid)
          process.link(pid)
        end
        print("guard armed")
        for _ = 1, 2 * #targets do
          local e = events:receive()
          print("guard saw " .. e.kind .. " " .. e.from .. " " .. e.result.error:message())
        end
        for _, child in ipairs(children) do process.send(child, "stop", true) end
      end }

  # The same on the main thread, returning what it heard.
  - name: watcher
    kind: process.lua
    source: |
      return { main = function(targets)
        process.set_options({ trap_links = true })
        local events = process.events()
        for _, pid in ipairs(targets) do
          process.monitor(pid)
          process.link(pid)
        end
        print("watcher armed")
        local seen = {}
        for _ = 1, 2 * #targets do
          local e = events:receive()
          seen[#seen + 1] = { kind = e.kind, from = e.from, error = e.result.error:message(),
                              error_kind = e.result.error:kind(), retryable = e.result.error:retryable() }
        end
        return seen
      end }

  - name: sleeper
    kind: process.lua
    modules: [luact_test]
    source: |
      local hooks = require("luact_test")
      return { main = function(role)
        print("sleeper " .. role .. " up " .. process.pid())
        local how = process.listen("freeze"):receive()
        if how == "freeze" then hooks.freeze_worker() else hooks.fail_worker(how) end
        process.listen("never"):receive()
      end }

${PONGER_ENTRY}
  # Waits to be told how many pings to send and to which ponger (none: it is not needed).
  - name: pinger
    kind: process.lua
    source: |
      return { main = function()
        local pongs = process.listen("pong")
        local go = process.listen("go"):receive()
        for i = 1, go.n do
          process.send(go.ponger, "ping", i)
          if pongs:receive() ~= i then error("pong out of turn") end
        end
      end }

  # A function that takes long, and a process of the worker host that calls it (on the main
  # thread) with a sleeper beside it on its worker.
  - name: slow
    kind: function.lua
    modules: [time]
    source: |
      return { main = function() require("time").sleep("20s") end }
  - name: slow_caller
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function()
        process.spawn("app:sleeper", "app:w2", "beside")
        funcs.call("app:slow")
      end }

  # Waits for a child on a worker thread with exec.
  - name: execer
    kind: process.lua
    source: |
      return { main = function()
        local value, err = process.exec("app:sleeper", "app:w2", "exec")
        return { value = value, kind = err and err:kind(), message = err and err:message(),
                 retryable = err and err:retryable() }
      end }

  - name: flows
    kind: workflow.host
  # A workflow that returns its name once it is told to.
  - name: held
    kind: workflow.lua
    meta: { host: app:flows }
    source: |
      return { main = function(name)
        process.inbox():receive()
        return name
      end }
  # Monitors a workflow; then fails its worker when told to (role "doomed"), or says how the
  # workflow ended.
  - name: flow_watcher
    kind: process.lua
    modules: [luact_test]
    source: |
      local hooks = require("luact_test")
      return { main = function(flow, role)
        local events = process.events()
        process.monitor(flow)
        print("flow watcher " .. process.pid() .. " armed")
        if role == "doomed" then
          process.listen("fail"):receive()
          hooks.fail_worker("throw")
          process.listen("never"):receive()
        end
        local e = events:receive()
        print("flow watcher " .. process.pid() .. " saw " .. e.kind .. " " .. e.from .. " " .. tostring(e.result.value))
      end }

  - name: on_main
    kind: process.lua
    modules: [luact_test]
    source: |
      local hooks = require("luact_test")
      return { main = function()
        local ok, err = pcall(hooks.freeze_worker)
        return { ok = ok, message = tostring(err) }
      end }
`;

const started: { node: LuactNode; dir: string }[] = [];

afterEach(async () => {
  for (const { node, dir } of started.splice(0)) {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A node on APP with test hooks; its prints and log messages are collected. */
async function startNode(options: { testHooks?: boolean } = { testHooks: true }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-wfail-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  const printed: string[] = [];
  const logged: string[] = [];
  const node = await Node.start({
    dir,
    env: {},
    ...(options.testHooks ? { testHooks: true } : {}),
    print: (text) => printed.push(text),
    log: (record) => logged.push(record.message),
  });
  started.push({ node, dir });
  return { node, printed, logged };
}

/** Polls `find` every 20 ms until it gives a value; fails after `ms`, naming what it waited for. */
async function until<T>(what: string, find: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The PID in the last printed line that starts with `prefix` (after `after` lines). */
function pidAfter(lines: string[], prefix: string, after = 0): string | undefined {
  const line = lines.slice(after).find((text) => text.startsWith(prefix));
  return line === undefined ? undefined : /\{[^}]*\}/.exec(line)?.[0];
}

/**
 * 20 pings from a process of one worker thread of app:w2 to a ponger on the other, each
 * answered in turn; resolves with the pinger's end. Spawns from the main thread go to the
 * thread with the fewest processes: pingers are spawned until one lands on the other thread
 * (those that do not are told to end).
 */
async function pingAcross(node: LuactNode): Promise<ExitOutcome> {
  const ponger = await node.spawn('app:ponger', [20], 'app:w2');
  for (let tries = 0; tries < 50; tries++) {
    const pinger = await node.spawn('app:pinger', [], 'app:w2');
    if (workerOf(pinger) === workerOf(ponger)) {
      await node.send(pinger, 'go', { n: 0 });
      continue;
    }
    let ended: ExitOutcome | undefined;
    const inbox = node.system.openInbox(() => {});
    try {
      await inbox.watch(pinger, (outcome) => (ended = outcome));
      await node.send(pinger, 'go', { n: 20, ponger });
      return await until('the pinger’s end', () => ended, 10_000);
    } finally {
      inbox.close();
    }
  }
  throw new Error('50 pingers spawned from the main thread all on the ponger’s thread');
}

function numberOf(pid: string): number {
  return Number(/\|(\d+)\}$/.exec(pid)?.[1]);
}

function workerOf(pid: string): number {
  return numberOf(pid) % 2;
}

describe('a worker thread that stops answering', () => {
  it('is found by its watchdog and replaced: watchers hear "worker down", the service runs again, old PIDs stay dead', async () => {
    const { node, printed, logged } = await startNode();
    await node.startServices();
    const svc = await until('the service', () => pidAfter(printed, 'svc up on '));
    const frozen = workerOf(svc);
    // A guard on the other worker, filled with idle processes: spawns from elsewhere then go
    // to the worker that will freeze (the least loaded), and the guard watches from outside it.
    let guard: string | undefined;
    for (let tries = 0; guard === undefined && tries < 10; tries++) {
      const pid = await node.spawn('app:guard', [], 'app:w2');
      if (workerOf(pid) === frozen) await node.send(pid, 'fill', 0);
      else guard = pid;
    }
    if (guard === undefined) throw new Error('10 spawns from the main thread all on one worker');
    await node.send(guard, 'fill', 60);
    await until('the guard filled', () => pidAfter(printed, 'guard filled '));
    // The next spawns from elsewhere go to the frozen worker, which runs fewer processes.
    const run = node.run('app:sleeper', ['run'], { host: 'app:w2', timeoutMs: 30_000 });
    const exec = node.run('app:execer', [], { timeoutMs: 30_000 });
    const ran = await until('the run sleeper', () => pidAfter(printed, 'sleeper run up '));
    const execed = await until('the exec sleeper', () => pidAfter(printed, 'sleeper exec up '));
    expect([workerOf(ran), workerOf(execed)]).toEqual([frozen, frozen]);
    const targets = [svc, ran, execed];
    const watched = node.run('app:watcher', [targets], { timeoutMs: 30_000 });
    await until('the watcher armed', () => printed.find((line) => line === 'watcher armed'));
    await node.send(guard, 'watch', targets);
    await until('the guard armed', () => printed.find((line) => line === 'guard armed'));
    const before = new Set(
      printed.flatMap((line) => /\{app:w2\|\d+\}/.exec(line)?.[0] ?? []).concat(guard),
    );

    const frozenAt = performance.now();
    await node.send(ran, 'freeze', 'freeze');
    const thread = `app:w2#${frozen}`;
    const down = `worker down: ${thread}`;

    // Node.run of a process there, and an exec of a child there, end with the error.
    const runOutcome = await run;
    expect(runOutcome).toMatchObject({
      ok: false,
      error: { kind: 'UNAVAILABLE', retryable: true },
    });
    expect(runOutcome.ok ? '' : runOutcome.error.message).toContain(down);
    expect(runOutcome.ok ? '' : runOutcome.error.message).toContain('stopped answering');
    const execOutcome = await exec;
    expect(execOutcome).toMatchObject({
      ok: true,
      value: { kind: 'Unavailable', retryable: true, message: expect.stringContaining(down) },
    });
    // A process on the main thread that monitored and linked (trapping) each: EXIT and LINK_DOWN.
    const seen = await watched;
    if (!seen.ok) throw seen.error;
    const events = seen.value as {
      kind: string;
      from: string;
      error: string;
      error_kind: string;
    }[];
    expect(events).toHaveLength(6);
    for (const target of targets) {
      for (const kind of ['EXIT', 'LINK_DOWN']) {
        expect(events).toContainEqual(
          expect.objectContaining({
            kind,
            from: target,
            error_kind: 'Unavailable',
            error: expect.stringContaining(down),
          }),
        );
      }
    }
    // The guard on the other worker heard the same of each.
    const guardSaw = await until('the guard’s six events', () => {
      const lines = printed.filter((line) => line.startsWith('guard saw '));
      return lines.length === 6 ? lines : undefined;
    });
    for (const target of targets) {
      expect(guardSaw).toContainEqual(expect.stringContaining(`guard saw EXIT ${target} ${down}`));
      expect(guardSaw).toContainEqual(
        expect.stringContaining(`guard saw LINK_DOWN ${target} ${down}`),
      );
    }

    // The log says what happened, then that a new thread took its place.
    expect(logged).toContainEqual(
      expect.stringContaining(`worker thread ${thread} stopped: it stopped answering`),
    );
    const replaced = await until('the replacement', () =>
      logged.find((line) => line.startsWith(`worker thread ${thread} was replaced`)),
    );
    const replacedAfter = performance.now() - frozenAt;
    // A figure for the report (not asserted): from the freeze to the new thread ready.
    console.log(`freeze to replacement: ${Math.round(replacedAfter)} ms (${replaced})`);

    // The service ran again, under a PID never given before.
    const again = await until('the service again', () => {
      const pids = printed.filter((l) => l.startsWith('svc up on ')).map((l) => l.slice(10));
      return pids.length >= 2 ? pids[pids.length - 1] : undefined;
    });
    expect(again).not.toBe(svc);
    expect(node.services.list().find((s) => s.id === 'app:svc')?.state).toBe('running');

    // Old PIDs of the frozen worker answer NOT_FOUND at once.
    await expect(node.send(ran, 'freeze', 'freeze')).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    // Spawns and sends reach both workers again, and no PID of the frozen worker comes back.
    const fence = Math.max(...[...before].filter((p) => workerOf(p) === frozen).map(numberOf));
    // (The guard's idle children are ending: spawns balance out once the loads say so.)
    const pids: string[] = [];
    for (let i = 0; i < 12 || (new Set(pids.map(workerOf)).size < 2 && i < 100); i++) {
      const pid = await node.spawn('app:idle', [], 'app:w2');
      pids.push(pid);
      await node.send(pid, 'stop', true);
    }
    for (let i = 0; i < 4; i++) {
      const outcome = await node.run('app:double', [i], { host: 'app:w2', timeoutMs: 10_000 });
      expect(outcome).toMatchObject({ ok: true, value: { value: 2 * i } });
      if (outcome.ok) pids.push((outcome.value as { pid: string }).pid);
    }
    expect(new Set(pids.map(workerOf))).toEqual(new Set([0, 1]));
    for (const pid of pids) {
      expect(before.has(pid)).toBe(false);
      if (workerOf(pid) === frozen) expect(numberOf(pid)).toBeGreaterThan(fence);
    }
  }, 60_000);
});

describe('a worker thread that ends on its own', () => {
  for (const [how, why] of [
    ['throw', 'it failed: luact_test.fail_worker'],
    ['exit', 'it exited with code 3'],
  ] as const) {
    it(`is replaced when it ${how === 'throw' ? 'throws' : 'exits'}, and the host goes on on both workers`, async () => {
      const { node, printed, logged } = await startNode();
      const sleeper = await node.spawn('app:sleeper', ['fail'], 'app:w2');
      await until('the sleeper', () => pidAfter(printed, 'sleeper fail up '));
      const watched = node.run('app:watcher', [[sleeper]], { timeoutMs: 30_000 });
      await until('the watcher armed', () => printed.find((line) => line === 'watcher armed'));
      await node.send(sleeper, 'freeze', how);
      const thread = `app:w2#${workerOf(sleeper)}`;
      const seen = await watched;
      if (!seen.ok) throw seen.error;
      expect(seen.value).toEqual(
        expect.arrayContaining(
          ['EXIT', 'LINK_DOWN'].map((kind) =>
            expect.objectContaining({
              kind,
              from: sleeper,
              error: expect.stringContaining(`worker down: ${thread} (${why}`),
            }),
          ),
        ),
      );
      expect(logged).toContainEqual(
        expect.stringContaining(`worker thread ${thread} stopped: ${why}`),
      );
      await until('the replacement', () =>
        logged.find((line) => line.startsWith(`worker thread ${thread} was replaced`)),
      );
      // (By the published loads, which may lag: both threads are reached within a few runs.)
      const workers = new Set<number>();
      for (let i = 0; i < 6 || (workers.size < 2 && i < 100); i++) {
        const outcome = await node.run('app:double', [i], { host: 'app:w2', timeoutMs: 10_000 });
        expect(outcome).toMatchObject({ ok: true, value: { value: 2 * i } });
        if (outcome.ok) workers.add(workerOf((outcome.value as { pid: string }).pid));
      }
      expect(workers).toEqual(new Set([0, 1]));
      expect(node.workers?.threadCount).toBe(2);
      // The thread that stayed and the new one reach each other.
      expect(await pingAcross(node)).toMatchObject({ ok: true });
    }, 60_000);
  }
});

describe('a function called by a process of a lost worker', () => {
  it('ends with its caller', async () => {
    const { node, printed } = await startNode();
    const caller = await node.spawn('app:slow_caller', [], 'app:w2');
    const sleeper = await until('the sleeper beside it', () =>
      pidAfter(printed, 'sleeper beside up '),
    );
    expect(workerOf(sleeper)).toBe(workerOf(caller));
    const callee = await until('the function running', () =>
      node.system.processesOf('luact:functions').find((p) => p.entry === 'app:slow'),
    );
    let ended: ExitOutcome | undefined;
    const inbox = node.system.openInbox(() => {});
    expect(inbox.watch(callee.pid, (outcome) => (ended = outcome))).toBeUndefined();
    await node.send(sleeper, 'freeze', 'exit');
    const outcome = await until('the function’s end', () => ended, 20_000);
    inbox.close();
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        kind: 'CANCELED',
        message: `the caller ended: worker down: app:w2#${workerOf(caller)} (it exited with code 3)`,
      },
    });
  }, 60_000);
});

describe('a worker thread whose replacement does not boot', () => {
  afterEach(() => {
    delete process.env.LUACT_TEST_FAIL_BOOT;
  });

  it('is given up: names and spawns wait for it no more, and the host runs on its other worker', async () => {
    const { node, printed, logged } = await startNode();
    const sleeper = await node.spawn('app:sleeper', ['doomed'], 'app:w2');
    await until('the sleeper', () => pidAfter(printed, 'sleeper doomed up '));
    const lost = workerOf(sleeper);
    const thread = `app:w2#${lost}`;
    // The thread that takes its place reads this as it boots (the test hook of worker-main).
    process.env.LUACT_TEST_FAIL_BOOT = thread;
    await node.send(sleeper, 'freeze', 'throw');
    await until('the failed replacement', () =>
      logged.find((line) => line.startsWith(`worker thread ${thread} could not be replaced`)),
    );
    // Names: a change waits for every thread's copy to take it, and none is left waiting for.
    const survivor = await node.spawn('app:idle', [], 'app:w2');
    expect(workerOf(survivor)).toBe(1 - lost);
    const registered = Promise.resolve(node.system.registerName('survivor', survivor));
    const later = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 10_000));
    expect(await Promise.race([registered.then(() => 'registered'), later])).toBe('registered');
    expect(node.system.lookupName('survivor')).toBe(survivor);
    // Spawns go to the other worker only, and run there.
    for (let i = 0; i < 4; i++) {
      const pid = await node.spawn('app:double', [i], 'app:w2');
      expect(workerOf(pid)).toBe(1 - lost);
    }
    expect(await node.run('app:double', [21], { host: 'app:w2' })).toMatchObject({
      ok: true,
      value: { value: 42 },
    });
    await node.send(survivor, 'stop', true);
  }, 60_000);
});

describe('the workflows a lost worker’s processes watched', () => {
  it('end without a word to the thread that took its place, whose own watches are told their own ends', async () => {
    const { node, printed, logged } = await startNode();
    const armed = (pid: string) =>
      until(`${pid} armed`, () => printed.find((line) => line === `flow watcher ${pid} armed`));
    const saw = (pid: string) =>
      until(`what ${pid} saw`, () =>
        printed.find((line) => line.startsWith(`flow watcher ${pid} saw `)),
      );
    /** A flow watcher of `flow` on worker `w` of app:w2 (spawned until one lands there). */
    const watcherOn = async (w: number, flow: string) => {
      for (let tries = 0; tries < 20; tries++) {
        const pid = await node.spawn('app:flow_watcher', [flow, 'watch'], 'app:w2');
        if (workerOf(pid) === w) return pid;
      }
      throw new Error('20 spawns from the main thread all on one worker');
    };
    const one = await node.spawn('app:held', ['one'], 'app:flows');
    const doomed = await node.spawn('app:flow_watcher', [one, 'doomed'], 'app:w2');
    await armed(doomed);
    const lost = workerOf(doomed);
    await node.send(doomed, 'fail', true);
    await until('the replacement', () =>
      logged.find((line) => line.startsWith(`worker thread app:w2#${lost} was replaced`)),
    );
    // A watcher of two on the new thread (its first watch, numbered as the lost thread's first
    // was), then one of workflow one on the other thread.
    const two = await node.spawn('app:held', ['two'], 'app:flows');
    const watcher = await watcherOn(lost, two);
    await armed(watcher);
    const other = await watcherOn(1 - lost, one);
    await armed(other);
    // One ends first: once the other thread heard of it, the new thread was told what it will
    // be told of it (main tells both in the same turn, and each link keeps its order).
    await node.send(one, 'finish', true);
    expect(await saw(other)).toBe(`flow watcher ${other} saw EXIT ${one} one`);
    await node.send(two, 'finish', true);
    expect(await saw(watcher)).toBe(`flow watcher ${watcher} saw EXIT ${two} two`);
  }, 60_000);
});

describe('both worker threads of a host', () => {
  it('lost at once are both replaced, and the new threads reach each other', async () => {
    const { node, printed, logged } = await startNode();
    const sleepers: string[] = [];
    for (let i = 0; i < 2; i++) {
      sleepers.push(await node.spawn('app:sleeper', ['both'], 'app:w2'));
      await until('a sleeper', () =>
        printed.filter((line) => line.startsWith('sleeper both up ')).length > i ? true : undefined,
      );
    }
    expect(new Set(sleepers.map(workerOf))).toEqual(new Set([0, 1]));
    await Promise.all(sleepers.map((pid) => node.send(pid, 'freeze', 'exit')));
    for (const w of [0, 1])
      await until(`the replacement of worker ${w}`, () =>
        logged.find((line) => line.startsWith(`worker thread app:w2#${w} was replaced`)),
      );
    // Mail crosses the link between the two new threads.
    expect(await pingAcross(node)).toMatchObject({ ok: true });
  }, 60_000);
});

describe('the test hooks', () => {
  it('refuse on the main thread, and are absent from a node started without them', async () => {
    const { node } = await startNode();
    const outcome = await node.run('app:on_main', [], { timeoutMs: 10_000 });
    expect(outcome).toMatchObject({
      ok: true,
      value: { ok: false, message: expect.stringContaining('on a worker thread only') },
    });
    await expect(startNode({ testHooks: false })).rejects.toMatchObject({
      diagnostics: expect.arrayContaining([
        expect.objectContaining({
          code: 'unknown-module',
          message: expect.stringContaining('unknown module "luact_test"'),
        }),
      ]),
    });
  }, 30_000);

  it('are turned on for the CLI by LUACT_TEST_HOOKS=1', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-wfail-cli-'));
    try {
      await writeFile(
        path.join(dir, 'app.yaml'),
        [
          'namespace: app',
          'entries:',
          '  - name: probe',
          '    kind: process.lua',
          '    modules: [luact_test]',
          '    source: |',
          '      local hooks = require("luact_test")',
          '      return { main = function()',
          '        local ok, err = pcall(hooks.freeze_worker)',
          '        print("probe: " .. tostring(ok) .. " " .. tostring(err))',
          '      end }',
          '',
        ].join('\n'),
      );
      const args = ['run', dir, '--exec', 'app:probe'];
      const hooked = await luact(args, { ...process.env, LUACT_TEST_HOOKS: '1' });
      expect(hooked.stdout).toContain(
        'probe: false luact_test.freeze_worker works in a process on a worker thread only',
      );
      const plain = await luact(args, { ...process.env, LUACT_TEST_HOOKS: '' });
      expect(plain.stderr).toContain('unknown module "luact_test"');
      expect(plain.stdout).not.toContain('probe:');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

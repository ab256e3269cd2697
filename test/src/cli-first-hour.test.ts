import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logRecords, luact, REPO_ROOT, startedByTests } from './luact-cli.js';

// A newcomer's first hour (issue 9): failures are said at once, signals stop every way of
// starting a node, warnings show outside lint, and the directory defaults to where one is.

// Each test runs the real binary a few times (and npx): generous on a loaded 2-core machine.
vi.setConfig({ testTimeout: 90_000 });

const clis = startedByTests('luact-first-hour-');

beforeEach(() => clis.prepare());
afterEach(() => clis.cleanUp());

/** An app whose service crashes on line 5 of its file while loading, restarting forever. */
const CRASHING_APP = {
  'app.yaml': `namespace: app
entries:
  - name: processes
    kind: process.host
  - name: counter
    kind: process.lua
    source: file://counter.lua
    method: main
  - name: counter_service
    kind: process.service
    host: processes
    process: counter
    lifecycle:
      auto_start: true
      restart: { initial_delay: 100ms, max_delay: 200ms }
  - name: hello
    kind: function.lua
    source: |
      return { run = function() return "hi" end }
    method: run
  - name: test_hello
    kind: function.lua
    source: |
      return { run = function() return true end }
    method: run
    meta: { type: test }
`,
  'counter.lua': `local function main()
  while true do process.receive() end
end
local settings = nil
local port = settings.port
return { main = main }
`,
};

async function writeApp(files: Readonly<Record<string, string>>, dir = clis.scratch) {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

describe('a service that crashes while starting', () => {
  it('fails luact test at once, naming the service and the error with file:line', async () => {
    const dir = await writeApp(CRASHING_APP);
    const run = await luact(['test', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /luact: service app:counter_service failed to start: \S*counter\.lua:5: attempt to index a nil value/,
    );
    expect(run.stderr).toContain('luact test: no test ran');
    expect(run.stdout).not.toContain('test_hello');
  });

  it('fails luact run --exec before the entry runs, with the same error', async () => {
    const dir = await writeApp(CRASHING_APP);
    const run = await luact(['run', dir, '--exec', 'app:hello']);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as { ok: boolean; error: { kind: string } };
    expect(result.ok).toBe(false);
    expect(result.error.kind).toBe('UNAVAILABLE');
    expect(run.stderr).toMatch(
      /app:hello did not run: service app:counter_service failed to start: \S*counter\.lua:5/,
    );
  });

  it('is not even started when --exec names an entry that does not exist', async () => {
    const dir = await writeApp(CRASHING_APP);
    const run = await luact(['run', dir, '--exec', 'app:helo']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).error.kind).toBe('NOT_FOUND');
    expect(run.stderr).toContain('luact: entry app:helo not found (did you mean app:hello?)');
    expect(run.stderr).not.toContain('counter_service');
  });

  it('is logged at every attempt by luact run, which keeps serving and reports it when stopped', async () => {
    const dir = await writeApp(CRASHING_APP);
    const node = clis.start(['run', dir, '--control', path.join(dir, 'control.sock')]);
    await node.waitFor('0 of 1 service running');
    expect(node.stderr()).toMatch(
      /luact: service app:counter_service failed to start: \S*counter\.lua:5/,
    );
    for (const attempt of [1, 2, 3])
      await node.waitForLog({ service: 'app:counter_service', attempt });
    const failures = logRecords(node.stderr()).filter((r) => r.attempt !== undefined);
    for (const failure of failures) {
      expect(failure.level).toBe('error');
      expect(failure.msg).toMatch(/counter\.lua:5: attempt to index a nil value/);
    }
    node.child.kill('SIGINT');
    expect(await node.exited).toBe(0);
    expect(node.stderr()).toMatch(
      /service app:counter_service was failing when the node stopped: \S*counter\.lua:5: .* \(\d+ failed attempts in a row\)/,
    );
  });
});

describe('luact stop', () => {
  it('stops the node running a directory and names the service that was failing', async () => {
    const dir = await writeApp(CRASHING_APP);
    const node = clis.start(['run', dir]);
    await node.waitFor('0 of 1 service running');
    const stopped = await luact(['stop', dir]);
    expect(stopped.stdout).toMatch(
      /^service app:counter_service was failing \(starting, \d+ failed attempts?\): \S*counter\.lua:5: attempt to index a nil value/,
    );
    expect(stopped.stdout).toMatch(/stopped node "local" \(pid \d+\)\n$/);
    expect(stopped.code).toBe(0);
    expect(await node.exited).toBe(0);
    expect(node.stderr()).toContain('asked to stop by luact stop');
  });

  it('says so when no node runs the directory', async () => {
    const dir = await writeApp(CRASHING_APP);
    const stopped = await luact(['stop', dir]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('no node "local" is running for');
  });
});

describe('signals', () => {
  /** `npx luact …` in a process group of its own, as a terminal would start it. */
  function npx(args: readonly string[]): { child: ChildProcess; output: () => string } {
    const child = spawn('npx', ['luact', ...args], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    started.push(child);
    return { child, output: () => output };
  }
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) killGroup(child, 'SIGKILL');
  });

  async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const approval = ['run', 'registry', '--exec', 'examples.workflows:approval', '{"id":1}'];

  it('kill -TERM of `npx luact run --exec` stops the node too (no orphan)', async () => {
    const run = npx(approval);
    await until('a running service', () => run.output().includes('"state":"running"'));
    process.kill(run.child.pid as number, 'SIGTERM');
    await until('the end of every process of the group', () => !groupAlive(run.child));
    expect(run.output()).toContain('examples.workflows:approval was interrupted by SIGTERM');
    expect(run.output()).toMatch(/its workflow \S+ was terminated/);
  });

  it('Ctrl+C (SIGINT to the whole group) stops `npx luact run --exec` of a waiting workflow', async () => {
    const run = npx(approval);
    await until('a running service', () => run.output().includes('"state":"running"'));
    killGroup(run.child, 'SIGINT');
    await until('the end of every process of the group', () => !groupAlive(run.child));
    expect(run.output()).toContain('examples.workflows:approval was interrupted by SIGINT');
  });
});

function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-(child.pid as number), 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    // Already gone.
  }
}

describe('warnings outside lint', () => {
  const misindented = {
    'app.yaml': `namespace: app
entries:
  - name: processes
    kind: process.host
  - name: worker
    kind: process.lua
    source: |
      return { main = function() while true do process.receive() end end }
    method: main
  - name: worker_service
    kind: process.service
    host: processes
    process: worker
    lifecycle:
    auto_start: true
  - name: test_nothing
    kind: function.lua
    source: |
      return { run = function() return true end }
    method: run
    meta: { type: test }
`,
  };

  it('luact test and luact run --exec print the warnings lint prints', async () => {
    const dir = await writeApp(misindented);
    const warning =
      /app\.yaml:15:5: warning: app:worker_service › auto_start: unknown field "auto_start" is ignored/;
    const tested = await luact(['test', dir]);
    expect(tested.code).toBe(0);
    expect(tested.stderr).toMatch(warning);
    const ran = await luact(['run', dir, '--exec', 'app:test_nothing']);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toMatch(warning);
  });

  it('--watch names each problem of a reload it refuses', async () => {
    const dir = await writeApp(misindented);
    const node = clis.start(['run', dir, '--watch', '--control', path.join(dir, 'control.sock')]);
    await node.waitFor('0 of 1 service running');
    await writeFile(
      path.join(dir, 'more.yaml'),
      'namespace: app\nentries:\n  - name: broken\n    kind: proces.lua\n',
    );
    await node.waitFor('reload refused: 1 problem');
    expect(node.stderr()).toMatch(
      /more\.yaml:4:11: error: app:broken › kind: unknown kind "proces\.lua"/,
    );
  });
});

describe('a test whose workflow sleeps on a durable timer', () => {
  const sleeper = {
    'app.yaml': `namespace: app
entries:
  - name: workflows
    kind: workflow.host
  - name: test_waits_a_day
    kind: workflow.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function() time.sleep("24h"); return true end }
    method: main
    meta: { type: test, host: app:workflows }
`,
  };

  it('times out saying so and suggesting --time-skip, and passes with it', async () => {
    const dir = await writeApp(sleeper);
    const slow = await luact(['test', dir, '--timeout', '1500']);
    expect(slow.code).toBe(1);
    expect(slow.stdout).toMatch(
      /✗ app:test_waits_a_day .*did not finish within 1500 ms \(it was waiting on a durable timer due in 2\dh?[^)]* of workflow time; with --time-skip, timers fire as soon as a run waits for nothing else\)/,
    );
    const skipped = await luact(['test', dir, '--timeout', '20000', '--time-skip']);
    expect(skipped.stdout).toContain('1 passed, 0 failed');
    expect(skipped.code).toBe(0);
  });
});

describe('luact workflow start of an entry that is not a workflow', () => {
  it('says what the entry is and how to run it', async () => {
    const dir = await writeApp({
      'app.yaml': `namespace: app
entries:
  - name: workflows
    kind: workflow.host
  - name: counter
    kind: process.lua
    source: |
      return { main = function() return 1 end }
    method: main
`,
    });
    const node = clis.start(['run', dir]);
    await node.waitFor('stop with Ctrl+C');
    const started = await luact(['workflow', 'start', 'app:counter', '--dir', dir]);
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(
      'cannot start app:counter as a workflow: it is a process.lua entry, not a workflow.lua',
    );
    expect(started.stderr).toContain('--exec app:counter');
    const typo = await luact(['workflow', 'start', 'app:countr', '--dir', dir]);
    expect(typo.stderr).toContain('(did you mean app:counter?)');
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
  });
});

describe('the application directory', () => {
  it('defaults to the current directory', async () => {
    const dir = await writeApp(CRASHING_APP);
    const run = await luact(['lint'], process.env, dir);
    expect(run.stdout).toMatch(/^\.: \d+ entries in 1 file, no problems\n$/);
    expect(run.code).toBe(0);
  });

  it('names the directory tried and suggests one where . holds no application', async () => {
    const run = await luact(['test'], process.env, REPO_ROOT);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${REPO_ROOT} has no *.yaml registry files at its top`);
    expect(run.stderr).toContain('e.g. luact test registry');
  });

  it('is given the same way to every command: as an argument or with --dir', async () => {
    const dir = await writeApp(CRASHING_APP);
    const byOption = await luact(['lint', '--dir', dir]);
    expect(byOption.code).toBe(0);
    const both = await luact(['lint', dir, '--dir', REPO_ROOT]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('two application directories given');
    const workflows = await luact(['workflow', 'list', '--dir', dir]);
    expect(workflows.stderr).toContain(
      `no node "local" is running for ${path.relative(REPO_ROOT, dir)}`,
    );
  });

  it('"no node is running" names the node that runs the directory under another name', async () => {
    const dir = await writeApp({
      'app.yaml': 'namespace: app\nentries:\n  - name: processes\n    kind: process.host\n',
    });
    const node = clis.start(['run', dir, '--node', 'second']);
    await node.waitFor('running');
    const asked = await luact(['services', dir]);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain('under another name: add --node second');
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
  });
});

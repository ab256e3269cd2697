import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDuration } from './commands/inspect.js';
import type { CliIO } from './io.js';
import { runCli } from './program.js';

let dir: string;

/** db ← api, a one-shot migration, and a test that needs api running. */
const APP = `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: worker
    kind: process.lua
    source: |
      return { main = function(name)
        process.registry.register(name)
        local events = process.events()
        while events:receive().kind ~= process.event.CANCEL do end
      end }
  - name: migrate
    kind: process.lua
    source: "return { main = function() return 'migrated' end }"
  - name: db
    kind: process.service
    process: worker
    host: processes
    input: [db]
  - name: api
    kind: process.service
    process: worker
    host: processes
    input: [api]
    lifecycle: { auto_start: true, requires: [db] }
  - name: migration
    kind: process.service
    process: migrate
    host: processes
    lifecycle: { auto_start: true, restart: { max_attempts: 1 } }
  - name: test_api_is_up
    kind: process.lua
    meta: { type: test }
    modules: [supervisor]
    source: |
      local supervisor = require("supervisor")
      return { main = function()
        return supervisor.status("api").state == "running" and supervisor.status("db").state == "running"
      end }
`;

/** A service that ignores CANCEL, so only its stop_timeout ends it. */
const STUBBORN = (stopTimeout: string) => `
  - name: stubborn
    kind: process.lua
    source: |
      return { main = function()
        local events = process.events()
        while true do events:receive() end
      end }
  - name: jammed
    kind: process.service
    process: stubborn
    host: processes
    lifecycle: { auto_start: true, stop_timeout: ${stopTimeout} }
`;

type Captured = CliIO & { out: () => string; err: () => string; signal: (name: string) => void };

/** Output into strings, and stop signals sent by the test. */
function capture(): Captured {
  let out = '';
  let err = '';
  const waiting: ((name: string) => void)[] = [];
  const pending: string[] = [];
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    cwd: dir,
    env: {},
    out: () => out,
    err: () => err,
    signal: (name) => {
      const resolve = waiting.shift();
      if (resolve) resolve(name);
      else pending.push(name);
    },
    signals: {
      next: () => {
        const early = pending.shift();
        return early !== undefined
          ? Promise.resolve(early)
          : new Promise<string>((resolve) => waiting.push(resolve));
      },
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The "service state" log lines on stderr, as "service:state". */
function transitions(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.includes('"msg":"service state"'))
    .map((line) => JSON.parse(line) as { service: string; state: string })
    .map((record) => `${record.service}:${record.state}`);
}

/** Starts `luact run` in this process; resolves its exit code when it ends. */
async function runNode(extraEntries = '') {
  await writeFile(path.join(dir, 'app.yaml'), APP + extraEntries);
  const io = capture();
  const control = path.join(dir, 'control.sock');
  const exit = runCli(['run', '.', '--control', control], io);
  await until(() => io.err().includes('running'), 'the node runs');
  return { io, control, exit };
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-cli-services-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('luact run with services', () => {
  it('starts services in dependency order, serves ps/services, and stops in reverse on SIGTERM', async () => {
    const { io, control, exit } = await runNode();
    expect(io.err()).toContain('2 of 3 services running');
    const up = transitions(io.err()).filter((t) => t.endsWith(':running'));
    expect(up.indexOf('app:db:running')).toBeLessThan(up.indexOf('app:api:running'));

    const table = capture();
    expect(await runCli(['services', '.', '--control', control], table)).toBe(0);
    const rows = table.out().trim().split('\n');
    expect(rows[0]).toMatch(/^SERVICE\s+STATE\s+ATTEMPTS\s+UPTIME\s+LAST ERROR$/);
    expect(rows.slice(1).map((row) => row.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['app:api', 'running', '0'],
      ['app:db', 'running', '0'],
      ['app:migration', 'exited', '0'],
    ]);

    const json = capture();
    expect(await runCli(['services', '.', '--control', control, '--json'], json)).toBe(0);
    expect(JSON.parse(json.out())).toEqual([
      expect.objectContaining({ id: 'app:api', state: 'running', uptime_ms: expect.any(Number) }),
      expect.objectContaining({ id: 'app:db', state: 'running' }),
      expect.objectContaining({ id: 'app:migration', state: 'exited', uptime_ms: null }),
    ]);

    const ps = capture();
    expect(await runCli(['ps', '.', '--control', control], ps)).toBe(0);
    const processes = ps.out().trim().split('\n');
    expect(processes[0]).toMatch(/^PID\s+ENTRY\s+HOST\s+NAMES\s+MAILBOX\s+LINKS\s+MONITORS$/);
    expect(
      processes
        .slice(1)
        .map((row) => row.split(/\s+/).slice(1, 4))
        .sort(),
    ).toEqual([
      ['app:worker', 'app:processes', 'api'],
      ['app:worker', 'app:processes', 'db'],
    ]);

    const before = transitions(io.err()).length;
    io.signal('SIGTERM');
    expect(await exit).toBe(0);
    const down = transitions(io.err()).slice(before);
    expect(down).toEqual([
      'app:api:stopping',
      'app:api:stopped',
      'app:db:stopping',
      'app:db:stopped',
    ]);
    expect(io.err()).toContain('luact: stopped cleanly');
    await expect(runCli(['services', '.', '--control', control], capture())).resolves.toBe(1);
  });

  it('exits 1 naming the service it had to terminate after its stop_timeout', async () => {
    const { io, exit } = await runNode(STUBBORN('50ms'));
    io.signal('SIGINT');
    expect(await exit).toBe(1);
    expect(io.err()).toContain('terminated after stop_timeout: app:jammed');
  });

  it('exits at once on a second signal', async () => {
    const { io, exit } = await runNode(STUBBORN('1m'));
    io.signal('SIGTERM');
    await until(() => transitions(io.err()).includes('app:jammed:stopping'), 'jammed is stopping');
    io.signal('SIGTERM');
    expect(await exit).toBe(1);
    expect(io.err()).toContain('SIGTERM again, exiting without waiting for services');
  });
});

describe('luact services and ps without a node', () => {
  it('say that no node runs for the directory, and how to start one', async () => {
    // A socket directory of this test's own: nodes other tests run are not listed.
    const sockets = await mkdtemp(path.join(tmpdir(), 'luact-sockets-'));
    for (const command of ['services', 'ps']) {
      const io = { ...capture(), env: { XDG_RUNTIME_DIR: sockets } };
      expect(await runCli([command, '.', '--node', 'nobody'], io)).toBe(1);
      expect(io.err()).toBe(
        'luact: no node "nobody" is running for . (start one with: luact run .)\n',
      );
      expect(io.out()).toBe('');
    }
  });
});

describe('luact test with services', () => {
  it('boots the auto_start services before the tests and stops them after', async () => {
    await writeFile(path.join(dir, 'app.yaml'), APP);
    const io = capture();
    expect(await runCli(['test', '.'], io)).toBe(0);
    expect(io.out()).toContain('1 passed, 0 failed');
    expect(transitions(io.err())).toContain('app:db:stopped');
  });

  it('fails when shutdown is not clean', async () => {
    await writeFile(path.join(dir, 'app.yaml'), APP + STUBBORN('50ms'));
    const io = capture();
    expect(await runCli(['test', '.'], io)).toBe(1);
    expect(io.out()).toContain('1 passed, 0 failed');
    expect(io.err()).toContain('terminated after stop_timeout: app:jammed');
  });
});

describe('formatDuration', () => {
  it('shows the two largest units', () => {
    expect([0, 999, 42_000, 185_000, 3_600_000, 7_800_000, 90_061_000].map(formatDuration)).toEqual(
      ['0s', '0s', '42s', '3m 5s', '1h', '2h 10m', '1d 1h'],
    );
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from './io.js';
import { runCli } from './program.js';

let dir: string;

const APP = `
namespace: app
entries:
  - name: add
    kind: function.lua
    source: "return { main = function(a, b) return a + b end }"
  - name: hello
    kind: process.lua
    source: |
      return { main = function(name, n)
        print("hi " .. name)
        return { name = name, twice = n * 2 }
      end }
  - name: fails
    kind: process.lua
    source: "return { main = function() return nil, errors.new{ message = 'no luck', kind = errors.CONFLICT } end }"
  - name: waits
    kind: process.lua
    source: "return { main = function() channel.new():receive() end }"
  - name: test_passes
    kind: process.lua
    meta: { type: test }
    source: "return { main = function() return true end }"
  - name: test_returns_false
    kind: function.lua
    meta: { type: test }
    source: "return { main = function() return false end }"
  - name: test_raises
    kind: process.lua
    meta: { type: test }
    source: "return { main = function() error('boom') end }"
  - name: test_hangs
    kind: process.lua
    meta: { type: test, timeout: 100 }
    source: "return { main = function() channel.new():receive() end }"
`;

function capture(): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    cwd: dir,
    env: {},
    out: () => out,
    err: () => err,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-cli-run-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('luact run --exec', () => {
  it('runs a process entry with JSON arguments and prints its result as JSON', async () => {
    const io = capture();
    expect(await runCli(['run', '.', '--exec', 'app:hello', 'ada', '21'], io)).toBe(0);
    const [printed, result] = io.out().trim().split('\n');
    expect(printed).toBe('hi ada');
    expect(JSON.parse(result ?? '')).toEqual({ ok: true, value: { name: 'ada', twice: 42 } });
  });

  it('treats a first argument that is not a directory as an argument of the entry', async () => {
    const io = { ...capture(), cwd: path.dirname(dir) };
    const code = await runCli(['run', path.basename(dir), '--exec', 'app:add', '2', '3'], io);
    expect(code).toBe(0);
  });

  it('calls a function entry, and exits 1 with the error as JSON when the entry fails', async () => {
    const io = capture();
    expect(await runCli(['run', '.', '--exec', 'app:add', '2', '3'], io)).toBe(0);
    expect(io.out()).toBe('{"ok":true,"value":5}\n');
    const failing = capture();
    expect(await runCli(['run', '.', '--exec', 'app:fails'], failing)).toBe(1);
    expect(JSON.parse(failing.out())).toMatchObject({
      ok: false,
      error: { kind: 'CONFLICT', message: 'no luck' },
    });
  });

  it('ends an entry that can never finish once nothing is left to do, with exit 1', async () => {
    const io = {
      ...capture(),
      // This test's stand-in for the process going idle (its beforeExit).
      onIdle: (listener: () => void) => {
        const timer = setTimeout(listener, 50);
        return () => clearTimeout(timer);
      },
    };
    expect(await runCli(['run', '.', '--exec', 'app:waits'], io)).toBe(1);
    expect(JSON.parse(io.out())).toMatchObject({
      ok: false,
      error: { kind: 'TIMEOUT', details: { waiting_forever: true } },
    });
    expect(io.err()).toContain('app:waits can never finish');
  });

  it('ends an entry at its --timeout', async () => {
    const io = capture();
    expect(await runCli(['run', '.', '--exec', 'app:waits', '--timeout', '200ms'], io)).toBe(1);
    expect(JSON.parse(io.out()).error).toMatchObject({
      kind: 'TIMEOUT',
      message: 'app:waits did not finish within 200ms (--timeout)',
    });
  });

  it('ends an entry on the first stop signal', async () => {
    let send: (signal: string) => void = () => {};
    const first = new Promise<string>((resolve) => {
      send = resolve;
    });
    // One signal, then none: the node shuts down without being hurried.
    let calls = 0;
    const signals = { next: () => (calls++ === 0 ? first : new Promise<string>(() => {})) };
    const io = { ...capture(), signals };
    const exit = runCli(['run', '.', '--exec', 'app:waits'], io);
    setTimeout(() => send('SIGINT'), 100);
    expect(await exit).toBe(1);
    expect(io.err()).not.toContain('again');
    expect(JSON.parse(io.out()).error).toMatchObject({
      kind: 'CANCELED',
      message: 'app:waits was interrupted by SIGINT',
    });
  });

  it('reports an unknown entry', async () => {
    const io = capture();
    expect(await runCli(['run', '.', '--exec', 'app:nope'], io)).toBe(1);
    expect(io.err()).toContain('entry app:nope not found');
  });

  it('stops a running node on a signal and exits 0', async () => {
    // One SIGTERM, and no second signal to force the exit.
    const signals = [Promise.resolve('SIGTERM')];
    const io: CliIO = {
      ...capture(),
      signals: { next: () => signals.shift() ?? new Promise<string>(() => {}) },
    };
    expect(await runCli(['run', '.'], io)).toBe(0);
  });
});

describe('luact test', () => {
  it('runs every test entry, prints a line each and "N passed, N failed"', async () => {
    const io = capture();
    expect(await runCli(['test', '.'], io)).toBe(1);
    const lines = io.out().trim().split('\n');
    expect(lines.at(-1)).toBe('1 passed, 3 failed');
    expect(lines.slice(0, -1).sort()).toEqual(
      [
        expect.stringMatching(/^✓ app:test_passes \(\d+ ms\)$/),
        expect.stringMatching(
          /^✗ app:test_hangs \(\d+ ms\): app:test_hangs did not finish within 100 ms$/,
        ),
        expect.stringMatching(/^✗ app:test_raises \(\d+ ms\): .*boom$/),
        expect.stringMatching(/^✗ app:test_returns_false \(\d+ ms\): returned false$/),
      ].sort(),
    );
  });

  it('filters tests by ID and reports JSON', async () => {
    const io = capture();
    expect(await runCli(['test', '.', '--filter', 'passes', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({
      passed: 1,
      failed: 0,
      tests: [{ id: 'app:test_passes', passed: true }],
    });
  });
});

describe('luact test order', () => {
  /** A test that requires `needs` (unless empty) in the registry, waits, then adds `adds`. */
  const step = (name: string, order: number | undefined, needs: string, adds: string) => `
  - name: ${name}
    kind: function.lua
    meta: { type: test${order === undefined ? '' : `, order: ${order}`} }
    modules: [registry, time]
    source: |
      local registry, time = require("registry"), require("time")
      return { main = function()
        if "${needs}" ~= "" then assert(registry.get("${needs}"), "${needs} is not there yet") end
        time.sleep("50ms")
        local changes = registry.snapshot():changes()
        changes:create({ id = "${adds}", kind = "registry.entry" })
        return assert(changes:apply())
      end }`;

  it('runs tests by meta.order (unset is 0), a higher order once the lower ones ended', async () => {
    const ordered = await mkdtemp(path.join(tmpdir(), 'luact-cli-order-'));
    try {
      await writeFile(
        path.join(ordered, 'app.yaml'),
        `namespace: app\nentries:${step('a_last', 20, 'app:second', 'app:third')}${step(
          'b_second',
          10,
          'app:first',
          'app:second',
        )}${step('c_first', undefined, '', 'app:first')}\n`,
      );
      const io = { ...capture(), cwd: ordered };
      expect(await runCli(['test', '.', '--json'], io)).toBe(0);
      expect(JSON.parse(io.out())).toMatchObject({ passed: 3, failed: 0 });
    } finally {
      await rm(ordered, { recursive: true, force: true });
    }
  });
});

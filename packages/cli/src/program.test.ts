import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from './io.js';
import { runCli } from './program.js';

interface Captured extends CliIO {
  readonly out: () => string;
  readonly err: () => string;
}

function capture(cwd: string, env: Record<string, string> = {}): Captured {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    cwd,
    env,
    out: () => out,
    err: () => err,
  };
}

let root: string;
const cleanup: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'luact-cli-'));
  await writeFile(
    path.join(root, 'good.yaml'),
    'namespace: app\nentries:\n  - name: processes\n    kind: process.host\n  - name: db\n    kind: env.variable\n    variable: DB\n    default: ${env:DB_URL}\n',
  );
});

afterAll(async () => {
  await Promise.all([root, ...cleanup].map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('luact lint', () => {
  it('prints a summary and exits 0 for a valid application', async () => {
    const io = capture(path.dirname(root), { DB_URL: 'postgres://db' });
    expect(await runCli(['lint', path.basename(root)], io)).toBe(0);
    expect(io.out()).toBe(`${path.basename(root)}: 2 entries in 1 file, no problems\n`);
  });

  it('reports an unset environment variable unless told not to check', async () => {
    const io = capture(root);
    expect(await runCli(['lint', '.'], io)).toBe(1);
    expect(io.out()).toContain(
      'good.yaml:8:14: error: app:db › default: environment variable DB_URL is not set',
    );
    expect(await runCli(['lint', '.', '--no-env-check'], capture(root))).toBe(0);
  });

  it('prints every problem with file:line and exits 1', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-cli-bad-'));
    cleanup.push(dir);
    await writeFile(
      path.join(dir, 'a.yaml'),
      'namespace: app\nentries:\n  - name: x\n    kind: nope\n  - name: y\n    kind: process.service\n',
    );
    const io = capture(dir);
    expect(await runCli(['lint', '.'], io)).toBe(1);
    expect(io.out().split('\n')).toEqual([
      'a.yaml:4:11: error: app:x › kind: unknown kind "nope" [unknown-kind]',
      'a.yaml:5:5: error: app:y: missing required field "process" (the ID of a process.lua entry) [missing-field]',
      'a.yaml:5:5: error: app:y: missing required field "host" (the ID of a process.host entry) [missing-field]',
      'luact lint .: 3 errors in 1 file',
      '',
    ]);
  });

  it('prints a JSON report with --json', async () => {
    const io = capture(root, { DB_URL: 'x' });
    expect(await runCli(['lint', '.', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({
      ok: true,
      files: 1,
      entries: 2,
      errors: 0,
      warnings: 0,
      diagnostics: [],
    });
  });

  it('fails with a clear message for a directory that does not exist', async () => {
    const io = capture(root);
    expect(await runCli(['lint', 'missing-dir'], io)).toBe(1);
    expect(io.out()).toContain(
      `error: application directory ${path.join(root, 'missing-dir')} does not exist [unreadable]`,
    );
  });
});

describe('the luact command line', () => {
  it('exits 2 on an unknown command or option, with a hint', async () => {
    const unknownCommand = capture(root);
    expect(await runCli(['frobnicate'], unknownCommand)).toBe(2);
    expect(unknownCommand.err()).toContain("unknown command 'frobnicate'");
    const unknownOption = capture(root);
    expect(await runCli(['lint', '--colour'], unknownOption)).toBe(2);
    expect(unknownOption.err()).toContain("unknown option '--colour'");
    expect(unknownOption.err()).toContain('--help');
  });

  it('exits 2 when a required argument is missing', async () => {
    const io = capture(root);
    expect(await runCli(['workflow', 'show'], io)).toBe(2);
    expect(io.err()).toContain("missing required argument 'id'");
  });

  it('prints help for every command with exit code 0', async () => {
    for (const argv of [
      ['--help'],
      ['lint', '--help'],
      ['run', '--help'],
      ['test', '--help'],
      ['ps', '--help'],
      ['services', '--help'],
      ['workflow', '--help'],
      ['workflow', 'signal', '--help'],
    ]) {
      const io = capture(root);
      expect(await runCli(argv, io), argv.join(' ')).toBe(0);
      expect(io.out()).toMatch(/^Usage: luact/);
    }
  });

  it('refuses a --nats value that is neither server URLs nor an entry ID, naming it', async () => {
    for (const [command, value] of [
      ['run', 'nats://a:4222,http://b/x'],
      ['test', 'nats://a:4222,'],
    ] as const) {
      const io = capture(root);
      expect(await runCli([command, '--nats', value], io), `${command} --nats ${value}`).toBe(2);
      expect(io.err()).toMatch(/option '--nats <servers>' argument .* is invalid/);
    }
    const io = capture(root);
    await runCli(['run', '--nats', 'http://b/x'], io);
    expect(io.err()).toContain(
      '"http://b/x" is not a NATS server URL (nats://host:port) or a nats.connection entry ID (ns:name)',
    );
  });

  it('refuses cluster flags on a command that joins no cluster, naming them and what is missing', async () => {
    for (const [argv, message] of [
      [
        ['run', '--down-after', '10s'],
        '--down-after applies only to a node that joins a cluster: give --nats',
      ],
      [
        [
          'run',
          '--exec',
          'app:x',
          '--nats',
          'nats://127.0.0.1:1',
          '--send-timeout',
          '30s',
          '--placement',
          'spread',
        ],
        '--placement and --send-timeout apply only to a node that joins a cluster: give --node',
      ],
      [
        ['test', '--node', 'a', '--replicas', '3', '--placement', 'spread', '--down-after', '9s'],
        '--replicas, --placement and --down-after apply only to a node that joins a cluster: give --nats',
      ],
    ] as const) {
      const io = capture(root);
      expect(await runCli([...argv], io), argv.join(' ')).toBe(2);
      expect(io.err()).toContain(message);
    }
  });

  it('says which node the workflow commands cannot reach', async () => {
    // A socket directory of this test's own, so nodes other tests run are not listed.
    const sockets = await mkdtemp(path.join(tmpdir(), 'luact-sockets-'));
    for (const argv of [
      ['workflow', 'list', '--node', 'nobody'],
      ['workflow', 'signal', 'wf-1', 'approve', '--node', 'nobody'],
    ]) {
      const io = capture(root, { XDG_RUNTIME_DIR: sockets });
      expect(await runCli(argv, io), argv.join(' ')).toBe(1);
      expect(io.err()).toBe(
        'luact: no node "nobody" is running for . (start one with: luact run .)\n',
      );
      expect(io.out()).toBe('');
    }
  });
});

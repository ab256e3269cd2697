import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { CliIO } from './io.js';
import { runCli } from './program.js';

let dir: string;

const APP = `namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: waiter
    kind: workflow.lua
    source: |
      return { main = function(name)
        local inbox, events = process.inbox(), process.events()
        local r = channel.select({ inbox:case_receive(), events:case_receive() })
        if r.channel == events then return { name = name, canceled = r.value.reason } end
        return { name = name, got = r.value:payload():data() }
      end }
  - name: greeter
    kind: workflow.lua
    source: "return { main = function(name) return 'hello ' .. name end }"
`;

type Captured = CliIO & { out: () => string; err: () => string; stop: () => void };

function capture(): Captured {
  let out = '';
  let err = '';
  let stop: ((signal: string) => void) | undefined;
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    cwd: dir,
    env: {},
    out: () => out,
    err: () => err,
    stop: () => stop?.('SIGTERM'),
    signals: { next: () => new Promise<string>((resolve) => (stop = resolve)) },
  };
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-cli-workflows-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ask(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await runCli([...argv, '--control', path.join(dir, 'control.sock')], io);
  return { code, out: io.out(), err: io.err() };
}

it('starts, lists, shows, signals, cancels and terminates workflows of a running node, and prints their history', async () => {
  const node = capture();
  const running = runCli(['run', '.', '--control', path.join(dir, 'control.sock')], node);
  for (let i = 0; i < 2000 && !node.err().includes('stop with Ctrl+C'); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));

  expect(await ask('workflow', 'start', 'app:waiter', 'ada', '--id', 'w-signal')).toMatchObject({
    code: 0,
    out: '{app:flows|w-signal}\n',
  });
  await ask('workflow', 'start', 'app:waiter', 'bob', '--id', 'w-cancel');
  await ask('workflow', 'start', 'app:waiter', 'cy', '--id', 'w-terminate');

  const listed = await ask('workflow', 'list');
  expect(listed.out.split('\n')[0]).toMatch(
    /^WORKFLOW\s+RUN\s+ENTRY\s+STATUS\s+STARTED\s+CLOSED\s+HOST\s+PROBLEM$/,
  );
  expect(listed.out).toMatch(
    /w-signal\s+1\s+app:waiter\s+(running|replaying)\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+-\s+app:flows/,
  );

  expect((await ask('workflow', 'signal', 'w-signal', 'hello', '{"n":1}')).out).toBe(
    'signal "hello" journaled for w-signal\n',
  );
  expect((await ask('workflow', 'cancel', 'w-cancel', 'not needed')).code).toBe(0);
  expect((await ask('workflow', 'terminate', '{app:flows|w-terminate}')).out).toBe(
    '{app:flows|w-terminate} terminated\n',
  );

  const ended = async (id: string) => {
    for (let i = 0; i < 2000; i++) {
      const shown = JSON.parse((await ask('workflow', 'show', id, '--json')).out) as {
        status: string;
      };
      if (shown.status !== 'running' && shown.status !== 'replaying') return shown;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${id} did not end`);
  };
  expect(await ended('w-signal')).toMatchObject({
    status: 'completed',
    ended: { value: { name: 'ada', got: { n: 1 } } },
  });
  expect(await ended('w-cancel')).toMatchObject({
    ended: { value: { name: 'bob', canceled: 'not needed' } },
  });
  expect(await ended('w-terminate')).toMatchObject({ status: 'terminated' });

  const shown = await ask('workflow', 'show', 'w-signal');
  expect(shown.out).toContain('status:   completed');
  expect(shown.out).toContain('input:    ["ada"]');
  // Key order of a Lua table is not fixed: check the fields.
  expect(shown.out).toMatch(/^result: {3}\{.*"name":"ada".*\}$/m);
  expect(shown.out).toMatch(/^result: {3}\{.*"got":\{"n":1\}.*\}$/m);
  const history = (await ask('workflow', 'history', 'w-signal')).out.trim().split('\n');
  const types = history.map((line) => line.trim().split(/\s+/)[2]);
  // The signal can be journaled before the first task: it raced the workflow's first run.
  expect([types[0], types.at(-1), [...types].sort()]).toEqual([
    'started',
    'completed',
    ['completed', 'signal', 'started', 'task'],
  ]);

  const missing = await ask('workflow', 'show', 'nobody');
  expect(missing).toMatchObject({ code: 1, err: 'luact: no workflow nobody on this node\n' });
  const late = await ask('workflow', 'signal', 'w-signal', 'again');
  expect(late).toMatchObject({ code: 1, err: 'luact: workflow w-signal has ended (completed)\n' });

  node.stop();
  expect(await running).toBe(0);
});

async function runNode(): Promise<{ stop: () => Promise<number> }> {
  const node = capture();
  const running = runCli(['run', '.', '--control', path.join(dir, 'control.sock')], node);
  for (let i = 0; i < 2000 && !node.err().includes('stop with Ctrl+C'); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    stop: async () => {
      node.stop();
      return running;
    },
  };
}

interface Listed {
  workflows: { workflow: string; status: string; started_at: string; closed_at: string | null }[];
  total: number;
  more: number;
}

async function listJson(...filters: string[]): Promise<Listed> {
  const listed = await ask('workflow', 'list', '--json', ...filters);
  expect(listed).toMatchObject({ code: 0, err: '' });
  return JSON.parse(listed.out) as Listed;
}

it('lists ended workflows after the node restarts, newest first, by status and entry, up to a limit', async () => {
  const first = await runNode();
  for (const name of ['ada', 'bob', 'cy']) {
    await ask('workflow', 'start', 'app:greeter', name, '--id', `greet-${name}`);
    // One after the other, so newest first has one answer.
    for (let i = 0; i < 2000; i++) {
      const { workflows } = await listJson('--status', 'completed');
      if (workflows.some((w) => w.workflow === `greet-${name}`)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  await ask('workflow', 'start', 'app:waiter', 'dee', '--id', 'waiting');
  const at = Date.now();
  while (Date.now() <= at + 1) await new Promise((resolve) => setTimeout(resolve, 1));
  await ask('workflow', 'start', 'app:waiter', 'eve', '--id', 'stopped');
  await ask('workflow', 'terminate', 'stopped');
  expect(await first.stop()).toBe(0);

  const second = await runNode();
  const all = await listJson();
  expect(all.workflows.map((w) => [w.workflow, w.status])).toEqual([
    ['stopped', 'terminated'],
    ['waiting', expect.stringMatching(/^(running|replaying)$/)],
    ['greet-cy', 'completed'],
    ['greet-bob', 'completed'],
    ['greet-ada', 'completed'],
  ]);
  expect(all).toMatchObject({ total: 5, more: 0 });
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  for (const w of all.workflows) expect(w.started_at).toMatch(iso);
  expect(all.workflows[0]?.closed_at).toMatch(iso);
  expect(all.workflows[1]?.closed_at).toBeNull();

  const page = await ask('workflow', 'list', '--status', 'completed', '--limit', '2');
  const lines = page.out.trim().split('\n');
  expect(lines.slice(1, -1).map((line) => line.split(/\s+/).slice(0, 4))).toEqual([
    ['greet-cy', '1', 'app:greeter', 'completed'],
    ['greet-bob', '1', 'app:greeter', 'completed'],
  ]);
  expect(lines.at(-1)).toBe(
    '2 of 3 shown, newest first; 1 more (raise --limit, or filter with --status or --entry)',
  );
  const some = await listJson('--status', 'terminated,running', '--status', 'replaying');
  expect(some.workflows.map((w) => w.workflow)).toEqual(['stopped', 'waiting']);
  const ofEntry = await listJson('--entry', 'app:waiter');
  expect(ofEntry.workflows.map((w) => w.workflow)).toEqual(['stopped', 'waiting']);

  const wrong = await ask('workflow', 'list', '--status', 'done');
  expect(wrong.code).toBe(2);
  expect(wrong.err).toContain('luact: --status: unknown workflow status "done" (one of: running,');
  expect((await ask('workflow', 'list', '--limit', '0')).code).toBe(2);
  expect(await second.stop()).toBe(0);
});

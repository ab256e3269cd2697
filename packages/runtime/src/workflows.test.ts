import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationError, Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const WAITER = `
  - name: waiter
    kind: workflow.lua
    source: |
      return { main = function(name)
        local decision = process.listen("decision"):receive()
        return name .. ": " .. decision
      end }
`;

async function app(yaml: string) {
  const written = await writeApp({ 'app.yaml': yaml });
  cleanups.push(written.remove);
  return written.dir;
}

async function start(dir: string, env: Record<string, string> = {}) {
  const node = await Node.start({ dir, env, print: () => {} });
  cleanups.push(async () => void (await node.stop()));
  return node;
}

describe('workflows on the file journal', () => {
  it('resume after the node restarts, and keep their journal in the state directory', async () => {
    const dir = await app(`namespace: app
entries:
  - name: flows
    kind: workflow.host
${WAITER}`);
    const first = await start(dir);
    const host = first.workflows.hostFor(first.registry.snapshot.get('app:waiter') as never);
    const pid = await host.start({
      workflow: 'w1',
      entry: 'app:waiter',
      args: new Uint8Array([0x91, 0xa3, 0x61, 0x64, 0x61]),
      context: {},
      messages: [],
      conflict: 'use_existing',
    });
    await first.stop();

    const second = await start(dir);
    expect(second.workflows.list()).toMatchObject([{ workflow: 'w1', host: 'app:flows' }]);
    expect(['replaying', 'running']).toContain(second.workflows.list()[0]?.status);
    await second.workflows.signal('w1', 'decision', ['approved']);
    const ended = new Promise(
      (resolve) => void second.workflows.host('app:flows')?.watchWorkflow(pid, resolve),
    );
    expect(await ended).toMatchObject({ ok: true });
    expect(await second.workflows.show('w1')).toMatchObject({
      status: 'completed',
      ended: { t: 'completed', value: 'ada: approved' },
      started: { args: ['ada'] },
    });
    const journal = second.workflows.host('app:flows')?.journal;
    expect(journal?.kind).toBe('file');
    expect(await journal?.list()).toEqual([
      { id: 'w1~1', length: expect.any(Number), closed: true },
    ]);
  });

  it('reports a damaged journal by file and byte, and resumes the other workflows', async () => {
    const dir = await app(`namespace: app
entries:
  - name: flows
    kind: workflow.host
${WAITER}`);
    const first = await start(dir);
    const host = first.workflows.host('app:flows');
    // 'bad' first: a later write follows its frames, so the damage is not a torn tail.
    for (const workflow of ['bad', 'good']) {
      await host?.start({
        workflow,
        entry: 'app:waiter',
        args: new Uint8Array([0x91, 0xa1, 0x78]),
        context: {},
        messages: [],
        conflict: 'use_existing',
      });
    }
    await until(async () => (await host?.history('good'))?.length === 2);
    await first.stop();
    // The first frame of run bad~1 in the journal's log: a byte of its payload, past its
    // header (which ends with the stream ID and a 4-byte checksum), goes bad.
    const file = path.join(dir, '.luact', 'journal', 'app_flows', 'log', '0000000001.wal');
    const bytes = await readFile(file);
    const id = Buffer.from('bad~1');
    const at = bytes.indexOf(id) + id.length + 4 + 2;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(file, bytes);

    const second = await start(dir);
    const listed = second.workflows.list();
    expect(listed.find((w) => w.workflow === 'bad')).toMatchObject({
      status: 'unreadable',
      problem: expect.stringContaining(`${file}: corrupt journal frame at byte`),
    });
    await second.workflows.signal('good', 'decision', ['fine']);
    await until(
      () => second.workflows.list().find((w) => w.workflow === 'good')?.status === 'completed',
    );
  });

  it('refuses a workflow that lists a module doing I/O, naming the module and its line', async () => {
    const dir = await app(`namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: nosy
    kind: workflow.lua
    modules: [time, env]
    source: "return { main = function() end }"
`);
    const error = (await Node.start({ dir, env: {} }).catch((e: unknown) => e)) as ApplicationError;
    expect(error).toBeInstanceOf(ApplicationError);
    expect(error.diagnostics).toMatchObject([
      {
        code: 'workflow-module',
        entry: 'app:nosy',
        field: 'modules[1]',
        location: { line: 7, column: 21 },
        message: expect.stringContaining('may not use module "env"'),
      },
    ]);
  });
});

describe('workflows on a JetStream journal', () => {
  let nats: NatsServerHandle;

  beforeAll(async () => {
    nats = await startNatsServer();
  });

  afterAll(async () => {
    await nats?.stop();
  });

  const JETSTREAM_APP = `namespace: app
entries:
  - name: nats
    kind: nats.connection
    servers: \${env:TEST_NATS_URL}
  - name: flows
    kind: workflow.host
    connection: nats
    journal: { replicas: 1 }
${WAITER}`;

  it('journal to the stream of their host and resume from it after a restart', async () => {
    const dir = await app(JETSTREAM_APP);
    const env = { TEST_NATS_URL: nats.url };
    const first = await start(dir, env);
    const host = first.workflows.host('app:flows');
    expect(host?.journal.kind).toBe('jetstream');
    await host?.start({
      workflow: 'js-1',
      entry: 'app:waiter',
      args: new Uint8Array([0x91, 0xa3, 0x62, 0x6f, 0x62]),
      context: {},
      messages: [],
      conflict: 'use_existing',
    });
    await first.stop();

    const second = await start(dir, env);
    await second.workflows.signal('js-1', 'decision', ['rejected']);
    const result = await new Promise(
      (resolve) =>
        void second.workflows.host('app:flows')?.watchWorkflow('{app:flows|js-1}', resolve),
    );
    expect(result).toMatchObject({ ok: true });
    // The signal may be journaled before the first task: the first node stopped right away.
    const types = (await second.workflows.history('js-1')).map((r) => (r as { t: string }).t);
    expect([types[0], types.at(-1), [...types].sort()]).toEqual([
      'started',
      'completed',
      ['completed', 'signal', 'started', 'task'],
    ]);
  });

  it('remove runs past their retention from the stream', async () => {
    const dir = await app(
      JETSTREAM_APP.replace('journal: { replicas: 1 }', 'journal: { replicas: 1, retention: 1s }'),
    );
    const node = await start(dir, { TEST_NATS_URL: nats.url });
    const host = node.workflows.host('app:flows');
    if (!host) throw new Error('no host');
    const begin = (workflow: string) =>
      host.start({
        workflow,
        entry: 'app:waiter',
        args: new Uint8Array([0x91, 0xa3, 0x62, 0x6f, 0x62]),
        context: {},
        messages: [],
        conflict: 'use_existing',
      });
    await begin('expires');
    await begin('stays');
    await node.workflows.signal('expires', 'decision', ['done']);
    await until(async () => (await host.journal.ids()).length === 1, 20_000);
    expect(await host.journal.ids()).toEqual([{ id: 'stays~1', closed: false }]);
    expect(host.knows('expires')).toBe(false);
  });

  it('says which NATS servers it cannot reach when the server is down', async () => {
    const dir = await app(JETSTREAM_APP);
    const error = await Node.start({ dir, env: { TEST_NATS_URL: 'nats://127.0.0.1:1' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      kind: 'UNAVAILABLE',
      message: expect.stringContaining('cannot connect to NATS at nats://127.0.0.1:1'),
    });
  });
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

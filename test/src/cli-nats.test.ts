import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts, type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logRecords, luact } from './luact-cli.js';

/**
 * `luact run --nats`: the node connects to NATS at start, and a workflow host with neither a
 * journal backend nor a connection of its own journals to JetStream there.
 */

const APP = `version: "1.0"
namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: square
    kind: workflow.lua
    source: "return { main = function(x) return x * x end }"
    meta: { host: app:flows }
  # A host that asks for the file journal keeps it under --nats.
  - name: files
    kind: workflow.host
    journal: { backend: file }
  - name: cube
    kind: workflow.lua
    source: "return { main = function(x) return x * x * x end }"
    meta: { host: app:files }
  # Settings --nats app:nats uses: the server (from the environment) and its credentials.
  - name: nats
    kind: nats.connection
    servers: ["\${env:NATS_URL}"]
    user: luact
    password: "\${env:NATS_PASSWORD}"
`;

const PASSWORD = 'a-secret-password';

let scratch: string;
let app: string;
let server: NatsServerHandle;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-cli-nats-'));
  app = path.join(scratch, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'app.yaml'), APP);
  server = await startNatsServer({
    monitoring: true,
    args: ['--user', 'luact', '--pass', PASSWORD],
  });
}, 30_000);

afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Messages per JetStream stream, from the server's monitoring endpoint. */
async function streams(): Promise<Map<string, number>> {
  const response = await fetch(`${server.monitorUrl}/jsz?streams=true`);
  const body = (await response.json()) as {
    account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[];
  };
  const found = new Map<string, number>();
  for (const account of body.account_details ?? []) {
    for (const stream of account.stream_detail ?? []) found.set(stream.name, stream.state.messages);
  }
  return found;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

const env = (more: Record<string, string> = {}) => ({
  ...process.env,
  NATS_URL: server.url,
  NATS_PASSWORD: PASSWORD,
  ...more,
});

describe('luact run --nats', () => {
  it('journals a workflow run to JetStream through the nats.connection entry it names', async () => {
    const state = path.join(scratch, 'state-entry');
    const run = await luact(
      ['run', app, '--nats', 'app:nats', '--state-dir', state, '--exec', 'app:square', '7'],
      env(),
    );
    expect(run.stderr).not.toContain(PASSWORD);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, value: 49 });

    // The run's records are in the host's journal stream, not in a file journal.
    expect((await streams()).get('LUACT_JOURNAL_APP_FLOWS')).toBeGreaterThanOrEqual(2);
    expect(await exists(path.join(state, 'journal', 'app_flows'))).toBe(false);
    // The node said where it connected (servers, never credentials).
    const connected = logRecords(run.stderr).find((record) =>
      String(record.msg).startsWith('NATS connection app:nats: connected to'),
    );
    expect(connected).toMatchObject({ level: 'info', servers: [server.url] });
  }, 90_000);

  it('leaves a host that asks for the file journal on the file journal', async () => {
    const state = path.join(scratch, 'state-file');
    const run = await luact(
      ['run', app, '--nats', 'app:nats', '--state-dir', state, '--exec', 'app:cube', '3'],
      env(),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, value: 27 });
    expect(await exists(path.join(state, 'journal', 'app_files'))).toBe(true);
    expect((await streams()).has('LUACT_JOURNAL_APP_FILES')).toBe(false);
  }, 90_000);

  it('takes server URLs, with the credentials in them, and uses the same stream', async () => {
    const before = (await streams()).get('LUACT_JOURNAL_APP_FLOWS') ?? 0;
    const url = server.url.replace('nats://', `nats://luact:${PASSWORD}@`);
    const exec = await luact(
      [
        'run',
        app,
        '--nats',
        `${url},${url}`,
        '--state-dir',
        path.join(scratch, 'state-url'),
        '--exec',
        'app:square',
        '8',
      ],
      env(),
    );
    expect(exec.code, exec.stderr).toBe(0);
    expect(JSON.parse(exec.stdout)).toEqual({ ok: true, value: 64 });
    expect(exec.stderr).not.toContain(PASSWORD);
    expect(exec.stderr).toContain(`nats://luact:***@127.0.0.1:${server.port}`);
    expect((await streams()).get('LUACT_JOURNAL_APP_FLOWS')).toBeGreaterThan(before);
  }, 90_000);

  it('fails fast with a clear message when no server can be reached', async () => {
    const [port] = await freePorts(1);
    const run = await luact(
      ['run', app, '--nats', `nats://127.0.0.1:${port}`, '--exec', 'app:square', '2'],
      env(),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      `luact: --nats: cannot connect to NATS at nats://127.0.0.1:${port}: connection refused`,
    );
  }, 60_000);

  it('says the server refused the credentials, naming the entry and not the password', async () => {
    const run = await luact(
      ['run', app, '--nats', 'app:nats', '--exec', 'app:square', '2'],
      env({ NATS_PASSWORD: 'not-the-password' }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `luact: app:nats: NATS at ${server.url} refused user "luact" with the password given`,
    );
    expect(run.stderr).not.toContain('not-the-password');
  }, 60_000);

  it('refuses an entry ID that is not a nats.connection entry', async () => {
    const run = await luact(
      ['run', app, '--nats', 'app:flows', '--exec', 'app:square', '2'],
      env(),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      '--nats app:flows: not a nats.connection entry of the application (it is a workflow.host entry)',
    );
  }, 60_000);
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts, type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { type NatsConnection, nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsConnectionSettings } from './connect.js';

let dir: string;
const started: NatsServerHandle[] = [];
const opened: NatsConnection[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-connect-'));
});

afterAll(async () => {
  await Promise.all(opened.map((connection) => connection.close()));
  await Promise.all(started.map((server) => server.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function server(args: readonly string[]): Promise<NatsServerHandle> {
  const handle = await startNatsServer({ jetstream: false, args });
  started.push(handle);
  return handle;
}

function settings(servers: string | string[], more: Partial<NatsConnectionSettings> = {}) {
  return { servers, connect_timeout: 5_000, ...more };
}

async function connected(promise: Promise<NatsConnection>): Promise<NatsConnection> {
  const connection = await promise;
  opened.push(connection);
  return connection;
}

/** A request/reply round trip: the connection really carries traffic. */
async function roundTrip(connection: NatsConnection): Promise<string> {
  const subscription = connection.subscribe('echo', {
    callback: (_, message) => {
      message.respond(message.data);
    },
  });
  try {
    return (await connection.request('echo', 'ping', { timeout: 5_000 })).string();
  } finally {
    subscription.unsubscribe();
  }
}

it('fails UNAVAILABLE naming every server tried when none can be reached', async () => {
  const ports = await freePorts(2); // nothing listens there
  const servers = ports.map((port) => `nats://127.0.0.1:${port}`);
  await expect(connectNats(settings(servers), dir, 'app:nats')).rejects.toMatchObject({
    name: 'LuactError',
    kind: 'UNAVAILABLE',
    message: expect.stringMatching(
      new RegExp(`^app:nats: cannot connect to NATS at ${servers[0]}, ${servers[1]}: `),
    ),
    details: { source: 'app:nats', servers },
  });
}, 30_000);

describe('user and password', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await server(['--user', 'bob', '--pass', 'pass-w0rd-secret']);
  }, 30_000);

  it('connects with the right password', async () => {
    const connection = await connected(
      connectNats(settings(nats.url, { user: 'bob', password: 'pass-w0rd-secret' }), dir),
    );
    expect(await roundTrip(connection)).toBe('ping');
  });

  it('takes the user and password written into a server URL', async () => {
    const url = nats.url.replace('nats://', 'nats://bob:pass-w0rd-secret@');
    const connection = await connected(connectNats(settings(url), dir));
    expect(await roundTrip(connection)).toBe('ping');
    const wrong = nats.url.replace('nats://', 'nats://bob:wrong-secret@');
    await expect(connectNats(settings(wrong), dir, '--nats')).rejects.toMatchObject({
      kind: 'PERMISSION_DENIED',
      message: expect.stringContaining(
        `NATS at ${wrong.replace('wrong-secret', '***')} refused user "bob" with the password given`,
      ),
    });
  });

  it('fails PERMISSION_DENIED naming the server, the entry and the user, not the password', async () => {
    const failure = await connectNats(
      settings(nats.url, { user: 'bob', password: 'wrong-secret' }),
      dir,
      'app:nats',
    ).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      kind: 'PERMISSION_DENIED',
      retryable: false,
      message: expect.stringMatching(
        new RegExp(`^app:nats: NATS at ${nats.url} refused user "bob" with the password given: `),
      ),
    });
    expect(String((failure as Error).message)).not.toContain('wrong-secret');
  });

  it('fails PERMISSION_DENIED when no credentials are given to a server that needs them', async () => {
    await expect(connectNats(settings(nats.url), dir, 'app:nats')).rejects.toMatchObject({
      kind: 'PERMISSION_DENIED',
      message: expect.stringMatching(/refused a connection without credentials/),
    });
  });
});

describe('token', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await server(['--auth', 'the-right-token']);
  }, 30_000);

  it('connects with the right token and is refused with another, which it does not print', async () => {
    const connection = await connected(
      connectNats(settings(nats.url, { token: 'the-right-token' }), dir),
    );
    expect(await roundTrip(connection)).toBe('ping');
    const failure = await connectNats(
      settings(nats.url, { token: 'a-wrong-token' }),
      dir,
      '--nats',
    ).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      kind: 'PERMISSION_DENIED',
      message: expect.stringMatching(new RegExp(`^--nats: NATS at ${nats.url} refused the token`)),
    });
    expect(String((failure as Error).message)).not.toContain('a-wrong-token');
  });
});

describe('nkey', () => {
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  let nats: NatsServerHandle;
  beforeAll(async () => {
    const config = path.join(dir, 'nkey.conf');
    await writeFile(config, `authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    nats = await server(['-c', config]);
  }, 30_000);

  it('connects with the seed of a known user', async () => {
    const connection = await connected(connectNats(settings(nats.url, { nkey: seed }), dir));
    expect(await roundTrip(connection)).toBe('ping');
  });

  it('is refused with the seed of an unknown user', async () => {
    const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
    const failure = await connectNats(
      settings(nats.url, { nkey: stranger }),
      dir,
      'app:nats',
    ).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      kind: 'PERMISSION_DENIED',
      message: expect.stringMatching(/^app:nats: NATS at .* refused the nkey given/),
    });
    expect(String((failure as Error).message)).not.toContain(stranger);
  });

  it('names a malformed seed INVALID before dialling, without printing it', async () => {
    const bad = `${seed.slice(0, -4)}AAAA`;
    const failure = await connectNats(settings(nats.url, { nkey: bad }), dir, 'app:nats').catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({
      kind: 'INVALID',
      message: expect.stringMatching(/^app:nats: nkey is not a user nkey seed/),
      details: { field: 'nkey' },
    });
    expect(String((failure as Error).message)).not.toContain(bad);
    // An account seed is a valid seed, but not one a client connects with.
    const account = new TextDecoder().decode(nkeys.createAccount().getSeed());
    await expect(
      connectNats(settings(nats.url, { nkey: account }), dir, 'app:nats'),
    ).rejects.toMatchObject({ kind: 'INVALID' });
  });
});

describe('files', () => {
  it('names a creds file that cannot be read', async () => {
    await expect(
      connectNats(
        settings('nats://127.0.0.1:4222', { creds_file: 'missing/user.creds' }),
        dir,
        'app:nats',
      ),
    ).rejects.toMatchObject({
      kind: 'INVALID',
      message: `app:nats: cannot read creds_file ${path.join(dir, 'missing/user.creds')}: no such file`,
      details: { field: 'creds_file', file: path.join(dir, 'missing/user.creds') },
    });
  });

  it('names a creds file that holds no credentials', async () => {
    await writeFile(path.join(dir, 'junk.creds'), 'not a credentials file\n');
    await expect(
      connectNats(settings('nats://127.0.0.1:4222', { creds_file: 'junk.creds' }), dir, 'app:nats'),
    ).rejects.toMatchObject({
      kind: 'INVALID',
      message: `app:nats: creds_file ${path.join(dir, 'junk.creds')} is not a NATS credentials file (a user JWT and its nkey seed)`,
    });
  });

  it('names a TLS file that cannot be read', async () => {
    await writeFile(path.join(dir, 'ca.pem'), 'placeholder');
    await expect(
      connectNats(
        settings('tls://127.0.0.1:4222', { tls: { ca_file: 'ca.pem', cert_file: 'certs/me.pem' } }),
        dir,
        'app:nats',
      ),
    ).rejects.toMatchObject({
      kind: 'INVALID',
      message: `app:nats: cannot read tls.cert_file ${path.join(dir, 'certs/me.pem')}: no such file`,
    });
  });
});

it('never shows a password or token written into a server URL', async () => {
  const [port] = await freePorts(1);
  const url = `nats://bob:hunter2-secret@127.0.0.1:${port}`;
  const failure = await connectNats(
    settings([url, `nats://tok-secret@127.0.0.1:${port}`]),
    dir,
    '--nats',
  ).catch((error: unknown) => error);
  expect(failure).toMatchObject({
    kind: 'UNAVAILABLE',
    message: expect.stringContaining(
      `at nats://bob:***@127.0.0.1:${port}, nats://***@127.0.0.1:${port}: `,
    ),
  });
  expect(JSON.stringify((failure as { details: unknown }).details)).not.toMatch(/secret/);
}, 30_000);

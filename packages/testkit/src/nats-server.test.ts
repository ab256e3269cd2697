import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerError } from './errors.js';
import { startNatsServer } from './nats-server.js';
import { isProcessRunning } from './process-state.js';
import type { NatsServerHandle } from './server-handle.js';

async function withClient<T>(url: string, use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url, timeout: 2_000, reconnect: false });
  try {
    return await use(nc);
  } finally {
    await nc.close();
  }
}

async function publishAndCount(url: string, stream: string, body: string): Promise<number> {
  return withClient(url, async (nc) => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const ack = await jetstream(nc).publish(`${stream}.a`, body);
    return ack.seq;
  });
}

async function readMessage(url: string, stream: string, seq: number): Promise<string | undefined> {
  return withClient(url, async (nc) => {
    const jsm = await jetstreamManager(nc);
    const message = await jsm.streams.getMessage(stream, { seq });
    return message?.string();
  });
}

describe('a single nats-server', () => {
  let server: NatsServerHandle;

  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: 2 * 1024 * 1024 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('accepts a client connection on its loopback URL', async () => {
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    const rtt = await withClient(server.url, (nc) => nc.rtt());
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it('announces the configured max payload to clients', async () => {
    const maxPayload = await withClient(server.url, async (nc) => nc.info?.max_payload);
    expect(maxPayload).toBe(2 * 1024 * 1024);
  });

  it('stores a published JetStream message and returns it', async () => {
    const seq = await publishAndCount(server.url, 'SINGLE', 'hello');
    expect(await readMessage(server.url, 'SINGLE', seq)).toBe('hello');
  });
});

describe('server lifecycle', () => {
  it('stop() leaves no process behind and removes the store directory', async () => {
    const server = await startNatsServer();
    const { pid, storeDir } = server;
    try {
      expect(isProcessRunning(pid)).toBe(true);
      expect(existsSync(storeDir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(isProcessRunning(pid)).toBe(false);
    expect(existsSync(storeDir)).toBe(false);
    expect(server.running).toBe(false);
    await expect(server.restart()).rejects.toMatchObject({ kind: 'stopped' });
  });

  it('restart() keeps the URLs and the JetStream data', async () => {
    const server = await startNatsServer({ monitoring: true });
    try {
      const seq = await publishAndCount(server.url, 'KEPT', 'survives a restart');
      const { url, monitorUrl, pid } = server;
      await server.restart();
      expect(server.url).toBe(url);
      expect(server.monitorUrl).toBe(monitorUrl);
      expect(server.pid).not.toBe(pid);
      expect(isProcessRunning(pid)).toBe(false);
      expect(await readMessage(server.url, 'KEPT', seq)).toBe('survives a restart');
      const health = await fetch(`${server.monitorUrl}/healthz`, {
        signal: AbortSignal.timeout(2_000),
      });
      expect(health.ok).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('kill() crashes the server, and restart() brings it back with acknowledged data', async () => {
    const server = await startNatsServer();
    try {
      const seq = await publishAndCount(server.url, 'CRASH', 'acknowledged before the crash');
      const crashedPid = server.pid;
      await server.kill();
      expect(server.running).toBe(false);
      expect(isProcessRunning(crashedPid)).toBe(false);
      await server.restart();
      expect(await readMessage(server.url, 'CRASH', seq)).toBe('acknowledged before the crash');
    } finally {
      await server.stop();
    }
  });

  it('restart() waits for its port while something else holds it, then comes back', async () => {
    const server = await startNatsServer();
    try {
      const seq = await publishAndCount(
        server.url,
        'HELD',
        'acknowledged before the port was taken',
      );
      await server.kill();
      // Something else on the machine has the port for a moment (an outgoing connection can).
      const holder = createServer();
      await new Promise<void>((resolve, reject) => {
        holder.once('error', reject);
        holder.listen({ host: '127.0.0.1', port: server.port }, resolve);
      });
      const released = new Promise<void>((resolve) =>
        setTimeout(() => holder.close(() => resolve()), 1_000),
      );
      await server.restart();
      await released;
      expect(server.running).toBe(true);
      expect(await readMessage(server.url, 'HELD', seq)).toBe(
        'acknowledged before the port was taken',
      );
    } finally {
      await server.stop();
    }
  });

  it('runs without JetStream when asked', async () => {
    const server = await startNatsServer({ jetstream: false });
    try {
      const jetstreamOn = await withClient(server.url, async (nc) => nc.info?.jetstream === true);
      expect(jetstreamOn).toBe(false);
    } finally {
      await server.stop();
    }
  });
});

describe('start failures', () => {
  it('a missing binary fails with install instructions', async () => {
    const failure = startNatsServer({ binary: '/nonexistent/nats-server' });
    await expect(failure).rejects.toBeInstanceOf(NatsServerError);
    await expect(failure).rejects.toMatchObject({ kind: 'not-installed' });
    await expect(failure).rejects.toThrow(/scripts\/ensure-nats-server\.sh/);
  });

  it('a server that exits at startup fails with its stderr', async () => {
    const failure = startNatsServer({ args: ['--no-such-flag'] });
    await expect(failure).rejects.toMatchObject({ kind: 'exited-early' });
    await expect(failure).rejects.toThrow(/no-such-flag/);
  });
});

import { existsSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsClusterHandle, startNatsCluster } from './nats-cluster.js';
import { isProcessRunning } from './process-state.js';

describe('a 3-node JetStream cluster', () => {
  let cluster: NatsClusterHandle;
  let nc: NatsConnection;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3 });
    nc = await connect({ servers: [...cluster.urls], timeout: 10_000 });
  }, 150_000); // the cluster's own readiness deadline is 60 s (polled), with room for retries
  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it('elects one JetStream meta leader among its nodes', async () => {
    const leader = await cluster.waitForMetaLeader();
    expect(cluster.nodes.map((node) => node.name)).toContain(leader);
    expect(new Set(cluster.urls).size).toBe(3);
  });

  it('stores a message in an R3 stream and returns it', async () => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    expect(info.config.num_replicas).toBe(3);
    const ack = await jetstream(nc).publish('r3.a', 'replicated');
    const message = await jsm.streams.getMessage('R3', { seq: ack.seq });
    expect(message?.string()).toBe('replicated');
  }, 60_000);

  it('a killed node restarts on its port and rejoins the meta group', async () => {
    const node = cluster.nodes[2];
    if (node === undefined) throw new Error('cluster has no third node');
    const { pid, url } = node;
    await node.kill('SIGKILL');
    expect(isProcessRunning(pid)).toBe(false);
    await node.restart();
    expect(node.url).toBe(url);
    // An election after a restart takes a second or two, many more on a loaded machine.
    await cluster.waitForMetaLeader(60_000);
    expect(node.running).toBe(true);
  }, 120_000);

  it('stop() ends every node and removes every store directory', async () => {
    const nodes = cluster.nodes.map((node) => ({ pid: node.pid, storeDir: node.storeDir }));
    await nc.close();
    await cluster.stop();
    for (const node of nodes) {
      expect(isProcessRunning(node.pid)).toBe(false);
      expect(existsSync(node.storeDir)).toBe(false);
    }
  });
});

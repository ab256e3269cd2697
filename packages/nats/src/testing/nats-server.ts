import {
  type NatsClusterHandle,
  type NatsServerHandle,
  startNatsCluster,
  startNatsServer,
} from '@luact/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';

/**
 * Registers hooks that start a NATS server and one connection to it before a test file's
 * tests, and close both after them. The connection redials every 100 ms for as long as it
 * takes, so it comes back when a test kills and restarts the server. Hooks the file registers
 * later run after these start and before they close.
 */
export function natsServerAndConnection() {
  let server: NatsServerHandle | undefined;
  let connection: NatsConnection | undefined;

  beforeAll(async () => {
    server = await startNatsServer();
    connection = await connect({
      servers: server.url,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    });
  }, 30_000);
  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  return {
    /** The server (from beforeAll on). */
    get server(): NatsServerHandle {
      if (server === undefined) throw new Error('the NATS server starts in beforeAll');
      return server;
    },
    /** The connection to it (from beforeAll on). */
    get connection(): NatsConnection {
      if (connection === undefined) throw new Error('the NATS connection opens in beforeAll');
      return connection;
    },
  };
}

/**
 * As natsServerAndConnection, for a JetStream cluster of three servers on loopback: the
 * connection knows every server, so it fails over when a test kills one.
 */
export function natsClusterAndConnection() {
  let cluster: NatsClusterHandle | undefined;
  let connection: NatsConnection | undefined;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3 });
    connection = await connect({
      servers: [...cluster.urls],
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    });
  }, 150_000); // the cluster's readiness deadline is 60 s (polled), with room for retries
  afterAll(async () => {
    await connection?.close();
    await cluster?.stop();
  });

  return {
    /** The cluster (from beforeAll on). */
    get cluster(): NatsClusterHandle {
      if (cluster === undefined) throw new Error('the NATS cluster starts in beforeAll');
      return cluster;
    },
    /** The connection to it (from beforeAll on). */
    get connection(): NatsConnection {
      if (connection === undefined) throw new Error('the NATS connection opens in beforeAll');
      return connection;
    },
  };
}

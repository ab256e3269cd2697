import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';

const PEER = new URL('./thread-transport-peer.mjs', import.meta.url);
/** A record of the ping-pong: a 4-byte number and 40 bytes of payload. */
const RECORD = 44;
/** Bytes of records a ring direction holds: a multiple of RECORD, far more than a window. */
const RING_BYTES = RECORD * 4096;

/** What each end of the ping-pong is told (its workerData). */
export interface TransportPeer {
  readonly transport: 'port' | 'ring';
  readonly role: 'ping' | 'pong';
  readonly messages: number;
  readonly window: number;
  readonly record: number;
  readonly ringBytes: number;
  readonly port: MessagePort;
  readonly shared: SharedArrayBuffer;
}

/**
 * Messages per second of a ping-pong between two worker threads in plain JavaScript, the
 * floor under luact's messages across workers: records of 44 bytes, each turn's in one batch,
 * over a MessagePort with the batch's buffer transferred (as luact's thread links send them)
 * or over a SharedArrayBuffer ring per direction woken with Atomics.waitAsync.
 */
export async function threadTransportRate(
  transport: TransportPeer['transport'],
  messages: number,
  window: number,
): Promise<number> {
  if (window * RECORD > RING_BYTES) throw new Error(`a window of ${window} overflows the ring`);
  const { port1, port2 } = new MessageChannel();
  const shared = new SharedArrayBuffer(2 * (64 + RING_BYTES));
  const start = (role: TransportPeer['role'], port: typeof port1) => {
    const peer: TransportPeer = {
      transport,
      role,
      messages,
      window,
      record: RECORD,
      ringBytes: RING_BYTES,
      port,
      shared,
    };
    // No loader of the benchmark's (tsx): the peer is plain JavaScript, and in a worker tsx
    // slowed the ring's loop 4-fold.
    return new Worker(PEER, { workerData: peer, transferList: [port], execArgv: [] });
  };
  const ping = start('ping', port1);
  const pong = start('pong', port2);
  try {
    return await new Promise<number>((resolve, reject) => {
      ping.once('message', resolve);
      for (const worker of [ping, pong]) worker.once('error', reject);
    });
  } finally {
    await Promise.all([ping.terminate(), pong.terminate()]);
  }
}

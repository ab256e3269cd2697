/**
 * One end of the cross-thread ping-pong of thread-transport.ts, run as a worker thread (plain
 * JavaScript: a worker does not get the TypeScript loader the benchmarks run with). The
 * pinger sends `window` records, then one for each it gets back until it got `messages / 2`, and
 * posts its rate to the main thread; the ponger sends back each record it gets. Records of one
 * turn go as one batch, the first sent in a turn queueing the flush as a microtask.
 */
import { parentPort, workerData } from 'node:worker_threads';

/** @type {import('./thread-transport.js').TransportPeer} */
const peer = workerData;
const { record: RECORD, ringBytes: RING_BYTES } = peer;

/**
 * What the pinger and the ponger do with each record they get; false once the pinger is done.
 * @param {(value: number) => void} send
 * @returns {(value: number) => boolean}
 */
function handler(send) {
  if (peer.role === 'pong') {
    return (value) => {
      send(value);
      return true;
    };
  }
  const rounds = peer.messages / 2;
  const start = performance.now();
  let sent = 0;
  let received = 0;
  queueMicrotask(() => {
    for (; sent < peer.window; sent++) send(sent);
  });
  return () => {
    received++;
    if (received >= rounds) {
      parentPort?.postMessage(peer.messages / ((performance.now() - start) / 1000));
      return false;
    }
    if (sent < rounds) send(sent++);
    return true;
  };
}

/**
 * Each turn's records as one ArrayBuffer, transferred with postMessage.
 * @param {import('node:worker_threads').MessagePort} port
 */
function overPort(port) {
  /** @type {number[]} */
  let batch = [];
  const flush = () => {
    const buffer = new ArrayBuffer(batch.length * RECORD);
    const view = new DataView(buffer);
    for (let i = 0; i < batch.length; i++) view.setUint32(i * RECORD, batch[i]);
    batch = [];
    port.postMessage(buffer, [buffer]);
  };
  const onRecord = handler((value) => {
    if (batch.push(value) === 1) queueMicrotask(flush);
  });
  port.on('message', (/** @type {ArrayBuffer} */ buffer) => {
    const view = new DataView(buffer);
    for (let at = 0; at < buffer.byteLength; at += RECORD) {
      if (!onRecord(view.getUint32(at))) port.close();
    }
  });
}

/**
 * A ring per direction in one SharedArrayBuffer: a control block (bytes written, bytes read,
 * a wake counter) and RING_BYTES of records. A batch is published by storing the bytes written
 * and bumping the wake counter; the reader sleeps in Atomics.waitAsync on that counter.
 * @param {SharedArrayBuffer} shared
 */
function overRing(shared) {
  const ring = (/** @type {number} */ direction) => {
    const base = direction * (64 + RING_BYTES);
    return {
      control: new Int32Array(shared, base, 16),
      data: new DataView(shared, base + 64, RING_BYTES),
    };
  };
  const out = ring(peer.role === 'ping' ? 0 : 1);
  const into = ring(peer.role === 'ping' ? 1 : 0);
  // Atomics.waitAsync keeps no thread alive by itself: a ref'd timer does.
  const alive = setInterval(() => {}, 1 << 30);
  let written = 0;
  let queued = false;
  const publish = () => {
    queued = false;
    Atomics.store(out.control, 0, written);
    Atomics.add(out.control, 2, 1);
    Atomics.notify(out.control, 2);
  };
  const onRecord = handler((value) => {
    out.data.setUint32(written % RING_BYTES, value);
    written += RECORD;
    if (!queued) {
      queued = true;
      queueMicrotask(publish);
    }
  });
  let read = 0;
  const drain = () => {
    for (;;) {
      const end = Atomics.load(into.control, 0);
      for (; read < end; read += RECORD) {
        if (!onRecord(into.data.getUint32(read % RING_BYTES))) {
          clearInterval(alive);
          return;
        }
      }
      Atomics.store(into.control, 1, read);
      const wakes = Atomics.load(into.control, 2);
      if (Atomics.load(into.control, 0) !== read) continue;
      const wait = Atomics.waitAsync(into.control, 2, wakes);
      if (wait.async) {
        void wait.value.then(drain);
        return;
      }
    }
  };
  drain();
}

if (peer.transport === 'port') overPort(peer.port);
else overRing(peer.shared);

/**
 * The entry of a worker thread (see NodeWorkers): boots the thread's own Lua engine and its
 * slice of a host, says it is ready, and stops when the main thread asks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LuactError } from '@luact/core';
import { loadLuaApi } from '@luact/lua';
import { processView } from '../control/views.js';
import type { FromWorker, ToWorker, WorkerBoot } from './worker-boot.js';
import { startWorkerThread } from './worker-thread.js';

/** How often a worker publishes how many processes it runs (placement reads it). */
const LOAD_EVERY_MS = 20;

const port = parentPort;
if (port === null) throw new Error('worker-main runs in a worker thread');
const tell = (message: FromWorker) => port.postMessage(message);

try {
  const api = await loadLuaApi();
  const worker = startWorkerThread(api, workerData as WorkerBoot);
  const publishing = setInterval(worker.publishLoad, LOAD_EVERY_MS);
  publishing.unref();
  port.on('message', (message: ToWorker) => {
    if (message.t === 'thread-down') {
      worker.threadDown(message.down, message.port);
      return;
    }
    if (message.t === 'list') {
      tell({ t: 'listed', id: message.id, processes: worker.system.list().map(processView) });
      return;
    }
    clearInterval(publishing);
    worker.close();
    tell({ t: 'stopped' });
    port.close();
  });
  tell({ t: 'ready' });
} catch (error) {
  tell({ t: 'failed', error: LuactError.from(error).toData() });
}

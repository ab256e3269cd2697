/**
 * The entry of a worker thread (see NodeWorkers): boots the thread's own Lua engine and its
 * slice of a host, says it is ready, and stops when the main thread asks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LuactError } from '@luact/core';
import { loadLuaApi } from '@luact/lua';
import { processView } from '../control/views.js';
import { ThreadActivity } from './thread-activity.js';
import { workerThread } from './thread-plan.js';
import type { FromWorker, ToWorker, WorkerBoot } from './worker-boot.js';
import { startWorkerThread } from './worker-thread.js';

const port = parentPort;
if (port === null) throw new Error('worker-main runs in a worker thread');
const tell = (message: FromWorker) => port.postMessage(message);

try {
  const api = await loadLuaApi();
  const boot = workerData as WorkerBoot;
  // A test hook: the thread LUACT_TEST_FAIL_BOOT names does not boot (as one out of memory).
  if (boot.testHooks && process.env.LUACT_TEST_FAIL_BOOT === workerThread(boot.host, boot.w))
    throw new Error('luact test hook: this worker thread fails to boot');
  // Idle, the thread holds its loop open by this port (else the thread would end); woken, it
  // lets go, so that its loop ends again — and says so — once it has nothing left to do.
  const activity = new ThreadActivity(boot.activity, () => port.unref());
  const worker = startWorkerThread(api, boot, activity);
  let stopping = false;
  port.on('message', (message: ToWorker) => {
    activity.received();
    if (message.t === 'thread-down') {
      worker.threadDown(message.down, message.port);
      return;
    }
    if (message.t === 'host-added') {
      worker.router.hostAdded(message.host, message.ports);
      return;
    }
    if (message.t === 'host-removed') {
      worker.router.hostRemoved(message.host, message.below, LuactError.fromData(message.error));
      return;
    }
    if (message.t === 'host-restarting') {
      if (message.done) worker.router.restartDone(message.host);
      else worker.router.restartBegins(message.host);
      return;
    }
    if (message.t === 'host-on-main') {
      worker.router.hostOnMain(message.host, message.mailLimits);
      return;
    }
    if (message.t === 'list') {
      const { id, pid } = message;
      const one = pid === undefined ? undefined : worker.system.process(pid);
      const processes = pid === undefined ? worker.system.list() : one ? [one] : [];
      tell({ t: 'listed', id, processes: processes.map(processView) });
      return;
    }
    stopping = true;
    worker.close();
    tell({ t: 'stopped' });
    port.close();
  });
  // No timer, I/O, turn or batch is left: only a frame from another thread can wake it now.
  process.on('beforeExit', () => {
    if (stopping) return;
    activity.idle();
    port.ref();
  });
  port.unref();
  tell({ t: 'ready' });
} catch (error) {
  tell({ t: 'failed', error: LuactError.from(error).toData() });
}

import type { MessagePort } from 'node:worker_threads';
import { LuactError } from '@luact/core';
import { HostMemoryPool, type LogRecord, type LuaApi, systemClock } from '@luact/lua';
import { type Pid, ProcessSystem } from '@luact/process';
import { RegistrySnapshot } from '@luact/registry';
import { DEFAULT_LIMITS } from '../limits.js';
import { SpreadPlacement } from '../placement.js';
import type { NameCopy } from './name-copy.js';
import type { ThreadActivity } from './thread-activity.js';
import type { ThreadDown } from './thread-down.js';
import { MAIN_THREAD, workerThread } from './thread-plan.js';
import type { RegistryCopy, WorkerBoot } from './worker-boot.js';
import { ClusterNamesViaMain, TransportViaMain } from './worker-cluster.js';
import { WorkerCounters } from './worker-counters.js';
import { workerModules } from './worker-modules.js';
import { WorkerPulse } from './worker-pulse.js';
import { WorkerRouter } from './worker-router.js';
import {
  envOnMain,
  functionOnMain,
  registryOnMain,
  servicesOnMain,
  WorkerEvents,
  WorkflowsOnMain,
} from './worker-services.js';

/** One worker thread of a host: its slice of the host, in a process system of its own. */
export interface WorkerThread {
  readonly system: ProcessSystem;
  readonly router: WorkerRouter;
  /** Another worker is gone (see WorkerRouter.threadDown); `port` links to its successor. */
  threadDown(down: ThreadDown, port: MessagePort): void;
  close(): void;
}

/**
 * Builds worker `boot.w` of host `boot.host` on `api` (the thread's own engine): a process
 * system with the host's slice (its PIDs `k·N + w`), the registry copy main sends it, and
 * links to every other thread. What its processes print and log goes to the main thread.
 * The links count their batches in `activity`, and do not keep the thread's loop going by
 * themselves: the loop ends (and the thread says it is idle) when nothing else is left.
 */
export function startWorkerThread(
  api: LuaApi,
  boot: WorkerBoot,
  activity: ThreadActivity,
): WorkerThread {
  const self = workerThread(boot.host, boot.w);
  const counters = new Map(
    boot.counters.map(({ host, buffer, workers }) => [host, new WorkerCounters(buffer, workers)]),
  );
  const own = counters.get(boot.host) as WorkerCounters;
  let snapshot = snapshotOf(boot.registry);
  const pulse = new WorkerPulse(boot.pulse);
  let events: WorkerEvents | undefined;
  let workflows: WorkflowsOnMain | undefined;
  let clusterNames: ClusterNamesViaMain | undefined;
  let members: readonly string[] = boot.cluster?.spread ?? [];
  const router = new WorkerRouter({
    self,
    plan: boot.plan,
    counters,
    pulse,
    activity,
    side: (record) => {
      if (record.t === 'registry') snapshot = snapshotOf(record.registry);
      else if (record.t === 'event') events?.deliver(record.sub, record.event);
      else if (record.t === 'workflow-ended') workflows?.ended(record.watch, record.outcome);
      else if (record.t === 'functions') for (const id of record.ids) callOnMain(id);
      else if (record.t === 'node-down')
        system.nodeDown({ node: record.node, incarnation: record.incarnation });
      else if (record.t === 'cluster-name') clusterNames?.changed(record.name, record.pid);
      else if (record.t === 'cluster-members') members = record.members;
    },
    ...(boot.cluster ? { node: boot.cluster.identity.node } : {}),
  });
  for (const { thread, port } of boot.ports) router.connect(thread, port).unref();
  for (const hostId of boot.restarting) router.restartBegins(hostId);
  const toMain = router.linkTo(MAIN_THREAD);
  if (toMain === undefined)
    throw new LuactError('INTERNAL', `${self} has no link to the main thread`);
  const log = (record: LogRecord) => toMain.post({ t: 'log', record });
  events = new WorkerEvents(router);
  workflows = new WorkflowsOnMain(router);
  const onMain = {
    env: envOnMain(router),
    events,
    services: servicesOnMain(router),
    registry: registryOnMain(router),
  };
  if (boot.cluster) clusterNames = new ClusterNamesViaMain(router, boot.cluster.names);
  const system = new ProcessSystem({
    api,
    ...(boot.cluster && clusterNames
      ? {
          transport: new TransportViaMain(boot.cluster.identity, router),
          names: clusterNames,
        }
      : {}),
    // The cluster as one node: spawns spread and names are the cluster's, as on main.
    ...(boot.cluster?.spread
      ? { placement: new SpreadPlacement(() => members), defaultNameScope: 'cluster' as const }
      : {}),
    snapshot: () => snapshot,
    env: boot.env,
    clock: systemClock(boot.clock),
    modules: (system) => workerModules(system, log, onMain, boot.testHooks),
    print: (text) => toMain.post({ t: 'print', text }),
    functionLimits: DEFAULT_LIMITS,
    threads: router,
    ids: () => own.nextId(boot.w),
    functionThread: MAIN_THREAD,
    hostWideCount: (hostId) =>
      hostId === boot.host
        ? { count: () => own.liveCount(), add: (change) => own.addLive(boot.w, change) }
        : undefined,
  });
  for (const id of boot.workflowHosts) system.addExternalHost(id, workflows.host(id));
  /** A TypeScript function registered on main: this thread's processes call it there. */
  function callOnMain(id: string): void {
    system.registerFunction(id, functionOnMain(router, id));
  }
  for (const id of boot.functions) callOnMain(id);
  const pool = new HostMemoryPool(boot.memory);
  pool.join(boot.w);
  system.addHost(boot.host, boot.limits, {
    onSlice: pulse,
    sharedMemory: { pool, member: boot.w },
  });
  for (const [name, pid] of boot.names ?? [])
    (router.names as NameCopy).receive({ t: 'name-set', name, pid: pid as Pid });
  return {
    system,
    router,
    threadDown: (down, port) => {
      router.threadDown(down, port)?.unref();
    },
    close: () => {
      system.close();
      router.close();
    },
  };
}

function snapshotOf(copy: RegistryCopy): RegistrySnapshot {
  return new RegistrySnapshot(
    copy.version,
    new Map(copy.entries.map((entry) => [entry.id, entry])),
  );
}

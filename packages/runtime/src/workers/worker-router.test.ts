import { MessageChannel } from 'node:worker_threads';
import { LuactError } from '@luact/core';
import { NameRegistry, type Pid } from '@luact/process';
import { describe, expect, it } from 'vitest';
import type { MailLimits } from './mail-room.js';
import type { NameAuthority } from './name-authority.js';
import { ThreadLink } from './thread-link.js';
import { MAIN_THREAD, type ThreadPlan } from './thread-plan.js';
import { WorkerCounters } from './worker-counters.js';
import { WorkerRouter } from './worker-router.js';

const PLAN: ThreadPlan = {
  workerHosts: [
    { id: 'app:w', workers: 2 },
    { id: 'app:x', workers: 3 },
  ],
  mainHosts: ['luact:main', 'luact:functions', 'luact:inbox', 'app:solo'],
};

function router(self: string) {
  const counters = new Map([
    ['app:w', WorkerCounters.create(2)],
    ['app:x', WorkerCounters.create(3)],
  ]);
  return { router: new WorkerRouter({ self, plan: PLAN, counters }), counters };
}

const pid = (text: string) => text as Pid;

/** Main's router with its names attached (a thread's loss frees the names its processes held). */
function mainWithNames(): WorkerRouter {
  const { router: main } = router(MAIN_THREAD);
  (main.names as NameAuthority).attach({
    copy: new NameRegistry(),
    take: () => undefined,
    holds: () => false,
    lost: () => {},
  });
  return main;
}

describe('which thread a PID belongs to', () => {
  it('is the worker its number names, from any thread, and the main thread’s own from a worker', () => {
    const main = router(MAIN_THREAD).router;
    expect(main.threadOf(pid('{app:w|4}'))).toBe('app:w#0');
    expect(main.threadOf(pid('{app:w|7}'))).toBe('app:w#1');
    expect(main.threadOf(pid('{app:x|8}'))).toBe('app:x#2');
    expect(main.threadOf(pid('{app:solo|3}'))).toBeUndefined();
    expect(main.threadOf(pid('{luact:inbox|3}'))).toBeUndefined();
    const worker = router('app:w#1').router;
    expect(worker.threadOf(pid('{app:w|7}'))).toBeUndefined();
    expect(worker.threadOf(pid('{app:w|4}'))).toBe('app:w#0');
    expect(worker.threadOf(pid('{app:solo|3}'))).toBe(MAIN_THREAD);
    expect(worker.threadOf(pid('{luact:inbox|9}'))).toBe(MAIN_THREAD);
    // A workflow host's PIDs (and anything else) are no thread's: the system decides.
    expect(worker.threadOf(pid('{app:flows|order-17}'))).toBeUndefined();
  });
});

describe('which thread a PID of a cluster node belongs to', () => {
  it('is found for this node’s PIDs only: another node’s PID on a host of the same ID is no thread’s', () => {
    const counters = new Map([
      ['app:w', WorkerCounters.create(2)],
      ['app:x', WorkerCounters.create(3)],
    ]);
    const main = new WorkerRouter({ self: MAIN_THREAD, plan: PLAN, counters, node: 'a' });
    expect(main.threadOf(pid('{a~3@app:w|4}'))).toBe('app:w#0');
    expect(main.threadOf(pid('{b~1@app:w|4}'))).toBeUndefined();
    const worker = new WorkerRouter({ self: 'app:w#1', plan: PLAN, counters, node: 'a' });
    expect(worker.threadOf(pid('{a~3@app:solo|3}'))).toBe(MAIN_THREAD);
    expect(worker.threadOf(pid('{b~1@app:solo|3}'))).toBeUndefined();
  });
});

describe('where a spawn runs', () => {
  it('keeps a process’s child on its host with it, and spreads every other spawn', () => {
    const { router: worker } = router('app:w#1');
    const parent = {} as never;
    expect(worker.threadForSpawn('app:w' as never, parent)).toBeUndefined();
    expect(worker.threadForSpawn('app:solo' as never, parent)).toBe(MAIN_THREAD);
    const { router: main } = router(MAIN_THREAD);
    const placed = Array.from({ length: 6 }, () =>
      main.threadForSpawn('app:x' as never, undefined),
    );
    expect(placed).toEqual(['app:x#0', 'app:x#1', 'app:x#2', 'app:x#0', 'app:x#1', 'app:x#2']);
  });

  it('sends a spawn to the worker that runs the fewest processes, counting those on their way', () => {
    const { router: main, counters } = router(MAIN_THREAD);
    const x = counters.get('app:x') as WorkerCounters;
    x.addLive(0, 5);
    x.addLive(1, 1);
    x.addLive(2, 3);
    // Picked and sent, as WorkerRouter.spawn sends it.
    const next = () => {
      const thread = main.threadForSpawn('app:x' as never, undefined) as string;
      x.sent(Number(thread.slice(-1)));
      return thread;
    };
    expect([next(), next()]).toEqual(['app:x#1', 'app:x#1']);
    // Worker 1 runs one and has two on their way: as loaded as worker 2.
    expect(next()).toBe('app:x#2');
    // Worker 2 took its spawn and started it; worker 1 has not taken its two yet.
    x.taken(2);
    x.addLive(2, 1);
    expect([next(), next(), next()]).toEqual(['app:x#1', 'app:x#2', 'app:x#1']);
    // What a worker took is counted once, by its processes, and never below none.
    for (let i = 0; i < 10; i++) x.taken(1);
    expect(next()).toBe('app:x#1');
  });

  it('counts no load for a spawn picked but never sent (it failed first)', () => {
    const { router: main, counters } = router(MAIN_THREAD);
    (counters.get('app:w') as WorkerCounters).addLive(1, 1);
    const picks = Array.from({ length: 4 }, () => main.threadForSpawn('app:w' as never, undefined));
    expect(picks).toEqual(['app:w#0', 'app:w#0', 'app:w#0', 'app:w#0']);
  });
});

describe('a worker that is gone', () => {
  it('gets no spawn any more, and when all are gone a spawn says so', () => {
    const { router: main, counters } = router(MAIN_THREAD);
    const w = counters.get('app:w') as WorkerCounters;
    w.addLive(1, 3);
    w.markDown(0);
    for (let i = 0; i < 4; i++)
      expect(main.threadForSpawn('app:w' as never, undefined)).toBe('app:w#1');
    w.markDown(1);
    expect(() => main.threadForSpawn('app:w' as never, undefined)).toThrow(
      'no worker thread of host app:w can take a spawn now',
    );
    // A new thread took worker 0's place (the lost one terminated first): spawns go there
    // again, none counted as on its way.
    w.terminated(0);
    w.markUp(0);
    expect(main.threadForSpawn('app:w' as never, undefined)).toBe('app:w#0');
    w.terminated(1);
    w.markUp(1);
    expect(main.threadForSpawn('app:w' as never, undefined)).toBe('app:w#1');
  });
});

describe('the processes a host runs', () => {
  it('leave its count when their worker is lost, however its thread counts until it is terminated', () => {
    const w = WorkerCounters.create(2);
    w.addLive(0, 3);
    w.addLive(1, 2);
    expect(w.liveCount()).toBe(5);
    w.markDown(0);
    expect(w.liveCount()).toBe(2);
    // The lost thread, slow to stop, ends its three processes (and a fourth it had started).
    w.addLive(0, -4);
    expect(w.liveCount()).toBe(2);
    // Terminated, then replaced: the new thread counts from none.
    w.terminated(0);
    w.markUp(0);
    w.addLive(0, 1);
    expect(w.liveCount()).toBe(3);
  });
});

describe('a spawn sent to a worker that is lost before it answers', () => {
  it('fails, and no longer counts in that worker’s load', async () => {
    const main = mainWithNames();
    const down = { thread: 'app:w#0', host: 'app:w', w: 0, workers: 2, fence: 1, why: 'lost' };
    // A link to worker 0 whose far end never answers.
    const { port1, port2 } = new MessageChannel();
    main.threadDown(down, port1)?.unref();
    const spawned = main.spawn('app:w#0', {
      entry: 'app:idle',
      host: 'app:w',
      args: new Uint8Array(),
    });
    const failed = spawned.catch((error: Error) => error.message);
    // On its way there: worker 1 is the less loaded.
    expect(main.threadForSpawn('app:w' as never, undefined)).toBe('app:w#1');
    main.threadDown(down);
    expect(await failed).toBe('worker thread app:w#0 is gone');
    // Even again: taken in turn.
    const picks = [0, 1].map(() => main.threadForSpawn('app:w' as never, undefined));
    expect(picks).toEqual(['app:w#0', 'app:w#1']);
    port2.close();
  });
});

describe('the outcome a parent awaits from a child on another thread', () => {
  it('is not made up for a parent that ended when the child’s thread is lost', async () => {
    const main = mainWithNames();
    const signals: unknown[] = [];
    main.attach({ placeDown: () => {}, signal: (s: unknown) => signals.push(s) } as never);
    const down = { thread: 'app:w#0', host: 'app:w', w: 0, workers: 2, fence: 9, why: 'lost' };
    // The child's thread: answers each spawn with a child.
    const { port1, port2 } = new MessageChannel();
    main.threadDown(down, port1)?.unref();
    const far = new ThreadLink(port2);
    far.listen((record) => {
      if (record.t === 'spawn') far.post({ t: 'spawned', id: record.id, pid: pid('{app:w|4}') });
    });
    const request = (parent: string) => ({
      entry: 'app:idle',
      host: 'app:w',
      args: new Uint8Array(),
      parent: { pid: pid(parent), monitor: false, link: false, resultChannel: 3 },
    });
    await main.spawn('app:w#0', request('{luact:main|1}'));
    await main.spawn('app:w#0', request('{luact:main|2}'));
    main.processEnded(pid('{luact:main|1}'));
    main.threadDown(down);
    // Only the parent still there hears that its child's outcome will not come.
    expect(signals).toEqual([
      expect.objectContaining({ kind: 'result', to: '{luact:main|2}', channel: 3 }),
    ]);
    far.close();
  });
});

describe('the numbers of a worker host', () => {
  it('are k·N + w, never the same twice, and survive in the shared memory', () => {
    const counters = WorkerCounters.create(3);
    const numbers = [0, 1, 2, 0, 2, 2].map((w) => counters.nextId(w));
    expect(numbers).toEqual([3, 4, 5, 6, 8, 11]);
    // Another thread's view of the same memory (a worker replaced later) goes on from there.
    const again = new WorkerCounters(counters.buffer, 3);
    expect(again.nextId(2)).toBe(14);
    expect(again.nextId(0)).toBe(9);
    // The fence of worker 2: every number it gave is below fence·N, the next one above.
    const fence = again.fence(2);
    expect(Math.max(5, 8, 11, 14)).toBeLessThan(fence * 3);
    expect(again.nextId(2)).toBe(fence * 3 + 2);
  });
});

describe('mail to a mailbox on another thread that others filled', () => {
  const LIMITS = { max_mailbox: 5, max_mailbox_bytes: 1000, max_message_size: 100 };
  const plan: ThreadPlan = { ...PLAN, mailLimits: { 'app:w': LIMITS } };
  const turn = () => new Promise((resolve) => setTimeout(resolve, 5));
  const mail = (to: string, topic: string) => ({
    to: pid(to),
    from: undefined,
    topic,
    payload: new Uint8Array(1),
  });

  /** Main and worker 0 of app:w, linked; the worker runs processes with mailboxes of `held`. */
  function pair(limits: MailLimits = LIMITS) {
    const counters = new Map([
      ['app:w', WorkerCounters.create(2)],
      ['app:x', WorkerCounters.create(3)],
    ]);
    const planned: ThreadPlan = { ...plan, mailLimits: { 'app:w': limits } };
    const main = new WorkerRouter({ self: MAIN_THREAD, plan: planned, counters });
    const worker = new WorkerRouter({ self: 'app:w#0', plan: planned, counters });
    const held = new Map<Pid, number>();
    const dropped: string[] = [];
    worker.attach({
      spawn: () => {
        held.set(pid('{app:w|2}'), 0);
        return pid('{app:w|2}');
      },
      deliver: (envelope: { to: Pid; topic: string }) => {
        const count = held.get(envelope.to) ?? 0;
        if (count >= limits.max_mailbox) {
          dropped.push(envelope.topic);
          return new LuactError('RATE_LIMITED', 'full');
        }
        held.set(envelope.to, count + 1);
        return undefined;
      },
      held: (p: Pid) => {
        const length = held.get(p);
        return length === undefined ? undefined : { length, bytes: length };
      },
    } as never);
    main.attach({ deliver: () => undefined, held: () => undefined } as never);
    const { port1, port2 } = new MessageChannel();
    main.connect('app:w#0', port1).unref();
    worker.connect(MAIN_THREAD, port2).unref();
    return { main, worker, held, dropped, close: () => [port1, port2].map((p) => p.close()) };
  }

  it('is left to the receiver once the receiver’s thread posted after it filled, and taken at once while it has room', async () => {
    const { main, worker, held, dropped, close } = pair();
    const child = await main.spawn('app:w#0', {
      entry: 'app:r',
      host: 'app:w',
      args: new Uint8Array(),
    });
    // The child fills its own mailbox, then tells a process on main (its thread posts to main).
    held.set(child, 5);
    worker.send(MAIN_THREAD, mail('{luact:inbox|1}', 'full'));
    await turn();
    // Its mailbox is full: the send waits for the receiver's verdict, and is refused.
    const sent = main.send('app:w#0', mail(child, 'late'));
    expect(sent).toBeInstanceOf(Promise);
    await expect(sent).rejects.toThrow('full');
    expect(dropped).toEqual(['late']);
    // It read its mail and said so (its thread posts): mail is taken at once again.
    held.set(child, 0);
    worker.send(MAIN_THREAD, mail('{luact:inbox|1}', 'empty'));
    await turn();
    expect([1, 2, 3].map(() => main.send('app:w#0', mail(child, 'x')))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    await turn();
    expect(held.get(child)).toBe(3);
    // Ping-pong far below the limit: the child reads each message and answers; every ping is
    // taken at once (what its mailbox holds comes with each answer), none waits for a verdict.
    held.set(child, 0);
    const pings: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      pings.push(main.send('app:w#0', mail(child, 'ping')));
      await turn();
      held.set(child, 0);
      worker.send(MAIN_THREAD, mail('{luact:inbox|1}', 'pong'));
      await turn();
    }
    expect(pings.filter((sent) => sent !== undefined)).toEqual([]);
    close();
  });

  it('is said again once it moves past a sixteenth of a large limit, which the sender counts as held', async () => {
    // max_mailbox 1,600: the slack is 100 messages.
    const large = { max_mailbox: 1600, max_mailbox_bytes: 1 << 20, max_message_size: 100 };
    const { main, worker, held, close } = pair(large);
    const child = await main.spawn('app:w#0', {
      entry: 'app:r',
      host: 'app:w',
      args: new Uint8Array(),
    });
    const post = async (count: number) => {
      held.set(child, count);
      worker.send(MAIN_THREAD, mail('{luact:inbox|1}', 'news'));
      await turn();
    };
    const verdicts: Promise<unknown>[] = [];
    const sendOne = () => {
      const sent = main.send('app:w#0', mail(child, 'x'));
      if (sent instanceof Promise) verdicts.push(sent.catch(() => undefined));
      return sent instanceof Promise ? 'left' : 'taken';
    };
    // 1,500 is said (it moved 1,500 from 0); with the slack that leaves 99 unsaid room, so the
    // sender leaves the next message to the receiver (an exact count would take it).
    await post(1500);
    expect(sendOne()).toBe('left');
    await Promise.all(verdicts);
    // The receiver read 80: within the slack of what it said (1,501 after that message), so
    // unsaid, and the sender still leaves it (an exact count would take it).
    await post(1421);
    expect(sendOne()).toBe('left');
    await Promise.all(verdicts);
    // 111 below what it said: said again, and mail is taken at once.
    await post(1391);
    expect(sendOne()).toBe('taken');
    await turn();
    close();
  });
});

import { LuactError } from '@luact/core';
import { encodeValues } from '@luact/lua';
import type { ExitOutcome, Pid, ProcessSystem } from '@luact/process';
import type { Runnable, RunnableEvents } from './runnable.js';

/** A service's unit when it is a process: spawned on its host with its input as arguments. */
export class ProcessRunnable implements Runnable {
  private pid: Pid | undefined;

  constructor(
    private readonly system: ProcessSystem,
    readonly spec: {
      readonly entry: string;
      readonly host: string;
      readonly input: readonly unknown[];
    },
  ) {}

  /** The PID of the current run, if it runs. */
  get current(): Pid | undefined {
    return this.pid;
  }

  start(events: RunnableEvents): void {
    if (this.system.host(this.spec.host) === undefined) {
      this.startElsewhere(events);
      return;
    }
    let pid: Pid;
    try {
      pid = this.system.spawn({
        entry: this.spec.entry,
        host: this.spec.host,
        args: encodeValues(this.spec.input),
      });
    } catch (error) {
      // Reported after the machine finished its transition into `spawning`.
      queueMicrotask(() => events.exited({ ok: false, error: LuactError.from(error) }));
      return;
    }
    this.pid = pid;
    const process = this.system.process(pid);
    process?.whenReady(() => events.started());
    process?.exitListeners.add((outcome) => {
      if (this.pid === pid) this.pid = undefined;
      events.exited(outcome);
    });
  }

  /**
   * A host of another thread of the node (a host on worker threads): the process is followed
   * from an inbox here, which takes its outcome. It counts as started once its spawn answered.
   */
  private startElsewhere(events: RunnableEvents): void {
    let pid: Pid | undefined;
    let endedFirst: ExitOutcome | undefined;
    const ended = (run: Pid, outcome: ExitOutcome) => {
      if (this.pid === run) this.pid = undefined;
      events.exited(outcome);
    };
    const inbox = this.system.openInbox(
      () => {},
      (_, outcome) => {
        inbox.close();
        // Its outcome may come in right behind the spawn's answer, before the PID is known here.
        if (pid === undefined) endedFirst = outcome;
        else ended(pid, outcome);
      },
    );
    const failed = (error: unknown) => {
      inbox.close();
      events.exited({ ok: false, error: LuactError.from(error) });
    };
    let spawned: Pid | Promise<Pid>;
    try {
      spawned = this.system.spawnAnywhere({
        entry: this.spec.entry,
        host: this.spec.host,
        args: encodeValues(this.spec.input),
        remoteParent: { pid: inbox.pid, monitor: false, link: false, resultChannel: 1 },
      });
    } catch (error) {
      queueMicrotask(() => failed(error));
      return;
    }
    Promise.resolve(spawned).then((run) => {
      pid = run;
      this.pid = run;
      events.started();
      if (endedFirst !== undefined) ended(run, endedFirst);
    }, failed);
  }

  cancel(reason: string): void {
    if (this.pid !== undefined) {
      const delivery = this.system.signal({
        kind: 'cancel',
        to: this.pid,
        from: undefined,
        at: this.system.clock.now(),
        reason,
      });
      // A cancel another thread refuses (a full mailbox) is a refusal here too: the stop's
      // timeout ends the process then.
      if (delivery instanceof Promise) delivery.catch(() => {});
    }
  }

  terminate(error: LuactError): void {
    if (this.pid === undefined) return;
    const process = this.system.process(this.pid);
    if (process) this.system.kill(process, error);
    // On another thread: ended by a signal that carries the error.
    else this.system.signal({ kind: 'terminate', to: this.pid, from: undefined, error });
  }
}

import { LuactError } from '@luact/core';
import { encodeValues } from '@luact/lua';
import type { Pid, ProcessSystem } from '@luact/process';
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

  cancel(reason: string): void {
    if (this.pid !== undefined) {
      this.system.signal({
        kind: 'cancel',
        to: this.pid,
        from: undefined,
        at: this.system.clock.now(),
        reason,
      });
    }
  }

  terminate(error: LuactError): void {
    const process = this.pid === undefined ? undefined : this.system.process(this.pid);
    if (process) this.system.kill(process, error);
  }
}

import type { WorkerPulse } from './worker-pulse.js';

/** How often the watchdog reads the pulses. */
const CHECK_EVERY_MS = 100;

/** The shortest time a worker may be busy without a break before it counts as stuck. */
const MIN_STUCK_MS = 250;

/**
 * How long a worker of a host with `maxSliceMs` may be busy without a break before it is
 * stuck: a legal slice ends well within max_slice (where the count hook cannot stop code, the
 * VM stops it then), and a busy machine must not look like a stuck worker.
 */
export function stuckAfterMs(maxSliceMs: number): number {
  return Math.max(3 * maxSliceMs, MIN_STUCK_MS);
}

interface Watched {
  readonly pulse: WorkerPulse;
  readonly stuckAfterMs: number;
  readonly onStuck: (busyMs: number) => void;
}

/**
 * The main thread's watch over its worker threads: one timer for all, which never keeps the
 * node's process alive. A worker whose pulse says it has been busy longer than its bound is
 * reported once (it is not watched any more until watched again: its replacement).
 */
export class Watchdog {
  private readonly watched = new Map<string, Watched>();
  private timer: ReturnType<typeof setInterval> | undefined;

  watch(
    thread: string,
    pulse: WorkerPulse,
    stuckAfterMs: number,
    onStuck: (busyMs: number) => void,
  ): void {
    this.watched.set(thread, { pulse, stuckAfterMs, onStuck });
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  unwatch(thread: string): void {
    this.watched.delete(thread);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private check(): void {
    const now = Date.now();
    for (const [thread, watched] of this.watched) {
      const busy = watched.pulse.busyFor(now);
      if (busy <= watched.stuckAfterMs) continue;
      this.watched.delete(thread);
      watched.onStuck(busy);
    }
  }
}

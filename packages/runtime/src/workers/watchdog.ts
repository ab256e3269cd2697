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
  /** The worker's turn count when it was first seen busy in its current stretch. */
  busyTurn: number | undefined;
  /** When the watchdog first saw that stretch (by its own checks). */
  seenAt: number;
}

/**
 * The main thread's watch over its worker threads: one timer for all, which never keeps the
 * node's process alive. A worker that has been busy in one stretch (one turn count) for longer
 * than its bound, as the watchdog's own checks saw it, is reported once (it is not watched any
 * more until watched again: its replacement). A check that comes late — the whole node was
 * paused, or its machine slept — starts every count again: a worker caught mid-slice by the
 * pause is not taken for stuck.
 */
export class Watchdog {
  private readonly watched = new Map<string, Watched>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastCheck = 0;

  watch(
    thread: string,
    pulse: WorkerPulse,
    stuckAfterMs: number,
    onStuck: (busyMs: number) => void,
  ): void {
    this.watched.set(thread, { pulse, stuckAfterMs, onStuck, busyTurn: undefined, seenAt: 0 });
    if (this.timer !== undefined) return;
    this.lastCheck = Date.now();
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
    const paused = now - this.lastCheck > CHECK_EVERY_MS + MIN_STUCK_MS;
    this.lastCheck = now;
    for (const [thread, watched] of this.watched) {
      const busy = watched.pulse.busyFor(now);
      if (busy === 0) {
        watched.busyTurn = undefined;
        continue;
      }
      const turn = watched.pulse.turns;
      if (watched.busyTurn !== turn || paused) {
        watched.busyTurn = turn;
        watched.seenAt = now;
      }
      if (now - watched.seenAt <= watched.stuckAfterMs) continue;
      this.watched.delete(thread);
      watched.onStuck(busy);
    }
  }
}

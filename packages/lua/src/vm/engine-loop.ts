/** A VM as the engine loop runs it. */
export interface SliceRunner {
  /** Runs ready fibers until none is left or `deadline` (performance.now()) has passed. */
  runQueuedSlice(deadline: number): void;
}

/** How long the loop runs slices before the Node event loop gets a turn. */
export const SLICE_MS = 4;

/**
 * Runs the scheduler slices of every VM of one engine (the hosts of a node) in one event-loop
 * turn, one after the other, until none has a ready fiber or the turn's time is up. A message
 * from a process of one host wakes its receiver on another host in the same turn: with a turn
 * per VM, each such hop waited for the event loop to come round (~10 µs), which is what a
 * window-1 ping-pong across two hosts was made of. VMs take turns in the order they asked;
 * one that still has work when the time is up goes first in the next turn.
 */
export class EngineLoop {
  private readonly waiting: SliceRunner[] = [];
  private scheduled = false;

  /** `turnMs`: how long one turn runs slices (tests lengthen it: a descheduled turn ends early). */
  constructor(private readonly turnMs = SLICE_MS) {}

  /** `vm` has ready fibers (it asks once until its slice has run). */
  request(vm: SliceRunner): void {
    this.waiting.push(vm);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const deadline = performance.now() + this.turnMs;
    let vm = this.waiting.shift();
    while (vm !== undefined) {
      vm.runQueuedSlice(deadline);
      if (performance.now() > deadline) break;
      vm = this.waiting.shift();
    }
    if (this.waiting.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  };
}

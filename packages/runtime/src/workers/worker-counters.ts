/**
 * The numbers a host's worker threads share, in memory the main thread owns (so they outlive
 * any one worker): per worker the next `k` of its PIDs `k·N + w` (a PID is never handed out
 * twice), how many processes it runs and how many spawns are on their way to it (together
 * its load, which decides where a spawn from elsewhere goes), and whether it is gone.
 */
export class WorkerCounters {
  private readonly ids: Int32Array;
  /** Spawns sent to each worker that it has not taken yet (see sent and taken). */
  private readonly pending: Int32Array;
  /** How many processes each worker runs, exactly (max_processes is the whole host's). */
  private readonly live: Int32Array;
  /** 1 for a worker that is gone (see markDown), until a new thread takes its place. */
  private readonly down: Int32Array;
  /** 1 once the host is removed, 2 once it is being restarted (see retire). */
  private readonly removed: Int32Array;
  /** Where the next tie between equally loaded workers starts (this thread's own). */
  private cursor = 0;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly workers: number,
  ) {
    this.ids = new Int32Array(buffer, 0, workers);
    this.pending = new Int32Array(buffer, workers * 4, workers);
    this.live = new Int32Array(buffer, workers * 8, workers);
    this.down = new Int32Array(buffer, workers * 12, workers);
    this.removed = new Int32Array(buffer, workers * 16, 1);
  }

  /** New counters; the host's PIDs are numbered past `after` (its ID's earlier PIDs). */
  static create(workers: number, after = 0): WorkerCounters {
    const counters = new WorkerCounters(new SharedArrayBuffer(workers * 16 + 4), workers);
    counters.ids.fill(Math.floor(after / workers) + 1);
    return counters;
  }

  /**
   * The host is being removed (`restarting`: to be started again, by a registry change): no
   * spawn goes to any of its workers again, on any thread.
   */
  retire(restarting: boolean): void {
    Atomics.store(this.removed, 0, restarting ? 2 : 1);
    for (let w = 0; w < this.workers; w++) this.markDown(w);
  }

  /** Whether the host was removed (see retire). */
  get retired(): boolean {
    return Atomics.load(this.removed, 0) !== 0;
  }

  /** Whether the host was removed to be started again (see retire). */
  get restarting(): boolean {
    return Atomics.load(this.removed, 0) === 2;
  }

  /** Every PID the host's workers handed out is below this. */
  pidsBelow(): number {
    let below = 0;
    for (let w = 0; w < this.workers; w++)
      below = Math.max(below, Atomics.load(this.ids, w) * this.workers);
    return below;
  }

  /** The number of worker `w`'s next process. */
  nextId(w: number): number {
    return Atomics.add(this.ids, w, 1) * this.workers + w;
  }

  /**
   * The processes the host runs on all of its workers. A worker that is gone counts none: its
   * processes are gone with it, whatever its thread, slow to stop, still counts as it ends them.
   */
  liveCount(): number {
    let count = 0;
    for (let w = 0; w < this.workers; w++)
      if (Atomics.load(this.down, w) === 0) count += Atomics.load(this.live, w);
    return count;
  }

  /** Worker `w` started (1) or ended (-1) a process. */
  addLive(w: number, change: number): void {
    Atomics.add(this.live, w, change);
  }

  /** Worker `w` is gone: no spawn goes there until a new thread takes its place (markUp). */
  markDown(w: number): void {
    Atomics.store(this.down, w, 1);
  }

  /**
   * Worker `w`'s lost thread is terminated: it counts no more processes, and the thread that
   * takes its place counts from none. (Cleared at markDown instead, the lost thread, still
   * running until terminated, would take the count below none as it ended its processes, and
   * its successor would start there.)
   */
  terminated(w: number): void {
    Atomics.store(this.live, w, 0);
  }

  /** A new thread took worker `w`'s place: it runs no process yet, and nothing is on its way. */
  markUp(w: number): void {
    // The spawns sent to the lost thread failed with it; one picked as it was lost may have
    // been counted after markDown: none is the new thread's.
    Atomics.store(this.pending, w, 0);
    Atomics.store(this.down, w, 0);
  }

  /**
   * Worker `w`'s PID counter: every PID it handed out has a smaller `k`, and the thread that
   * takes its place continues from here (a PID is never handed out twice).
   */
  fence(w: number): number {
    return Atomics.load(this.ids, w);
  }

  /**
   * The worker with the least load (processes plus spawns on their way; ties taken in turn);
   * undefined when every worker is down. The spawn counts once it is sent (see sent).
   */
  leastLoaded(): number | undefined {
    let best: number | undefined;
    let least = Number.POSITIVE_INFINITY;
    for (let step = 0; step < this.workers; step++) {
      const w = (this.cursor + step) % this.workers;
      if (Atomics.load(this.down, w) === 1) continue;
      const load = Atomics.load(this.live, w) + Atomics.load(this.pending, w);
      if (load < least) [best, least] = [w, load];
    }
    if (best !== undefined) this.cursor = (best + 1) % this.workers;
    return best;
  }

  /**
   * A spawn was sent to worker `w`: it counts in its load until the worker takes it (see
   * taken). Counted at the send, not at the pick, so that a spawn that fails before it is
   * sent (an unknown entry) leaves nothing behind.
   */
  sent(w: number): void {
    Atomics.add(this.pending, w, 1);
  }

  /**
   * Worker `w` took a spawn sent to it (before it starts the process or refuses it): it is no
   * longer on its way. Never below none (markUp may have cleared it meanwhile).
   */
  taken(w: number): void {
    let pending = Atomics.load(this.pending, w);
    while (pending > 0) {
      const seen = Atomics.compareExchange(this.pending, w, pending, pending - 1);
      if (seen === pending) return;
      pending = seen;
    }
  }
}

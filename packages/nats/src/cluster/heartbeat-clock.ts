/**
 * Who is down, judged by the cluster clock: the newest *server* timestamp seen on any beat. Node
 * clocks never enter, so their skew does not matter; and when no beat arrives at all (NATS or the
 * stream's leader unavailable, or this observer cut off) the clock stands still, so nobody ages.
 *
 * The clock advances in steps, one per beat received. A step longer than `stallMs` means this
 * observer saw no beat from anyone for that long, its own included: the store was unavailable or
 * the observer was cut off. Such a step counts as `stallMs` only, so members are not declared down
 * for the store's outage (a lesson from leases expiring across a store's leader election): when
 * beats resume, each member is as old as it was when they stopped, plus at most `stallMs`.
 */
export interface HeartbeatClockSettings {
  readonly downAfterMs: number;
  /** Clock steps longer than this count as this long. Must be below `downAfterMs` − one beat. */
  readonly stallMs: number;
}

interface Beat {
  readonly incarnation: number;
  /** On the running clock (server time minus the stalls). */
  readonly at: number;
}

export class HeartbeatClock {
  readonly #settings: HeartbeatClockSettings;
  /** The newest server timestamp seen, ms; undefined before the first beat. */
  #clock: number | undefined;
  /** Total ms of clock steps beyond `stallMs`, not counted towards anyone's age. */
  #stalled = 0;
  readonly #beats = new Map<string, Beat>();
  /** Members looked for without a beat of their incarnation: since when (running clock). */
  readonly #missing = new Map<string, number>();

  constructor(settings: HeartbeatClockSettings) {
    this.#settings = settings;
  }

  /** The cluster clock: the newest server time seen on a beat (ms since the epoch). */
  get now(): number | undefined {
    return this.#clock;
  }

  /** The clock less the stalls: what ages are measured on. */
  get running(): number | undefined {
    return this.#clock === undefined ? undefined : this.#clock - this.#stalled;
  }

  /** A beat of `node` at `incarnation`, stored by the server at `serverMs`. */
  observe(node: string, incarnation: number, serverMs: number): void {
    if (this.#clock === undefined) {
      this.#clock = serverMs;
    } else if (serverMs > this.#clock) {
      const step = serverMs - this.#clock;
      if (step > this.#settings.stallMs) this.#stalled += step - this.#settings.stallMs;
      this.#clock = serverMs;
    }
    const at = serverMs - this.#stalled;
    const previous = this.#beats.get(node);
    if (previous === undefined || previous.incarnation !== incarnation || previous.at < at) {
      this.#beats.set(node, { incarnation, at });
    }
  }

  /**
   * Milliseconds since `node`'s last beat at `incarnation`, on the running clock. A member with
   * no such beat seen is timed from the first time it was looked for (so an observer that just
   * started gives everyone the full `downAfterMs`).
   */
  age(node: string, incarnation: number): number {
    const running = this.running;
    if (running === undefined) return 0;
    const beat = this.#beats.get(node);
    if (beat !== undefined && beat.incarnation === incarnation) return running - beat.at;
    const key = `${node}#${incarnation}`;
    const since = this.#missing.get(key) ?? running;
    this.#missing.set(key, since);
    return running - since;
  }

  /** The members of `members` (node → incarnation) older than `downAfterMs`, sorted by name. */
  down(members: ReadonlyMap<string, number>): string[] {
    for (const key of this.#missing.keys()) {
      const [node, incarnation] = splitKey(key);
      if (members.get(node) !== incarnation) this.#missing.delete(key);
    }
    return [...members]
      .filter(([node, incarnation]) => this.age(node, incarnation) > this.#settings.downAfterMs)
      .map(([node]) => node)
      .sort();
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('#');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

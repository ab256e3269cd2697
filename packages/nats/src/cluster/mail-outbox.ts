/** The numbers a record is sent with (see MailRecord). */
export interface Numbering {
  readonly seq: number;
  readonly base: number;
  readonly skipped: readonly number[];
}

/**
 * The sequence bookkeeping of what this node incarnation sends to one other node. Publishes
 * are pipelined, so several sequences can be in flight: `base` tells a receiver how far back
 * they reach, and a sequence given up on is announced in the following records until one of
 * those is stored, so receivers need not wait for it.
 */
export class Outbox {
  private nextSeq = 1;
  /** Sequences published whose outcome is not known yet. */
  private readonly inFlight = new Set<number>();
  /** No sequence below this one is in flight. */
  private lowestInFlight = 1;
  /** Sequences given up on that no stored record announced yet. */
  private readonly abandoned = new Set<number>();

  /** Numbers the next record. */
  take(): Numbering {
    const seq = this.nextSeq++;
    this.inFlight.add(seq);
    while (this.lowestInFlight < seq && !this.inFlight.has(this.lowestInFlight)) {
      this.lowestInFlight += 1;
    }
    return { seq, base: this.lowestInFlight, skipped: [...this.abandoned] };
  }

  /** JetStream stored the record numbered so: what it announced needs no more announcing. */
  stored(numbering: Numbering): void {
    this.inFlight.delete(numbering.seq);
    for (const seq of numbering.skipped) this.abandoned.delete(seq);
  }

  /** The record numbered so could not be stored: later records announce it as given up. */
  abandon(numbering: Numbering): void {
    this.inFlight.delete(numbering.seq);
    this.abandoned.add(numbering.seq);
  }
}

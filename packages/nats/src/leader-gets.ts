import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

/**
 * Reads a stream's subjects message by message through the stream leader's message get
 * (`STREAM.MSG.GET` with `next_by_subj`) rather than through a consumer. Why: nats-server
 * 2.9.10 places some new one-replica consumers on a server that is down, and creating one
 * then times out, for as long as the server stays down; a get is answered by whichever server
 * leads the stream at the time, and reads what the leader holds (never a lagging replica).
 * A get brings one message, so reads of several subjects run side by side, at most
 * `inFlight` at a time per reader.
 */
export class LeaderGets {
  private reading = 0;
  private readonly queued: (() => void)[] = [];

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly inFlight = 32,
  ) {}

  /**
   * The messages of `subject` (one subject, or a filter with wildcards) in stream order from
   * the first, until `done` says the last one read is the last wanted or none is left.
   */
  async subject(
    subject: string,
    done: (message: StoredMsg, read: number) => boolean,
  ): Promise<StoredMsg[]> {
    await this.turn();
    try {
      const read: StoredMsg[] = [];
      let message = await this.next(subject, 1);
      while (message !== null) {
        read.push(message);
        if (done(message, read.length)) break;
        message = await this.next(subject, message.seq + 1);
      }
      return read;
    } finally {
      this.endTurn();
    }
  }

  /** The first message of `subject` at stream sequence `seq` or later, or null if none. */
  private next(subject: string, seq: number): Promise<StoredMsg | null> {
    // 2.9.10 takes `next_by_subj` on STREAM.MSG.GET; the client types only `seq` and
    // `last_by_subj` there, and sends the request as given.
    const request = { seq, next_by_subj: subject };
    return this.jsm.streams.getMessage(this.stream, request);
  }

  private async turn(): Promise<void> {
    if (this.reading < this.inFlight) {
      this.reading += 1;
      return;
    }
    // The turn passes straight from the one ending it (endTurn), so `reading` stays counted.
    await new Promise<void>((resolve) => this.queued.push(resolve));
  }

  private endTurn(): void {
    const next = this.queued.shift();
    if (next) next();
    else this.reading -= 1;
  }
}

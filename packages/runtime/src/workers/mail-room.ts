/**
 * Mailbox limits for mail to another thread, decided at the sender without asking per message
 * (see WorkerRouter.send): this thread counts what it sent to each process of one other thread
 * and that thread has not taken in yet (in flight, by the link's batch), and what that thread
 * last said the process's mailbox holds. Their sum is at least what the mailbox holds as far as
 * this thread's mail goes, so a message within the limits by that sum surely fits — as long as
 * nothing else filled the mailbox since that thread said. The receiver's thread says, in each
 * batch it posts here, what changed in the mailboxes this thread mailed lately (computed as the
 * batch goes, see WorkerRouter.report), and what one holds at once when asked (once this
 * thread's count passes half a limit): a batch of its that says nothing of a mailbox says it is
 * within its slack (see slackOf) of what it said last, and this thread counts that slack on
 * top. A batch from a third thread may bring news of it (a sender there filled it and
 * said so), so what the receiver's thread said counts only while this thread takes no batch
 * from another (`heard`: the count of those when it heard). A message within the limits by a
 * count that still counts is taken at once. Any other (near the limits, to a process this
 * thread never sent to or spawned, or heard of before another thread's batch) is left to the
 * receiver: sent as a request it answers with its own verdict, so one sender gets exactly the
 * answers it would get on one thread. Senders on several threads racing for a mailbox's last
 * room (mail that fills it while a message is on its way) may each be told `true`, and the
 * receiver then drops what no longer fits (and tells the sender's thread).
 */

/** The limits of a host's mailboxes (its HostLimits fields for them). */
export interface MailLimits {
  readonly max_mailbox: number;
  readonly max_mailbox_bytes: number;
  readonly max_message_size: number;
}

/**
 * How far a mailbox may move from what its thread last said before that thread says it again:
 * a sixteenth of each limit, from 256 messages and 64 KiB (a smaller limit is counted exactly:
 * it has no sixteenth to spare). A mailbox that comes and goes by a window of messages is then
 * said once, not in every batch its thread posts (at window 100 across two workers that cost
 * 0.87× the throughput). The sender counts the slack as held: mail within a sixteenth or two of
 * a limit (the mailbox may also have emptied by one unsaid) is left to the receiver's verdict.
 */
export function slackOf(limits: MailLimits): { readonly messages: number; readonly bytes: number } {
  const { max_mailbox: messages, max_mailbox_bytes: bytes } = limits;
  return {
    messages: messages >= SLACK_FROM_MESSAGES ? Math.floor(messages / SLACK_PARTS) : 0,
    bytes: bytes >= SLACK_FROM_BYTES ? Math.floor(bytes / SLACK_PARTS) : 0,
  };
}

const SLACK_PARTS = 16;
const SLACK_FROM_MESSAGES = 256;
const SLACK_FROM_BYTES = 64 * 1024;

/** What to do with a message (see MailRoom.admit). */
export const LEAVE = 0;
export const TAKE = 1;
export const TAKE_AND_ASK = 2;
export type Admission = typeof LEAVE | typeof TAKE | typeof TAKE_AND_ASK;

interface Room {
  /** The limits of the receiver's host. */
  readonly limits: MailLimits;
  /** What the mailbox may hold past `held` unsaid (see slackOf). */
  readonly slack: { readonly messages: number; readonly bytes: number };
  /** What the receiver's thread last said the mailbox holds. */
  held: number;
  /**
   * How many batches this thread had taken from threads other than the receiver's when it
   * heard so: it counts while that stays the same.
   */
  heard: number;
  heldBytes: number;
  /** Sent and not in `held` yet: per batch, [batch, messages, bytes] triples, oldest first. */
  readonly flights: number[];
  inFlight: number;
  inFlightBytes: number;
  /** The receiver's thread was asked what the mailbox holds, and has not said yet. */
  asked: boolean;
}

/** How many receivers a thread keeps counts of before it forgets those with none in flight. */
const KEPT = 4096;

/** The room of the mailboxes of one other thread's processes, as this thread counts it. */
export class MailRoom {
  private readonly rooms = new Map<string, Room>();

  /**
   * Whether a message of at most `size` bytes to `pid` surely fits its mailbox (TAKE: it is
   * counted as sent in batch `batch` of the link; TAKE_AND_ASK: and the receiver's thread is to
   * be asked what the mailbox holds), or is left to the receiver (LEAVE: near a limit, a
   * receiver this thread has not heard of, or heard of before its `heard`th batch from a
   * thread other than the receiver's).
   */
  admit(pid: string, size: number, batch: number, heard: number): Admission {
    const room = this.rooms.get(pid);
    if (room === undefined || room.heard !== heard) return LEAVE;
    const { limits } = room;
    if (size > limits.max_message_size) return LEAVE;
    const count = room.held + room.slack.messages + room.inFlight + 1;
    const bytes = room.heldBytes + room.slack.bytes + room.inFlightBytes + size;
    if (count > limits.max_mailbox || bytes > limits.max_mailbox_bytes) return LEAVE;
    const { flights } = room;
    const last = flights.length - 3;
    if (last >= 0 && flights[last] === batch) {
      (flights[last + 1] as number)++;
      flights[last + 2] = (flights[last + 2] as number) + size;
    } else flights.push(batch, 1, size);
    room.inFlight++;
    room.inFlightBytes += size;
    if (room.asked || (count * 2 <= limits.max_mailbox && bytes * 2 <= limits.max_mailbox_bytes))
      return TAKE;
    room.asked = true;
    return TAKE_AND_ASK;
  }

  /**
   * The receiver's thread handled the link's batches up to `batch`, after which `pid`'s (a
   * process of a host with `limits`) mailbox held `held` messages of `heldBytes` bytes; `held`
   * -1: it has ended (or is no longer said). Heard when this thread had taken `heard` batches
   * from other threads.
   */
  holds(
    pid: string,
    limits: MailLimits,
    batch: number,
    held: number,
    heldBytes: number,
    heard: number,
  ): void {
    if (held < 0) {
      this.rooms.delete(pid);
      return;
    }
    let room = this.rooms.get(pid);
    if (room === undefined) {
      if (this.rooms.size >= KEPT) this.forgetIdle();
      room = {
        limits,
        slack: slackOf(limits),
        held: 0,
        heldBytes: 0,
        heard,
        flights: [],
        inFlight: 0,
        inFlightBytes: 0,
        asked: false,
      };
      this.rooms.set(pid, room);
    }
    room.held = held;
    room.heldBytes = heldBytes;
    room.heard = heard;
    room.asked = false;
    const { flights } = room;
    let taken = 0;
    while (taken < flights.length && (flights[taken] as number) <= batch) {
      room.inFlight -= flights[taken + 1] as number;
      room.inFlightBytes -= flights[taken + 2] as number;
      taken += 3;
    }
    if (taken > 0) flights.splice(0, taken);
  }

  /**
   * This thread spawned `pid` there, with `held` startup messages of `heldBytes` bytes, and
   * heard so when it had taken `heard` batches from other threads: counted from there, unless
   * the receiver's thread said what it holds.
   */
  spawned(pid: string, limits: MailLimits, held: number, heldBytes: number, heard: number): void {
    if (!this.rooms.has(pid)) this.holds(pid, limits, 0, held, heldBytes, heard);
  }

  /** Forgets the receivers with nothing in flight (all, when every one has something). */
  private forgetIdle(): void {
    for (const [pid, room] of this.rooms) if (room.inFlight === 0) this.rooms.delete(pid);
    if (this.rooms.size >= KEPT) this.rooms.clear();
  }
}

import { describe, expect, it } from 'vitest';
import { LEAVE, MailRoom, slackOf, TAKE, TAKE_AND_ASK } from './mail-room.js';

const LIMITS = { max_mailbox: 5, max_mailbox_bytes: 100, max_message_size: 40 };

describe('the room a thread counts in another thread’s mailboxes', () => {
  it('leaves mail to a process it never heard of to the receiver', () => {
    const room = new MailRoom();
    expect(room.admit('p', 1, 1, 1) !== LEAVE).toBe(false);
  });

  it('takes mail while what the receiver said plus what is in flight fits, and no more', () => {
    const room = new MailRoom();
    room.holds('p', LIMITS, 0, 1, 10, 1);
    const taken = Array.from({ length: 6 }, () => room.admit('p', 10, 1, 1) !== LEAVE);
    expect(taken).toEqual([true, true, true, true, false, false]);
    // The receiver took batch 1 in, and its process read two: room for two again.
    room.holds('p', LIMITS, 1, 3, 30, 1);
    expect(room.admit('p', 10, 2, 1) !== LEAVE).toBe(true);
    expect(room.admit('p', 10, 2, 1) !== LEAVE).toBe(true);
    expect(room.admit('p', 10, 2, 1) !== LEAVE).toBe(false);
  });

  it('keeps counting what is in flight in batches the receiver has not handled yet', () => {
    const room = new MailRoom();
    room.holds('p', LIMITS, 0, 0, 0, 1);
    expect(room.admit('p', 1, 1, 1) !== LEAVE).toBe(true);
    expect(room.admit('p', 1, 2, 1) !== LEAVE).toBe(true);
    expect(room.admit('p', 1, 3, 1) !== LEAVE).toBe(true);
    // Batch 1 is in the mailbox (1 held), batches 2 and 3 still in flight.
    room.holds('p', LIMITS, 1, 1, 1, 1);
    expect(room.admit('p', 1, 4, 1) !== LEAVE).toBe(true);
    expect(room.admit('p', 1, 4, 1) !== LEAVE).toBe(true);
    expect(room.admit('p', 1, 4, 1) !== LEAVE).toBe(false);
  });

  it('leaves to the receiver what passes the bytes or the size limit, and forgets an ended process', () => {
    const room = new MailRoom();
    room.holds('p', LIMITS, 0, 0, 90, 1);
    expect(room.admit('p', 11, 1, 1) !== LEAVE).toBe(false);
    expect(room.admit('p', 10, 1, 1) !== LEAVE).toBe(true);
    room.holds('q', LIMITS, 0, 0, 0, 1);
    expect(room.admit('q', 41, 1, 1) !== LEAVE).toBe(false);
    room.holds('q', LIMITS, 1, -1, 0, 1);
    expect(room.admit('q', 1, 2, 1) !== LEAVE).toBe(false);
  });

  it('asks the receiver what the mailbox holds once past half a limit, and again after it said', () => {
    const room = new MailRoom();
    room.holds('p', LIMITS, 0, 0, 0, 1);
    expect([1, 2, 3, 4].map(() => room.admit('p', 1, 1, 1))).toEqual([
      TAKE,
      TAKE,
      TAKE_AND_ASK,
      TAKE,
    ]);
    room.holds('p', LIMITS, 1, 0, 0, 1);
    expect([1, 2, 3].map(() => room.admit('p', 1, 2, 1))).toEqual([TAKE, TAKE, TAKE_AND_ASK]);
  });

  it('counts what the receiver said only until the next batch from its thread', () => {
    const room = new MailRoom();
    // Spawned there with nothing in its mailbox, heard in batch 3 from the receiver's thread.
    room.spawned('p', LIMITS, 0, 0, 3);
    expect(room.admit('p', 1, 1, 3)).toBe(TAKE);
    // Batch 4 came (it may say the receiver filled its own mailbox): left to the receiver.
    expect(room.admit('p', 1, 1, 4)).toBe(LEAVE);
    // Batch 4 said what the mailbox holds: full, by mail of others.
    room.holds('p', LIMITS, 0, 5, 5, 4);
    expect(room.admit('p', 1, 1, 4)).toBe(LEAVE);
    // Batch 5 says it was read: room again, one message of this thread still in flight.
    room.holds('p', LIMITS, 0, 0, 0, 5);
    expect([1, 2, 3, 4].map(() => room.admit('p', 1, 2, 5) !== LEAVE)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(room.admit('p', 1, 2, 5)).toBe(LEAVE);
    // A spawn's count never overrides what the receiver's thread said.
    room.spawned('p', LIMITS, 0, 0, 5);
    expect(room.admit('p', 1, 2, 5)).toBe(LEAVE);
  });
});

describe('the slack of a mailbox', () => {
  it('is a sixteenth of a limit from 256 messages and 64 KiB, and none below', () => {
    const of = (max_mailbox: number, max_mailbox_bytes: number) =>
      slackOf({ max_mailbox, max_mailbox_bytes, max_message_size: 1 });
    expect(of(255, 65_535)).toEqual({ messages: 0, bytes: 0 });
    expect(of(256, 65_536)).toEqual({ messages: 16, bytes: 4096 });
    expect(of(10_000, 67_108_864)).toEqual({ messages: 625, bytes: 4_194_304 });
  });

  it('is counted as held: past the limit less the slack, mail is left to the receiver', () => {
    const room = new MailRoom();
    const limits = { max_mailbox: 1600, max_mailbox_bytes: 1 << 30, max_message_size: 100 };
    room.holds('p', limits, 0, 1499, 0, 1);
    expect(room.admit('p', 1, 1, 1) !== LEAVE).toBe(true); // 1,499 + 100 (slack) + 1 = 1,600
    expect(room.admit('p', 1, 1, 1) !== LEAVE).toBe(false);
  });
});

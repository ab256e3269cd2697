import type { DeliveryField } from '@luact/lua';
import { describe, expect, it } from 'vitest';
import { type FedSink, Mailbox } from './mailbox.js';
import type { Envelope } from './transport.js';

type Item = { a: DeliveryField; b: DeliveryField; c: DeliveryField };

/** Fed channels as plain queues: `receive(channel)` is what a Lua receive takes. */
class Channels implements FedSink {
  readonly queues = new Map<number, Item[]>();

  deliver(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void {
    const queue = this.queues.get(channel) ?? [];
    queue.push({ a, b, c });
    this.queues.set(channel, queue);
  }

  deliverLast(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void {
    this.deliver(channel, a, b, c);
  }

  pendingIn(channel: number): number {
    return this.queues.get(channel)?.length ?? 0;
  }

  release(channel: number): Item[] {
    const queue = this.queues.get(channel) ?? [];
    this.queues.delete(channel);
    return queue;
  }

  receive(channel: number): Item | undefined {
    return this.queues.get(channel)?.shift();
  }
}

/** What `mailbox` holds not yet received, as [items, bytes]. */
const heldIn = (mailbox: Mailbox): [number, number] => {
  const { length, bytes } = mailbox.held();
  return [length, bytes];
};

const message = (topic: string, size: number): Envelope => ({
  to: '{app:h|1}' as Envelope['to'],
  from: undefined,
  topic,
  payload: new Uint8Array(size),
});

describe('Mailbox accounting', () => {
  it('counts messages and their bytes until received, on every route', () => {
    const channels = new Channels();
    const mailbox = new Mailbox(channels);
    mailbox.deliver(message('a', 100)); // retained: no channel yet
    mailbox.openInbox(1);
    mailbox.deliver(message('b', 200));
    mailbox.listen('c', 2);
    mailbox.deliver(message('c', 300));
    expect(heldIn(mailbox)).toEqual([3, 101 + 201 + 301]);
    channels.receive(1);
    expect(heldIn(mailbox)).toEqual([2, 201 + 301]);
    mailbox.unlisten('c'); // what the listen channel held goes back to the inbox
    expect(heldIn(mailbox)).toEqual([2, 201 + 301]);
    channels.receive(1);
    channels.receive(1);
    expect(heldIn(mailbox)).toEqual([0, 0]);
  });

  it('counts events, and keeps counting across an upgrade', () => {
    const channels = new Channels();
    const mailbox = new Mailbox(channels);
    mailbox.deliverEvent('EXIT', '{app:h|2}', new Uint8Array(50));
    mailbox.openEvents(3);
    mailbox.deliverEvent('CANCEL', '{app:h|2}', new Uint8Array(10));
    mailbox.openInbox(1);
    mailbox.deliver(message('m', 20));
    const before = heldIn(mailbox);
    expect(before).toEqual([3, 54 + 16 + 21]);
    mailbox.rebind();
    expect(heldIn(mailbox)).toEqual(before);
    mailbox.openEvents(4);
    mailbox.openInbox(5);
    expect(heldIn(mailbox)).toEqual(before);
  });

  it('counts a result awaited until received, forgets its channel then, and drops results for code that is gone', () => {
    const channels = new Channels();
    const mailbox = new Mailbox(channels);
    mailbox.expectResult(7);
    mailbox.expectResult(8);
    expect(mailbox.awaitingResults).toBe(2);
    mailbox.deliverResult(7, 'ok', new Uint8Array(1000));
    expect([mailbox.awaitingResults, ...heldIn(mailbox)]).toEqual([1, 1, 1000]);
    channels.receive(7);
    expect(heldIn(mailbox)).toEqual([0, 0]);
    mailbox.rebind();
    mailbox.deliverResult(8, 'ok', new Uint8Array(1000));
    expect([mailbox.awaitingResults, ...heldIn(mailbox)]).toEqual([0, 0, 0]);
    expect(channels.pendingIn(8)).toBe(0);
  });
});

import { LuactError } from '@luact/core';
import type { Process } from './process.js';

type Answer =
  | { readonly ok: true; readonly value: string | true }
  | { readonly ok: false; readonly error: LuactError };

interface Slot {
  readonly process: Process;
  channel?: number;
  answer?: Answer;
}

/**
 * Operations a Lua process waits for because they complete later: a message or spawn that an
 * external (workflow) host first journals. The host function hands Lua a token; Lua makes a fed
 * channel and names it with `settle(token, channel)`; the answer goes there, whichever of the
 * two comes first.
 */
export class PendingAnswers {
  private nextToken = 1;
  private readonly slots = new Map<number, Slot>();

  /** Starts waiting for `work` on behalf of `process`; returns the token Lua waits with. */
  begin(process: Process, work: Promise<string | true>): number {
    const token = this.nextToken++;
    this.slots.set(token, { process });
    work.then(
      (value) => this.answer(token, { ok: true, value }),
      (error: unknown) => this.answer(token, { ok: false, error: LuactError.from(error) }),
    );
    return token;
  }

  /** Lua waits on fed `channel` for the answer of `token`. */
  settle(token: number, channel: number): void {
    const slot = this.slots.get(token);
    if (!slot) return;
    slot.channel = channel;
    if (slot.answer) this.deliver(token, slot);
  }

  private answer(token: number, answer: Answer): void {
    const slot = this.slots.get(token);
    if (!slot) return;
    slot.answer = answer;
    if (slot.channel !== undefined) this.deliver(token, slot);
  }

  private deliver(token: number, slot: Slot): void {
    this.slots.delete(token);
    const { process, answer, channel } = slot;
    if (process.exited || !process.group || !answer || channel === undefined) return;
    if (answer.ok) process.vm.deliver(process.group, channel, 'ok', answer.value);
    else
      process.vm.deliver(process.group, channel, 'error', answer.error.kind, answer.error.message);
  }
}

import { LuactError } from '@luact/core';
import type { Fiber } from '@luact/lua';
import type { Process } from './process.js';
import type { Settled } from './process-api.js';

interface Slot {
  readonly process: Process;
  /** The fiber that asked before the answer came, woken when it does. */
  waiter?: Fiber;
  answer?: Settled;
}

/**
 * Operations a Lua process waits for because they complete later: a message to another node
 * (stored first) or one that an external (workflow) host first journals. The host function
 * hands Lua a token; Lua asks for the token's answer with `take`, and a fiber that asked too
 * early is woken when it comes. A token is forgotten once its answer is taken, or once it
 * comes for a process that has ended: nothing stays behind per operation.
 */
export class PendingAnswers {
  private nextToken = 1;
  private readonly slots = new Map<number, Slot>();

  /** Starts waiting for `work` on behalf of `process`; returns the token Lua waits with. */
  begin(process: Process, work: Promise<string | true | Uint8Array>): number {
    const token = this.nextToken++;
    this.slots.set(token, { process });
    work.then(
      (value) => this.answer(token, { ok: true, value }),
      (error: unknown) => this.answer(token, { ok: false, error: LuactError.from(error) }),
    );
    return token;
  }

  /**
   * The answer of `token` if it came (the token is then spent), or undefined after arranging
   * that `fiber` is woken when it comes. An unknown token answers undefined and wakes nobody.
   */
  take(token: number, fiber: Fiber): Settled | undefined {
    const slot = this.slots.get(token);
    if (slot === undefined) return undefined;
    if (slot.answer !== undefined) {
      this.slots.delete(token);
      return slot.answer;
    }
    slot.waiter = fiber;
    return undefined;
  }

  /** Tokens not yet spent (answers still to come or to be taken). */
  get size(): number {
    return this.slots.size;
  }

  private answer(token: number, answer: Settled): void {
    const slot = this.slots.get(token);
    if (slot === undefined) return;
    if (slot.process.exited || slot.waiter?.state === 'done') {
      this.slots.delete(token);
      return;
    }
    slot.answer = answer;
    if (slot.waiter !== undefined) slot.process.vm.wake(slot.waiter);
  }
}

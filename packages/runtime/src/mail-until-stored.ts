import { LuactError } from '@luact/core';
import type { Delivery } from '@luact/process';

/** How `mailUntilStored` tries again. */
export interface MailAgain {
  /** Milliseconds between a failure and the next try. */
  readonly retryMs: number;
  /** No try starts this long after the first or later. */
  readonly forMs: number;
  /** True once the node stops: no try follows. */
  readonly stopped: () => boolean;
  /** Told of each failure; `final` when no try follows it. */
  readonly failed: (error: LuactError, final: boolean) => void;
}

/**
 * Sends mail with `send` until one try is stored: again after each failure that may pass (a
 * retryable error, such as JetStream not storing the mail while a stream elects its leader),
 * for `forMs` at most. For mail whose loss nobody would notice, such as a workflow's end to
 * the node whose caller waits for it: its receiver must take a copy stored twice as one.
 */
export function mailUntilStored(
  send: () => Delivery,
  again: MailAgain,
  firstTry = Date.now(),
): void {
  const failed = (error: unknown): void => {
    const failure = LuactError.from(error);
    const final =
      !failure.retryable || again.stopped() || Date.now() - firstTry + again.retryMs >= again.forMs;
    again.failed(failure, final);
    if (final) return;
    const next = setTimeout(() => mailUntilStored(send, again, firstTry), again.retryMs);
    next.unref?.();
  };
  let delivery: Delivery;
  try {
    delivery = send();
  } catch (error) {
    failed(error);
    return;
  }
  if (delivery instanceof LuactError) failed(delivery);
  else if (delivery instanceof Promise) delivery.catch(failed);
}

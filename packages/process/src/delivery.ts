/**
 * What the router's parts say about a delivery: the refusal for an address with no live
 * process behind it, and letting go of a delivery whose fate nobody waits for.
 */
import { LuactError } from '@luact/core';
import type { Delivery } from './transport.js';

/** NOT_FOUND for mail or a signal to `pid`: no such process, or it has ended. */
export function notAlive(pid: string): LuactError {
  return new LuactError('NOT_FOUND', `process ${pid} not found: it does not exist or has ended`, {
    retryable: false,
  });
}

/** A delivery whose fate nobody waits for (the end of a process, cleanup on another node). */
export function forget(delivery: Delivery): void {
  if (delivery instanceof Promise) delivery.catch(() => {});
}

import { encodeValue } from '@luact/lua';
import { fitting } from './admission.js';
import type { Process } from './process.js';
import type { ExitOutcome } from './transport.js';

/**
 * Hands a child's outcome to the fed channel its parent waits on (exec, function calls);
 * `from` names the child (a PID, or the entry of a TypeScript function).
 */
export function deliverOutcome(
  process: Process,
  channel: number,
  outcome: ExitOutcome,
  from: string,
): void {
  if (process.exited || !process.group) return;
  const fit = fitting(outcome, from, process);
  if (fit.ok) process.mailbox.deliverResult(channel, 'ok', fit.value);
  else process.mailbox.deliverResult(channel, 'error', encodeValue(fit.error));
}

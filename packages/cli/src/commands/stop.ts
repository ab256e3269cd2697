import { setTimeout as sleep } from 'node:timers/promises';
import { LuactError } from '@luact/core';
import { queryControl, type ServiceView } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { askNode, type NodeTarget, socketOf } from './control.js';

/** How long `luact stop` waits for the node to be gone (its services' stop timeouts). */
const STOP_WAIT_MS = 2 * 60_000;
const POLL_MS = 200;

interface StopAnswer {
  readonly os_pid: number;
  readonly services: readonly ServiceView[];
}

/**
 * `luact stop [dir]`: asks the node running `dir` to stop as on SIGTERM (services
 * dependents-first), names the services that were failing, and waits until the node is gone.
 */
export async function stop(target: NodeTarget, io: CliIO): Promise<ExitCode> {
  let answer: StopAnswer | undefined;
  const asked = await askNode<StopAnswer>(target, '/stop', { body: {} }, io, (given) => {
    answer = given;
    return failingLines(given.services);
  });
  if (asked !== ExitCode.ok || !answer) return asked;
  const socket = await socketOf(target, io);
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      await queryControl(socket, '/node', { timeoutMs: 1_000 });
    } catch (error) {
      // Gone once nothing listens; a connection reset while it closes is not the end yet.
      if (LuactError.from(error).kind === 'UNAVAILABLE') {
        if (!target.json) io.stdout.write(`stopped node "${target.node}" (pid ${answer.os_pid})\n`);
        return ExitCode.ok;
      }
    }
    await sleep(POLL_MS);
  }
  io.stderr.write(
    `luact: node "${target.node}" (pid ${answer.os_pid}) is still stopping after ${STOP_WAIT_MS / 1000} s; luact services shows what it waits for\n`,
  );
  return ExitCode.failure;
}

function failingLines(services: readonly ServiceView[]): string {
  return services
    .filter(
      (service) =>
        service.last_error !== null && (service.attempts > 0 || service.state === 'failed'),
    )
    .map(
      (service) =>
        `service ${service.id} was failing (${service.state}, ${service.attempts} failed attempt${service.attempts === 1 ? '' : 's'}): ${service.last_error}\n`,
    )
    .join('');
}

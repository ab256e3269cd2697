import { formatDuration } from '@luact/core';
import { type Node, type StartProblem, startProblems } from '@luact/runtime';

/**
 * Starts the node's auto_start services and returns those that did not come up, each with its
 * error. A crash-looping service is a problem after its first failed attempt (the start does
 * not wait out its restarts), and a start still unsettled after `timeoutMs` (0: no limit)
 * names the services it still waits for.
 */
export async function startServices(node: Node, timeoutMs: number): Promise<StartProblem[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    if (timeoutMs > 0) timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  try {
    const started = await Promise.race([node.startServices(), late]);
    if (started !== 'late') return startProblems(started);
    return node.services
      .list()
      .filter((status) => status.state === 'starting')
      .map((status) => ({
        service: status.id,
        message: `service ${status.id} did not start within ${formatDuration(timeoutMs)}${status.waitingFor.length > 0 ? ` (waiting for ${status.waitingFor.join(', ')})` : ''}`,
      }));
  } finally {
    clearTimeout(timer);
  }
}

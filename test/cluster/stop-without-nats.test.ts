import { expect, it } from 'vitest';
import { clusterSuite } from './cluster-nodes.js';

/**
 * A cluster node asked to stop while no NATS server is reachable stops in seconds: leaving the
 * view cannot be written, and the others declare it down anyway, so its shutdown does not wait
 * for NATS (it used to wait out the 30 s join bound).
 */

const { nodes, server } = clusterSuite('luact-cluster-stop-');

it('stops a node within seconds when NATS is gone', async () => {
  const node = await nodes.serve('lone', [server().url]);
  await expect.poll(() => node.stderr().includes('running'), { timeout: 60_000 }).toBe(true);
  await server().kill();
  const asked = Date.now();
  node.child.kill('SIGTERM');
  const code = await node.exited;
  const tookMs = Date.now() - asked;
  expect(node.stderr()).toContain('stopping services');
  expect(code, node.stderr()).toBeGreaterThanOrEqual(0);
  // The leave bound (5 s) and the mail transport's close, with room for a loaded machine.
  expect(tookMs).toBeLessThan(25_000);
  await server().restart();
}, 90_000);

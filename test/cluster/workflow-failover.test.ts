import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { clusterSuite } from './cluster-nodes.js';

/**
 * Workflows survive the SIGKILL of a node that drives some of them (issue 10, T2): 1,000
 * workflows spread over three nodes, each having run one activity, holding an accepted signal
 * it has not read yet and a durable timer not yet due. The driver (test/cluster/failover-app,
 * `failover:drive`, on node a) reports what went wrong: a workflow that did not end with the
 * result its inputs give, an activity that never ran or whose result was journaled and that
 * ran again after the kill, a signal refused. An activity in flight when node a's join moved
 * its partition runs again on the new owner (its result was not journaled): the driver counts
 * those apart (`moved_repeats`). (It also
 * covers what test/src/cli-workflows-cluster.test.ts checked with 30 workflows: a starter on a
 * surviving node gets every EXIT, with its value.)
 *
 * A workflow whose partition moved while it waited (node a's join rebalances in steps) says
 * "waiting" again: its new owner carries out the sends the journal does not mark as done. The
 * receiving process takes each such message once (by its origin): the driver counts repeats,
 * and there must be none.
 */

const WORKFLOWS = 1_000;
/** Its own application: the nodes of the other cluster tests host no workflows. */
const FAILOVER_APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'failover-app');

const { nodes, server } = clusterSuite('luact-cluster-wf-failover-', FAILOVER_APP);

it(`finishes ${WORKFLOWS} in-flight workflows on the survivors after the node driving some of them is SIGKILLed: results as without the crash, no completed activity run again, no accepted signal lost`, async ({
  annotate,
}) => {
  const urls = [server().url];
  const b = await nodes.serve('b', urls);
  await nodes.serve('c', urls);
  const a = nodes.exec('a', urls, 'failover:drive', [WORKFLOWS, 'b']);
  // Should the driver end first, what it printed says why.
  await a.cli.waitForLog({ msg: 'signalled' }, 150_000).catch((error: Error) => {
    throw new Error(`${error.message}\ndriver output: ${a.cli.stdout().slice(-3_000)}`);
  });

  const killedAt = Date.now();
  b.child.kill('SIGKILL');
  expect(await b.exited).toBe(137);
  const { code, result } = await a.result();
  const tookMs = Date.now() - killedAt;

  expect(code, a.cli.stderr().slice(-5_000)).toBe(0);
  const none = { count: 0, first: '' };
  expect(result).toEqual({
    ok: true,
    value: {
      victim_down: 'node down: b',
      on_victim: expect.any(Number),
      waiting_repeats: 0,
      moved_repeats: expect.any(Number),
      early_accepted: WORKFLOWS,
      go_refused: none,
      wrong: none,
      missing_steps: none,
      repeated_steps: none,
    },
  });
  const { on_victim: onVictim } = result.value as { on_victim: number };

  // b drove a share of them when it died (the IDs spread them over a, b and c).
  expect(onVictim).toBeGreaterThan(0);
  const moved = (result.value as { moved_repeats: number }).moved_repeats;
  await annotate(
    `b drove ${onVictim} workflows; all ended ${tookMs} ms after the SIGKILL; ${moved} activities in flight during a partition move ran again`,
  );
}, 240_000);

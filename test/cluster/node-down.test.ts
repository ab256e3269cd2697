import { expect, it } from 'vitest';
import { clusterSuite, downViews } from './cluster-nodes.js';

/**
 * A node SIGKILLed: the processes of another node that monitor or link its processes learn
 * it from the committed view that drops it, as EXIT and LINK_DOWN "node down: NAME", and the
 * cluster names its processes held are free again.
 */

/** The documented bound is 4–5 s after the last beat plus the view's commit; generous here. */
const BOUND_MS = 15_000;

const { nodes, server } = clusterSuite('luact-cluster-down-');

it('gives monitors EXIT and trapping links LINK_DOWN "node down: b" within the bound after b is SIGKILLed', async ({
  annotate,
}) => {
  const b = await nodes.serve('b', [server().url]);
  const a = nodes.exec('a', [server().url], 'cluster:watch', ['b']);
  await a.cli.waitForLog({ msg: 'watching', node: 'b' }, 60_000);

  const killedAt = Date.now();
  b.child.kill('SIGKILL');
  const { code, result } = await a.result();
  const tookMs = Date.now() - killedAt;

  expect(code, a.cli.stderr()).toBe(0);
  const down = { error: 'Unavailable', message: 'node down: b' };
  expect(result.value).toEqual({
    monitored: { kind: 'EXIT', ...down },
    linked: { kind: 'LINK_DOWN', ...down },
    watched: { kind: 'EXIT', ...down },
  });
  expect(tookMs).toBeLessThanOrEqual(BOUND_MS);
  // One view dropped b, committed by a (the only member left).
  expect(downViews(a.cli).map((view) => view.down)).toEqual([['b']]);
  await annotate(`node down seen ${tookMs} ms after the SIGKILL`);
}, 120_000);

it('frees the cluster names of the SIGKILLed node once it is declared down', async () => {
  const b = await nodes.serve('names-b', [server().url]);
  const a = nodes.exec('names-a', [server().url], 'cluster:name_down', ['names-b', 'desk']);
  await a.cli.waitForLog({ msg: 'watching', node: 'names-b' }, 60_000);
  b.child.kill('SIGKILL');
  const { code, result } = await a.result();
  expect(code, a.cli.stderr()).toBe(0);
  expect(result.value).toEqual({
    found_holder: true,
    refused_while_held: 'AlreadyExists',
    exit: 'node down: names-b',
    registered_after: true,
    found_self: true,
  });
}, 120_000);

import { describe, expect, it } from 'vitest';
import { clusterSuite, downViews } from './cluster-nodes.js';

/**
 * Two luact nodes (child processes, `luact run --nats … --node NAME`) on one nats-server:
 * what one node's processes do with another's goes through NATS only.
 */

const { nodes, server } = clusterSuite('luact-cluster-across-');

describe('processes on two nodes', () => {
  it('play 1,000 rounds of ping-pong and a 1,000-message burst, every pong in order', async () => {
    const b = await nodes.serve('pp-b', [server().url]);
    const a = nodes.exec('pp-a', [server().url], 'cluster:ping', ['pp-b', 1_000]);
    const { code, result } = await a.result();
    expect(code, a.cli.stderr()).toBe(0);
    expect(result).toEqual({
      ok: true,
      value: {
        rounds: 1_000,
        ponger: expect.stringMatching(/^\{pp-b~\d+@cluster:processes\|\d+\}$/),
        answered: 2_000,
      },
    });
    expect(downViews(a.cli, b)).toEqual([]);
  }, 180_000);

  it('spawn, exec, monitor and link across nodes, a link failure cascading over both', async () => {
    await nodes.serve('rm-b', [server().url]);
    const a = nodes.exec('rm-a', [server().url], 'cluster:remote', ['rm-b', 'rm-a']);
    const { code, result } = await a.result();
    expect(code, a.cli.stderr()).toBe(0);
    expect(result.value).toEqual({
      doubled: 42,
      exec_ran_on: expect.stringMatching(/^\{rm-b~\d+@cluster:processes\|\d+\}$/),
      monitored: { from: true, kind: 'EXIT', value: 0 },
      monitor_ended: { kind: expect.stringMatching(/^(refused|EXIT)$/), error: 'NotFound' },
      cascade: {
        from: true,
        kind: 'LINK_DOWN',
        error: 'Unavailable',
        message: expect.stringMatching(/^linked process failed: \{rm-a~\d+@.*belt snapped/),
      },
      nobody: { error: 'Unavailable' },
    });
  }, 120_000);
});

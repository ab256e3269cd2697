import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { type ClusterFlags, clusterSettings, withClusterOptions } from './cluster-options.js';

/** The cluster flags `argv` parses to, or the message Commander refuses them with. */
function parse(argv: readonly string[]): ClusterFlags | string {
  const command = withClusterOptions(new Command().exitOverride());
  command.configureOutput({ writeErr: () => {} });
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    return (error as Error).message;
  }
  return command.opts<ClusterFlags>();
}

describe('the cluster flags of run and test', () => {
  it('set the three liveness timings from --down-after, in the defaults’ proportions', () => {
    const flags = parse(['--down-after', '20s', '--send-timeout', '45s', '--replicas', '3']);
    expect(clusterSettings('a', flags as ClusterFlags)).toEqual({
      name: 'a',
      replicas: 3,
      liveness: { heartbeatMs: 5_000, fenceAfterMs: 12_500, downAfterMs: 20_000 },
      sendTimeoutMs: 45_000,
    });
    // The defaults come out of 4 s as they are: 1 s beats, fenced after 2.5 s.
    expect(clusterSettings('a', parse(['--down-after', '4s']) as ClusterFlags).liveness).toEqual({
      heartbeatMs: 1_000,
      fenceAfterMs: 2_500,
      downAfterMs: 4_000,
    });
  });

  it('leave what is not given to the node', () => {
    expect(clusterSettings('b', parse([]) as ClusterFlags)).toEqual({ name: 'b' });
  });

  it('refuse values out of range or not durations, naming the range', () => {
    expect(parse(['--down-after', '500ms'])).toMatch(
      /--down-after <duration>' argument '500ms' is invalid\. "500ms" is out of range: from 1s to 600s/,
    );
    // Retries of a send must stay inside JetStream's 2-minute duplicate window.
    expect(parse(['--send-timeout', '2m'])).toMatch(
      /--send-timeout <duration>' argument '2m' is invalid\. "2m" is out of range: from 1ms to 60s/,
    );
    expect(parse(['--send-timeout', 'soon'])).toMatch(
      /--send-timeout <duration>' argument 'soon' is invalid/,
    );
    expect(parse(['--placement', 'random'])).toMatch(/placement is local or spread/);
    expect(parse(['--replicas', '7'])).toMatch(/replicas is a whole number from 1 to 5/);
  });
});

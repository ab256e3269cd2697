import type { Pid, Signal } from '@luact/process';
import { expect, it } from 'vitest';
import { ClusterRelay } from './cluster-relay.js';
import { signalRecord } from './thread-records.js';

it('says which outcomes of workers’ children it relayed to their parents on other nodes', async () => {
  const relayed: [Pid, number][] = [];
  const sent: Signal[] = [];
  const relay = new ClusterRelay(
    {
      identity: { node: 'a', incarnation: 1n } as never,
      transport: {
        sendRemote: async () => {},
        signalRemote: async (_node: string, signal: Signal) => {
          sent.push(signal);
        },
        spawnRemote: async () => '{b:x|1}' as Pid,
      } as never,
      names: { held: () => [], follow: () => () => {} } as never,
      now: () => 0n,
    },
    (parent, channel) => relayed.push([parent, channel]),
  );
  const wire = (signal: Signal) => {
    const record = signalRecord(signal);
    if (record.t !== 'signal') throw new Error('not a signal record');
    return record.signal;
  };
  const to = '{b:main|3}' as Pid;
  const from = '{a:w|4}' as Pid;
  const outcome = { ok: true, value: new Uint8Array([0xc0]) } as const;
  await relay.answer({
    s: 'cluster.signal',
    node: 'b',
    signal: wire({ kind: 'result', to, from, channel: 5, outcome }),
  } as never);
  await relay.answer({
    s: 'cluster.signal',
    node: 'b',
    signal: wire({ kind: 'exit', to, from, at: 0n, outcome }),
  } as never);
  expect(relayed).toEqual([[to, 5]]);
  expect(sent.map((s) => s.kind)).toEqual(['result', 'exit']);
});

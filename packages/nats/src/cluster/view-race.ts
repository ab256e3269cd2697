/**
 * For tests: two writers racing to commit the same next view version, many times. Not exported
 * from the package.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureMembershipStreams, membershipNames } from './membership-streams.js';
import { proposeView, type View } from './view.js';
import { ViewLog } from './view-log.js';

export interface RaceOutcome {
  /** Per trial, how many of the two commits succeeded. */
  readonly winners: number[];
  /** The versions stored in the view stream, in stream order. */
  readonly stored: number[];
}

export async function raceViewCommits(
  connections: readonly [NatsConnection, NatsConnection],
  prefix: string,
  replicas: number,
  trials: number,
): Promise<RaceOutcome> {
  const names = membershipNames(prefix);
  const logs = await Promise.all(
    connections.map(async (connection) => {
      const jsm = await jetstreamManager(connection);
      await ensureMembershipStreams(jsm, names, replicas);
      return new ViewLog(connection, jetstream(connection), jsm, names);
    }),
  );
  const settings = { partitions: 4, minMembers: 1, maxMovesPerView: 8 };
  const winners: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    // Both writers read the same last view, then commit different successors of it.
    const [latestA, latestB] = await Promise.all(logs.map((log) => log.latest()));
    const results = await Promise.all(
      (['a', 'b'] as const).map((writer, i) => {
        const latest = i === 0 ? latestA : latestB;
        // A new incarnation of the writer's node each time: the view stays two members small.
        const join = { node: writer, member: { incarnation: trial + 1, queues: ['q'] } };
        const view = proposeView(latest?.view, { join }, settings) as View;
        return (logs[i] as ViewLog).commit(view, latest, `${writer}.${view.version}`);
      }),
    );
    winners.push(results.filter((result) => result.committed).length);
  }
  const stored: number[] = [];
  const jsm = await jetstreamManager(connections[0]);
  const info = await jsm.streams.info(names.viewStream);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(names.viewStream, { seq });
    if (message !== null) stored.push((JSON.parse(message.string()) as View).version);
  }
  return { winners, stored };
}

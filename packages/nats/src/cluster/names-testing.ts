/**
 * Test helpers for cluster names (not exported from the package): registries with their own
 * connections, and races of two registries for the same names.
 */
import { LuactError } from '@luact/core';
import type { Pid } from '@luact/process';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { testConnection } from './membership-testing.js';
import { ClusterNameRegistry } from './names.js';
import { entryFrom, lastEntry, nameBucket } from './names-stream.js';
import type { NameEntry } from './names-table.js';

export interface TestRegistry {
  readonly registry: ClusterNameRegistry;
  readonly connection: NatsConnection;
  /** Names the registry said were revoked, as `name pid`. */
  readonly revoked: string[];
  pid(id: number): Pid;
}

export async function openRegistry(
  url: string,
  node: string,
  incarnation: number,
  prefix: string,
  replicas = 1,
  decideTimeoutMs?: number,
): Promise<TestRegistry> {
  const connection = await testConnection(url);
  const registry = await ClusterNameRegistry.open({
    connection,
    identity: { node, incarnation },
    prefix,
    replicas,
    ...(decideTimeoutMs === undefined ? {} : { decideTimeoutMs }),
  });
  const revoked: string[] = [];
  registry.attach({ revoked: (name, pid) => revoked.push(`${name} ${pid}`) });
  return {
    registry,
    connection,
    revoked,
    pid: (id) => `{${node}~${incarnation}@app:p|${id}}` as Pid,
  };
}

export async function closeRegistry(test: TestRegistry | undefined): Promise<void> {
  if (test === undefined) return;
  await test.registry.close().catch(() => undefined);
  await test.connection.close().catch(() => undefined);
}

export interface RaceOutcome {
  /** Per trial, how many of the racers were told they hold the name. */
  readonly winners: number[];
  /** Losers whose error was not ALREADY_EXISTS naming the winner. */
  readonly badLosers: string[];
  /** Trials where the stream's first PUT after the last marker is not the winner's. */
  readonly historyMismatches: string[];
  /** Trials where the stream stored more than one racer's PUT (the 2.9.10 R3 race). */
  readonly doubleStored: number;
}

/**
 * `trials` races of two registries for one name each. With `deleted`, the name was held and
 * released by `previous` first, so the racers write after a delete marker.
 */
export async function raceForNames(
  racers: readonly [TestRegistry, TestRegistry],
  prefix: string,
  trials: number,
  deleted?: TestRegistry,
): Promise<RaceOutcome> {
  const jsm = await jetstreamManager(racers[0].connection);
  const bucket = nameBucket(prefix);
  const winners: number[] = [];
  const badLosers: string[] = [];
  const historyMismatches: string[] = [];
  let doubleStored = 0;
  for (let trial = 1; trial <= trials; trial++) {
    const name = `${deleted ? 'deleted' : 'fresh'}-${trial}`;
    let marker = 0;
    if (deleted) {
      await deleted.registry.register(name, deleted.pid(trial));
      await deleted.registry.unregister(name);
      marker = (await lastEntry(jsm, bucket, bucket.subject(name)))?.seq ?? 0;
    }
    const pids = racers.map((racer) => racer.pid(trial));
    const outcomes = await Promise.allSettled(
      racers.map((racer, i) => racer.registry.register(name, pids[i] as Pid)),
    );
    const won = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [pids[i]] : []));
    winners.push(won.length);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      const error = outcome.reason;
      const named =
        won[0] !== undefined && error instanceof LuactError && error.message.includes(won[0]);
      if (!(error instanceof LuactError && error.kind === 'ALREADY_EXISTS' && named))
        badLosers.push(`${name}: ${String(error)}`);
    }
    const first = await entryFrom(jsm, bucket, bucket.subject(name), marker + 1);
    if (!(first?.op === 'put' && first.pid === won[0]))
      historyMismatches.push(`${name}: first ${JSON.stringify(first)}, winner ${won[0]}`);
    const puts = await putsFrom(jsm, bucket, name, marker + 1);
    if (puts > 1) doubleStored += 1;
  }
  return { winners, badLosers, historyMismatches, doubleStored };
}

async function putsFrom(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  bucket: ReturnType<typeof nameBucket>,
  name: string,
  seq: number,
): Promise<number> {
  let count = 0;
  let at = seq;
  for (;;) {
    const entry: NameEntry | undefined = await entryFrom(jsm, bucket, bucket.subject(name), at);
    if (entry === undefined || entry.op === 'delete') return count;
    count += 1;
    at = entry.seq + 1;
  }
}

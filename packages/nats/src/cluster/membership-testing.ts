/**
 * Test helpers for membership tests (not exported from the package): members with their own
 * connections, fast test timings, and a record of everything each member reports.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Membership, type MembershipState } from './membership.js';
import type { MembershipOptions } from './membership-options.js';
import type { View } from './view.js';

/** Timings for tests on a loaded machine: beats every 250 ms, down after 2 s, fenced after 1.2 s. */
export const TEST_TIMINGS = { heartbeatMs: 250, downAfterMs: 2_000, fenceAfterMs: 1_200 } as const;

export interface RecordedEvent {
  readonly kind: 'view' | 'fence' | 'unfence' | 'expelled';
  /** Local wall-clock time, ms (same machine as the server in these tests). */
  readonly at: number;
  readonly version?: number;
  /** For views: server time the view was stored. */
  readonly committedAt?: number;
}

export interface TestMember {
  readonly name: string;
  readonly connection: NatsConnection;
  readonly member: Membership;
  readonly views: View[];
  readonly events: RecordedEvent[];
  state(): MembershipState;
}

export async function testConnection(url: string | readonly string[]): Promise<NatsConnection> {
  return connect({
    servers: typeof url === 'string' ? url : [...url],
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    pingInterval: 2_000,
  });
}

/** Joins `name` on a connection of its own (or the given one) and records what it reports. */
export async function joinMember(
  url: string | readonly string[],
  name: string,
  options: Partial<MembershipOptions> = {},
  connection?: NatsConnection,
): Promise<TestMember> {
  const nc = connection ?? (await testConnection(url));
  const member = await Membership.join({ connection: nc, node: name, ...TEST_TIMINGS, ...options });
  const views: View[] = [member.view];
  const events: RecordedEvent[] = [];
  member.onView((view) => {
    views.push(view);
    events.push({
      kind: 'view',
      at: Date.now(),
      version: view.version,
      committedAt: member.viewCommittedAt,
    });
  });
  member.onFence((fenced) => events.push({ kind: fenced ? 'fence' : 'unfence', at: Date.now() }));
  member.onExpelled(() => events.push({ kind: 'expelled', at: Date.now() }));
  return { name, connection: nc, member, views, events, state: () => member.state };
}

/** Leaves if still a member and closes the member's connection; never throws. */
export async function dispose(member: TestMember | undefined): Promise<void> {
  if (member === undefined) return;
  await member.member.leave().catch(() => undefined);
  await member.connection.close().catch(() => undefined);
}

export function memberNames(view: View): string[] {
  return Object.keys(view.members).sort();
}

/** Whether every queue's partitions are spread over its servers within one of each other. */
export function balanced(view: View): boolean {
  return Object.entries(view.owners).every(([queue, owners]) => {
    const servers = Object.keys(view.members).filter((node) =>
      view.members[node]?.queues.includes(queue),
    );
    const loads = servers.map((node) => owners.filter((owner) => owner.node === node).length);
    return Math.max(...loads) - Math.min(...loads) <= 1;
  });
}

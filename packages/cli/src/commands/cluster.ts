import path from 'node:path';
import { LuactError } from '@luact/core';
import {
  ClusterOps,
  type ClusterStatus,
  type NodeNatsOption,
  type PartitionOwner,
  type ViewChange,
} from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { table } from './control.js';
import { formatDuration } from './inspect.js';

/** How a command reaches a cluster: `--nats`, and the directory whose entry `--nats` may name. */
export interface ClusterTarget {
  readonly nats: NodeNatsOption;
  readonly dir: string;
  readonly json: boolean;
}

/** Said when the cluster's streams hold no view: nobody ever joined on this NATS. */
export const NO_CLUSTER =
  'no node has ever joined a cluster on this NATS (a node joins with: luact run <dir> --nats <url> --node <name>)';

/**
 * Connects to the cluster's NATS, runs `use`, and closes the connection; a connection that
 * fails (no server, refused credentials) is reported as `luact run --nats` reports it.
 */
export async function withCluster(
  target: ClusterTarget,
  io: CliIO,
  use: (ops: ClusterOps) => Promise<ExitCode>,
): Promise<ExitCode> {
  let ops: ClusterOps;
  try {
    ops = await ClusterOps.connect(target.nats, {
      dir: path.resolve(io.cwd, target.dir),
      env: io.env,
    });
  } catch (error) {
    io.stderr.write(`luact: ${LuactError.from(error).message}\n`);
    return ExitCode.failure;
  }
  try {
    return await use(ops);
  } catch (error) {
    io.stderr.write(`luact: ${LuactError.from(error).message}\n`);
    return ExitCode.failure;
  } finally {
    await ops.close();
  }
}

/**
 * `luact cluster --nats URL`: the members (incarnations, when they joined, their last beat,
 * the queues they serve), the view's version and commit time, and per workflow queue which node
 * owns which partitions. `--json` gives the view whole, every partition with its owner and epoch.
 */
export function cluster(target: ClusterTarget, io: CliIO): Promise<ExitCode> {
  return withCluster(target, io, async (ops) => {
    const status = await ops.status();
    if (status === undefined) {
      io.stderr.write(`luact: ${NO_CLUSTER}\n`);
      return ExitCode.failure;
    }
    io.stdout.write(
      target.json
        ? `${JSON.stringify(clusterJson(status), null, 2)}\n`
        : renderCluster(status, Date.now()),
    );
    return ExitCode.ok;
  });
}

function clusterJson(status: ClusterStatus) {
  const { view } = status;
  return {
    version: view.version,
    committed_at: new Date(status.committedAt).toISOString(),
    partitions: view.partitions,
    members: status.members.map((member) => ({
      node: member.node,
      incarnation: member.incarnation,
      queues: member.queues,
      joined_at: isoOrNull(member.bootedAt),
      last_beat_at: isoOrNull(member.lastBeatAt),
    })),
    owners: Object.fromEntries(
      Object.entries(view.owners).map(([queue, owners]) => [
        queue,
        owners.map((owner, partition) => ({ partition, ...owner })),
      ]),
    ),
    changes: view.changes,
  };
}

export function renderCluster(status: ClusterStatus, now: number): string {
  const { view } = status;
  const count = status.members.length;
  const lines = [
    `view ${view.version}, committed ${when(status.committedAt, now)}; ${count} member${count === 1 ? '' : 's'}, ${view.partitions} partitions per workflow queue`,
  ];
  if (view.changes.length > 0) lines.push(`it changed: ${view.changes.map(changeText).join('; ')}`);
  lines.push(
    '',
    table(
      ['NODE', 'INCARNATION', 'JOINED', 'LAST BEAT', 'QUEUES'],
      status.members.map((member) => [
        member.node,
        String(member.incarnation),
        member.bootedAt === undefined ? '-' : when(member.bootedAt, now),
        member.lastBeatAt === undefined
          ? '-'
          : `${formatDuration(Math.max(0, now - member.lastBeatAt))} ago`,
        member.queues.join(', ') || '-',
      ]),
    ).trimEnd(),
  );
  const served = [...new Set(status.members.flatMap((member) => member.queues))].sort();
  for (const queue of served) {
    const owners = view.owners[queue];
    lines.push('', `queue ${queue}`);
    if (owners === undefined) {
      lines.push(
        '  no owners yet (partitions are given out once the cluster has its minimum size)',
      );
      continue;
    }
    lines.push(
      table(
        ['  NODE', 'PARTITIONS', 'RANGES'],
        ownership(owners, view.members).map(({ node, partitions }) => [
          `  ${node}`,
          String(partitions.length),
          ranges(partitions),
        ]),
      ).trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Each owner of a queue's partitions with the partitions it owns, by node name; an owner that
 * is not a member at that incarnation (it should not happen) is shown with its incarnation.
 */
function ownership(
  owners: readonly PartitionOwner[],
  members: Readonly<Record<string, { readonly incarnation: number }>>,
) {
  const byNode = new Map<string, number[]>();
  owners.forEach((owner, partition) => {
    const label =
      members[owner.node]?.incarnation === owner.incarnation
        ? owner.node
        : `${owner.node} (incarnation ${owner.incarnation}, not a member)`;
    byNode.set(label, [...(byNode.get(label) ?? []), partition]);
  });
  return [...byNode.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([node, partitions]) => ({ node, partitions }));
}

/** Sorted partition numbers as ranges: 0-7, 12, 16-23. */
export function ranges(partitions: readonly number[]): string {
  const parts: string[] = [];
  let start: number | undefined;
  let last: number | undefined;
  const close = () => {
    if (start === undefined || last === undefined) return;
    parts.push(start === last ? String(start) : `${start}-${last}`);
  };
  for (const p of partitions) {
    if (last !== undefined && p === last + 1) {
      last = p;
      continue;
    }
    close();
    start = p;
    last = p;
  }
  close();
  return parts.join(', ');
}

export function changeText(change: ViewChange): string {
  const verb = { joined: 'joined', left: 'left', down: 'declared down' }[change.kind];
  return `${change.node} (incarnation ${change.incarnation}) ${verb}`;
}

/** An ISO time and how long ago it was. */
function when(at: number, now: number): string {
  return `${new Date(at).toISOString()} (${formatDuration(Math.max(0, now - at))} ago)`;
}

function isoOrNull(at: number | undefined): string | null {
  return at === undefined ? null : new Date(at).toISOString();
}

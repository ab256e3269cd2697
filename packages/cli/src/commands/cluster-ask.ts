import type { ClusterAnswers, ProcessView, ServiceView } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { type ClusterTarget, NO_CLUSTER, withCluster } from './cluster.js';
import { processTable, serviceTable } from './inspect.js';

/** A command that asks every node of a cluster: `luact ps --nats`, `luact services --nats`. */
export interface ClusterAskTarget extends ClusterTarget {
  /** Ask only this node (`--node`). */
  readonly node: string | undefined;
}

/** One node in the output: what it answered, or why it did not. */
type NodeReport =
  | { readonly state: 'answered'; readonly incarnation: number | null; readonly value: unknown }
  | {
      readonly state: 'not_answering';
      readonly incarnation: number | null;
      readonly reason: string;
    }
  | { readonly state: 'error'; readonly incarnation: number | null; readonly error: ErrorText }
  /** Removed by the last committed view: declared down, or left. */
  | {
      readonly state: 'down' | 'left';
      readonly incarnation: number;
      readonly view: number;
    };

interface ErrorText {
  readonly kind: string;
  readonly message: string;
}

/** `luact ps --nats URL`: every node's processes, under a heading per node. */
export function clusterPs(target: ClusterAskTarget, io: CliIO): Promise<ExitCode> {
  return askEveryNode(target, io, '/processes', 'processes', (value) =>
    processTable(value as ProcessView[]),
  );
}

/** `luact services --nats URL`: every node's services, under a heading per node. */
export function clusterServices(target: ClusterAskTarget, io: CliIO): Promise<ExitCode> {
  return askEveryNode(target, io, '/services', 'services', (value) =>
    serviceTable(value as ServiceView[]),
  );
}

/**
 * Asks every member of the view (or the `--node` given) for `route` and prints each node's
 * answer: a heading and a table per node, or with `--json` one object keyed by node, the answer
 * under `key`. A member that does not answer is listed as not answering (exit 1); one the last
 * view removed as down or left.
 */
async function askEveryNode(
  target: ClusterAskTarget,
  io: CliIO,
  route: string,
  key: string,
  render: (value: unknown) => string,
): Promise<ExitCode> {
  return withCluster(target, io, async (ops) => {
    const asked = await ops.ask(route, {}, target.node === undefined ? {} : { node: target.node });
    if (asked === undefined) {
      io.stderr.write(`luact: ${NO_CLUSTER}\n`);
      return ExitCode.failure;
    }
    const members = asked.status.view.members;
    if (target.node !== undefined && members[target.node] === undefined) {
      const departed = asked.departed.find((change) => change.node === target.node);
      if (departed === undefined) {
        const names = Object.keys(members).sort().join(', ') || 'none';
        io.stderr.write(
          `luact: node "${target.node}" is not a member of the cluster (members: ${names})\n`,
        );
        return ExitCode.failure;
      }
    }
    const reports = nodeReports(asked, target.node);
    if (target.json) {
      io.stdout.write(
        `${JSON.stringify(
          Object.fromEntries([...reports].map(([node, report]) => [node, jsonReport(report, key)])),
          null,
          2,
        )}\n`,
      );
    } else {
      io.stdout.write(
        [...reports].map(([node, report]) => textReport(node, report, render)).join('\n'),
      );
    }
    const silent = [...reports].filter(
      ([, report]) => report.state === 'not_answering' || report.state === 'error',
    );
    if (silent.length === 0) return ExitCode.ok;
    io.stderr.write(
      `luact: ${silent.length} of ${reports.size} nodes did not answer: ${silent.map(([node]) => node).join(', ')}\n`,
    );
    return ExitCode.failure;
  });
}

function nodeReports(asked: ClusterAnswers, only: string | undefined): Map<string, NodeReport> {
  const { view } = asked.status;
  const reports = new Map<string, NodeReport>();
  for (const [node, answer] of asked.answers) {
    // The node asked by --node is there even if the view just removed it: then it is below.
    const incarnation = view.members[node]?.incarnation;
    if (incarnation === undefined && only !== undefined) continue;
    const at = incarnation ?? null;
    reports.set(
      node,
      answer.state === 'answered'
        ? { state: 'answered', incarnation: at, value: answer.value }
        : answer.state === 'silent'
          ? { state: 'not_answering', incarnation: at, reason: answer.reason }
          : {
              state: 'error',
              incarnation: at,
              error: { kind: answer.error.kind, message: answer.error.message },
            },
    );
  }
  for (const change of asked.departed) {
    if (change.kind === 'joined') continue;
    reports.set(change.node, {
      state: change.kind,
      incarnation: change.incarnation,
      view: view.version,
    });
  }
  return new Map([...reports].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function jsonReport(report: NodeReport, key: string) {
  if (report.state !== 'answered') return report;
  const { value, ...rest } = report;
  return { ...rest, [key]: value };
}

function textReport(node: string, report: NodeReport, render: (value: unknown) => string) {
  const heading = `node ${node}${report.incarnation === null ? '' : ` (incarnation ${report.incarnation})`}`;
  switch (report.state) {
    case 'answered':
      return `${heading}\n${render(report.value)}`;
    case 'not_answering':
      return `${heading}: not answering (${report.reason})\n`;
    case 'error':
      return `${heading}: ${report.error.message}\n`;
    case 'down':
      return `${heading}: gone, declared down in view ${report.view}\n`;
    case 'left':
      return `${heading}: gone, left the cluster in view ${report.view}\n`;
    default: {
      const never: never = report;
      return never;
    }
  }
}

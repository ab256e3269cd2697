import type { ClusterAnswers, WorkflowView } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { NO_CLUSTER, withCluster } from './cluster.js';
import type { ClusterAskTarget } from './cluster-ask.js';
import {
  type ListAnswer,
  type ListFilter,
  listQuery,
  shownWorkflow,
  statusOrSay,
  workflowTable,
} from './workflow.js';

/** A run as the cluster lists it: with every node that listed it. */
type ClusterRun = WorkflowView & { readonly nodes: readonly string[] };

/**
 * `luact workflow list --nats`: asks every node for its runs (the same filter and limit each)
 * and lists them together, newest first, each once with the nodes that listed it. A node that
 * does not answer is named, and the command exits 1.
 */
export function clusterListWorkflows(
  target: ClusterAskTarget,
  filter: ListFilter,
  io: CliIO,
): Promise<ExitCode> {
  const status = statusOrSay(filter, io);
  if (status === undefined) return Promise.resolve(ExitCode.usage);
  return withCluster(target, io, async (ops) => {
    const asked = await ops.ask('/workflows', listQuery(filter, status), nodeOption(target));
    if (asked === undefined) return noCluster(io);
    const byRun = new Map<string, ClusterRun>();
    let more = false;
    for (const [node, answer] of asked.answers) {
      if (answer.state !== 'answered') continue;
      const page = answer.value as ListAnswer;
      more ||= page.more > 0;
      for (const run of page.workflows) {
        const key = `${run.pid}#${run.run}`;
        const known = byRun.get(key);
        byRun.set(
          key,
          known ? { ...known, nodes: [...known.nodes, node] } : { ...run, nodes: [node] },
        );
      }
    }
    const runs = [...byRun.values()]
      .sort((a, b) => (b.started_at ?? '').localeCompare(a.started_at ?? ''))
      .slice(0, filter.limit);
    more ||= byRun.size > runs.length;
    const missing = unanswered(asked);
    if (target.json) {
      io.stdout.write(
        `${JSON.stringify({ workflows: runs, more, not_answering: Object.fromEntries(missing) }, null, 2)}\n`,
      );
    } else {
      io.stdout.write(workflowTable(runs, (run) => (run as ClusterRun).nodes.join(',')));
      if (more)
        io.stdout.write(
          `${runs.length} shown, newest first; more match (raise --limit, or filter with --status or --entry)\n`,
        );
    }
    return reportMissing(missing, asked, io);
  });
}

/**
 * `luact workflow show ID --nats`: asks every node; the first that knows the workflow (in name
 * order) is shown, with its name. Not known anywhere is an error that names the nodes that did
 * not answer, since one of them may hold it.
 */
export function clusterShowWorkflow(
  target: ClusterAskTarget,
  id: string,
  io: CliIO,
): Promise<ExitCode> {
  return withCluster(target, io, async (ops) => {
    const asked = await ops.ask('/workflow', { id }, nodeOption(target));
    if (asked === undefined) return noCluster(io);
    const found = [...asked.answers].find(([, answer]) => answer.state === 'answered');
    if (found !== undefined) {
      const [node, answer] = found;
      const shown = (answer.state === 'answered' ? answer.value : {}) as Record<string, unknown>;
      io.stdout.write(
        target.json
          ? `${JSON.stringify({ node, ...shown }, null, 2)}\n`
          : `${'node:'.padEnd(9)} ${node}\n${shownWorkflow(shown)}`,
      );
      return ExitCode.ok;
    }
    const refusals = [...asked.answers].flatMap(([node, answer]) =>
      answer.state === 'refused' && answer.error.kind !== 'NOT_FOUND'
        ? [`${node}: ${answer.error.message}`]
        : [],
    );
    const quiet = [...asked.answers].filter(([, answer]) => answer.state === 'silent');
    const silent =
      quiet.length > 0 ? `; not answering: ${quiet.map(([node]) => node).join(', ')}` : '';
    io.stderr.write(
      refusals.length > 0
        ? `luact: ${refusals.join('; ')}${silent}\n`
        : `luact: no node of the cluster knows workflow ${id}${silent}\n`,
    );
    return ExitCode.failure;
  });
}

function nodeOption(target: ClusterAskTarget) {
  return target.node === undefined ? {} : { node: target.node };
}

function noCluster(io: CliIO): ExitCode {
  io.stderr.write(`luact: ${NO_CLUSTER}\n`);
  return ExitCode.failure;
}

/** The nodes asked that did not answer, with why. */
function unanswered(asked: ClusterAnswers): [string, string][] {
  return [...asked.answers].flatMap(([node, answer]): [string, string][] =>
    answer.state === 'silent'
      ? [[node, answer.reason]]
      : answer.state === 'refused'
        ? [[node, answer.error.message]]
        : [],
  );
}

function reportMissing(missing: [string, string][], asked: ClusterAnswers, io: CliIO): ExitCode {
  if (missing.length === 0) return ExitCode.ok;
  io.stderr.write(
    `luact: ${missing.length} of ${asked.answers.size} nodes did not answer: ${missing.map(([node, why]) => `${node} (${why})`).join(', ')}\n`,
  );
  return ExitCode.failure;
}

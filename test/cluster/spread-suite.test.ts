import path from 'node:path';
import { queryControl } from '@luact/runtime';
import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { logRecords, luact, REPO_ROOT, startedByTests } from '../src/luact-cli.js';

// The process acceptance suite (test/lua-api) with its processes spread over two nodes: node a
// runs the tests, and every process they spawn without naming a node goes to the next node of
// the cluster in turn (`--placement spread`), so half of them run on node b, and names without
// a scope are cluster names. What must hold is what holds on one node, except where a rule is
// a node's by nature — listed below with why.

const SUITE = path.join(REPO_ROOT, 'test', 'lua-api');

/** Tests whose expectation depends on where their children land, and why. */
const NODE_LOCAL = new Map([
  // A host's max_processes is a limit of that host on one node: spread, the third child
  // lands on the other node's host, which has room.
  ['lua_api.processes:spawn_beyond_max_processes_is_an_error', 'host limits are per node'],
  // A name is registered by the node its process runs on: registering a child that landed
  // on the other node is INVALID, naming that node.
  ['lua_api.processes:register_can_name_another_process', 'names of another node’s process'],
  ['lua_api.processes:names_are_destinations_for_monitor_cancel_and_terminate', 'idem'],
  ['lua_api.processes:upgrade_keeps_links_monitors_and_names', 'idem'],
  // A mailbox's room is known on its node: mail to a full mailbox on another node is stored,
  // then refused there.
  ['lua_api.processes:sending_to_a_full_mailbox_is_an_error', 'mailbox room is per node'],
  // Its flood retries refused sends; a receiver that landed on the other node has its mail
  // stored, then refused there, so the refused messages never come back to be sent again.
  [
    'lua_api.messages:a_flood_within_one_host_is_refused_then_delivered_in_order',
    'mailbox room is per node',
  ],
  // Backlogs a receiver takes over from its host in batches (1,200 messages; 8 of 768 KiB):
  // across nodes every send waits for JetStream to store it, which takes longer than the
  // tests wait, and the batches they test are those of one engine.
  [
    'lua_api.messages:a_backlog_held_by_the_host_and_direct_mail_arrive_in_order',
    'mail within one engine',
  ],
  [
    'lua_api.messages:a_backlog_of_big_messages_is_taken_over_a_little_at_a_time',
    'mail within one engine',
  ],
  // So is a host's max_message_size: a message too big for a host on another node is stored,
  // then refused there (the sender hears of it, but its send returned true).
  ['lua_api.processes:a_message_above_max_message_size_is_an_error', 'host limits are per node'],
  // The event bus is one per node: a subscriber that landed on the other node hears nothing.
  [
    'lua_api.events:events_reach_subscribers_in_other_processes_in_order',
    'the event bus is per node',
  ],
  // A cluster name its holder on another node released is free here once the release
  // reaches this node, a moment after the holder's EXIT.
  ['lua_api.processes:registered_name_is_released_when_its_owner_ends', 'releases arrive later'],
]);

/**
 * Neither node is to be declared down here, only to run the suite: with the default 4 s, a
 * node whose threads a loaded machine starves for that long was fenced and expelled mid-suite.
 */
const PATIENT_LIVENESS = ['--down-after', '30s'];

interface LuaTestReport {
  readonly passed: number;
  readonly failed: number;
  readonly tests: readonly {
    readonly id: string;
    readonly passed: boolean;
    readonly error?: string;
  }[];
}

let server: NatsServerHandle;
const clis = startedByTests('luact-spread-');

beforeAll(async () => {
  server = await startNatsServer();
}, 30_000);
beforeEach(() => clis.prepare());
afterEach(() => clis.cleanUp());
afterAll(async () => {
  await server?.stop();
});

it('passes the process acceptance suite with its processes spread over two nodes', async () => {
  await spreadSuite(process.env, 30_000);
}, 300_000);

// The same with every process host of both nodes on two worker threads: what a worker's
// processes do with the other node goes through their node's main thread.
it('passes it with every host of both nodes on two worker threads (LUACT_WORKERS=2)', async () => {
  const b = await spreadSuite({ ...process.env, LUACT_WORKERS: '2' }, 150_000);
  // On b's main thread: none of the suite's process hosts (they ran on its worker threads).
  const { hosts } = (await queryControl(b, '/node')) as { hosts: string[] };
  expect(hosts).not.toContain('lua_api:processes');
  expect(hosts).not.toContain('luact:main');
}, 300_000);

/**
 * Runs the suite on node a, spread over a and b, both started with `env`; returns the control
 * socket of b (still running).
 */
async function spreadSuite(env: NodeJS.ProcessEnv, suiteTimeoutMs: number): Promise<string> {
  const b = clis.start(
    [
      'run',
      SUITE,
      '--nats',
      server.url,
      '--node',
      'b',
      '--placement',
      'spread',
      ...PATIENT_LIVENESS,
      '--control',
      path.join(clis.scratch, 'b.sock'),
      '--state-dir',
      path.join(clis.scratch, 'state-b'),
    ],
    env,
  );
  await b.waitForLog({ msg: 'joined the cluster', node: 'b' }, 60_000);

  const tests = luact(
    [
      'test',
      SUITE,
      '--nats',
      server.url,
      '--node',
      'a',
      '--placement',
      'spread',
      ...PATIENT_LIVENESS,
      '--json',
    ],
    env,
    undefined,
    suiteTimeoutMs,
  );
  // While the suite runs, node b runs some of its processes.
  let seenOnB = 0;
  let done = false;
  void tests.finally(() => {
    done = true;
  });
  while (!done && seenOnB === 0) {
    const ps = await luact(['ps', '--nats', server.url, '--node', 'b', '--json']);
    if (ps.code === 0) seenOnB = (ps.stdout.match(/"lua_api[.:]/g) ?? []).length;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const run = await tests;
  const start = run.stdout.search(/^\{\n {2}"passed": /m);
  expect(start, `no JSON report:\n${run.stderr}`).toBeGreaterThanOrEqual(0);
  const report = JSON.parse(run.stdout.slice(start)) as LuaTestReport;

  expect(seenOnB).toBeGreaterThan(0);
  const failures = report.tests
    .filter((test) => !test.passed && !NODE_LOCAL.has(test.id))
    .map((test) => `${test.id}: ${test.error ?? 'failed'}`);
  // What the nodes warned of while the suite ran (a node fenced, a peer declared down, …):
  // what a failure on a loaded machine needs to be told apart from a lost message.
  const warnings = [`node a:\n${warningsIn(run.stderr)}`, `node b:\n${warningsIn(b.stderr())}`];
  expect(failures.join('\n\n'), warnings.join('\n')).toBe('');
  expect(report.passed).toBeGreaterThanOrEqual(report.tests.length - NODE_LOCAL.size);
  expect(report.tests.length).toBeGreaterThanOrEqual(153);
  return path.join(clis.scratch, 'b.sock');
}

/** The warning and error log lines of a node's stderr, one per line. */
function warningsIn(stderr: string): string {
  return logRecords(stderr)
    .filter((record) => record.level === 'warn' || record.level === 'error')
    .map((record) => JSON.stringify(record))
    .join('\n');
}

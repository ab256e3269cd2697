import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Entry } from '@luact/registry';
import type { ClusterSettings, Node, NodeNatsOption } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { bootNode, shutDown } from './boot.js';
import { startServices } from './services-start.js';

export interface TestOptions {
  readonly filter: string | undefined;
  readonly json: boolean;
  readonly parallel: number;
  readonly timeoutMs: number;
  readonly timeSkip: boolean;
  /** Keep workflow journals here; by default a temporary directory removed afterwards. */
  readonly stateDir: string | undefined;
  /** `--nats`: the node's cluster connection. */
  readonly nats?: NodeNatsOption | undefined;
  /** Run as a node of the cluster (`--node` with `--nats`). */
  readonly cluster?: ClusterSettings | undefined;
  readonly verbose: boolean;
}

interface TestResult {
  readonly id: string;
  readonly passed: boolean;
  readonly ms: number;
  readonly error?: string;
}

/**
 * `luact test [dir]`: boots the application like `luact run` (hosts, then the auto_start
 * services in dependency order), runs every process.lua and function.lua entry whose
 * `meta.type` is `test`, up to `parallel` at a time in `meta.order` (see orderGroups), and
 * shuts down gracefully. A test passes when it returns without an error and its value is not
 * `false`; an unclean shutdown fails the run.
 */
export async function test(dir: string, options: TestOptions, io: CliIO): Promise<ExitCode> {
  const scratch =
    options.stateDir === undefined ? await mkdtemp(path.join(tmpdir(), 'luact-test-')) : undefined;
  try {
    return await testIn(dir, options.stateDir ?? (scratch as string), options, io);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

async function testIn(
  dir: string,
  stateDir: string,
  options: TestOptions,
  io: CliIO,
): Promise<ExitCode> {
  const node = await bootNode(
    dir,
    {
      verbose: options.verbose,
      printTo: options.json ? 'stderr' : 'stdout',
      stateDir,
      timeSkip: options.timeSkip,
      nats: options.nats,
      cluster: options.cluster,
    },
    io,
  );
  if (!node) return ExitCode.failure;
  let failed = 0;
  try {
    // The per-test time limit also bounds the start of the services the tests need.
    const problems = await startServices(node, options.timeoutMs);
    if (problems.length > 0) {
      for (const problem of problems) io.stderr.write(`luact: ${problem.message}\n`);
      io.stderr.write('luact test: no test ran: the services above did not start\n');
      if (options.json)
        io.stdout.write(
          `${JSON.stringify({ passed: 0, failed: 0, tests: [], services: problems }, null, 2)}\n`,
        );
      return ExitCode.failure;
    }
    const tests = node.registry.snapshot
      .entries()
      .filter(isTest)
      .filter((entry) => options.filter === undefined || entry.id.includes(options.filter));
    const results = await runAll(node, tests, options, (result) => {
      if (!options.json) io.stdout.write(`${formatResult(result)}\n`);
    });
    const passed = results.filter((r) => r.passed).length;
    failed = results.length - passed;
    if (options.json)
      io.stdout.write(
        `${JSON.stringify({ passed, failed, workerThreads: node.workers?.threadCount ?? 0, tests: results }, null, 2)}\n`,
      );
    else io.stdout.write(`${passed} passed, ${failed} failed\n`);
  } finally {
    const clean = await shutDown(node, io);
    if (!clean) failed++;
  }
  return failed > 0 ? ExitCode.failure : ExitCode.ok;
}

function isTest(entry: Entry): boolean {
  return (
    (entry.kind === 'process.lua' ||
      entry.kind === 'function.lua' ||
      entry.kind === 'workflow.lua') &&
    entry.meta.type === 'test'
  );
}

async function runAll(
  node: Node,
  tests: readonly Entry[],
  options: TestOptions,
  report: (result: TestResult) => void,
): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const group of orderGroups(tests)) await runGroup(node, group, options, results, report);
  return results.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * Tests in the order Wippy's runner takes them: by `meta.order` (0 when unset), then by ID.
 * Tests of a higher order start once every test of a lower one has ended, so a test that
 * changes what others read (the registry) can declare a late order; within one order, up to
 * `parallel` run at once (with --parallel 1 the run is Wippy's, one test after another).
 */
function orderGroups(tests: readonly Entry[]): Entry[][] {
  const orderOf = (entry: Entry) =>
    typeof entry.meta.order === 'number' && Number.isFinite(entry.meta.order)
      ? entry.meta.order
      : 0;
  const sorted = [...tests].sort(
    (a, b) => orderOf(a) - orderOf(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const groups: Entry[][] = [];
  for (const entry of sorted) {
    const last = groups[groups.length - 1];
    if (last && orderOf(last[0] as Entry) === orderOf(entry)) last.push(entry);
    else groups.push([entry]);
  }
  return groups;
}

async function runGroup(
  node: Node,
  tests: readonly Entry[],
  options: TestOptions,
  results: TestResult[],
  report: (result: TestResult) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tests.length) {
      const entry = tests[next++] as Entry;
      const started = performance.now();
      const outcome = await node
        .run(entry.id, [], { timeoutMs: timeoutOf(entry, options.timeoutMs) })
        .catch((error: unknown) => ({
          ok: false as const,
          error: error as Error,
        }));
      const ms = Math.round(performance.now() - started);
      const result: TestResult = outcome.ok
        ? outcome.value === false
          ? { id: entry.id, passed: false, ms, error: 'returned false' }
          : { id: entry.id, passed: true, ms }
        : { id: entry.id, passed: false, ms, error: outcome.error.message };
      results.push(result);
      report(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
}

/** A test may ask for more time than the default with `meta.timeout` (milliseconds). */
function timeoutOf(entry: Entry, fallback: number): number {
  const timeout = entry.meta.timeout;
  return typeof timeout === 'number' && timeout > 0 ? timeout : fallback;
}

function formatResult(result: TestResult): string {
  return result.passed
    ? `✓ ${result.id} (${result.ms} ms)`
    : `✗ ${result.id} (${result.ms} ms): ${result.error ?? 'failed'}`;
}

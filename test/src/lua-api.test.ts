import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, luact } from './luact-cli.js';

/**
 * The Lua tests of the Lua API (test/lua-api; reference: docs/lua-api/), run by the real binary:
 * `luact test --json`. Test IDs are only known once the suite ran, so one `it` checks that every
 * Lua test passed (naming each failure with its error) and another that none went missing.
 */

/** How many Lua tests test/lua-api holds; raise it when adding tests. */
const EXPECTED_TESTS = 205;

interface LuaTestResult {
  readonly id: string;
  readonly passed: boolean;
  readonly ms: number;
  readonly error?: string;
}

interface LuaTestReport {
  readonly passed: number;
  readonly failed: number;
  /** The worker threads the node ran (0: every host on the main thread). */
  readonly workerThreads: number;
  readonly tests: readonly LuaTestResult[];
}

/** The JSON report at the end of stdout (Lua `print` output of the tests comes before it). */
function reportOf(run: CliRun): LuaTestReport {
  const start = run.stdout.search(/^\{\n {2}"passed": /m);
  if (start < 0) {
    throw new Error(
      `luact test printed no JSON report (exit ${run.code})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
  return JSON.parse(run.stdout.slice(start)) as LuaTestReport;
}

describe('Lua API tests (test/lua-api, run by the real binary)', () => {
  let run: CliRun;
  let report: LuaTestReport;

  beforeAll(async () => {
    run = await luact(['test', 'test/lua-api', '--json']);
    report = reportOf(run);
  }, 120_000);

  it('passes every Lua test', () => {
    const failures = report.tests
      .filter((test) => !test.passed)
      .map((test) => `${test.id} (${test.ms} ms): ${test.error ?? 'failed'}`);
    expect(failures.join('\n\n'), `${failures.length} Lua test(s) failed`).toBe('');
    expect(report.failed).toBe(0);
    expect(run.code).toBe(0);
  });

  it(`runs all ${EXPECTED_TESTS} Lua tests, each once`, () => {
    const ids = report.tests.map((test) => test.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id.startsWith('lua_api.'))).toBe(true);
    expect(report.passed + report.failed).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(EXPECTED_TESTS);
  });
});

describe('Lua API tests with every process host on two worker threads (LUACT_WORKERS=2)', () => {
  let run: CliRun;
  let report: LuaTestReport;

  beforeAll(async () => {
    // Its threads boot with the node, and a loaded machine slows them: a longer bound.
    run = await luact(
      ['test', 'test/lua-api', '--json'],
      { ...process.env, LUACT_WORKERS: '2' },
      undefined,
      90_000,
    );
    report = reportOf(run);
  }, 120_000);

  it('runs on worker threads (the main host and each process.host on two)', () => {
    // A host runs on at most as many threads as the machine has cores.
    expect(report.workerThreads).toBeGreaterThanOrEqual(availableParallelism() >= 2 ? 2 * 2 : 0);
    expect(report.tests.length).toBeGreaterThanOrEqual(EXPECTED_TESTS);
  });

  it('passes every Lua test there too', () => {
    const failures = report.tests
      .filter((test) => !test.passed)
      .map((test) => `${test.id} (${test.ms} ms): ${test.error ?? 'failed'}`);
    expect(failures.join('\n\n'), `${failures.length} Lua test(s) failed`).toBe('');
    expect(run.code).toBe(0);
  });
});

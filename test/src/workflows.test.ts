import { describe, expect, it } from 'vitest';
import { luact } from './luact-cli.js';

/** How many tests test/workflows holds; raise it when adding tests. */
const EXPECTED_TESTS = 12;

interface Report {
  readonly passed: number;
  readonly failed: number;
  readonly tests: readonly {
    readonly id: string;
    readonly passed: boolean;
    readonly error?: string;
  }[];
}

describe('workflow patterns end to end (test/workflows through luact test)', () => {
  it('passes every pattern test: saga, approval, timers, children, names, cancel, terminate, exec, bad requests', async () => {
    const run = await luact(['test', 'test/workflows', '--time-skip', '--json']);
    const start = run.stdout.search(/^\{\n {2}"passed": /m);
    expect(start, `no JSON report:\n${run.stdout}\n${run.stderr}`).toBeGreaterThanOrEqual(0);
    const report = JSON.parse(run.stdout.slice(start)) as Report;
    const failures = report.tests
      .filter((test) => !test.passed)
      .map((test) => `${test.id}: ${test.error}`);
    expect(failures).toEqual([]);
    expect(report.tests.length).toBe(EXPECTED_TESTS);
    expect(run.code).toBe(0);
  });
});

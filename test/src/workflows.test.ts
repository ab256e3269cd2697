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

function reportOf(stdout: string): Report {
  const start = stdout.search(/^\{\n {2}"passed": /m);
  if (start < 0) throw new Error(`no JSON report:\n${stdout}`);
  return JSON.parse(stdout.slice(start)) as Report;
}

describe("the registry's workflow examples (luact test registry)", () => {
  it('pass: the order processor with its day-long sleep, the approval, the parent with children', async () => {
    const run = await luact(['test', 'registry', '--time-skip', '--json']);
    const report = reportOf(run.stdout);
    expect(report.tests.filter((test) => !test.passed)).toEqual([]);
    expect(report.tests.map((test) => test.id).sort()).toEqual([
      'examples.workflows:test_a_bounced_payment_is_refunded_after_a_day',
      'examples.workflows:test_a_settled_order_is_not_refunded',
      'examples.workflows:test_an_approval_waits_for_its_decision',
      'examples.workflows:test_the_parent_gathers_its_children',
    ]);
    expect(run.code).toBe(0);
  });
});

describe('workflow patterns end to end (test/workflows through luact test)', () => {
  it('passes every pattern test: saga, approval, timers, children, names, cancel, terminate, exec, bad requests', async () => {
    const run = await luact(['test', 'test/workflows', '--time-skip', '--json']);
    const report = reportOf(run.stdout);
    const failures = report.tests
      .filter((test) => !test.passed)
      .map((test) => `${test.id}: ${test.error}`);
    expect(failures).toEqual([]);
    expect(report.tests.length).toBe(EXPECTED_TESTS);
    expect(run.code).toBe(0);
  });
});

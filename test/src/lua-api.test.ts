import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, luact } from './luact-cli.js';

/**
 * The Lua tests of the Lua API (test/lua-api; reference: docs/lua-api/), run by the real binary:
 * `luact test --json`. Test IDs are only known once the suite ran, so one `it` checks that every
 * Lua test passed (naming each failure with its error) and another that none went missing.
 */

/** How many Lua tests test/lua-api holds; raise it when adding tests. */
const EXPECTED_TESTS = 202;

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

/**
 * The Lua tests that need what a host on worker threads does not carry yet, each with the item
 * of the list in docs/concepts/processes.md ("Hosts on several threads: `workers`") it needs.
 * In the run on worker threads they may fail; any other failure fails. Take a test out of here
 * once what it needs is carried.
 */
const NOT_CARRIED_ON_WORKERS: Readonly<Record<string, string>> = {
  'lua_api.errors:fallible_calls_return_error_objects': 'process names',
  'lua_api.messages:send_to_a_name_nobody_registered_is_not_found': 'process names',
  'lua_api.messages:send_to_a_registered_name_arrives': 'process names',
  'lua_api.messages:mail_within_one_host_keeps_its_order_and_the_mailbox_limit': 'process names',
  'lua_api.processes:lookup_and_unregister': 'process names',
  'lua_api.processes:register_can_name_another_process': 'process names',
  'lua_api.processes:names_are_destinations_for_monitor_cancel_and_terminate': 'process names',
  'lua_api.processes:upgrade_keeps_links_monitors_and_names': 'process names',
  'lua_api.processes:wippy_cluster_scopes_register_names': 'process names',
  'lua_api.processes:with_name_of_a_taken_name_fails_the_spawn': 'process names',
  'lua_api.processes:with_name_and_with_message_startup_messages_arrive_before_later_ones':
    'process names',
  'lua_api.processes:registering_a_taken_name_is_already_exists': 'process names',
  'lua_api.processes:registered_name_is_released_when_its_owner_ends': 'process names',
  // What another process sees is checked with a name lookup among the rest.
  'lua_api.sandbox:built_in_globals_and_modules_are_read_only': 'process names',
  'lua_api.sandbox:the_shared_string_metatable_cannot_be_changed': 'process names',
  'lua_api.sandbox:standard_library_tables_are_read_only': 'process names',
  'lua_api.processes:sending_to_a_full_mailbox_is_an_error':
    'a full mailbox on another thread refused by send',
  'lua_api.processes:a_message_above_max_message_size_is_an_error':
    'max_message_size on another thread checked by send',
  // The unknown PID is of the other worker when the test runs on the first: send takes it.
  'lua_api.messages:send_to_an_unknown_pid_is_not_found':
    'a send to an ended process of another thread refused by send',
};

describe('Lua API tests with every process host on two worker threads (LUACT_WORKERS=2)', () => {
  let run: CliRun;
  let report: LuaTestReport;

  beforeAll(async () => {
    run = await luact(['test', 'test/lua-api', '--json'], { ...process.env, LUACT_WORKERS: '2' });
    report = reportOf(run);
  }, 120_000);

  it('runs on worker threads (the main host and each process.host on two)', () => {
    // A host runs on at most as many threads as the machine has cores.
    expect(report.workerThreads).toBeGreaterThanOrEqual(availableParallelism() >= 2 ? 2 * 2 : 0);
    expect(report.tests.length).toBeGreaterThanOrEqual(EXPECTED_TESTS);
  });

  it('passes every Lua test but those that need what workers do not carry yet', () => {
    const failures = report.tests
      .filter((test) => !test.passed && NOT_CARRIED_ON_WORKERS[test.id] === undefined)
      .map((test) => `${test.id} (${test.ms} ms): ${test.error ?? 'failed'}`);
    expect(failures.join('\n\n'), `${failures.length} Lua test(s) failed`).toBe('');
  });
});

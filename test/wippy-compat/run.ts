/**
 * Runs the test suites of Wippy's runtime test app through `luact test`, unchanged, and prints
 * how many of each suite's cases pass: the measure of how much Wippy code runs on luact as
 * written. Wippy's sources are not part of this repository; point the runner at a checkout:
 *
 *   npm run compat:wippy -- /path/to/wippy-runtime [suite …]
 *
 * A suite is a directory of the app's test/, or the files directly in test/ (Wippy's
 * single-file suites, such as base64), named by their entries' `meta.suite`. Each suite runs in a
 * scratch directory holding its files as Wippy has them, the libraries the suites import
 * (lib/assert.lua, lib/sigv4.lua) and luact's scaffolding for what Wippy's application defines
 * around the suites (scaffold.ts). No Lua file is edited; entries luact refuses to load (an
 * unknown kind or module, a syntax luact does not take) are left out of the registry, each
 * counted as a failed case when it is a test, so one missing module does not hide the rest of
 * its suite. A suite that still cannot boot counts all its cases as failed.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { isDirectory, LUACT_CLI } from './luact-cli.js';
import { SCAFFOLD_FILES } from './scaffold.js';

/** Wall time for one suite, boot included; a suite that hangs fails as a whole. */
const SUITE_TIMEOUT_MS = 180_000;

/** A suite to run: its name, and the files and directories that make it. */
interface Suite {
  readonly name: string;
  readonly paths: readonly string[];
}

interface TestReport {
  readonly passed: number;
  readonly failed: number;
  readonly tests: readonly { id: string; passed: boolean; error?: string }[];
}

/** One suite's outcome: counted cases (and the entries left out), or why it did not run. */
type SuiteOutcome =
  | {
      readonly suite: string;
      readonly cases: number;
      readonly report: TestReport;
      readonly leftOut: readonly LeftOut[];
    }
  | { readonly suite: string; readonly cases: number; readonly problem: string };

/** An entry luact refused to load, and the first reason it gave. */
interface LeftOut {
  readonly entry: string;
  readonly why: string;
}

interface LintReport {
  readonly diagnostics: readonly {
    severity: string;
    code: string;
    entry?: string;
    message: string;
  }[];
}

/** Errors of `luact lint` that are only warnings when the application starts: they leave nothing out. */
const LINT_ONLY = new Set(['lua-unknown-entry', 'lua-entry-kind']);

/**
 * Suites whose tests see each other when run at once, so they run one after another as in
 * Wippy: the events tests share the node's event bus (pattern_match's "test.*" subscription
 * would also catch the "test.system" events of receive and subscribe_receive).
 */
const ONE_AT_A_TIME = new Set(['events']);

/** Rounds of leaving entries out: one left out may leave another with a dangling reference. */
const LEAVE_OUT_ROUNDS = 4;

async function main(): Promise<void> {
  const [checkout, ...only] = process.argv.slice(2);
  if (checkout === undefined) {
    process.stderr.write('usage: npm run compat:wippy -- /path/to/wippy-runtime [suite …]\n');
    process.exit(2);
  }
  const app = path.join(checkout, 'tests/app/src');
  const suitesDir = path.join(app, 'test');
  if (!(await isDirectory(suitesDir))) {
    process.stderr.write(`${suitesDir} is not a directory: is ${checkout} Wippy's runtime?\n`);
    process.exit(2);
  }
  const suites = (await suitesOf(suitesDir))
    .filter((suite) => only.length === 0 || only.includes(suite.name))
    .sort((a, b) => a.name.localeCompare(b.name));
  const outcomes: SuiteOutcome[] = [];
  for (const suite of suites) {
    const outcome = await runSuite(app, suite);
    outcomes.push(outcome);
    process.stderr.write(`${summaryLine(outcome)}\n`);
  }
  process.stdout.write(`${table(outcomes)}\n`);
}

/** Each directory of test/ is a suite; so are the files directly in test/, together. */
async function suitesOf(suitesDir: string): Promise<Suite[]> {
  const suites: Suite[] = [];
  const loose: string[] = [];
  for (const each of await readdir(suitesDir, { withFileTypes: true })) {
    const where = path.join(suitesDir, each.name);
    if (each.isDirectory()) {
      const files = await readdir(where);
      suites.push({ name: each.name, paths: files.map((file) => path.join(where, file)) });
    } else if (each.isFile()) {
      loose.push(where);
    }
  }
  const names = new Set<string>();
  for (const file of loose.filter((each) => /\.ya?ml$/.test(each))) {
    for (const match of (await readFile(file, 'utf8')).matchAll(/^\s+suite:\s*(\S+)\s*$/gm)) {
      names.add(match[1] as string);
    }
  }
  if (names.size > 0) suites.push({ name: [...names].sort().join('+'), paths: loose });
  return suites;
}

async function runSuite(app: string, suite: Suite): Promise<SuiteOutcome> {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-wippy-'));
  const own = path.join(dir, suite.name);
  try {
    for (const each of suite.paths) {
      await cp(each, path.join(own, path.basename(each)), { recursive: true });
    }
    const cases = await countCases(own);
    for (const library of ['assert.lua', 'sigv4.lua']) {
      await cp(path.join(app, 'lib', library), path.join(dir, 'lib', library));
    }
    for (const [file, text] of Object.entries(SCAFFOLD_FILES)) {
      await writeFile(path.join(dir, file), text);
    }
    const leftOut = await leaveOutRefused(dir);
    const parallel = ONE_AT_A_TIME.has(suite.name) ? ['--parallel', '1'] : [];
    const { stdout, stderr } = await luact(['test', dir, '--json', ...parallel]);
    try {
      return { suite: suite.name, cases, report: JSON.parse(stdout) as TestReport, leftOut };
    } catch {
      return { suite: suite.name, cases, problem: firstProblem(stderr || stdout) };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Entries of the suite whose `meta.type` is test, as Wippy's runner counts them. */
async function countCases(dir: string): Promise<number> {
  let count = 0;
  for (const file of await yamlFiles(dir)) {
    const text = await readFile(file, 'utf8');
    count += text.match(/^\s+type:\s*test\s*$/gm)?.length ?? 0;
  }
  return count;
}

/** Removes from the suite's YAML files every entry `luact lint` reports an error for. */
async function leaveOutRefused(dir: string): Promise<LeftOut[]> {
  const leftOut: LeftOut[] = [];
  for (let round = 0; round < LEAVE_OUT_ROUNDS; round++) {
    const { stdout } = await luact(['lint', dir, '--json']);
    let report: LintReport;
    try {
      report = JSON.parse(stdout) as LintReport;
    } catch {
      return leftOut; // the test run reports what is wrong
    }
    const refused = new Map<string, string>();
    for (const diagnostic of report.diagnostics) {
      if (diagnostic.severity !== 'error' || diagnostic.entry === undefined) continue;
      if (LINT_ONLY.has(diagnostic.code)) continue;
      if (!refused.has(diagnostic.entry)) refused.set(diagnostic.entry, diagnostic.message);
    }
    if (refused.size === 0) return leftOut;
    await removeEntries(dir, new Set(refused.keys()));
    for (const [entry, why] of refused) leftOut.push({ entry, why });
  }
  return leftOut;
}

async function removeEntries(dir: string, ids: ReadonlySet<string>): Promise<void> {
  for (const file of await yamlFiles(dir)) {
    const document = parseDocument(await readFile(file, 'utf8'));
    const namespace = String(document.get('namespace') ?? '');
    const entries = document.get('entries') as
      | { items: { get(key: string): unknown }[] }
      | undefined;
    if (entries === undefined || !Array.isArray(entries.items)) continue;
    const kept = entries.items.filter(
      (item) => !ids.has(`${namespace}:${String(item.get('name'))}`),
    );
    if (kept.length === entries.items.length) continue;
    entries.items = kept;
    await writeFile(file, document.toString());
  }
}

async function yamlFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const each of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, each.name);
    if (each.isDirectory()) found.push(...(await yamlFiles(file)));
    else if (/\.ya?ml$/.test(each.name)) found.push(file);
  }
  return found;
}

function luact(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LUACT_CLI, ...args],
      { timeout: SUITE_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const timedOut = error?.killed === true;
        resolve({ stdout, stderr: timedOut ? `timed out after ${SUITE_TIMEOUT_MS} ms` : stderr });
      },
    );
  });
}

function firstProblem(output: string): string {
  const line = output
    .split('\n')
    .map((text) => text.trim())
    .find((text) => /error|cannot|timed out/i.test(text));
  return (line ?? output.trim().split('\n')[0] ?? 'no output').slice(0, 160);
}

function passedOf(outcome: SuiteOutcome): number {
  return 'report' in outcome ? outcome.report.passed : 0;
}

function summaryLine(outcome: SuiteOutcome): string {
  if ('problem' in outcome) return `${outcome.suite}: does not boot: ${outcome.problem}`;
  const left = outcome.leftOut.map(({ entry, why }) => `\n  left out ${entry}: ${why}`);
  const failed = outcome.report.tests
    .filter((test) => !test.passed)
    .map((test) => `\n  failed ${test.id}: ${(test.error ?? '').split('\n')[0]?.slice(0, 200)}`);
  const cases = `${outcome.report.passed} of ${outcome.cases} passed`;
  return `${outcome.suite}: ${cases}${left.join('')}${failed.join('')}`;
}

function table(outcomes: readonly SuiteOutcome[]): string {
  const rows = outcomes.map((outcome) => {
    const note =
      'problem' in outcome
        ? `does not boot: ${outcome.problem}`
        : outcome.leftOut.length > 0
          ? `${outcome.leftOut.length} entries left out`
          : '';
    return `| ${outcome.suite} | ${outcome.cases} | ${passedOf(outcome)} | ${note.replace(/\|/g, '\\|')} |`;
  });
  const cases = outcomes.reduce((sum, outcome) => sum + outcome.cases, 0);
  const passed = outcomes.reduce((sum, outcome) => sum + passedOf(outcome), 0);
  return [
    '| suite | cases | pass unchanged | note |',
    '|---|---|---|---|',
    ...rows,
    `| all | ${cases} | ${passed} | |`,
  ].join('\n');
}

await main();

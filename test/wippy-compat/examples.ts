/**
 * Runs Wippy's example projects through `luact run`, unchanged, and prints which run: the
 * measure of how much of Wippy's example code runs on luact as written. The examples are not
 * part of this repository; point the runner at a checkout of them:
 *
 *   npm run compat:wippy-examples -- /path/to/wippy-examples [example …]
 *
 * Each example runs from a scratch copy of its directory, the way its README says to run it
 * under Wippy. `wippy run -x app:NAME` becomes `luact run src --exec app:NAME`, its stdin one
 * line (INPUT_LINE) and then closed, so an interactive example answers once and ends; it
 * passes when it exits 0, as a Wippy program that returns 0 does. A bare `wippy run` becomes
 * `luact run src`, which passes when every service starts, none logs an error or fails for a
 * few seconds, and the node stops on SIGINT (services that never take a CANCEL are ended after
 * their stop_timeout: noted, not failed). A failure shows the first line that says why (a kind
 * or module luact lacks, a Lua error).
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LUACT_CLI } from './luact-cli.js';

/** What an interactive example reads before the end of its input. */
const INPUT_LINE = 'hello from luact\n';
/** Wall time for a program run with --exec, boot included. */
const EXEC_LIMIT_MS = 60_000;
/** How long a node of services must boot within, and then keep running without a problem. */
const BOOT_LIMIT_MS = 60_000;
const SERVE_WINDOW_MS = 5_000;
/** After SIGINT, how long the node may take to stop. */
const STOP_LIMIT_MS = 20_000;

/** How an example's README says to run it. */
type RunMode = { readonly kind: 'exec'; readonly entry: string } | { readonly kind: 'serve' };

interface Outcome {
  readonly example: string;
  readonly mode: RunMode;
  readonly passed: boolean;
  readonly note: string;
}

interface ChildRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function main(): Promise<void> {
  const [checkout, ...only] = process.argv.slice(2);
  if (checkout === undefined) {
    process.stderr.write(
      'usage: npm run compat:wippy-examples -- /path/to/wippy-examples [example …]\n',
    );
    process.exit(2);
  }
  const examples = (await examplesOf(checkout)).filter(
    (name) => only.length === 0 || only.includes(name),
  );
  if (examples.length === 0) {
    process.stderr.write(`${checkout} has no example directories (each with src/_index.yaml)\n`);
    process.exit(2);
  }
  const outcomes: Outcome[] = [];
  for (const example of examples) {
    const outcome = await runExample(checkout, example);
    outcomes.push(outcome);
    process.stderr.write(
      `${example}: ${outcome.passed ? 'runs' : 'fails'}${outcome.note ? ` (${outcome.note})` : ''}\n`,
    );
  }
  process.stdout.write(`${table(outcomes)}\n`);
}

/** The directories of the checkout that hold an application (src/_index.yaml), sorted. */
async function examplesOf(checkout: string): Promise<string[]> {
  const found: string[] = [];
  for (const each of await readdir(checkout, { withFileTypes: true })) {
    if (!each.isDirectory() || each.name.startsWith('.')) continue;
    if (await isFile(path.join(checkout, each.name, 'src', '_index.yaml'))) found.push(each.name);
  }
  return found.sort();
}

/** The first `wippy run -x ns:name` of the example's README (or the checkout's table), else serve. */
async function runModeOf(checkout: string, example: string): Promise<RunMode> {
  const own = await readText(path.join(checkout, example, 'README.md'));
  const table = (await readText(path.join(checkout, 'README.md')))
    .split('\n')
    .filter((line) => line.includes(`(${example})`))
    .join('\n');
  for (const text of [table, own]) {
    const match = /wippy run -x ([\w.-]+:[\w.-]+)/.exec(text);
    if (match) return { kind: 'exec', entry: match[1] as string };
  }
  return { kind: 'serve' };
}

async function runExample(checkout: string, example: string): Promise<Outcome> {
  const mode = await runModeOf(checkout, example);
  const scratch = await mkdtemp(path.join(tmpdir(), 'luact-wippy-example-'));
  try {
    await cp(path.join(checkout, example), scratch, { recursive: true });
    const app = path.join(scratch, 'src');
    const outcome = mode.kind === 'exec' ? await execute(app, mode.entry) : await serve(app);
    // Notes name files as the example has them, not in the scratch copy.
    return { example, mode, ...outcome, note: outcome.note.replaceAll(`${scratch}/`, '') };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function execute(app: string, entry: string): Promise<{ passed: boolean; note: string }> {
  const run = await runLuact(['run', app, '--exec', entry], EXEC_LIMIT_MS);
  const passed = run.code === 0;
  return { passed, note: passed ? '' : failureNote(run) };
}

/** Boots the node, watches it for SERVE_WINDOW_MS, stops it with SIGINT. */
async function serve(app: string): Promise<{ passed: boolean; note: string }> {
  const child = spawn(process.execPath, [LUACT_CLI, 'run', app], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const kill = setTimeout(
    () => child.kill('SIGKILL'),
    BOOT_LIMIT_MS + SERVE_WINDOW_MS + STOP_LIMIT_MS,
  );
  try {
    const booted = await Promise.race([
      until(() => /services? running/.test(stderr), BOOT_LIMIT_MS),
      exited.then(() => false),
    ]);
    if (!booted)
      return { passed: false, note: failureNote({ code: child.exitCode, stdout, stderr }) };
    const started = /(\d+) of (\d+) services? running/.exec(stderr);
    if (started && started[1] !== started[2]) {
      return {
        passed: false,
        note: `only ${started[1]} of ${started[2]} services started: ${failureNote({ code: null, stdout, stderr })}`,
      };
    }
    await Promise.race([sleep(SERVE_WINDOW_MS), exited]);
    child.kill('SIGINT');
    const code = await exited;
    const problem = errorRecord(stderr);
    if (problem !== undefined) return { passed: false, note: problem };
    // Services that loop without ever taking a CANCEL are terminated after their stop_timeout:
    // the application ran; the note says its stop was not clean.
    const unclean = /stopped, but not cleanly: (.*)/.exec(stderr);
    if (unclean) return { passed: true, note: `stop not clean: ${unclean[1]}` };
    if (code !== 0) return { passed: false, note: failureNote({ code, stdout, stderr }) };
    return { passed: true, note: '' };
  } finally {
    clearTimeout(kill);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function runLuact(args: readonly string[], limitMs: number): Promise<ChildRun> {
  const child = spawn(process.execPath, [LUACT_CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(INPUT_LINE);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const kill = setTimeout(() => {
    stderr += `\ntimed out after ${limitMs} ms\n`;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The message of the first error-level log record (JSON lines on stderr), if any. */
function errorRecord(stderr: string): string | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as { level?: string; msg?: string; error?: unknown };
      if (record.level === 'error') {
        const detail = typeof record.error === 'string' ? `: ${record.error}` : '';
        return `error logged: ${record.msg ?? ''}${detail}`.slice(0, 200);
      }
    } catch {
      // not a log record
    }
  }
  return undefined;
}

/**
 * The first line of output that says what went wrong: an error-level record or diagnostic, a
 * `luact:` line, else any line that is no info record (or the exit status).
 */
function failureNote(run: ChildRun): string {
  const lines = `${run.stderr}\n${run.stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !/"level":"(debug|info)"/.test(line));
  const line =
    errorRecord(lines.join('\n')) ??
    lines.find((text) => / error: |timed out/.test(text)) ??
    lines.find((text) => text.startsWith('luact:')) ??
    lines[0];
  return (line ?? `exit status ${run.code}`).slice(0, 200);
}

function table(outcomes: readonly Outcome[]): string {
  const rows = outcomes.map((outcome) => {
    const how = outcome.mode.kind === 'exec' ? `--exec ${outcome.mode.entry}` : 'services';
    const note = outcome.note.replace(/\|/g, '\\|');
    return `| ${outcome.example} | ${how} | ${outcome.passed ? 'runs' : 'fails'} | ${note} |`;
  });
  const passed = outcomes.filter((outcome) => outcome.passed).length;
  return [
    '| example | run as | result | note |',
    '|---|---|---|---|',
    ...rows,
    `| all | | ${passed} of ${outcomes.length} run | |`,
  ].join('\n');
}

async function until(done: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

await main();

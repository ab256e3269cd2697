import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const BIN = path.join(REPO_ROOT, 'packages/cli/bin/luact.js');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `luact` binary from the repository root, bounded in time (`timeoutMs`). */
export function luact(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = REPO_ROOT,
  timeoutMs = 30_000,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env, timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** A `luact` process started in the background, its stderr collected as it comes. */
export interface RunningCli {
  readonly child: ChildProcess;
  stderr(): string;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** Resolves once stderr contains `text`; rejects after `timeoutMs` or if the process ends. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves once a JSON log line on stderr has all of `fields` (e.g. msg and step). */
  waitForLog(fields: Readonly<Record<string, unknown>>, timeoutMs?: number): Promise<void>;
  /** The exit code (or 128 + signal number when it was killed). */
  readonly exited: Promise<number>;
}

export function startLuact(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const listener of listeners) listener();
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
    }),
  );
  const waitUntil = (found: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (found()) finish(() => resolve());
        else if (child.exitCode !== null || child.signalCode !== null)
          finish(() => reject(new Error(`luact ended before ${what}:\n${stderr}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms:\n${stderr}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    waitForLog: (fields, timeoutMs = 20_000) =>
      waitUntil(
        () =>
          logRecords(stderr).some((record) =>
            Object.entries(fields).every(([key, value]) => record[key] === value),
          ),
        `a log record ${JSON.stringify(fields)}`,
        timeoutMs,
      ),
    waitFor: (text, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (stderr.includes(text)) finish(() => resolve());
          else if (child.exitCode !== null || child.signalCode !== null)
            finish(() => reject(new Error(`luact ended before printing "${text}":\n${stderr}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no "${text}" within ${timeoutMs} ms:\n${stderr}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
  };
}

/** The JSON log records among the lines of `text`. */
export function logRecords(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * `luact` processes a test file starts, each in a scratch directory of its test: `start` runs
 * one, `cleanUp` (in afterEach) SIGKILLs those still running, waits for them and deletes the
 * scratch directory.
 */
export function startedByTests(prefix: string) {
  const started: RunningCli[] = [];
  let scratch = '';
  return {
    /** The current test's scratch directory (made by `prepare`). */
    get scratch(): string {
      return scratch;
    },
    async prepare(): Promise<void> {
      scratch = await mkdtemp(path.join(tmpdir(), prefix));
    },
    start(args: readonly string[], env?: NodeJS.ProcessEnv): RunningCli {
      const cli = startLuact(args, env);
      started.push(cli);
      return cli;
    },
    async cleanUp(): Promise<void> {
      for (const cli of started.splice(0)) {
        if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
        await cli.exited;
      }
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

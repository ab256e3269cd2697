import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { BIN, luact } from '../src/luact-cli.js';
import { type CodeBlock, type DocStep, where } from './blocks.js';
import { missingJson, missingTextLines } from './expected-output.js';

export type AppStep = Extract<DocStep, { type: 'file' } | { type: 'command' }>;

/** How long one foreground command, or a background one's start or stop, may take. */
const COMMAND_TIMEOUT_MS = 60_000;

/** A directory holding a `luact` that runs the built binary, to put first on PATH. */
export async function luactShim(dir: string): Promise<string> {
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const shim = path.join(bin, 'luact');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await chmod(shim, 0o755);
  return bin;
}

/** A command started with run=background, stopped with SIGINT later. */
interface Background {
  readonly block: CodeBlock;
  readonly expectedExit: number;
  readonly shell: Shell;
}

/**
 * One app of the docs, played in document order in its own directory: file blocks are written,
 * commands run (background ones stay up until `stop` or the next background command).
 */
export class AppPlayer {
  private background: Background | undefined;

  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Plays one step; throws an Error naming the block when it does not do what the docs say. */
  async play(step: AppStep): Promise<void> {
    if (step.type === 'file') {
      const file = path.join(this.dir, step.path);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(
        file,
        step.block.body.endsWith('\n') ? step.block.body : `${step.block.body}\n`,
      );
      return;
    }
    if (step.background) {
      await this.stop();
      const shell = startShell(step.block.body, this.dir, this.env);
      this.background = { block: step.block, expectedExit: step.exitCode, shell };
      await this.waitUntilReady(step, shell);
      return;
    }
    const shell = startShell(step.block.body, this.dir, this.env);
    const code = await shell.ended(COMMAND_TIMEOUT_MS);
    // whatever the commands left running in the background of their shell goes with it
    shell.signal('SIGKILL');
    const output = shell.output();
    if (code === undefined)
      throw new Error(
        `${where(step.block)}: still running after ${COMMAND_TIMEOUT_MS / 1000} s (a server needs run=background)\n${output}`,
      );
    if (code !== step.exitCode)
      throw new Error(
        `${where(step.block)}: exited with ${code}, the docs say ${step.exitCode}; its output:\n${output}`,
      );
    const missing = step.output && missingOutput(step.output, output);
    if (missing)
      throw new Error(
        `${where(step.output as CodeBlock)}: ${missing}; the command printed:\n${output}`,
      );
  }

  /** Lints the app as its files stand: `luact lint DIR` reports no errors. */
  async lint(): Promise<void> {
    const run = await luact(['lint', this.dir, '--no-env-check'], this.env);
    if (run.code !== 0) throw new Error(`luact lint reports errors:\n${run.stdout}${run.stderr}`);
  }

  /** Stops the background command, if one runs: SIGINT, then its exit code is checked. */
  async stop(): Promise<void> {
    const running = this.background;
    if (!running) return;
    this.background = undefined;
    // A command the page itself ended (`luact stop`) may still be exiting: a SIGINT arriving
    // then would interrupt its shell instead. It gets a moment to end by itself first.
    let code = await running.shell.ended(SELF_EXIT_GRACE_MS);
    if (code === undefined) {
      running.shell.signal('SIGINT');
      code = await running.shell.ended(COMMAND_TIMEOUT_MS);
    }
    if (code === undefined) {
      running.shell.signal('SIGKILL');
      throw new Error(`${where(running.block)}: did not stop on SIGINT\n${running.shell.output()}`);
    }
    if (code !== running.expectedExit)
      throw new Error(
        `${where(running.block)}: exited with ${code} on SIGINT, the docs say ${running.expectedExit}; its output:\n${running.shell.output()}`,
      );
  }

  /** Ends whatever still runs, without checking anything (cleanup after a failure). */
  kill(): void {
    this.background?.shell.signal('SIGKILL');
    this.background = undefined;
  }

  /**
   * Ready: the lines of its output block have appeared, or (without one) a `luact ps` of the
   * app's directory finds the node it started.
   */
  private async waitUntilReady(step: Extract<AppStep, { type: 'command' }>, shell: Shell) {
    const deadline = Date.now() + COMMAND_TIMEOUT_MS;
    for (;;) {
      const output = shell.output();
      if (shell.exitCode() !== undefined)
        throw new Error(
          `${where(step.block)}: ended (exit ${shell.exitCode()}) before it was ready; its output:\n${output}`,
        );
      if (step.output) {
        if (missingOutput(step.output, output) === undefined) return;
      } else if ((await luact(['ps', this.dir], this.env)).code === 0) return;
      if (Date.now() > deadline) {
        const missing = step.output ? `; ${missingOutput(step.output, output)}` : '';
        throw new Error(
          `${where(step.block)}: not ready after ${COMMAND_TIMEOUT_MS / 1000} s${missing}\n${output}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function missingOutput(expected: CodeBlock, output: string): string | undefined {
  return expected.language === 'json'
    ? missingJson(expected.body, output)
    : missingTextLines(expected.body, output);
}

interface Shell {
  output(): string;
  exitCode(): number | undefined;
  /** The exit code (128 + signal when killed), or undefined when still running after `ms`. */
  ended(ms: number): Promise<number | undefined>;
  signal(signal: NodeJS.Signals): void;
}

/**
 * Runs a block's commands with `sh -e` in its own process group (so SIGINT reaches every
 * process of it, as Ctrl+C does), stderr merged into stdout in the order written.
 */
/** How long a background command may take to end by itself before it is sent SIGINT. */
const SELF_EXIT_GRACE_MS = 2_000;

function startShell(script: string, cwd: string, env: NodeJS.ProcessEnv): Shell {
  // `trap : INT`: like an interactive shell, sh outlives a Ctrl+C and reports its command's exit
  const child: ChildProcess = spawn('sh', ['-e', '-c', `trap : INT\nexec 2>&1\n${script}`], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  let code: number | undefined;
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (exitCode, signal) => {
      code = exitCode ?? 128 + (signal ? constants.signals[signal] : 0);
      resolve(code);
    }),
  );
  return {
    output: () => output,
    exitCode: () => code,
    ended: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), ms);
        void exited.then((value) => {
          clearTimeout(timer);
          resolve(value);
        });
      }),
    signal: (signal) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    },
  };
}

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
const BIN = path.join(REPO_ROOT, 'packages/cli/bin/luact.js');

/** An application of hostile Lua under test/isolation/fixtures. */
export function fixture(name: string): string {
  return path.join(HERE, 'fixtures', name);
}

export interface NodeRun {
  /** Exit code, or undefined when the node had to be killed because it stopped answering. */
  readonly code: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `luact <args>` (with a state directory of its own unless `args` name one) and SIGKILLs
 * it after `limitMs`: a
 * node frozen by hostile Lua ignores SIGTERM, since its handler never gets to run.
 */
export async function runNode(args: readonly string[], limitMs = 60_000): Promise<NodeRun> {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'luact-iso-'));
  try {
    return await new Promise((resolve) => {
      const own = args.includes('--state-dir') ? [] : ['--state-dir', stateDir];
      const child = spawn(process.execPath, [BIN, ...args, ...own], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let killed = false;
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, limitMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code: killed ? undefined : (code ?? undefined), stdout, stderr });
      });
    });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** What `luact run --exec` printed as its result line. */
export function execResult(run: NodeRun): { ok: boolean; value?: unknown; error?: unknown } {
  if (run.code === undefined) {
    throw new Error(
      `the node stopped answering and was killed\nstderr:\n${run.stderr.slice(-2000)}`,
    );
  }
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { ok: boolean; value?: unknown };
  } catch {
    throw new Error(
      `no result line (exit ${run.code})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
}

/** What became of one attack (see fixtures/attacks/driver.lua). */
export interface AttackOutcome {
  readonly ended: 'by itself' | 'terminated';
  readonly value?: unknown;
  readonly error?: { readonly kind?: string; readonly message: string };
  readonly witness_ticks: number;
}

/**
 * Runs the attacks `names` of fixtures/attacks one after another on one node, each next to a
 * witness; a preemptible attack runs for `settle` before it is terminated.
 */
export async function attacks(
  names: readonly string[],
  settle = '2s',
): Promise<Record<string, AttackOutcome>> {
  const run = await runNode(
    [
      'run',
      fixture('attacks'),
      '--exec',
      'iso:drive',
      JSON.stringify(names),
      JSON.stringify(settle),
    ],
    30_000 + names.length * 10_000,
  );
  if (run.code === undefined) {
    const last = run.stdout
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('attack: '))
      .pop();
    throw new Error(
      `the node stopped answering during ${last ?? 'boot'}\n${run.stderr.slice(-2000)}`,
    );
  }
  const result = execResult(run);
  if (!result.ok)
    throw new Error(`the driver failed: ${JSON.stringify(result.error)}\n${run.stderr}`);
  return result.value as Record<string, AttackOutcome>;
}

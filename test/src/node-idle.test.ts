import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { REPO_ROOT } from './luact-cli.js';

/**
 * Node.onIdle in a program that embeds a node whose main host runs on two worker threads: its
 * beforeExit is the main thread's, so it runs as its own Node.js process here.
 */

const APP = `
namespace: app
entries:
  - name: late
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function() time.sleep("300ms"); return "done" end }
`;

/** Prints "idle" each time the node is idle; the entry's outcome; and "stopped". */
const PROGRAM = `
import { Node } from '@luact/runtime';
const node = await Node.start({ dir: process.argv[1], env: {}, workers: 2, print: () => {} });
node.onIdle(() => console.log('idle'));
console.log(JSON.stringify({ threads: node.workers?.threadCount ?? 0 }));
console.log(JSON.stringify(await node.run('app:late')));
await node.stop();
console.log('stopped');
`;

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-idle-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
});

afterEach(() => rm(dir, { recursive: true, force: true }));

it('a program listening to Node.onIdle hears nothing while a worker sleeps, and exits once the node stopped', async () => {
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROGRAM, dir],
      { cwd: REPO_ROOT, timeout: 15_000 },
      (error, stdout) =>
        resolve({ code: typeof error?.code === 'number' ? error.code : error ? -1 : 0, stdout }),
    );
  });
  const lines = stdout.trim().split('\n');
  expect(lines.slice(0, 3)).toEqual([
    // (A machine of one core runs the host on its main thread.)
    JSON.stringify({ threads: availableParallelism() >= 2 ? 2 : 0 }),
    JSON.stringify({ ok: true, value: 'done' }),
    'stopped',
  ]);
  // Idle only once the node has stopped: nothing is left then, and the program ends.
  expect(lines.slice(3).every((line) => line === 'idle')).toBe(true);
  expect(code).toBe(0);
});

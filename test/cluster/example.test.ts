import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findNatsServerBinary, freePorts } from '@luact/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, luact, REPO_ROOT } from '../src/luact-cli.js';

/**
 * The top README's "A cluster on one machine", done as a reader would, on free ports: every
 * line of its sh blocks in order — three clustered nats-servers from the example's config
 * files, node b serving, node a's ping-pong with b, node a watching a process on b while b
 * dies of SIGQUIT (the README's Ctrl+\), the servers stopped and their stores removed.
 */

const SECTION = '## A cluster on one machine';
const EXAMPLE = 'registry/examples/cluster';
/** The ports the example's files and commands use, in the order they are given free ones. */
const EXAMPLE_PORTS = [4222, 4223, 4224, 6222, 6223, 6224];

/** The lines of each sh block of the README's section, in order. */
function sectionCommands(readme: string): string[] {
  const start = readme.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README.md has no section "${SECTION}"`);
  const end = readme.indexOf('\n## ', start + SECTION.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  return blocks.flatMap((block) => block.split('\n').filter((line) => line.trim() !== ''));
}

/** A child started by a line that runs in the background, its output collected. */
interface Background {
  readonly child: ChildProcess;
  output(): string;
  waitFor(text: string, timeoutMs: number): Promise<void>;
  readonly closed: Promise<number | null>;
}

const started: Background[] = [];
let scratch = '';
let dir = '';
let renumber: (text: string) => string = (text) => text;

function background(command: string, args: readonly string[]): Background {
  const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const item: Background = {
    child,
    output: () => output,
    closed,
    async waitFor(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${command} ${args.join(' ')} ended before "${text}":\n${output}`);
        if (Date.now() > deadline)
          throw new Error(`no "${text}" within ${timeoutMs} ms from ${args.join(' ')}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
  started.push(item);
  return item;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-cluster-example-'));
  dir = path.join(scratch, 'cluster');
  await cp(path.join(REPO_ROOT, EXAMPLE), dir, { recursive: true });
  const ports = await freePorts(EXAMPLE_PORTS.length);
  renumber = (text) =>
    EXAMPLE_PORTS.reduce(
      (renumbered, port, i) => renumbered.replace(new RegExp(`\\b${port}\\b`, 'g'), `${ports[i]}`),
      text,
    );
  for (const file of await readdir(dir)) {
    if (!file.endsWith('.conf')) continue;
    const config = path.join(dir, file);
    await writeFile(config, renumber(await readFile(config, 'utf8')));
  }
});

afterAll(async () => {
  for (const item of started) {
    if (item.child.exitCode === null && item.child.signalCode === null) item.child.kill('SIGKILL');
    await item.closed;
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

it('runs the README section: three NATS servers, two nodes, a ping-pong, and node down after a SIGQUIT', async () => {
  const commands = sectionCommands(await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8'));
  expect(commands.length).toBeGreaterThan(0);
  const natsServer = await findNatsServerBinary();
  const servers: Background[] = [];
  let nodeB: Background | undefined;
  const played: string[] = [];

  for (const line of commands.map((command) => renumber(command.trim()))) {
    played.push(line);
    const server = line.match(/^nats-server -c (\S+\.conf) &$/);
    const node = line.match(/^npx luact (run \. .*)$/);
    if (line === `cd ${EXAMPLE}`) {
      // every line runs in the copy of the example
    } else if (server) {
      servers.push(background(natsServer, ['-c', server[1] ?? '']));
      if (servers.length === 3)
        // A reader switches terminals; the servers agree on a JetStream leader meanwhile.
        await Promise.any(
          servers.map((server) => server.waitFor('JetStream cluster new metadata leader', 60_000)),
        );
    } else if (node) {
      const args = (node[1] ?? '').split(/\s+/);
      const exec = args[args.indexOf('--exec') + 1];
      if (!args.includes('--exec')) {
        expect(args).toContain('b');
        nodeB = background(process.execPath, [BIN, ...args]);
        await nodeB.waitFor('joined the cluster', 60_000);
      } else if (exec === 'examples.cluster:ping') {
        // Its own time limit below the test's: a run that hangs says where it waits (once it
        // hung 30 s, was killed by the test's limit, and said nothing).
        const run = await luact([...args, '--timeout', '40s'], process.env, dir, 60_000);
        // What the run printed says why it failed (its outcome is on stdout).
        expect(run.code, `${run.stderr}\nstdout: ${run.stdout}`).toBe(0);
        expect(JSON.parse(run.stdout)).toEqual({
          ok: true,
          value: {
            ponger: expect.stringMatching(/^\{b~\d+@examples\.cluster:processes\|\d+\}$/),
            rounds: 1000,
            mean_round_trip_ms: expect.any(Number),
          },
        });
      } else if (exec === 'examples.cluster:watch') {
        if (nodeB === undefined) throw new Error('the README watches b before starting it');
        const watch = background(process.execPath, [BIN, ...args]);
        await watch.waitFor('watching {b~', 60_000);
        expect(watch.output()).toMatch(
          /watching \{b~\d+@examples\.cluster:processes\|\d+\} on node b/,
        );
        nodeB.child.kill('SIGQUIT');
        expect(await watch.closed, watch.output()).toBe(0);
        expect(watch.output()).toContain('{"ok":true,"value":"node down: b"}');
      } else {
        throw new Error(`the README runs "${line}": teach this test how to run it`);
      }
    } else if (line === 'kill %1 %2 %3') {
      for (const server of servers) server.child.kill('SIGTERM');
      expect(await Promise.all(servers.map((server) => server.closed))).toHaveLength(3);
    } else if (line === 'rm -rf .nats') {
      expect((await stat(path.join(dir, '.nats'))).isDirectory()).toBe(true);
      await rm(path.join(dir, '.nats'), { recursive: true });
    } else {
      throw new Error(`the README runs "${line}": teach this test how to run it`);
    }
  }
  // Every step the section describes was played, in its order.
  expect(
    played.filter((line) => line.includes('--exec')).map((line) => line.split(' --exec ')[1]),
  ).toEqual(['examples.cluster:ping b 1000', 'examples.cluster:watch b']);
  expect(servers).toHaveLength(3);
}, 240_000);

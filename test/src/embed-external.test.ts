import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './luact-cli.js';

/**
 * The top README's "Use luact from your TypeScript project", done as a reader would: a project
 * beside a clone of luact (here a link to this repository, whose packages global-setup built),
 * depending on the packages with `file:` dependencies, with the README's files and commands.
 */

const SECTION = '## Use luact from your TypeScript project';
const STEP_TIMEOUT_MS = 60_000;

interface Block {
  readonly language: string;
  readonly file: string | undefined;
  readonly body: string;
}

function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  for (const match of markdown.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const [, language = '', info = '', body = ''] = match;
    blocks.push({ language, file: /\bfile=(\S+)/.exec(info)?.[1], body });
  }
  return blocks;
}

/** The fenced blocks of the README's section, in order. */
function sectionBlocks(readme: string): Block[] {
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no section "${SECTION}"`);
  const next = readme.indexOf('\n## ', start + SECTION.length);
  return fencedBlocks(readme.slice(start, next < 0 ? undefined : next));
}

interface Output {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of a shell outside any npm run: under `npm test`, npm's own settings (such
 * as npm_config_local_prefix, the repository) would make the project's `npm install` work on
 * the repository instead.
 */
const OUTSIDE_NPM = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
);

function run(command: string, args: readonly string[], cwd: string): Promise<Output> {
  return new Promise((resolve, reject) => {
    const options = { cwd, env: OUTSIDE_NPM, timeout: STEP_TIMEOUT_MS };
    execFile(command, args, options, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * The README's commands, run without the network: the install uses only what is there (the
 * dependencies are links into the clone), and `npx tsc` is the TypeScript the reader's project
 * has, here the repository's.
 */
function commandFor(line: string, project: string): () => Promise<Output> {
  const commands: Record<string, () => Promise<Output>> = {
    'npm install': () => run('npm', ['install', '--offline', '--no-audit', '--no-fund'], project),
    'npx tsc': () =>
      run(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc')], project),
    'node main.js': () => run(process.execPath, ['main.js'], project),
  };
  const command = commands[line];
  if (!command) throw new Error(`the README runs "${line}": teach this test how to run it`);
  return command;
}

let scratch = '';

/** A project directory of `files` (path → text) beside the clone. */
async function project(name: string, files: Readonly<Record<string, string>>): Promise<string> {
  const dir = path.join(scratch, name);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-embed-'));
  // The clone the projects sit beside.
  await symlink(REPO_ROOT, path.join(scratch, 'luact'), 'dir');
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('using luact from a project outside the repository', () => {
  it(
    'works as the README section says: install, type-check, run',
    async () => {
      const blocks = sectionBlocks(await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8'));
      const files = blocks.filter((block) => block.file !== undefined);
      const commands = blocks.filter((block) => block.language === 'sh');
      const printed = blocks.filter((block) => block.language === 'text');
      expect(files.map((block) => block.file)).toEqual(
        expect.arrayContaining(['package.json', 'main.ts']),
      );
      expect(commands).toHaveLength(1);
      expect(printed).toHaveLength(1);

      const myApp = await project(
        'my-app',
        Object.fromEntries(files.map((block) => [block.file as string, block.body])),
      );
      const steps = (commands[0] as Block).body
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)
        .map((line) => commandFor(line, myApp));
      let last: Output = { stdout: '', stderr: '' };
      for (const step of steps) last = await step();

      expect(last.stdout).toBe((printed[0] as Block).body);
      // The program used the clone's packages, linked into the project's own node_modules.
      const lock = JSON.parse(await readFile(path.join(myApp, 'package-lock.json'), 'utf8'));
      expect(lock.packages['node_modules/@luact/runtime']).toMatchObject({
        resolved: '../luact/packages/runtime',
        link: true,
      });
    },
    4 * STEP_TIMEOUT_MS,
  );

  it(
    "runs the runtime README's examples, each printing what its comments say",
    async () => {
      const readme = await readFile(path.join(REPO_ROOT, 'packages/runtime/README.md'), 'utf8');
      const examples = fencedBlocks(readme).filter((block) => block.language === 'ts');
      expect(examples.length).toBeGreaterThanOrEqual(2);
      // They are written without type annotations, so they run as they are.
      const dir = await project('runtime-examples', {
        'package.json': JSON.stringify({
          type: 'module',
          dependencies: { '@luact/runtime': 'file:../luact/packages/runtime' },
        }),
        ...Object.fromEntries(examples.map((block, index) => [`example-${index}.js`, block.body])),
      });
      await commandFor('npm install', dir)();
      for (const [index, example] of examples.entries()) {
        const expected = [...example.body.matchAll(/^\s*console\.log\(.*\);\s*\/\/ (.*)$/gm)].map(
          (match) => match[1],
        );
        const { stdout } = await run(process.execPath, [`example-${index}.js`], dir);
        expect(stdout.trimEnd().split('\n'), `example ${index + 1}`).toEqual(expected);
      }
    },
    4 * STEP_TIMEOUT_MS,
  );
});

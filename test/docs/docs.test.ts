import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/luact-cli.js';
import { AppPlayer, type AppStep, luactShim } from './apps.js';
import { codeBlocksOf, type DocStep, stepsOf, where } from './blocks.js';
import { runSnippets, type Snippet, type SnippetVerdict } from './snippets.js';

/**
 * Every fenced code block of docs/ runs (docs/writing-docs.md says how): the files and
 * commands of each app in document order, each page's Lua snippets in one scratch app, and
 * any other block fails, so the docs cannot drift from what luact does.
 */

const DOCS = path.join(REPO_ROOT, 'docs');

async function markdownPages(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, item.name);
    if (item.isDirectory()) found.push(...(await markdownPages(full)));
    else if (item.name.endsWith('.md')) found.push(full);
  }
  return found.sort();
}

const pages = await Promise.all(
  (await markdownPages(DOCS)).map(async (file) => {
    const page = path.relative(REPO_ROOT, file);
    return { page, steps: stepsOf(codeBlocksOf(page, await readFile(file, 'utf8'))) };
  }),
);
const allSteps: DocStep[] = pages.flatMap((page) => page.steps);

/** Apps in order of their first block; their steps in document order across pages. */
const apps = new Map<string, AppStep[]>();
for (const step of allSteps) {
  if (step.type !== 'file' && step.type !== 'command') continue;
  const steps = apps.get(step.app) ?? [];
  steps.push(step);
  apps.set(step.app, steps);
}

const snippetPages = pages
  .map(({ page, steps }) => ({
    page,
    snippets: steps.filter(
      (step): step is Extract<DocStep, { type: 'snippet' }> => step.type === 'snippet',
    ),
  }))
  .filter(({ snippets }) => snippets.length > 0);

/** Each page's snippet run (see below). */
const verdicts = new Map<string, Promise<Map<Snippet, SnippetVerdict>>>();
let scratch = '';
let env: NodeJS.ProcessEnv = process.env;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-docs-'));
  const bin = await luactShim(scratch);
  env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
});
afterAll(async () => {
  // snippet runs of pages whose tests were filtered out may still be writing there
  await Promise.allSettled(verdicts.values());
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 300_000);

it('finds the pages of docs/ and their code blocks', () => {
  expect(pages.length).toBeGreaterThan(0);
  expect(allSteps.length).toBeGreaterThan(0);
});

for (const step of allSteps) {
  if (step.type !== 'not-runnable') continue;
  it(`${where(step.block)} ${step.block.language || '(no language)'}`, () => {
    throw new Error(`${where(step.block)}: code block is not runnable: ${step.why}`);
  });
}

/** Runs `task`s at most `limit` at a time. */
function limiter(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Each page's snippets run in one `luact test`, two pages at a time, from the start. */
beforeAll(() => {
  const limit = limiter(2);
  for (const { page, snippets } of snippetPages) {
    const run = limit(async () =>
      runSnippets(await mkdtemp(path.join(scratch, 'snippets-')), snippets),
    );
    run.catch(() => undefined); // reported by the page's tests
    verdicts.set(page, run);
  }
});

for (const { page, snippets } of snippetPages) {
  describe(`Lua snippets of ${page}`, () => {
    for (const snippet of snippets) {
      const title = `${where(snippet.block)} lua run=${snippet.kind}${snippet.expectError ? ' expect=error' : ''}`;
      it(title, { timeout: 240_000 }, async () => {
        const verdict = (await verdicts.get(page))?.get(snippet);
        if (verdict !== undefined) throw new Error(verdict);
      });
    }
  });
}

for (const [app, steps] of apps) {
  describe(`app ${app}`, () => {
    let player: AppPlayer | undefined;
    beforeAll(async () => {
      player = new AppPlayer(await mkdtemp(path.join(scratch, `app-${app}-`)), env);
    });
    afterAll(() => player?.kill());

    for (const step of steps) {
      const title =
        step.type === 'file'
          ? `${where(step.block)} ${step.block.language} file=${step.path}`
          : `${where(step.block)} sh: ${step.block.body.split('\n')[0]}${step.background ? ' (background)' : ''}`;
      it(title, { timeout: 150_000 }, async () => {
        await (player as AppPlayer).play(step);
      });
    }
    it(`stops its background command and lints cleanly (luact lint)`, {
      timeout: 150_000,
    }, async () => {
      await (player as AppPlayer).stop();
      await (player as AppPlayer).lint();
    });
  });
}

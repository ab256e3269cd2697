import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CliRun, luact } from '../src/luact-cli.js';
import { type CodeBlock, type SnippetKind, where } from './blocks.js';

/** A ```lua run=… block of one page. */
export interface Snippet {
  readonly block: CodeBlock;
  readonly kind: SnippetKind;
  readonly expectError: boolean;
}

/** How one snippet went: undefined when as the docs say, else what went wrong. */
export type SnippetVerdict = string | undefined;

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures');

/** Built-in modules a snippet may require, by where it runs (what `luact lint` accepts). */
const PROCESS_MODULES = [
  ...'base64 crypto ctx env events funcs hash io json logger'.split(' '),
  ...'registry supervisor text time uuid yaml'.split(' '),
];
const MODULES: Readonly<Record<SnippetKind, readonly string[]>> = {
  process: PROCESS_MODULES,
  function: PROCESS_MODULES,
  workflow: [
    'base64',
    'crypto',
    'ctx',
    'funcs',
    'hash',
    'json',
    'logger',
    'text',
    'time',
    'uuid',
    'workflow',
    'yaml',
  ],
};

const ENTRY_KIND: Readonly<Record<SnippetKind, string>> = {
  process: 'process.lua',
  function: 'function.lua',
  workflow: 'workflow.lua',
};

/** The test entry of the snippet that starts at `line` of its page. */
function entryName(block: CodeBlock): string {
  return `line_${block.line}`;
}

/**
 * The Lua file of a snippet: its lines sit on the same line numbers as in the page (the lines
 * before it are blank, the function opens on the fence's line and closes on the closing
 * fence's), so every error names the page's own line.
 */
export function snippetSource(block: CodeBlock): string {
  const lines: string[] = Array.from({ length: block.line - 1 }, () => '');
  lines.push('return { main = function(...)');
  lines.push(...block.body.split('\n'));
  while (lines.length < block.endLine - 1) lines.push('');
  lines.push('end }');
  return `${lines.join('\n')}\n`;
}

/**
 * Runs every snippet of one page in one scratch app (in `dir`): lints it, then runs the
 * snippets that load with `luact test --time-skip`, and says for each whether it did what the
 * docs say (finished, or raised with expect=error). Messages name docs/FILE.md:LINE.
 */
export async function runSnippets(
  dir: string,
  snippets: readonly Snippet[],
): Promise<Map<Snippet, SnippetVerdict>> {
  await cp(FIXTURES, dir, { recursive: true });
  await mkdir(path.join(dir, 'snippets'));
  for (const snippet of snippets)
    await writeFile(snippetFile(dir, snippet.block), snippetSource(snippet.block));
  const verdicts = new Map<Snippet, SnippetVerdict>();
  const byEntry = new Map(snippets.map((snippet) => [`app:${entryName(snippet.block)}`, snippet]));

  await writeFile(path.join(dir, 'snippets.yaml'), snippetRegistry(snippets));
  const lint = await luact(['lint', dir, '--json', '--no-env-check']);
  for (const problem of lintErrors(lint)) {
    const snippet = problem.entry === undefined ? undefined : byEntry.get(problem.entry);
    if (snippet === undefined)
      throw new Error(
        `the snippet app of ${snippets[0]?.block.page} does not load:\n${lint.stdout}`,
      );
    verdicts.set(
      snippet,
      `${where(snippet.block)}: does not load: ${inPage(problem.message, snippet.block.page)}`,
    );
  }
  const runnable = snippets.filter((snippet) => !verdicts.has(snippet));
  if (runnable.length === 0) return verdicts;
  if (runnable.length < snippets.length)
    await writeFile(path.join(dir, 'snippets.yaml'), snippetRegistry(runnable));

  const run = await luact(['test', dir, '--json', '--time-skip', '--timeout', '20000']);
  const report = testReport(run);
  const results = new Map(report.tests.map((test) => [test.id, test]));
  for (const snippet of runnable) {
    const result = results.get(`app:${entryName(snippet.block)}`);
    const page = snippet.block.page;
    const error = result?.error && inPage(result.error, page);
    verdicts.set(
      snippet,
      result === undefined
        ? `${where(snippet.block)}: luact test did not run it`
        : snippet.expectError && result.passed
          ? `${where(snippet.block)}: expect=error, but it finished without an error`
          : !snippet.expectError && !result.passed
            ? `${where(snippet.block)}: ${error ?? 'failed'}`
            : undefined,
    );
  }
  return verdicts;
}

/** `message` with the snippet files' paths replaced by their page (line numbers are the page's). */
function inPage(message: string, page: string): string {
  return message.replace(/\S*\/snippets\/L\d+\.lua:(\d+)/g, `${page}:$1`);
}

function snippetFile(dir: string, block: CodeBlock): string {
  return path.join(dir, 'snippets', `L${block.line}.lua`);
}

function snippetRegistry(snippets: readonly Snippet[]): string {
  const entries = snippets.map((snippet) =>
    [
      `  - name: ${entryName(snippet.block)}`,
      `    kind: ${ENTRY_KIND[snippet.kind]}`,
      `    source: file://snippets/L${snippet.block.line}.lua`,
      `    modules: [${MODULES[snippet.kind].join(', ')}]`,
      `    meta: { type: test, comment: "${where(snippet.block)}" }`,
    ].join('\n'),
  );
  return `namespace: app\nentries:\n${entries.join('\n')}\n`;
}

interface LintProblem {
  readonly severity: string;
  readonly entry?: string;
  readonly message: string;
}

function lintErrors(run: CliRun): LintProblem[] {
  let report: { diagnostics: LintProblem[] };
  try {
    report = JSON.parse(run.stdout) as { diagnostics: LintProblem[] };
  } catch {
    throw new Error(
      `luact lint --json printed no report (exit ${run.code})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
  return report.diagnostics.filter((problem) => problem.severity === 'error');
}

interface TestReport {
  readonly tests: readonly { id: string; passed: boolean; error?: string }[];
}

/** The JSON report `luact test --json` ends stdout with (what snippets print comes before). */
function testReport(run: CliRun): TestReport {
  const start = run.stdout.search(/^\{\n {2}"passed": /m);
  if (start < 0)
    throw new Error(
      `luact test printed no report (exit ${run.code})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  return JSON.parse(run.stdout.slice(start)) as TestReport;
}

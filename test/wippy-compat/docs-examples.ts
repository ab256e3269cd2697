/**
 * Runs the Lua examples of Wippy's documentation through `luact run --exec`, each as written
 * inside a `main`, and prints which run: the measure of the issue's "the examples of Wippy's
 * documentation run inside a main". The docs are not part of this repository; point the runner
 * at a checkout of them (a work tree, or a bare/mirror git directory read at HEAD):
 *
 *   npm run compat:wippy-docs -- /path/to/wippy-docs [page …]
 *
 * Every ```lua block of the pages of the modules luact covers becomes one entry of its own
 * scratch application: `return { main = function() <block> end }`, a process.lua on a process
 * host (a workflow.lua on a workflow host, run with --time-skip, for the workflow pages), with
 * `modules:` listing what the block requires. A module the page loads once (`local json =
 * require("json")` in its Loading section) is loaded for every block that uses it. A block ends
 * in one of these classes:
 *
 * - passes: it finished without an error;
 * - returns an error: it ended with `return nil, err`, an error value of its own (often the
 *   point of the example: showing the error a call returns); listed to be read, not counted
 *   as luact's;
 * - needs its app: it names entries, hosts or services only the doc's imagined application has
 *   (a NOT_FOUND entry), or waits for messages nothing in a lone block sends;
 * - needs a module: it requires a module luact does not have (and does not cover);
 * - not runnable alone: a fragment: a syntax error in isolation, `...` placeholders, a module
 *   table returned at top level, or names the block uses but never defines (`user`, `db`) when
 *   its error names one of them or a nil;
 * - luact: it failed for a reason of luact's (the first error line says which).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { codeBlocksOf } from '../docs/blocks.js';
import { isDirectory, LUACT_CLI } from './luact-cli.js';

/** The entry's own limit (luact ends it), and the wall limit of the whole run, boot included. */
const EXEC_TIMEOUT = '5000ms';
const WALL_LIMIT_MS = 30_000;
/** Blocks run two at a time: the machine is shared. */
const PARALLEL = 2;

type EntryKind = 'process' | 'workflow';

/** The pages of the modules luact covers, and the kind of entry their examples are. */
const PAGES: Readonly<Record<string, EntryKind>> = {
  'en/lua/core/process.md': 'process',
  'en/lua/core/channel.md': 'process',
  'en/lua/core/funcs.md': 'process',
  'en/lua/core/future.md': 'process',
  'en/lua/core/errors.md': 'process',
  'en/lua/core/base.md': 'process',
  'en/lua/core/events.md': 'process',
  'en/lua/core/registry.md': 'process',
  'en/lua/core/time.md': 'process',
  'en/lua/data/json.md': 'process',
  'en/lua/data/yaml.md': 'process',
  'en/lua/data/base64.md': 'process',
  'en/lua/data/payload.md': 'process',
  'en/lua/text/text.md': 'process',
  'en/lua/security/hash.md': 'process',
  'en/lua/security/crypto.md': 'process',
  'en/lua/security/uuid.md': 'process',
  'en/lua/system/logger.md': 'process',
  'en/lua/system/env.md': 'process',
  'en/lua/system/io.md': 'process',
  'en/temporal/workflows.md': 'workflow',
};

type Verdict =
  | 'passes'
  | 'returns an error'
  | 'needs its app'
  | 'needs a module'
  | 'not runnable alone'
  | 'luact';
const VERDICTS: readonly Verdict[] = [
  'passes',
  'returns an error',
  'needs its app',
  'needs a module',
  'not runnable alone',
  'luact',
];

interface Block {
  readonly page: string;
  readonly line: number;
  readonly body: string;
  /** The page's `local NAME = require("MODULE")` loads, NAME → MODULE (pages state them once). */
  readonly pageLoads: ReadonlyMap<string, string>;
}

interface Outcome {
  readonly block: Block;
  readonly verdict: Verdict;
  /** Why, in one line (empty when it passes). */
  readonly note: string;
}

interface ChildRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Names every block may use without defining them: Lua's and Wippy's globals. */
const KNOWN_GLOBALS = new Set(
  [
    ...'assert error pcall xpcall type tostring tonumber pairs ipairs next select print'.split(' '),
    ...'rawget rawset rawequal rawlen getmetatable setmetatable unpack load require'.split(' '),
    ...'string table math os coroutine utf8 _G _VERSION _ENV self'.split(' '),
    ...'process channel payload errors subscribe unsubscribe'.split(' '),
  ].filter(Boolean),
);
const LUA_KEYWORDS = new Set(
  (
    'and break do else elseif end false for function goto if in local nil not or repeat ' +
    'return then true until while'
  )
    .split(' ')
    .filter(Boolean),
);

async function main(): Promise<void> {
  const [checkout, ...only] = process.argv.slice(2);
  if (checkout === undefined) {
    process.stderr.write('usage: npm run compat:wippy-docs -- /path/to/wippy-docs [page …]\n');
    process.exit(2);
  }
  const read = await pageReader(checkout);
  const pages = Object.keys(PAGES).filter(
    (page) => only.length === 0 || only.some((want) => page.includes(want)),
  );
  const blocks: Block[] = [];
  for (const page of pages) {
    const lua = codeBlocksOf(page, await read(page)).filter((block) => block.language === 'lua');
    const pageLoads = moduleLoads(lua.map((block) => block.body).join('\n'));
    for (const block of lua) blocks.push({ page, line: block.line, body: block.body, pageLoads });
  }
  const outcomes = await mapLimited(blocks, PARALLEL, async (block) => {
    const outcome = await runBlock(block, PAGES[block.page] as EntryKind);
    const note = outcome.note ? `: ${outcome.note}` : '';
    process.stderr.write(`${block.page}:${block.line}: ${outcome.verdict}${note}\n`);
    return outcome;
  });
  process.stdout.write(`${report(pages, outcomes)}\n`);
}

/** Reads a page from a work tree, or from HEAD of a bare or mirror git directory. */
async function pageReader(checkout: string): Promise<(page: string) => Promise<string>> {
  if (await isDirectory(path.join(checkout, 'en'))) {
    return (page) => readFile(path.join(checkout, page), 'utf8');
  }
  const git = promisify(execFile);
  try {
    await git('git', ['-C', checkout, 'rev-parse', '--git-dir']);
  } catch {
    process.stderr.write(`${checkout} is neither a docs work tree (en/) nor a git directory\n`);
    process.exit(2);
  }
  return async (page) =>
    (await git('git', ['-C', checkout, 'show', `HEAD:${page}`], { maxBuffer: 16 << 20 })).stdout;
}

async function runBlock(block: Block, kind: EntryKind): Promise<Outcome> {
  if (returnsModule(block.body)) {
    return { block, verdict: 'not runnable alone', note: 'returns a module table at top level' };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-wippy-doc-'));
  try {
    // a module the page loads once (its "Loading" section) and the block only uses
    const loads = freeNames(block.body).filter((name) => block.pageLoads.has(name));
    const prelude = loads.map((name) => `local ${name} = require("${block.pageLoads.get(name)}")`);
    const modules = new Set([...loads.map((name) => block.pageLoads.get(name) as string)]);
    for (const module of requiredModules(block.body)) modules.add(module);
    await writeFile(path.join(dir, 'example.lua'), wrapped(block.body, prelude.join(' ')));
    await writeFile(path.join(dir, 'app.yaml'), registry(kind, [...modules]));
    const time = kind === 'workflow' ? ['--time-skip'] : [];
    const run = await runLuact([
      'run',
      dir,
      '--exec',
      'docs:example',
      '--timeout',
      EXEC_TIMEOUT,
      ...time,
    ]);
    // errors name the page's lines: the block's first line is line 2 of example.lua
    const output = `${run.stderr}\n${run.stdout}`
      .replaceAll(`${dir}/`, '')
      .replace(
        /example\.lua:(\d+)/g,
        (_, line: string) => `${block.page}:${Number(line) + block.line - 1}`,
      );
    return { block, ...classify(block.body, loads, run.code, output) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The block as the body of `main`, after the prelude (on the wrapper's line: lines stay put). */
function wrapped(body: string, prelude: string): string {
  return `return { main = function() ${prelude}\n${body}\nend }\n`;
}

function registry(kind: EntryKind, modules: readonly string[]): string {
  const host = kind === 'workflow' ? 'workflow.host' : 'process.host';
  return [
    'namespace: docs',
    'entries:',
    '  - name: host',
    `    kind: ${host}`,
    '  - name: example',
    `    kind: ${kind}.lua`,
    '    source: file://example.lua',
    `    modules: [${modules.join(', ')}]`,
    '',
  ].join('\n');
}

/** The modules a block requires by name, in order of first use. */
function requiredModules(body: string): string[] {
  const found = new Set<string>();
  for (const match of body.matchAll(/\brequire\s*\(?\s*["']([\w.]+)["']/g)) {
    found.add(match[1] as string);
  }
  return [...found];
}

/** `local NAME = require("MODULE")` statements of `code`, NAME → MODULE. */
function moduleLoads(code: string): Map<string, string> {
  const loads = new Map<string, string>();
  for (const match of code.matchAll(
    /\blocal\s+([A-Za-z_]\w*)\s*=\s*require\s*\(?\s*["']([\w.]+)["']/g,
  )) {
    loads.set(match[1] as string, match[2] as string);
  }
  return loads;
}

/** Whether the block is a module: it ends by returning a table (literal, or one it built). */
function returnsModule(body: string): boolean {
  const code = withoutCommentsAndStrings(body);
  if (/^return\s*\{/m.test(code)) return true;
  const named = /^return\s+([A-Za-z_]\w*)\s*$/m.exec(code);
  return named !== null && new RegExp(`^local\\s+${named[1]}\\s*=\\s*\\{`, 'm').test(code);
}

function classify(
  body: string,
  preloaded: readonly string[],
  code: number | null,
  output: string,
): Omit<Outcome, 'block'> {
  if (code === 0) return { verdict: 'passes', note: '' };
  const first = firstProblem(output);
  const timedOut = /^TIMEOUT: /.test(first);
  if (/\[lua-syntax\]/.test(output)) return { verdict: 'not runnable alone', note: first };
  const module = /unknown module "([^"]+)"/.exec(output);
  if (module) return { verdict: 'needs a module', note: `no module ${module[1]}` };
  const missing = /(?:entry|host|service) ([\w.-]+:[\w.-]+) not found/.exec(output);
  if (missing || /"kind":"NOT_FOUND"/.test(output)) {
    return { verdict: 'needs its app', note: missing ? `no ${missing[1]}` : first };
  }
  if (/"waiting_forever":true/.test(output)) {
    return { verdict: 'needs its app', note: 'waits for what nothing in a lone block sends' };
  }
  // an entry of the doc's app (namespaces other than the scratch app's own) named in the error
  const foreign = [...first.matchAll(/\b([a-z][\w.-]*:[\w.-]+)/g)]
    .map((match) => match[1] as string)
    .find((id) => !id.startsWith('docs:') && !id.startsWith('en/') && body.includes(id));
  if (foreign !== undefined) return { verdict: 'needs its app', note: `${foreign}: ${first}` };
  // a fragment fails on what it leaves undefined: the error names it, or a nil it got
  const free = freeNames(body).filter((name) => !preloaded.includes(name));
  const onFree = free.some((name) => new RegExp(`\\b${name}\\b`).test(first));
  // an argument error (a nil passed on), or still waiting at the limit: a sleep or receive
  // before the code reaches what it leaves undefined
  const onMissing = /\bnil\b|\bexpects? |\bexpected\b/.test(first) || timedOut;
  if (free.length > 0 && (onFree || onMissing)) {
    return { verdict: 'not runnable alone', note: `uses undefined ${free.join(', ')}: ${first}` };
  }
  if (
    !timedOut &&
    /^\s*return\s+nil\s*,/m.test(withoutCommentsAndStrings(body)) &&
    !isLuaRuntimeError(first)
  ) {
    return { verdict: 'returns an error', note: first };
  }
  return { verdict: 'luact', note: first };
}

/** An error Lua itself raised (a bad operation or argument), not an error value the code returned. */
function isLuaRuntimeError(message: string): boolean {
  return /attempt to |bad argument|expected .*got |stack traceback/.test(message);
}

/**
 * Names the block reads as globals without ever assigning or declaring them, Lua's and Wippy's
 * own globals aside: what a fragment leaves to the text around it. A rough scan (no scopes):
 * enough to tell a fragment from a complete example.
 */
function freeNames(body: string): string[] {
  const code = withoutCommentsAndStrings(body);
  const declared = new Set<string>();
  const declare = (list: string) => {
    for (const name of list.split(',')) {
      const bare = name
        .trim()
        .replace(/<\w+>$/, '')
        .trim();
      if (/^[A-Za-z_]\w*$/.test(bare)) declared.add(bare);
    }
  };
  for (const match of code.matchAll(/\blocal\s+function\s+([A-Za-z_]\w*)/g))
    declare(match[1] as string);
  for (const match of code.matchAll(
    /\blocal\s+((?:[A-Za-z_]\w*(?:\s*<\w+>)?\s*,\s*)*[A-Za-z_]\w*)/g,
  ))
    declare(match[1] as string);
  for (const match of code.matchAll(/\bfunction\s*[\w.:]*\s*\(([^)]*)\)/g))
    declare(match[1] as string);
  for (const match of code.matchAll(/\bfunction\s+([A-Za-z_]\w*)\s*\(/g))
    declare(match[1] as string);
  for (const match of code.matchAll(/\bfor\s+([\w\s,]+?)\s+in\b/g)) declare(match[1] as string);
  for (const match of code.matchAll(/\bfor\s+([A-Za-z_]\w*)\s*=/g)) declare(match[1] as string);
  // an assignment `name =` (also a table key) is no read of a global
  for (const match of code.matchAll(/(^|[^.:\w])([A-Za-z_]\w*)\s*=(?!=)/g))
    declare(match[2] as string);
  const free = new Set<string>();
  for (const match of code.matchAll(/(^|[^.:\w])\s*([A-Za-z_]\w*)/g)) {
    const name = match[2] as string;
    const before = code.slice(0, match.index).trimEnd();
    if (before.endsWith('.') || before.endsWith(':') || before.endsWith('::')) continue;
    if (LUA_KEYWORDS.has(name) || KNOWN_GLOBALS.has(name) || declared.has(name)) continue;
    free.add(name);
  }
  return [...free];
}

/** Lua text with comments removed and string literals emptied (so their words are no names). */
function withoutCommentsAndStrings(body: string): string {
  return body
    .replace(/--\[(=*)\[[\s\S]*?\]\1\]/g, '')
    .replace(/\[(=*)\[[\s\S]*?\]\1\]/g, '""')
    .replace(/"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, '""')
    .replace(/--[^\n]*/g, '');
}

/** The first line that says what went wrong: a diagnostic, an error result, a `luact:` line. */
function firstProblem(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !/"level":"(debug|info)"/.test(line));
  const result = lines.find((line) => line.startsWith('{"error"'));
  if (result) {
    try {
      const parsed = JSON.parse(result) as { error: { kind?: string; message?: string } };
      return `${parsed.error.kind ?? ''}: ${parsed.error.message ?? ''}`.slice(0, 220);
    } catch {
      // not the result line after all
    }
  }
  const line =
    lines.find((text) => / error: |timed out/.test(text)) ??
    lines.find((text) => text.startsWith('luact:')) ??
    lines[0];
  return (line ?? 'no output').slice(0, 220);
}

function runLuact(args: readonly string[]): Promise<ChildRun> {
  return new Promise((resolve) => {
    execFile(
      'nice',
      ['-n', '10', process.execPath, LUACT_CLI, ...args],
      { timeout: WALL_LIMIT_MS, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const timedOut = error?.killed === true;
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({
          code,
          stdout,
          stderr: timedOut ? `timed out after ${WALL_LIMIT_MS} ms` : stderr,
        });
      },
    );
  });
}

function report(pages: readonly string[], outcomes: readonly Outcome[]): string {
  const header = `| page | blocks | ${VERDICTS.join(' | ')} |`;
  const rule = `|---|---|${VERDICTS.map(() => '---').join('|')}|`;
  const row = (name: string, some: readonly Outcome[]) =>
    `| ${name} | ${some.length} | ${VERDICTS.map((verdict) => some.filter((o) => o.verdict === verdict).length).join(' | ')} |`;
  const rows = pages.map((page) =>
    row(
      page,
      outcomes.filter((o) => o.block.page === page),
    ),
  );
  const listed = (verdict: Verdict) =>
    outcomes
      .filter((outcome) => outcome.verdict === verdict)
      .map((outcome) => `- ${outcome.block.page}:${outcome.block.line}: ${outcome.note}`);
  const failures = listed('luact');
  const modules = listed('needs a module');
  const returned = listed('returns an error');
  return [
    header,
    rule,
    ...rows,
    row('all', outcomes),
    '',
    `Failures for a reason of luact's (${failures.length}):`,
    ...failures,
    '',
    `Blocks that need a module luact does not have (${modules.length}):`,
    ...modules,
    '',
    `Blocks that return an error of their own (${returned.length}):`,
    ...returned,
  ].join('\n');
}

/** `work` over `items`, at most `limit` at once, results in the items' order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

await main();

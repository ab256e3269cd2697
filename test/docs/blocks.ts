/**
 * The fenced code blocks of a Markdown page, and what each one asks the docs test to do
 * (the convention is written down for contributors in docs/writing-docs.md).
 */

/** A fenced code block as written: where it is, its info string split up, its text. */
export interface CodeBlock {
  /** The page, relative to the repository root (`docs/tutorial.md`). */
  readonly page: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** 1-based line of the closing fence (the last line when the block is never closed). */
  readonly endLine: number;
  readonly language: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Words of the info string that are not `key=value` (a mistake the test reports). */
  readonly strayWords: readonly string[];
  /** The lines between the fences, without the fence's own indentation. */
  readonly body: string;
}

/** Every fenced block of `text` (``` or ~~~ fences, also indented inside lists). */
export function codeBlocksOf(page: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[index] as string);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    // as in CommonMark: the info string of a backtick fence has no backtick (else it is inline code)
    if (fence.startsWith('`') && info.includes('`')) continue;
    const body: string[] = [];
    let close = index + 1;
    for (; close < lines.length; close++) {
      const line = lines[close] as string;
      const trimmed = line.trim();
      if (trimmed.startsWith(fence) && /^(`+|~+)$/.test(trimmed) && trimmed[0] === fence[0]) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    const words = info.trim().split(/\s+/).filter(Boolean);
    const [language = '', ...rest] = words;
    const attributes: Record<string, string> = {};
    const strayWords: string[] = [];
    for (const word of rest) {
      const pair = /^([A-Za-z_-]+)=(.*)$/.exec(word);
      if (pair) attributes[pair[1] as string] = pair[2] as string;
      else strayWords.push(word);
    }
    blocks.push({
      page,
      line: index + 1,
      endLine: Math.min(close, lines.length - 1) + 1,
      language,
      attributes,
      strayWords,
      body: body.join('\n'),
    });
    index = close;
  }
  return blocks;
}

export type SnippetKind = 'process' | 'function' | 'workflow';

/** What a block asks for. */
export type DocStep =
  | {
      readonly type: 'file';
      readonly block: CodeBlock;
      readonly app: string;
      readonly path: string;
    }
  | {
      readonly type: 'command';
      readonly block: CodeBlock;
      readonly app: string;
      readonly exitCode: number;
      readonly background: boolean;
      /** The ```text or ```json block right after it, if any. */
      readonly output: CodeBlock | undefined;
    }
  | {
      readonly type: 'snippet';
      readonly block: CodeBlock;
      readonly kind: SnippetKind;
      readonly expectError: boolean;
    }
  | { readonly type: 'output'; readonly block: CodeBlock }
  | { readonly type: 'not-runnable'; readonly block: CodeBlock; readonly why: string };

/** "docs/FILE.md:LINE", how every message of the docs test names a block. */
export function where(block: CodeBlock): string {
  return `${block.page}:${block.line}`;
}

const OUTPUT_LANGUAGES = new Set(['text', 'json']);
const SNIPPET_KINDS = new Set<string>(['process', 'function', 'workflow']);

/** Reads the blocks of one page as steps; a text/json block is the output of the sh block before it. */
export function stepsOf(blocks: readonly CodeBlock[]): DocStep[] {
  const steps: DocStep[] = [];
  for (let index = 0; index < blocks.length; index++) {
    const block = blocks[index] as CodeBlock;
    const step = stepOf(block, blocks[index - 1]);
    if (step.type === 'command' && step.output === undefined) {
      const next = blocks[index + 1];
      if (next && isOutputOf(next)) {
        steps.push({ ...step, output: next });
        steps.push({ type: 'output', block: next });
        index++;
        continue;
      }
    }
    steps.push(step);
  }
  return steps;
}

function isOutputOf(block: CodeBlock): boolean {
  return (
    OUTPUT_LANGUAGES.has(block.language) &&
    Object.keys(block.attributes).length === 0 &&
    block.strayWords.length === 0
  );
}

function stepOf(block: CodeBlock, previous: CodeBlock | undefined): DocStep {
  const notRunnable = (why: string): DocStep => ({ type: 'not-runnable', block, why });
  const { language, attributes } = block;
  if (block.strayWords.length > 0)
    return notRunnable(
      `"${block.strayWords.join(' ')}" in the info string is not a key=value attribute`,
    );
  if (language === '')
    return notRunnable('the block names no language (write e.g. ```lua run=process)');
  if (OUTPUT_LANGUAGES.has(language)) {
    if (Object.keys(attributes).length > 0)
      return notRunnable(`a \`\`\`${language} block takes no attributes`);
    return notRunnable(
      previous?.language === 'sh'
        ? `a \`\`\`${language} block after ${where(previous)} that is not its output (only one output block follows a command)`
        : `a \`\`\`${language} block is only the expected output of the \`\`\`sh app=NAME block right before it`,
    );
  }
  const app = attributes.app;
  if (app !== undefined) {
    if (!/^[A-Za-z0-9_-]+$/.test(app))
      return notRunnable(`app=${app}: an app name is letters, digits, _ and -`);
    if (language === 'sh') return commandStep(block, app, notRunnable);
    const unknown = unknownAttributes(attributes, ['app', 'file']);
    if (unknown) return notRunnable(unknown);
    const file = attributes.file;
    if (file === undefined)
      return notRunnable(`app=${app} needs file=PATH (or the language sh, for a command)`);
    if (file === '' || pathEscapes(file))
      return notRunnable(`file=${file} must be a relative path inside the app's directory`);
    return { type: 'file', block, app, path: file };
  }
  const run = attributes.run;
  if (language === 'lua' && run !== undefined) {
    if (!SNIPPET_KINDS.has(run))
      return notRunnable(
        `run=${run}: a Lua snippet runs as run=process, run=function or run=workflow`,
      );
    const unknown = unknownAttributes(attributes, ['run', 'expect']);
    if (unknown) return notRunnable(unknown);
    const expect = attributes.expect;
    if (expect !== undefined && expect !== 'error')
      return notRunnable(`expect=${expect}: the only expectation is expect=error`);
    return { type: 'snippet', block, kind: run as SnippetKind, expectError: expect === 'error' };
  }
  return notRunnable(
    Object.keys(attributes).length === 0
      ? `\`\`\`${language} without attributes (see docs/writing-docs.md)`
      : `\`\`\`${language} ${Object.entries(attributes)
          .map(([key, value]) => `${key}=${value}`)
          .join(' ')} is none of the runnable kinds (see docs/writing-docs.md)`,
  );
}

function commandStep(
  block: CodeBlock,
  app: string,
  notRunnable: (why: string) => DocStep,
): DocStep {
  const unknown = unknownAttributes(block.attributes, ['app', 'exit', 'run']);
  if (unknown) return notRunnable(unknown);
  const { exit, run } = block.attributes;
  if (exit !== undefined && !/^\d{1,3}$/.test(exit))
    return notRunnable(`exit=${exit}: an exit code is a number from 0 to 255`);
  if (run !== undefined && run !== 'background')
    return notRunnable(`run=${run}: a command is run in the foreground, or with run=background`);
  if (block.body.trim() === '') return notRunnable('the command block is empty');
  return {
    type: 'command',
    block,
    app,
    exitCode: exit === undefined ? 0 : Number(exit),
    background: run === 'background',
    output: undefined,
  };
}

function unknownAttributes(
  attributes: Readonly<Record<string, string>>,
  known: readonly string[],
): string | undefined {
  const unknown = Object.keys(attributes).filter((key) => !known.includes(key));
  return unknown.length === 0
    ? undefined
    : `unknown attribute ${unknown.map((key) => `"${key}"`).join(', ')} (this kind of block takes ${known.join(', ')})`;
}

function pathEscapes(file: string): boolean {
  return file.startsWith('/') || file.split('/').includes('..');
}

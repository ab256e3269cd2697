import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/luact-cli.js';

/**
 * What the repository's comments and Markdown point readers to must be in the repository: the
 * design notes the code was first written against are not (the docs/ pages replace them), and a
 * page that moved or was never written is a dead end for whoever follows the reference.
 */

/** Files worth reading for references: sources, tests, definitions and docs. */
const TEXT_FILE = /\.(ts|js|mjs|lua|ya?ml|md|json|sh)$/;
/** Directories that hold nothing of ours (built, installed or run-time state). */
const SKIPPED = new Set(['node_modules', 'dist', 'coverage']);
/** The notes, named in pieces so this file does not cite them itself. */
const NOTES = ['DESIGN', 'LUA_API'].map((name) => `${name}.md`);
/** `docs/….md` or `docs/…/` at the start of a path (also after `../`), not `test/docs/…`. */
const DOCS_PATH = /(?<![\w.-]\/|[\w-])(?:\.\.\/)*(docs\/[\w./-]*?(?:\.md|\/))(?![\w.-])/g;
/** A placeholder written in capitals (`docs/FILE.md`) names no page; README.md is a page. */
const isPlaceholder = (docsPath: string) => /\/(?!README\.md)[A-Z_]+\.md$/.test(docsPath);
/** A Markdown link's target: `[text](target)`. */
const MARKDOWN_LINK = /\]\(([^)\s]+)\)/g;

interface TextFile {
  readonly file: string; // relative to the repository, with forward slashes
  readonly lines: readonly string[];
}

async function textFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await textFiles(full)));
    else if (entry.isFile() && TEXT_FILE.test(entry.name)) found.push(full);
  }
  return found;
}

/** Lines of a Markdown file outside fenced code blocks (a block's text is not a link). */
function proseLines(lines: readonly string[]): [number, string][] {
  const prose: [number, string][] = [];
  let fenced = false;
  lines.forEach((line, index) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) prose.push([index + 1, line]);
  });
  return prose;
}

const isExternal = (target: string) =>
  /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#');

describe('references in the repository', () => {
  let files: TextFile[] = [];
  const self = path
    .relative(REPO_ROOT, new URL(import.meta.url).pathname)
    .split(path.sep)
    .join('/');

  beforeAll(async () => {
    const paths = await textFiles(REPO_ROOT);
    files = await Promise.all(
      paths.map(async (full) => ({
        file: path.relative(REPO_ROOT, full).split(path.sep).join('/'),
        lines: (await readFile(full, 'utf8')).split('\n'),
      })),
    );
    expect(files.some((f) => f.file === 'packages/process/README.md')).toBe(true);
  });

  it('no file cites the design notes, which are not in the repository (docs/ replaces them)', () => {
    const citations = files
      .filter((f) => f.file !== self)
      .flatMap((f) =>
        f.lines.flatMap((line, index) =>
          NOTES.filter((note) => line.includes(note)).map(
            (note) => `${f.file}:${index + 1}: cites ${note}`,
          ),
        ),
      );
    expect(citations).toEqual([]);
  });

  it('every docs/ page a comment, test or README names exists', () => {
    const dangling = files
      .filter((f) => f.file !== self)
      .flatMap((f) =>
        f.lines.flatMap((line, index) =>
          [...line.matchAll(DOCS_PATH)]
            .map((match) => match[1] as string)
            .filter((docsPath) => !isPlaceholder(docsPath))
            .filter((docsPath) => !existsSync(path.join(REPO_ROOT, docsPath)))
            .map((docsPath) => `${f.file}:${index + 1}: ${docsPath} does not exist`),
        ),
      );
    expect(dangling).toEqual([]);
  });

  it('every relative link of a Markdown page points to a file that exists', () => {
    const broken = files
      .filter((f) => f.file.endsWith('.md'))
      .flatMap((f) =>
        proseLines(f.lines).flatMap(([lineNumber, line]) =>
          [...line.matchAll(MARKDOWN_LINK)]
            .map((match) => match[1] as string)
            .filter((target) => !isExternal(target))
            .filter((target) => {
              const file = target.split('#')[0] as string;
              return !existsSync(path.join(REPO_ROOT, path.dirname(f.file), decodeURI(file)));
            })
            .map((target) => `${f.file}:${lineNumber}: ${target} does not exist`),
        ),
      );
    expect(broken).toEqual([]);
  });
});

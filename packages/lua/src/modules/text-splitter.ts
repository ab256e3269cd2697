/**
 * Text splitting for language-model use: cut a long text into chunks of at most `chunkSize`
 * characters (Unicode code points), cutting at the largest boundary that works (paragraph, line,
 * word, character) and repeating up to `chunkOverlap` characters of a chunk's end at the start
 * of the next. The recursive splitter is the classic LangChain algorithm (as langchaingo's
 * RecursiveCharacter, which Wippy uses); the markdown splitter is luact's own.
 */

export interface RecursiveOptions {
  readonly chunkSize: number;
  readonly chunkOverlap: number;
  /** Tried in order; "" splits between characters. */
  readonly separators: readonly string[];
  /** Keep each separator at the start of the piece after it instead of dropping it. */
  readonly keepSeparator: boolean;
}

export const DEFAULT_SEPARATORS: readonly string[] = ['\n\n', '\n', ' ', ''];

/** Length in code points: what "characters" means for chunk sizes. */
export function textLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) n++; // a low surrogate completes a character counted already
  }
  return n;
}

function splitOn(text: string, separator: string): string[] {
  return separator === '' ? Array.from(text) : text.split(separator);
}

/**
 * Joins pieces (each shorter than the chunk size) into chunks that stay within it: a chunk is
 * closed when the next piece would not fit, and the next chunk starts with as many of the last
 * pieces as fit in the overlap. Chunks are trimmed; empty ones are dropped.
 */
function mergePieces(pieces: readonly string[], separator: string, o: RecursiveOptions): string[] {
  const chunks: string[] = [];
  const separatorLength = textLength(separator);
  let current: string[] = [];
  let total = 0;
  const close = () => {
    const chunk = current.join(separator).trim();
    if (chunk !== '') chunks.push(chunk);
  };
  for (const piece of pieces) {
    const pieceLength = textLength(piece);
    const joint = current.length > 0 ? separatorLength : 0;
    if (total + pieceLength + joint > o.chunkSize && current.length > 0) {
      close();
      // Drop pieces from the front until what is left fits the overlap and leaves room.
      while (
        current.length > 0 &&
        (total > o.chunkOverlap ||
          (total > 0 &&
            total + pieceLength + (current.length > 1 ? separatorLength : 0) > o.chunkSize))
      ) {
        total -= textLength(current[0] as string);
        if (current.length > 1) total -= separatorLength;
        current = current.slice(1);
      }
    }
    current.push(piece);
    total += pieceLength + (current.length > 1 ? separatorLength : 0);
  }
  close();
  return chunks;
}

function splitWith(text: string, separators: readonly string[], o: RecursiveOptions): string[] {
  // The first separator the text holds ("" always fits); the ones after it are for pieces
  // that are still too long.
  let at = separators.findIndex((s) => s === '' || text.includes(s));
  if (at === -1) at = separators.length - 1;
  let separator = separators[at] ?? '';
  const finer = separators.slice(at + 1);
  let pieces = splitOn(text, separator);
  if (o.keepSeparator) {
    pieces = pieces.map((piece, i) => (i > 0 ? separator + piece : piece));
    separator = '';
  }
  const chunks: string[] = [];
  let fitting: string[] = [];
  for (const piece of pieces) {
    if (textLength(piece) < o.chunkSize) {
      fitting.push(piece);
      continue;
    }
    if (fitting.length > 0) {
      chunks.push(...mergePieces(fitting, separator, o));
      fitting = [];
    }
    if (finer.length === 0) chunks.push(piece);
    else chunks.push(...splitWith(piece, finer, o));
  }
  if (fitting.length > 0) chunks.push(...mergePieces(fitting, separator, o));
  return chunks;
}

export function splitRecursive(text: string, options: RecursiveOptions): string[] {
  const separators = options.separators.length > 0 ? options.separators : DEFAULT_SEPARATORS;
  return splitWith(text, separators, options);
}

export interface MarkdownOptions {
  readonly chunkSize: number;
  readonly chunkOverlap: number;
  /** Separators of the recursive splitter that cuts blocks longer than a chunk. */
  readonly separators: readonly string[];
  /** Keep fenced code blocks (whole, never cut); without it they are left out. */
  readonly codeBlocks: boolean;
  /** Rewrite `[text][label]` links with the URL of the label's definition. */
  readonly referenceLinks: boolean;
  /** Start every chunk with the headings above it; without it only a section's first. */
  readonly headingHierarchy: boolean;
  /** Pack table rows into chunks as they fit; without it one row per chunk. */
  readonly joinTableRows: boolean;
}

/** What a splitter was made with: any of the options of either kind. */
export type SplitterSettings = Partial<RecursiveOptions & MarkdownOptions>;

/** The settings with langchaingo's defaults (which Wippy uses) where nothing was given. */
export function withDefaults(given: SplitterSettings): RecursiveOptions & MarkdownOptions {
  return {
    chunkSize: given.chunkSize ?? 512,
    chunkOverlap: given.chunkOverlap ?? 100,
    separators: given.separators ?? DEFAULT_SEPARATORS,
    keepSeparator: given.keepSeparator ?? false,
    codeBlocks: given.codeBlocks ?? false,
    referenceLinks: given.referenceLinks ?? false,
    headingHierarchy: given.headingHierarchy ?? false,
    joinTableRows: given.joinTableRows ?? false,
  };
}

type Block =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'code'; readonly text: string }
  | { readonly kind: 'table'; readonly head: string; readonly rows: readonly string[] };

interface Section {
  /** The heading lines from the top level down to this section's own. */
  readonly headings: readonly string[];
  readonly blocks: Block[];
}

interface Reference {
  readonly url: string;
  readonly title: string | undefined;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$/;
const DEFINITION = /^ {0,3}\[([^\]]+)\]:[ \t]*(\S+)(?:[ \t]+["'(](.*)["')])?[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const TABLE_DELIMITER = /^ *\|? *:?-+:? *(\| *:?-+:? *)*\|? *$/;

function isTableStart(lines: readonly string[], i: number): boolean {
  return (lines[i] ?? '').includes('|') && TABLE_DELIMITER.test(lines[i + 1] ?? '');
}

/** The document as sections (one per heading, and one before the first) of blocks. */
function parseMarkdown(text: string, references: Map<string, Reference>): Section[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const sections: Section[] = [{ headings: [], blocks: [] }];
  const levels: number[] = []; // heading level of each entry of the current path
  let section = sections[0] as Section;
  let paragraph: string[] = [];
  const endParagraph = () => {
    if (paragraph.length > 0) section.blocks.push({ kind: 'text', text: paragraph.join('\n') });
    paragraph = [];
  };
  /** A heading opens a section below the open ones of a higher level (a lower number). */
  const openSection = (level: number, title: string) => {
    const path = [...section.headings];
    while (levels.length > 0 && (levels[levels.length - 1] as number) >= level) {
      levels.pop();
      path.pop();
    }
    levels.push(level);
    path.push(`${'#'.repeat(level)} ${title}`.trimEnd());
    section = { headings: path, blocks: [] };
    sections.push(section);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const fence = FENCE.exec(line);
    const heading = fence ? null : HEADING.exec(line);
    const definition = fence || heading ? null : DEFINITION.exec(line);
    if (fence) {
      endParagraph();
      const mark = fence[1] as string;
      const code = [line];
      while (++i < lines.length) {
        const inner = lines[i] as string;
        code.push(inner);
        if (inner.trim().startsWith(mark) && inner.trim().replace(/[`~]/g, '') === '') break;
      }
      section.blocks.push({ kind: 'code', text: code.join('\n') });
    } else if (heading) {
      endParagraph();
      openSection((heading[1] as string).length, heading[2] ?? '');
    } else if (paragraph.length > 0 && SETEXT_UNDERLINE.test(line)) {
      // The paragraph so far is a heading: `===` under it makes level 1, `---` level 2.
      const title = paragraph.map((l) => l.trim()).join(' ');
      paragraph = [];
      openSection(line.trim().startsWith('=') ? 1 : 2, title);
    } else if (definition) {
      endParagraph();
      references.set((definition[1] as string).toLowerCase(), {
        url: definition[2] as string,
        title: definition[3],
      });
    } else if (isTableStart(lines, i)) {
      endParagraph();
      const head = `${line}\n${lines[i + 1]}`;
      const rows: string[] = [];
      for (i += 2; i < lines.length && (lines[i] as string).includes('|'); i++) {
        rows.push(lines[i] as string);
      }
      i--;
      section.blocks.push({ kind: 'table', head, rows });
    } else if (line.trim() === '') {
      endParagraph();
    } else {
      paragraph.push(line);
    }
  }
  endParagraph();
  return sections;
}

function resolveReferences(text: string, references: ReadonlyMap<string, Reference>): string {
  return text.replace(/\[([^\]]+)\]\[([^\]]*)\]/g, (link, label: string, ref: string) => {
    const target = references.get((ref === '' ? label : ref).toLowerCase());
    if (target === undefined) return link;
    return target.title === undefined
      ? `[${label}](${target.url})`
      : `[${label}](${target.url} "${target.title}")`;
  });
}

/**
 * Chunks of a markdown document. A chunk never spans two sections (a heading starts a new
 * one); within a section, blocks (paragraphs, lists, quotes, code) are joined with a blank line
 * while they fit. A block longer than a chunk is cut by the recursive splitter, except code,
 * which stays whole. A table gives chunks of its own, each starting with its header rows.
 * Reference definitions are left out.
 */
export function splitMarkdown(text: string, o: MarkdownOptions): string[] {
  const references = new Map<string, Reference>();
  const sections = parseMarkdown(text, references);
  const chunks: string[] = [];
  for (const section of sections) {
    const own = section.headings[section.headings.length - 1];
    let prefix = o.headingHierarchy ? section.headings.join('\n') : (own ?? '');
    let emitted = false;
    const emit = (body: string) => {
      emitted = true;
      chunks.push(prefix === '' ? body : body === '' ? prefix : `${prefix}\n\n${body}`);
      if (!o.headingHierarchy) prefix = ''; // the heading goes with the section's first chunk
    };
    const room = () => Math.max(1, o.chunkSize - (prefix === '' ? 0 : textLength(prefix) + 2));
    let current: string[] = [];
    const flush = () => {
      if (current.length > 0) emit(current.join('\n\n'));
      current = [];
    };
    for (const block of section.blocks) {
      if (block.kind === 'table') {
        flush();
        for (const rows of tableChunks(block, o, room())) emit(rows);
        continue;
      }
      if (block.kind === 'code' && !o.codeBlocks) continue;
      const body =
        block.kind === 'text' && o.referenceLinks
          ? resolveReferences(block.text, references)
          : block.text;
      if (textLength([...current, body].join('\n\n')) <= room()) {
        current.push(body);
        continue;
      }
      flush();
      if (textLength(body) <= room() || block.kind === 'code') current.push(body);
      else {
        const pieces = splitRecursive(body, {
          chunkSize: room(),
          chunkOverlap: Math.min(o.chunkOverlap, room() - 1),
          separators: o.separators,
          keepSeparator: false,
        });
        for (const piece of pieces) emit(piece);
      }
    }
    flush();
    // A heading with nothing under it (that is kept) is a chunk of its own, unless the
    // headings of the sections below carry it.
    if (!emitted && !o.headingHierarchy && prefix !== '') emit('');
  }
  return chunks.filter((chunk) => chunk.trim() !== '');
}

/** A table's rows under its header: one row per chunk, or as many as fit when joining. */
function tableChunks(
  table: Extract<Block, { kind: 'table' }>,
  o: MarkdownOptions,
  room: number,
): string[] {
  if (table.rows.length === 0) return [table.head];
  if (!o.joinTableRows) return table.rows.map((row) => `${table.head}\n${row}`);
  const out: string[] = [];
  let current = table.head;
  let rowsInCurrent = 0;
  for (const row of table.rows) {
    const next = `${current}\n${row}`;
    if (rowsInCurrent > 0 && textLength(next) > room) {
      out.push(current);
      current = `${table.head}\n${row}`;
      rowsInCurrent = 1;
    } else {
      current = next;
      rowsInCurrent++;
    }
  }
  out.push(current);
  return out;
}

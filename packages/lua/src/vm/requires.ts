import { stripTypeAnnotations } from '../dialect/strip-types.js';

/** A literal require: the module, its line, and whether it sits in a function's body. */
export interface LiteralRequire {
  readonly name: string;
  readonly line: number;
  /**
   * In a function's body it runs only if that function is called: a file with several
   * methods may require, in one of them, what another entry using that file never needs.
   */
  readonly inFunction: boolean;
}

/**
 * The modules a Lua source requires by a literal name (`require("json")`, `require 'time'`,
 * `require[[uuid]]`, `require("x")` with spaces). A small scanner skips comments and the
 * contents of strings, so `"call require('json') later"` in a message is not a require.
 * Dynamic requires cannot be seen here; they are checked when they run.
 */
export function literalRequires(source: string): LiteralRequire[] {
  const found: LiteralRequire[] = [];
  // Read as Lua runs it: a type annotation's words are not keywords (a malformed one is the
  // compiler's to report, so the source is then read as written).
  const plain = stripTypeAnnotations(source);
  const scanner = new Scanner(plain.ok ? plain.source : source);
  const blocks = new BlockTracker();
  while (!scanner.done) {
    const word = scanner.nextToken();
    if (word === '' || scanner.isMethodOrField) continue;
    if (word !== 'require') {
      blocks.keyword(word);
      continue;
    }
    const literal = scanner.stringArgument();
    if (literal !== undefined) found.push({ ...literal, inFunction: blocks.inFunction });
  }
  return found;
}

/**
 * Which blocks enclose the scanner's position, from Lua's keywords: `function`, `if`, `do`
 * (which also ends `while … do` and `for … do`) and `repeat` open one; `end` and `until`
 * close the innermost. Only whether a function body is among them matters.
 */
class BlockTracker {
  private readonly open: boolean[] = []; // true for a function body
  private functions = 0;

  get inFunction(): boolean {
    return this.functions > 0;
  }

  keyword(word: string): void {
    if (word === 'function') {
      this.open.push(true);
      this.functions++;
    } else if (word === 'if' || word === 'do' || word === 'repeat') {
      this.open.push(false);
    } else if (word === 'end' || word === 'until') {
      if (this.open.pop() === true) this.functions--;
    }
  }
}

class Scanner {
  private at = 0;
  private line = 1;
  /** The last character of code (not whitespace, comment or string) seen so far. */
  private previousSignificant = '';
  /** Whether the identifier just returned follows `.` or `:` (`t.require`, `m:require`). */
  isMethodOrField = false;

  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.at >= this.text.length;
  }

  /** Skips to the next identifier in code and returns it ('' when something else was skipped). */
  nextToken(): string {
    const { text } = this;
    const c = text[this.at] ?? '';
    if (c === '\n') {
      this.line++;
      this.at++;
      return '';
    }
    if (c === '-' && text[this.at + 1] === '-') {
      this.skipComment();
      return '';
    }
    if (c === '"' || c === "'") {
      this.readQuoted(c);
      this.previousSignificant = c;
      return '';
    }
    const long = this.longBracketLevel();
    if (long !== undefined) {
      this.readLong(long);
      this.previousSignificant = ']';
      return '';
    }
    if (/[A-Za-z_]/.test(c)) {
      const start = this.at;
      while (/[A-Za-z0-9_]/.test(text[this.at] ?? '')) this.at++;
      const word = text.slice(start, this.at);
      this.isMethodOrField = this.previousSignificant === '.' || this.previousSignificant === ':';
      this.previousSignificant = word[word.length - 1] ?? '';
      return word;
    }
    if (!/\s/.test(c)) this.previousSignificant = c;
    this.at++;
    return '';
  }

  /** After `require`: an optional `(` and a string literal, as {name, line}. */
  stringArgument(): { name: string; line: number } | undefined {
    this.skipSpace();
    if (this.text[this.at] === '(') {
      this.at++;
      this.skipSpace();
    }
    const line = this.line;
    const c = this.text[this.at] ?? '';
    if (c === '"' || c === "'") return { name: this.readQuoted(c), line };
    const long = this.longBracketLevel();
    if (long !== undefined) return { name: this.readLong(long), line };
    return undefined;
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.at] ?? '')) {
      if (this.text[this.at] === '\n') this.line++;
      this.at++;
    }
  }

  private skipComment(): void {
    this.at += 2;
    const long = this.longBracketLevel();
    if (long !== undefined) {
      this.readLong(long);
      return;
    }
    while (this.at < this.text.length && this.text[this.at] !== '\n') this.at++;
  }

  /** `[[` or `[==[` at the cursor: its level (number of `=`), else undefined. */
  private longBracketLevel(): number | undefined {
    if (this.text[this.at] !== '[') return undefined;
    let i = this.at + 1;
    while (this.text[i] === '=') i++;
    return this.text[i] === '[' ? i - this.at - 1 : undefined;
  }

  private readLong(level: number): string {
    const close = `]${'='.repeat(level)}]`;
    const start = this.at + level + 2;
    const end = this.text.indexOf(close, start);
    const stop = end < 0 ? this.text.length : end;
    const body = this.text.slice(start, stop);
    for (const ch of body) if (ch === '\n') this.line++;
    this.at = end < 0 ? this.text.length : end + close.length;
    return body;
  }

  private readQuoted(quote: string): string {
    let value = '';
    this.at++;
    while (this.at < this.text.length) {
      const c = this.text[this.at] as string;
      if (c === '\\') {
        value += this.text[this.at + 1] ?? '';
        this.at += 2;
        continue;
      }
      this.at++;
      if (c === quote || c === '\n') break;
      value += c;
    }
    return value;
  }
}

/**
 * The modules a Lua source requires by a literal name (`require("json")`, `require 'time'`,
 * `require[[uuid]]`, `require("x")` with spaces). A small scanner skips comments and the
 * contents of strings, so `"call require('json') later"` in a message is not a require.
 * Dynamic requires cannot be seen here; they are checked when they run.
 */
export function literalRequires(
  source: string,
): { readonly name: string; readonly line: number }[] {
  const found: { name: string; line: number }[] = [];
  const scanner = new Scanner(source);
  while (!scanner.done) {
    if (scanner.nextToken() !== 'require' || scanner.isMethodOrField) continue;
    const literal = scanner.stringArgument();
    if (literal !== undefined) found.push(literal);
  }
  return found;
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

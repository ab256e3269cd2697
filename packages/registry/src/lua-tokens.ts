/**
 * Lua source as a list of tokens with their line and column (both from 1), comments dropped.
 * Enough of Lua's lexical rules for static checks of a script: names, strings (short and long,
 * with their escapes decoded), numbers (so `1.5` is not a field access) and symbols (`..`,
 * `::` and the other two- and three-character operators as one token). It never fails: text
 * Lua itself would reject still becomes tokens, and compiling reports the syntax error.
 */
export interface LuaToken {
  readonly type: 'name' | 'string' | 'number' | 'symbol';
  /** The name, the string's value, the number or the symbol as written. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

const LONG_SYMBOLS = ['...', '..', '::', '==', '~=', '<=', '>=', '//', '<<', '>>'];
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
  '\n': '\n',
};

/** A comment's text (without `--` and long brackets), where it starts, and whether code precedes it on its line. */
export interface LuaComment {
  readonly text: string;
  readonly line: number;
  readonly afterCode: boolean;
}

export function luaTokens(source: string): LuaToken[] {
  return lexLua(source).tokens;
}

/** The tokens of a Lua source and, apart, its comments. */
export function lexLua(source: string): { tokens: LuaToken[]; comments: LuaComment[] } {
  const lexer = new Lexer(source);
  return { tokens: lexer.tokens(), comments: lexer.comments };
}

class Lexer {
  private at = 0;
  private line = 1;
  private lineStart = 0;
  private readonly found: LuaToken[] = [];
  readonly comments: LuaComment[] = [];

  constructor(private readonly text: string) {}

  tokens(): LuaToken[] {
    const { text } = this;
    while (this.at < text.length) {
      const c = text[this.at] as string;
      if (c === '\n') {
        this.newLine(this.at + 1);
        this.at++;
      } else if (/\s/.test(c)) {
        this.at++;
      } else if (c === '-' && text[this.at + 1] === '-') {
        this.skipComment();
      } else if (c === '"' || c === "'") {
        this.push('string', this.at, () => this.readQuoted(c));
      } else if (this.longBracketLevel() !== undefined) {
        const level = this.longBracketLevel() as number;
        this.push('string', this.at, () => this.readLong(level));
      } else if (/[A-Za-z_]/.test(c)) {
        this.push('name', this.at, () => this.readWhile(/[A-Za-z0-9_]/));
      } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[this.at + 1] ?? ''))) {
        this.push('number', this.at, () => this.readNumber());
      } else {
        const symbol = LONG_SYMBOLS.find((s) => text.startsWith(s, this.at)) ?? c;
        this.push('symbol', this.at, () => {
          this.at += symbol.length;
          return symbol;
        });
      }
    }
    return this.found;
  }

  private push(type: LuaToken['type'], start: number, read: () => string): void {
    const line = this.line;
    const column = start - this.lineStart + 1;
    this.found.push({ type, text: read(), line, column });
  }

  private newLine(nextLineStart: number): void {
    this.line++;
    this.lineStart = nextLineStart;
  }

  private readWhile(pattern: RegExp): string {
    const start = this.at;
    while (this.at < this.text.length && pattern.test(this.text[this.at] as string)) this.at++;
    return this.text.slice(start, this.at);
  }

  /** Decimal or hexadecimal, with fraction and exponent (`3`, `0x1F`, `1.5e-3`, `0x1p4`). */
  private readNumber(): string {
    const start = this.at;
    const hex = /^0[xX]/.test(this.text.slice(this.at, this.at + 2));
    if (hex) this.at += 2;
    const exponent = hex ? /[pP]/ : /[eE]/;
    while (this.at < this.text.length) {
      const c = this.text[this.at] as string;
      if (exponent.test(c) && /[+-]/.test(this.text[this.at + 1] ?? '')) this.at += 2;
      else if (/[0-9A-Za-z_.]/.test(c) && !this.text.startsWith('..', this.at)) this.at++;
      else break;
    }
    return this.text.slice(start, this.at);
  }

  private skipComment(): void {
    const line = this.line;
    const afterCode = this.found.at(-1)?.line === line;
    this.at += 2;
    const level = this.longBracketLevel();
    let text: string;
    if (level !== undefined) {
      text = this.readLong(level);
    } else {
      const start = this.at;
      while (this.at < this.text.length && this.text[this.at] !== '\n') this.at++;
      text = this.text.slice(start, this.at);
    }
    this.comments.push({ text, line, afterCode });
  }

  /** `[[` or `[==[` at the cursor: its level (number of `=`), else undefined. */
  private longBracketLevel(): number | undefined {
    if (this.text[this.at] !== '[') return undefined;
    let i = this.at + 1;
    while (this.text[i] === '=') i++;
    return this.text[i] === '[' ? i - this.at - 1 : undefined;
  }

  /** A long string or comment; its value drops a newline right after the opening bracket. */
  private readLong(level: number): string {
    const close = `]${'='.repeat(level)}]`;
    const start = this.at + level + 2;
    const end = this.text.indexOf(close, start);
    const stop = end < 0 ? this.text.length : end;
    for (let i = start; i < stop; i++) if (this.text[i] === '\n') this.newLine(i + 1);
    this.at = end < 0 ? this.text.length : end + close.length;
    const body = this.text.slice(start, stop);
    return body.startsWith('\r\n') ? body.slice(2) : body.startsWith('\n') ? body.slice(1) : body;
  }

  /** A quoted string up to its closing quote (or the end of the line, where Lua rejects it). */
  private readQuoted(quote: string): string {
    const { text } = this;
    let value = '';
    this.at++;
    while (this.at < text.length) {
      const c = text[this.at] as string;
      if (c === quote) {
        this.at++;
        break;
      }
      if (c === '\n') break;
      if (c !== '\\') {
        value += c;
        this.at++;
        continue;
      }
      value += this.readEscape();
    }
    return value;
  }

  /** The escape sequence at the cursor (on its backslash), decoded. */
  private readEscape(): string {
    const { text } = this;
    const next = text[this.at + 1] ?? '';
    this.at += 2;
    if (next === '\n') this.newLine(this.at);
    const simple = SHORT_ESCAPES[next];
    if (simple !== undefined) return simple;
    if (next === 'z') {
      while (this.at < text.length && /\s/.test(text[this.at] as string)) {
        if (text[this.at] === '\n') this.newLine(this.at + 1);
        this.at++;
      }
      return '';
    }
    if (next === 'x') {
      const digits = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(this.at))?.[0] ?? '';
      this.at += digits.length;
      return digits ? String.fromCharCode(Number.parseInt(digits, 16)) : '';
    }
    if (next === 'u') {
      const codePoint = /^\{([0-9A-Fa-f]{1,8})\}/.exec(text.slice(this.at));
      if (!codePoint) return '';
      this.at += codePoint[0].length;
      const code = Number.parseInt(codePoint[1] as string, 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    if (/[0-9]/.test(next)) {
      const digits = next + (/^[0-9]{0,2}/.exec(text.slice(this.at))?.[0] ?? '');
      this.at += digits.length - 1;
      return String.fromCharCode(Number(digits) & 0xff);
    }
    return next;
  }
}

/**
 * A Lua 5.4 token scanner over a source string that allocates nothing per token: the current
 * token is its kind and its [start, end) offsets, compared in place with `is`. It knows what
 * the type-annotation reader needs: names, numbers, short and long strings, comments (skipped)
 * and symbols, with Lua's multi-character ones (`...`, `..`, `::`, `==`, `~=`, `<=`, `>=`,
 * `//`, `<<`, `>>`) as one token. Text Lua rejects (an unclosed string) still scans; the
 * compiler reports it.
 */
export enum Token {
  end = 0,
  name = 1,
  number = 2,
  string = 3,
  symbol = 4,
}

const TWO_CHARACTER_SYMBOLS = ['..', '::', '==', '~=', '<=', '>=', '//', '<<', '>>'];

export class LuaScanner {
  kind: Token = Token.end;
  start = 0;
  end = 0;

  constructor(readonly text: string) {
    this.next();
  }

  /** Moves to the token after the current one. */
  next(): void {
    this.scanFrom(this.end);
  }

  /** Makes the token starting at `offset` current (for looking ahead and going back). */
  resetTo(offset: number): void {
    this.scanFrom(offset);
  }

  /** Whether the current token is exactly `text` (a name, keyword or symbol). */
  is(text: string): boolean {
    return (
      this.end - this.start === text.length &&
      (this.kind === Token.name || this.kind === Token.symbol) &&
      this.text.startsWith(text, this.start)
    );
  }

  /** The current token's text (for messages only). */
  get tokenText(): string {
    return this.text.slice(this.start, this.end);
  }

  /** Whether a line break lies between `offset` and the current token. */
  lineBreakSince(offset: number): boolean {
    const found = this.text.indexOf('\n', offset);
    return found >= 0 && found < this.start;
  }

  private scanFrom(offset: number): void {
    const { text } = this;
    let at = this.skipSpaceAndComments(offset);
    this.start = at;
    if (at >= text.length) {
      this.kind = Token.end;
      this.end = at;
      return;
    }
    const c = text.charCodeAt(at);
    if (isNameStart(c)) {
      at++;
      while (at < text.length && isNamePart(text.charCodeAt(at))) at++;
      this.kind = Token.name;
    } else if (isDigit(c) || (c === 0x2e /* . */ && isDigit(text.charCodeAt(at + 1)))) {
      at = this.numberEnd(at);
      this.kind = Token.number;
    } else if (c === 0x22 /* " */ || c === 0x27 /* ' */) {
      at = this.quotedEnd(at, c);
      this.kind = Token.string;
    } else if (c === 0x5b /* [ */ && this.longBracketLevel(at) >= 0) {
      at = this.longEnd(at, this.longBracketLevel(at));
      this.kind = Token.string;
    } else {
      this.kind = Token.symbol;
      if (text.startsWith('...', at)) at += 3;
      else at += isTwoCharacterSymbol(text, at) ? 2 : 1;
    }
    this.end = at;
  }

  private skipSpaceAndComments(offset: number): number {
    const { text } = this;
    let at = offset;
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
        at++;
      } else if (c === 0x2d /* - */ && text.charCodeAt(at + 1) === 0x2d) {
        at += 2;
        const level = this.longBracketLevel(at);
        if (level >= 0) at = this.longEnd(at, level);
        else {
          const lineEnd = text.indexOf('\n', at);
          at = lineEnd < 0 ? text.length : lineEnd;
        }
      } else {
        break;
      }
    }
    return at;
  }

  /** `[[` or `[==[` at `at`: its level (number of `=`), else -1. */
  private longBracketLevel(at: number): number {
    const { text } = this;
    if (text.charCodeAt(at) !== 0x5b) return -1;
    let i = at + 1;
    while (text.charCodeAt(i) === 0x3d /* = */) i++;
    return text.charCodeAt(i) === 0x5b ? i - at - 1 : -1;
  }

  private longEnd(at: number, level: number): number {
    const close = `]${'='.repeat(level)}]`;
    const found = this.text.indexOf(close, at + level + 2);
    return found < 0 ? this.text.length : found + close.length;
  }

  /** After a quoted string (or at the end of its line, where Lua rejects it). */
  private quotedEnd(at: number, quote: number): number {
    const { text } = this;
    let i = at + 1;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === quote) return i + 1;
      if (c === 0x0a) return i;
      if (c === 0x5c /* \ */) {
        // `\z` skips the whitespace after it, line breaks included.
        if (text.charCodeAt(i + 1) === 0x7a /* z */) {
          i += 2;
          while (i < text.length && /\s/.test(text[i] as string)) i++;
          continue;
        }
        i += 2;
        continue;
      }
      i++;
    }
    return i;
  }

  /** Decimal or hexadecimal, with fraction and exponent (`3`, `0x1F`, `1.5e-3`, `0x1p4`). */
  private numberEnd(at: number): number {
    const { text } = this;
    const hex = text.charCodeAt(at) === 0x30 && (text[at + 1] === 'x' || text[at + 1] === 'X');
    let i = hex ? at + 2 : at;
    while (i < text.length) {
      const c = text[i] as string;
      const exponent = hex ? c === 'p' || c === 'P' : c === 'e' || c === 'E';
      if (exponent && (text[i + 1] === '+' || text[i + 1] === '-')) i += 2;
      else if (/[0-9A-Za-z_]/.test(c) || (c === '.' && text[i + 1] !== '.')) i++;
      else break;
    }
    return i;
  }
}

function isTwoCharacterSymbol(text: string, at: number): boolean {
  for (const symbol of TWO_CHARACTER_SYMBOLS) if (text.startsWith(symbol, at)) return true;
  return false;
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function isNamePart(c: number): boolean {
  return isNameStart(c) || isDigit(c);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

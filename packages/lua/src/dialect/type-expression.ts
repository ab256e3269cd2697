import { type LuaScanner, Token } from './lua-scanner.js';

/** A malformed type, at an offset of the source; caught by stripTypeAnnotations. */
export class TypeSyntaxFailure {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/**
 * Reads Wippy's type expressions token by token, checking their syntax, and says where each
 * ends; nothing is built. The grammar, loosest first:
 *
 *   type      = ['|'] inter {'|' inter}
 *   inter     = postfix {'&' postfix}
 *   postfix   = ['readonly'] primary {'?' | '[' ']' | '@' Name ['(' balanced ')']}
 *   primary   = Name {'.' Name} ['<' type {',' type} '>'] | 'typeof' '(' balanced ')'
 *             | string | number | '-' number | 'nil' | 'true' | 'false'
 *             | '{' [entry {(',' | ';') entry} [',' | ';']] '}'
 *             | ['<' generics '>'] '(' [param {',' param}] ')' ['->' type]
 *   entry     = '[' type ']' ':' type | Name ['?'] ':' type | type
 *   param     = '...' [[':'] type] | Name ['?'] ':' type | type
 *   generics  = Name [':' type] ['=' type] {',' …}
 */
export class TypeReader {
  /** Whether the type being read is a cast's (see typeArguments). */
  private inCast = false;

  constructor(private readonly s: LuaScanner) {}

  /** Whether the current token can begin a type. */
  startsType(): boolean {
    const { s } = this;
    switch (s.kind) {
      case Token.name:
        return !isKeyword(s) || s.is('nil') || s.is('true') || s.is('false') || s.is('function');
      case Token.number:
      case Token.string:
        return true;
      case Token.symbol:
        return s.is('{') || s.is('(') || s.is('<') || s.is('-') || s.is('|');
      default:
        return false;
    }
  }

  /** Reads the type of a cast (`e as T`, `e :: T`); returns the offset just after it. */
  castType(context: string): number {
    this.inCast = true;
    try {
      return this.type(context);
    } finally {
      this.inCast = false;
    }
  }

  /** Reads a type at the current token; returns the offset just after it. */
  type(context: string): number {
    const { s } = this;
    if (s.is('|')) s.next();
    let end = this.intersection(context);
    while (s.is('|')) {
      s.next();
      end = this.intersection("'|'");
    }
    return end;
  }

  /** Reads `<T, U: Bound, V = Default>` at the current `<`; returns the offset after `>`. */
  genericParameters(): number {
    const { s } = this;
    const open = s.start;
    s.next();
    for (;;) {
      if (s.kind !== Token.name || isKeyword(s)) this.fail('a type parameter name', "'<'");
      s.next();
      if (s.is(':')) {
        s.next();
        this.type("':'");
      }
      if (s.is('=')) {
        s.next();
        this.type("'='");
      }
      if (!s.is(',')) break;
      s.next();
    }
    return this.closeAngle(open);
  }

  private intersection(context: string): number {
    const { s } = this;
    let end = this.postfix(context);
    while (s.is('&')) {
      s.next();
      end = this.postfix("'&'");
    }
    return end;
  }

  private postfix(context: string): number {
    const { s } = this;
    if (s.is('readonly')) {
      const at = s.start;
      s.next();
      // `readonly` alone is a type name; followed by a type it marks that type read-only.
      if (!this.startsType() || s.is('|')) return at + 'readonly'.length;
    }
    let end = this.primary(context);
    for (;;) {
      if (s.is('?')) {
        end = s.end;
        s.next();
      } else if (s.is('[') && this.closesRightAway(']')) {
        end = s.end;
        s.next();
      } else if (s.is('@')) {
        s.next();
        if (s.kind !== Token.name) this.fail('a validator name', "'@'");
        end = s.end;
        s.next();
        if (s.is('(')) end = this.balanced();
      } else {
        return end;
      }
    }
  }

  private primary(context: string): number {
    const { s } = this;
    if (s.kind === Token.string || s.kind === Token.number) return this.take();
    if (s.is('-')) {
      s.next();
      if ((s.kind as Token) !== Token.number) this.fail('a number', "'-'");
      return this.take();
    }
    if (s.is('{')) return this.table();
    if (s.is('(') || s.is('<')) return this.functionOrGroup();
    if (s.kind !== Token.name || !this.startsType()) this.fail('a type', context);
    if (s.is('typeof')) {
      const end = s.end;
      s.next();
      if (!s.is('(')) return end;
      return this.balanced();
    }
    let end = this.take();
    while (s.is('.')) {
      s.next();
      if (s.kind !== Token.name) this.fail('a name', "'.'");
      end = this.take();
    }
    if (s.is('<')) end = this.typeArguments(end);
    return end;
  }

  /**
   * `<T, …>` after a type name; returns the offset after `>`. After a cast's type a `<` may
   * be Lua's comparison (`n as integer < 5`): there, what does not read as type arguments is
   * left as code, and the type ends at `nameEnd`.
   */
  private typeArguments(nameEnd: number): number {
    const { s } = this;
    const open = s.start;
    const read = (): number => {
      s.next();
      this.type("'<'");
      while (s.is(',')) {
        s.next();
        this.type("','");
      }
      return this.closeAngle(open);
    };
    if (!this.inCast) return read();
    try {
      return read();
    } catch (error) {
      if (!(error instanceof TypeSyntaxFailure)) throw error;
      s.resetTo(open);
      return nameEnd;
    }
  }

  /** `{}`, `{T}`, `{[K]: V}`, `{name: T, other?: U}` and mixes of them. */
  private table(): number {
    const { s } = this;
    const open = s.start;
    s.next();
    while (!s.is('}')) {
      if (s.is('[')) {
        s.next();
        this.type("'['");
        this.expect(']', 'the key type');
        this.expect(':', "']'");
        this.type("':'");
      } else if (this.atFieldName()) {
        this.namedType();
      } else {
        this.type("'{'");
      }
      if (s.is(',') || s.is(';')) s.next();
      else if (!s.is('}')) this.fail(`',' or '}' (to close the table type at ${place(s, open)})`);
    }
    return this.take();
  }

  /** `name: T` or `name?: T`, a record field or a named parameter (atFieldName said so). */
  private namedType(): void {
    const { s } = this;
    s.next();
    if (s.is('?')) s.next();
    s.next(); // ':'
    this.type("':'");
  }

  /** `(A, B) -> R`, `<T>(x: T) -> T`, `(A, B)` (a list of returns) or `(T)` (grouping). */
  private functionOrGroup(): number {
    const { s } = this;
    if (s.is('<')) {
      this.genericParameters();
      if (!s.is('(')) this.fail("'(' (the parameters of a generic function type)");
    }
    const open = s.start;
    s.next();
    while (!s.is(')')) {
      if (s.is('...')) {
        s.next();
        if (s.is(':')) {
          s.next();
          this.type("':'");
        } else if (this.startsType() && !s.is('|')) {
          this.type("'...'");
        }
      } else if (this.atFieldName()) {
        this.namedType();
      } else {
        this.type("'('");
      }
      if (s.is(',')) s.next();
      else if (!s.is(')')) this.fail(`',' or ')' (to close the '(' at ${place(s, open)})`);
    }
    let end = this.take();
    if (this.atArrow()) {
      s.resetTo(s.start + 2);
      end = this.type("'->'");
    }
    return end;
  }

  /** A name followed by `:` or `?:` (a field or a named parameter). */
  private atFieldName(): boolean {
    const { s } = this;
    if (s.kind !== Token.name) return false;
    const at = s.start;
    s.next();
    if (s.is('?')) s.next();
    const field = s.is(':');
    s.resetTo(at);
    return field;
  }

  /** At an opening symbol: whether `close` follows it at once (`T[]`); if so it is current. */
  private closesRightAway(close: string): boolean {
    const { s } = this;
    const at = s.start;
    s.next();
    if (s.is(close)) return true;
    s.resetTo(at);
    return false;
  }

  /** `->`: Lua has no such token, so it scans as `-` then `>` (or `>>`, `>=`). */
  private atArrow(): boolean {
    const { s } = this;
    return s.is('-') && s.text.charCodeAt(s.end) === 0x3e;
  }

  /** The `>` closing an angle bracket opened at `open`, also the first half of `>>`. */
  private closeAngle(open: number): number {
    const { s } = this;
    if (s.kind !== Token.symbol || s.text.charCodeAt(s.start) !== 0x3e)
      this.fail(`'>' (to close the '<' at ${place(s, open)})`);
    const end = s.start + 1;
    s.resetTo(end);
    return end;
  }

  /** Skips a parenthesised token run (validator arguments, `typeof(…)`); the offset after it. */
  private balanced(): number {
    const { s } = this;
    const open = s.start;
    let depth = 0;
    for (;;) {
      if (s.kind === Token.end) this.fail(`')' (to close the '(' at ${place(s, open)})`);
      if (s.is('(') || s.is('{') || s.is('[')) depth++;
      else if (s.is(')') || s.is('}') || s.is(']')) depth--;
      const end = s.end;
      s.next();
      if (depth === 0) return end;
    }
  }

  private expect(symbol: string, context: string): void {
    if (!this.s.is(symbol)) this.fail(`'${symbol}'`, context);
    this.s.next();
  }

  /** Consumes the current token; returns the offset after it. */
  private take(): number {
    const end = this.s.end;
    this.s.next();
    return end;
  }

  fail(expected: string, context?: string): never {
    const { s } = this;
    const found = s.kind === Token.end ? 'the end of the source' : `'${s.tokenText}'`;
    const after = context === undefined ? '' : ` after ${context}`;
    throw new TypeSyntaxFailure(s.start, `expected ${expected}${after}, found ${found}`);
  }
}

/** Lua's reserved words by length, compared in place (no slice per name). */
const KEYWORDS_BY_LENGTH: readonly (readonly string[])[] = [
  [],
  [],
  ['do', 'if', 'in', 'or'],
  ['and', 'end', 'for', 'nil', 'not'],
  ['else', 'goto', 'then', 'true'],
  ['break', 'false', 'local', 'until', 'while'],
  ['elseif', 'repeat', 'return'],
  [],
  ['function'],
];

/** Whether the current name token is one of Lua's reserved words. */
export function isKeyword(s: LuaScanner): boolean {
  const words = KEYWORDS_BY_LENGTH[s.end - s.start];
  if (words === undefined) return false;
  for (const word of words) if (s.text.startsWith(word, s.start)) return true;
  return false;
}

/** `line:column` of an offset (both from 1), for messages. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function place(s: LuaScanner, offset: number): string {
  const { line, column } = lineAndColumn(s.text, offset);
  return `${line}:${column}`;
}

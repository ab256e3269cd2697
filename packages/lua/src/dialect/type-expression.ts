import { type LuaScanner, Token } from './lua-scanner.js';
import type { TableField, TypeNode, TypeParameter, Validator } from './type-node.js';

/** A malformed type, at an offset of the source; caught by stripTypeAnnotations. */
export class TypeSyntaxFailure {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/**
 * Reads Wippy's type expressions token by token, checking their syntax, into TypeNodes that
 * say where each ends and what a declaration's value is built from. The grammar, loosest first:
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
      return this.type(context).end;
    } finally {
      this.inCast = false;
    }
  }

  /** Reads a type at the current token. */
  type(context: string): TypeNode {
    const { s } = this;
    if (s.is('|')) s.next();
    const first = this.intersection(context);
    if (!s.is('|')) return first;
    const members = [first];
    while (s.is('|')) {
      s.next();
      members.push(this.intersection("'|'"));
    }
    return { kind: 'union', members, end: (members[members.length - 1] as TypeNode).end };
  }

  /** Reads `<T, U: Bound, V = Default>` at the current `<`; `end` is the offset after `>`. */
  genericParameters(): { parameters: TypeParameter[]; end: number } {
    const { s } = this;
    const open = s.start;
    const parameters: TypeParameter[] = [];
    s.next();
    for (;;) {
      if (s.kind !== Token.name || isKeyword(s)) this.fail('a type parameter name', "'<'");
      const name = s.tokenText;
      let fallback: TypeNode | undefined;
      s.next();
      if (s.is(':')) {
        s.next();
        this.type("':'");
      }
      if (s.is('=')) {
        s.next();
        fallback = this.type("'='");
      }
      parameters.push({ name, default: fallback });
      if (!s.is(',')) break;
      s.next();
    }
    return { parameters, end: this.closeAngle(open) };
  }

  private intersection(context: string): TypeNode {
    const { s } = this;
    const first = this.postfix(context);
    if (!s.is('&')) return first;
    const members = [first];
    while (s.is('&')) {
      s.next();
      members.push(this.postfix("'&'"));
    }
    return { kind: 'intersection', members, end: (members[members.length - 1] as TypeNode).end };
  }

  private postfix(context: string): TypeNode {
    const { s } = this;
    if (s.is('readonly')) {
      const at = s.start;
      s.next();
      // `readonly` alone is a type name; followed by a type it marks that type read-only.
      if (!this.startsType() || s.is('|')) {
        const end = at + 'readonly'.length;
        return { kind: 'name', path: ['readonly'], args: [], at, end };
      }
      const inner = this.postfix(context);
      return { kind: 'readonly', inner, end: inner.end };
    }
    let node = this.primary(context);
    // Validators apply to what precedes them: `number @min(0)?` is an optional bounded number.
    let validators: Validator[] = [];
    const withValidators = (): TypeNode => {
      if (validators.length === 0) return node;
      const inner = node;
      node = { kind: 'validated', inner, validators, end: inner.end };
      validators = [];
      return node;
    };
    for (;;) {
      if (s.is('?')) {
        node = { kind: 'optional', inner: withValidators(), end: s.end };
        s.next();
      } else if (s.is('[') && this.closesRightAway(']')) {
        node = { kind: 'array', element: withValidators(), end: s.end };
        s.next();
      } else if (s.is('@')) {
        node = this.validator(node, validators);
      } else {
        return withValidators();
      }
    }
  }

  /** `@name` or `@name(…)` after `node`; returns `node` with its end moved past it. */
  private validator(node: TypeNode, validators: Validator[]): TypeNode {
    const { s } = this;
    const at = s.start;
    s.next();
    if (s.kind !== Token.name) this.fail('a validator name', "'@'");
    const name = s.tokenText;
    let end = s.end;
    let args = '';
    s.next();
    if (s.is('(')) {
      const open = s.end;
      end = this.balanced();
      args = s.text.slice(open, end - 1);
    }
    validators.push({ name, args, at });
    return { ...node, end };
  }

  private primary(context: string): TypeNode {
    const { s } = this;
    if (s.kind === Token.string || s.kind === Token.number) {
      const text = s.tokenText;
      return { kind: 'literal', text, end: this.take() };
    }
    if (s.is('-')) {
      s.next();
      if ((s.kind as Token) !== Token.number) this.fail('a number', "'-'");
      const text = `-${s.tokenText}`;
      return { kind: 'literal', text, end: this.take() };
    }
    if (s.is('{')) return this.table();
    if (s.is('(') || s.is('<')) return this.functionOrGroup();
    if (s.kind !== Token.name || !this.startsType()) this.fail('a type', context);
    if (s.is('nil') || s.is('true') || s.is('false')) {
      const text = s.tokenText;
      return { kind: 'literal', text, end: this.take() };
    }
    const at = s.start;
    if (s.is('typeof')) {
      const end = s.end;
      s.next();
      if (!s.is('(')) return { kind: 'name', path: ['typeof'], args: [], at, end };
      const open = s.end;
      const close = this.balanced();
      const text = s.text.slice(open, close - 1).trim();
      const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? text : undefined;
      return { kind: 'typeof', name, text, at, end: close };
    }
    const path = [s.tokenText];
    let end = this.take();
    while (s.is('.')) {
      s.next();
      if (s.kind !== Token.name) this.fail('a name', "'.'");
      path.push(s.tokenText);
      end = this.take();
    }
    if (!s.is('<')) return { kind: 'name', path, args: [], at, end };
    const args: TypeNode[] = [];
    end = this.typeArguments(end, args);
    return { kind: 'name', path, args, at, end };
  }

  /**
   * `<T, …>` after a type name, read into `args`; returns the offset after `>`. After a cast's
   * type a `<` may be Lua's comparison (`n as integer < 5`): there, what does not read as type
   * arguments is left as code, and the type ends at `nameEnd`.
   */
  private typeArguments(nameEnd: number, args: TypeNode[]): number {
    const { s } = this;
    const open = s.start;
    const read = (): number => {
      s.next();
      args.push(this.type("'<'"));
      while (s.is(',')) {
        s.next();
        args.push(this.type("','"));
      }
      return this.closeAngle(open);
    };
    if (!this.inCast) return read();
    try {
      return read();
    } catch (error) {
      if (!(error instanceof TypeSyntaxFailure)) throw error;
      s.resetTo(open);
      args.length = 0;
      return nameEnd;
    }
  }

  /** `{}`, `{T}`, `{[K]: V}`, `{name: T, other?: U}` and mixes of them. */
  private table(): TypeNode {
    const { s } = this;
    const open = s.start;
    const fields: TableField[] = [];
    const indexers: { key: TypeNode; value: TypeNode }[] = [];
    const elements: TypeNode[] = [];
    s.next();
    while (!s.is('}')) {
      if (s.is('[')) {
        s.next();
        const key = this.type("'['");
        this.expect(']', 'the key type');
        this.expect(':', "']'");
        indexers.push({ key, value: this.type("':'") });
      } else if (this.atFieldName()) {
        fields.push(this.namedType());
      } else {
        elements.push(this.type("'{'"));
      }
      if (s.is(',') || s.is(';')) s.next();
      else if (!s.is('}')) this.fail(`',' or '}' (to close the table type at ${place(s, open)})`);
    }
    return { kind: 'table', fields, indexers, elements, end: this.take() };
  }

  /** `name: T` or `name?: T`, a record field or a named parameter (atFieldName said so). */
  private namedType(): TableField {
    const { s } = this;
    const name = s.tokenText;
    s.next();
    const optional = s.is('?');
    if (optional) s.next();
    s.next(); // ':'
    return { name, optional, type: this.type("':'") };
  }

  /** `(A, B) -> R`, `<T>(x: T) -> T`, `(A, B)` (a list of returns) or `(T)` (grouping). */
  private functionOrGroup(): TypeNode {
    const { s } = this;
    const generic = s.is('<');
    if (generic) {
      this.genericParameters();
      if (!s.is('(')) this.fail("'(' (the parameters of a generic function type)");
    }
    const open = s.start;
    const items: TypeNode[] = [];
    let named = false;
    s.next();
    while (!s.is(')')) {
      if (s.is('...')) {
        named = true;
        s.next();
        if (s.is(':')) {
          s.next();
          this.type("':'");
        } else if (this.startsType() && !s.is('|')) {
          this.type("'...'");
        }
      } else if (this.atFieldName()) {
        named = true;
        this.namedType();
      } else {
        items.push(this.type("'('"));
      }
      if (s.is(',')) s.next();
      else if (!s.is(')')) this.fail(`',' or ')' (to close the '(' at ${place(s, open)})`);
    }
    const end = this.take();
    if (this.atArrow()) {
      s.resetTo(s.start + 2);
      return { kind: 'function', end: this.type("'->'").end };
    }
    if (generic || named) return { kind: 'function', end };
    if (items.length === 1) return { ...(items[0] as TypeNode), end };
    return { kind: 'list', end };
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

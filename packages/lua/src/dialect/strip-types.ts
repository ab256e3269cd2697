import { LuaScanner, Token } from './lua-scanner.js';
import { isKeyword, lineAndColumn, TypeReader, TypeSyntaxFailure } from './type-expression.js';
import { declarationLua, SCOPE_PRELUDE, type TypeDeclaration } from './type-lua.js';
import type { TypeNode } from './type-node.js';

/** A malformed type annotation: where (line and column from 1) and what was expected. */
export interface TypeAnnotationError {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export type StrippedSource =
  | { readonly ok: true; readonly source: string }
  | { readonly ok: false; readonly error: TypeAnnotationError };

/**
 * Wippy's typed Lua as plain Lua: type annotations are checked for syntax and blanked out,
 * every other character left where it was (whitespace inside an annotation is kept, everything
 * else becomes as many spaces as its UTF-8 bytes), so Lua's line numbers and byte columns stay
 * those of the typed file. Blanked: `: T` after parameters, `local`/`for` names and a function's
 * parameter list (returns, also `: T, U`), `?` of an optional parameter, `<T, …>` after a
 * function's name or `function`, casts `e :: T` and `e as T` (`as` on the line of `e`), and the
 * non-nil assertion `e!`. A `type X = T` or `export type X = T` statement becomes a local `X`
 * holding the type's value (type-lua.ts), written on the statement's first line: the lines
 * after it do not move. Lua's own `:` (`a:b()`, `function a:b()`), `::labels::`, strings and
 * comments are never touched. Source without annotations is returned as it is (the same string).
 */
export function stripTypeAnnotations(source: string): StrippedSource {
  try {
    const edits = new AnnotationFinder(source).find();
    return { ok: true, source: edits.length === 0 ? source : applyEdits(source, edits) };
  } catch (error) {
    if (!(error instanceof TypeSyntaxFailure)) throw error;
    const { line, column } = lineAndColumn(source, error.offset);
    return { ok: false, error: { line, column, message: `type annotation: ${error.message}` } };
  }
}

/** What the token before the current one lets follow. */
enum Previous {
  /** An expression ends there (a name, literal, `)`, `]`, `}`): a cast or `!` may follow. */
  operand = 0,
  /** A statement may begin next (start of source, `end`, `do`, `then`, `;`, a label). */
  boundary = 1,
  /** An operand must follow (an operator, `(`, `,`, `=`, `return`, `local`, …). */
  operator = 2,
}

/** Keywords after which a statement (so a `type` declaration) may begin. */
const BOUNDARY_KEYWORDS = ['end', 'do', 'then', 'else', 'repeat', 'break'];

/** A range of the source to blank, or to replace with `lua` (in front of the blanks). */
interface Edit {
  readonly start: number;
  readonly end: number;
  lua?: string;
}

/** A type declaration found, with what its Lua is made from. */
interface Declared {
  readonly edit: Edit;
  readonly declaration: TypeDeclaration;
  readonly annotatedLocals: ReadonlyMap<string, TypeNode>;
  /** The plain names its type refers to. */
  readonly names: ReadonlySet<string>;
}

class AnnotationFinder {
  private readonly s: LuaScanner;
  private readonly types: TypeReader;
  /** The ranges to change, in source order. */
  private readonly edits: Edit[] = [];
  /** The annotated type of each local seen so far, by name (for `typeof(name)`). */
  private readonly annotatedLocals = new Map<string, TypeNode>();
  private readonly declared: Declared[] = [];
  private previous = Previous.boundary;
  private previousEnd = 0;

  constructor(text: string) {
    this.s = new LuaScanner(text);
    this.types = new TypeReader(this.s);
  }

  find(): Edit[] {
    const { s } = this;
    while (s.kind !== Token.end) {
      if (s.kind === Token.name) this.atName();
      else if (s.kind === Token.symbol) this.atSymbol();
      else this.pass(Previous.operand);
    }
    this.readLaterDeclarations();
    return this.edits;
  }

  /**
   * When a declaration uses a type declared further down (in Lua, not yet a variable there),
   * every declaration is made again to also keep its type in a scope table the chunk opens
   * with, and such uses read the type from it when a value is checked.
   */
  private readLaterDeclarations(): void {
    const { declared } = this;
    const all = new Set(declared.map((d) => d.declaration.name));
    const earlier = new Set<string>();
    const later = declared.map((d) => {
      const names = new Set([...d.names].filter((n) => all.has(n) && !earlier.has(n)));
      earlier.add(d.declaration.name);
      return names;
    });
    if (later.every((names) => names.size === 0)) return;
    declared.forEach((d, i) => {
      const context = { annotatedLocals: d.annotatedLocals, later: later[i] as Set<string> };
      d.edit.lua = declarationLua(d.declaration, context).lua;
    });
    this.edits.unshift({ start: 0, end: 0, lua: SCOPE_PRELUDE });
  }

  private atName(): void {
    const { s } = this;
    if (s.is('function')) this.functionHead();
    else if (s.is('local')) this.local();
    else if (s.is('for')) this.forNames();
    else if (!this.declarationOrCast()) this.pass(this.nameClass());
  }

  /** A `type`/`export type` declaration where a statement may begin, or an `as` cast. */
  private declarationOrCast(): boolean {
    const { s } = this;
    if (s.is('type') || s.is('export'))
      return this.previous !== Previous.operator && this.typeDeclaration();
    return s.is('as') && this.previous === Previous.operand && this.cast();
  }

  /** What a name token lets follow: an operand ends at a variable or literal keyword. */
  private nameClass(): Previous {
    const { s } = this;
    if (!isKeyword(s) || s.is('nil') || s.is('true') || s.is('false')) return Previous.operand;
    for (const word of BOUNDARY_KEYWORDS) if (s.is(word)) return Previous.boundary;
    return Previous.operator;
  }

  private atSymbol(): void {
    const { s } = this;
    if (s.is('::')) {
      if (this.previous === Previous.operand && !this.atLabel()) {
        const start = s.start;
        s.next();
        this.previousEnd = this.types.castType("'::'");
        this.blank(start, this.previousEnd);
        this.previous = Previous.operand;
      } else {
        this.skipLabel();
      }
    } else if (s.is('!') && this.previous === Previous.operand && s.text[s.end] !== '=') {
      this.blank(s.start, s.end);
      this.pass(Previous.operand);
    } else if (s.is(')') || s.is(']') || s.is('}') || s.is('...')) {
      this.pass(Previous.operand);
    } else {
      this.pass(s.is(';') ? Previous.boundary : Previous.operator);
    }
  }

  /** `function [name {'.' name} [':' name]] ['<' generics '>'] '(' params ')' [':' returns]`. */
  private functionHead(): void {
    const { s } = this;
    s.next();
    let complete = this.functionName();
    if (complete && s.is('<')) this.blank(s.start, this.types.genericParameters().end);
    complete &&= this.parameters();
    if (complete && s.is(':')) this.returnTypes();
    // Anything else is not a function Lua takes either: the compiler reports it.
    this.resume(complete ? Previous.boundary : Previous.operand);
  }

  /** Skips `name {'.' name} [':' name]` if there; false when it is cut short. */
  private functionName(): boolean {
    const { s } = this;
    if (s.kind !== Token.name || isKeyword(s)) return true;
    s.next();
    while (s.is('.') || s.is(':')) {
      s.next();
      if (s.kind !== Token.name) return false;
      s.next();
    }
    return true;
  }

  /** `(name [?][: type], …, ...[: type])`, types blanked; false when it is no parameter list. */
  private parameters(): boolean {
    const { s } = this;
    if (!s.is('(')) return false;
    s.next();
    while (!s.is(')')) {
      if (s.kind !== Token.name && !s.is('...')) return false;
      s.next();
      if (s.is('?')) {
        const start = s.start;
        s.next();
        if (!s.is(':')) this.types.fail("':' and a type", "'?'");
        this.blankType(start, "':'");
      } else if (s.is(':')) {
        this.blankType(s.start, "':'");
      }
      if (s.is(',')) s.next();
      else if (!s.is(')')) return false;
    }
    s.next();
    return true;
  }

  /** `: T`, `: (T, U)` or `: T, U` after a parameter list. */
  private returnTypes(): void {
    const { s } = this;
    const start = s.start;
    let end = this.typeAfter("':'").end;
    while (s.is(',')) {
      s.next();
      end = this.types.type("','").end;
    }
    this.blank(start, end);
  }

  /** `local name [<attrib>] [':' type] {',' …}`, or `local function`. */
  private local(): void {
    const { s } = this;
    s.next();
    if (s.is('function')) this.functionHead();
    else this.names(true);
  }

  /** `for name [':' type] {',' …}` before `=` or `in`. */
  private forNames(): void {
    this.s.next();
    this.names(false);
  }

  private names(attributes: boolean): void {
    const { s } = this;
    while (s.kind === Token.name && !isKeyword(s)) {
      const name = s.tokenText;
      s.next();
      if (attributes && s.is('<')) {
        s.next();
        if (s.kind === Token.name) s.next();
        if (s.is('>')) s.next();
      }
      if (s.is(':')) {
        const start = s.start;
        const type = this.typeAfter("':'");
        this.blank(start, type.end);
        this.annotatedLocals.set(name, type);
      }
      if (!s.is(',')) break;
      s.next();
    }
    this.resume(Previous.operand);
  }

  /**
   * `[export] type Name ['<' generics '>'] '=' type` where a statement may begin: replaced by
   * the Lua that makes `Name` the type's value.
   */
  private typeDeclaration(): boolean {
    const { s } = this;
    const start = s.start;
    if (s.is('export')) {
      s.next();
      if (!s.is('type')) return this.back(start);
    }
    s.next();
    if (s.kind !== Token.name || isKeyword(s)) return this.back(start);
    const name = s.tokenText;
    s.next();
    // `type X` followed by anything else is Lua (`type` used as a name), left to the compiler.
    if (!s.is('=') && !s.is('<')) return this.back(start);
    const parameters = s.is('<') ? this.types.genericParameters().parameters : [];
    if (!s.is('=')) this.types.fail("'='", 'the type parameters');
    const type = this.typeAfter("'='");
    const declaration = { name, parameters, type };
    const annotatedLocals = new Map(this.annotatedLocals);
    const { lua, names } = declarationLua(declaration, { annotatedLocals });
    const edit: Edit = { start, end: type.end, lua };
    this.edits.push(edit);
    this.declared.push({ edit, declaration, annotatedLocals, names });
    this.previousEnd = type.end;
    this.previous = Previous.boundary;
    return true;
  }

  /** `e as T`, only with `as` on the line where `e` ends and a type after it. */
  private cast(): boolean {
    const { s } = this;
    const start = s.start;
    if (s.lineBreakSince(this.previousEnd)) return false;
    s.next();
    if (!this.types.startsType() || s.is('|') || s.is('-') || s.is('<')) return this.back(start);
    this.previousEnd = this.types.castType("'as'");
    this.blank(start, this.previousEnd);
    this.previous = Previous.operand;
    return true;
  }

  /** At `::`: whether `::name::` (a label) follows. */
  private atLabel(): boolean {
    const { s } = this;
    const at = s.start;
    s.next();
    let label = false;
    if (s.kind === Token.name) {
      s.next();
      label = s.is('::');
    }
    s.resetTo(at);
    return label;
  }

  private skipLabel(): void {
    const { s } = this;
    s.next();
    if (s.kind === Token.name) s.next();
    if (s.is('::')) s.next();
    this.previous = Previous.boundary;
    this.previousEnd = s.start;
  }

  /** Blanks from `start` through the type after the current token (`:`, `::`, `=`). */
  private blankType(start: number, context: string): void {
    this.blank(start, this.typeAfter(context).end);
  }

  private typeAfter(context: string): TypeNode {
    this.s.next();
    return this.types.type(context);
  }

  private blank(start: number, end: number): void {
    this.edits.push({ start, end });
  }

  private pass(next: Previous): void {
    this.previous = next;
    this.previousEnd = this.s.end;
    this.s.next();
  }

  /** Goes on scanning from the current token, which was not consumed. */
  private resume(previous: Previous): void {
    this.previous = previous;
    this.previousEnd = this.s.start;
  }

  private back(start: number): false {
    this.s.resetTo(start);
    return false;
  }
}

/**
 * `source` with its edits made: a blanked range becomes spaces, keeping whitespace and byte
 * offsets; a replaced one becomes its Lua, then the range's line breaks, and spaces for what
 * it spans of its last line (so what follows it there keeps its column).
 */
function applyEdits(source: string, edits: readonly Edit[]): string {
  const parts: string[] = [];
  let copied = 0;
  for (const { start, end, lua } of edits) {
    parts.push(source.slice(copied, start));
    let spaces = '';
    let blankFrom = start;
    if (lua !== undefined) {
      parts.push(lua);
      const lastBreak = source.lastIndexOf('\n', end - 1);
      blankFrom = lastBreak < start ? end : lastBreak + 1;
      spaces = source.slice(start, blankFrom).replace(/[^\n]/g, '');
    }
    for (let at = blankFrom; at < end; at++) {
      const c = source.charCodeAt(at);
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) spaces += source[at];
      else if (c < 0x80) spaces += ' ';
      else if (c < 0x800) spaces += '  ';
      else if (c >= 0xd800 && c <= 0xdbff) {
        spaces += '    ';
        at++;
      } else spaces += '   ';
    }
    parts.push(spaces);
    copied = end;
  }
  parts.push(source.slice(copied));
  return parts.join('');
}

import { TypeSyntaxFailure } from './type-expression.js';
import type { TypeNode, TypeParameter } from './type-node.js';

/**
 * The global through which a declaration's Lua reaches the type constructors (kernel/types.lua):
 * every entry's environment has it, read-only.
 */
export const TYPES_GLOBAL = '__luact_types';

/**
 * A chunk whose declarations use a type declared further down gets this local first (on its
 * first line): every declaration also stores its type there, and a use before the
 * declaration reads it from there when a value is checked.
 */
export const SCOPE_LOCAL = '__luact_scope';

/** The Lua that opens a chunk needing SCOPE_LOCAL. */
export const SCOPE_PRELUDE = `local ${SCOPE_LOCAL} = {}; `;

/** A local inside the emitted `do … end`, short so the emitted line stays readable. */
const T = '__t';

/** The type names Lua values are checked against directly (kernel/types.lua has them all). */
const BUILTIN_TYPES: ReadonlySet<string> = new Set([
  'any',
  'unknown',
  'never',
  'boolean',
  'number',
  'integer',
  'string',
  'table',
  'function',
  'userdata',
  'thread',
  'error',
]);

/** Validators a declared type may carry; each takes one argument. */
const VALIDATORS: ReadonlySet<string> = new Set(['min', 'max', 'min_len', 'max_len', 'pattern']);

export interface TypeDeclaration {
  readonly name: string;
  readonly parameters: readonly TypeParameter[];
  readonly type: TypeNode;
}

export interface DeclarationContext {
  /** The annotated type of each local declared before, by name, for `typeof(name)`. */
  readonly annotatedLocals: ReadonlyMap<string, TypeNode>;
  /**
   * With a scope (SCOPE_LOCAL): the names of types declared further down, read from it when
   * a value is checked; without, the chunk has no scope.
   */
  readonly later?: ReadonlySet<string>;
}

/**
 * The Lua statement a `type Name = …` declaration becomes: a local `Name` holding the type's
 * value, built by the kernel's constructors. One line, so the lines after it do not move.
 * `names` are the plain names (not parameters, built-ins or itself) the type refers to.
 * A validator the runtime does not know is refused here, at its offset.
 */
export function declarationLua(
  declaration: TypeDeclaration,
  context: DeclarationContext,
): { lua: string; names: ReadonlySet<string> } {
  const { name, parameters } = declaration;
  const emitter = new Emitter(name, new Set(parameters.map((p) => p.name)), context);
  const body = emitter.emit(declaration.type);
  let value: string;
  if (parameters.length === 0) {
    value = `${T}.define(${quote(name)}, ${body})`;
  } else {
    const names = parameters.map((p) => p.name);
    const defaults = parameters.map((p) => (p.default ? emitter.emit(p.default) : 'nil'));
    value =
      `${T}.generic(${quote(name)}, ${names.length}, {${defaults.join(', ')}}, ` +
      `function(${names.join(', ')}) return ${body} end)`;
  }
  const kept = context.later === undefined ? '' : ` ${SCOPE_LOCAL}.${name} = ${name}`;
  const lua = `local ${name}; do local ${T} = ${TYPES_GLOBAL}; ${name} = ${value}${kept} end`;
  return { lua, names: emitter.names };
}

class Emitter {
  readonly names = new Set<string>();

  constructor(
    private readonly declared: string,
    private readonly parameters: ReadonlySet<string>,
    private readonly context: DeclarationContext,
  ) {}

  emit(node: TypeNode): string {
    switch (node.kind) {
      case 'name':
        return this.name(node.path, node.args);
      case 'literal':
        return `${T}.literal(${node.text})`;
      case 'table': {
        const fields = node.fields.map(
          (f) => `{${quote(f.name)}, ${this.emit(f.type)}, ${f.optional}}`,
        );
        const indexers = node.indexers.map((i) => `{${this.emit(i.key)}, ${this.emit(i.value)}}`);
        const element = this.element(node.elements);
        return `${T}.table({${fields.join(', ')}}, {${indexers.join(', ')}}, ${element})`;
      }
      case 'function':
        return `${T}.builtin["function"]`;
      case 'list':
        return `${T}.builtin.any`;
      case 'optional':
        return `${T}.optional(${this.emit(node.inner)})`;
      case 'array':
        return `${T}.table({}, {}, ${this.emit(node.element)})`;
      case 'union':
        return `${T}.union({${node.members.map((m) => this.emit(m)).join(', ')}})`;
      case 'intersection':
        return `${T}.intersection({${node.members.map((m) => this.emit(m)).join(', ')}})`;
      case 'readonly':
        // Read-only is the checker's business: at run time the value is checked as the type.
        return this.emit(node.inner);
      case 'typeof': {
        const annotated =
          node.name === undefined ? undefined : this.context.annotatedLocals.get(node.name);
        if (annotated !== undefined) return this.emit(annotated);
        return `${T}.unresolved(${quote(`typeof(${node.text})`)})`;
      }
      case 'validated': {
        const validators = node.validators.map((v) => {
          if (!VALIDATORS.has(v.name)) {
            throw new TypeSyntaxFailure(
              v.at,
              `unknown validator @${v.name} (known: @min, @max, @min_len, @max_len, @pattern)`,
            );
          }
          if (v.args.trim() === '') {
            throw new TypeSyntaxFailure(v.at, `validator @${v.name} needs an argument`);
          }
          return `{${quote(v.name)}, ${v.args.replace(/\r?\n/g, ' ')}}`;
        });
        return `${T}.validated(${this.emit(node.inner)}, {${validators.join(', ')}})`;
      }
      default: {
        const unknown: never = node;
        throw new Error(`unknown type node ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** Positional entries of a table type: its elements' type (several make a union). */
  private element(elements: readonly TypeNode[]): string {
    if (elements.length === 0) return 'nil';
    if (elements.length === 1) return this.emit(elements[0] as TypeNode);
    return `${T}.union({${elements.map((e) => this.emit(e)).join(', ')}})`;
  }

  /**
   * A named type: a type parameter, a built-in type, the type being declared (read when a
   * value is checked, so a type may contain itself), or a Lua variable (a local type, a field
   * of a library: `inner.Inner`) read when the declaration runs.
   */
  private name(path: readonly string[], args: readonly TypeNode[]): string {
    const [root, ...fields] = path as [string, ...string[]];
    let value: string;
    if (fields.length === 0 && this.parameters.has(root)) value = root;
    else if (fields.length === 0 && BUILTIN_TYPES.has(root)) value = `${T}.builtin[${quote(root)}]`;
    else if (fields.length === 0 && root === this.declared)
      value = `${T}.itself(${quote(root)}, function() return ${root} end)`;
    else {
      if (fields.length === 0) this.names.add(root);
      value = this.context.later?.has(root)
        ? `${T}.later(${quote(root)}, ${SCOPE_LOCAL})`
        : `${T}.ref(${[quote(path.join('.')), root, ...fields.map(quote)].join(', ')})`;
    }
    if (args.length === 0) return value;
    return `${T}.apply(${value}, {${args.map((a) => this.emit(a)).join(', ')}})`;
  }
}

/** `text` as a Lua string literal. */
function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}

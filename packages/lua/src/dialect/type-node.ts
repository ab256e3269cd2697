/**
 * A type expression as the reader found it: what a `type X = …` declaration needs to become
 * a value at run time. Offsets (`at`) point into the source, for errors; `end` is the offset
 * just after the node's last token.
 */
export type TypeNode =
  /** `number`, `tree.Node`, `Box<string>`: a path of names, maybe with type arguments. */
  | {
      readonly kind: 'name';
      readonly path: readonly string[];
      readonly args: readonly TypeNode[];
      readonly at: number;
      readonly end: number;
    }
  /** `"pending"`, `42`, `-1`, `true`, `nil`: `text` is the literal as Lua source. */
  | { readonly kind: 'literal'; readonly text: string; readonly end: number }
  /** `{T}`, `{[K]: V}`, `{name: T, other?: U}` and mixes of them. */
  | {
      readonly kind: 'table';
      readonly fields: readonly TableField[];
      readonly indexers: readonly { readonly key: TypeNode; readonly value: TypeNode }[];
      readonly elements: readonly TypeNode[];
      readonly end: number;
    }
  /** `(A) -> R`: at run time only "a function" is checked. */
  | { readonly kind: 'function'; readonly end: number }
  /** `(A, B)` without an arrow: a list of returns, nothing to check a value against. */
  | { readonly kind: 'list'; readonly end: number }
  | { readonly kind: 'optional'; readonly inner: TypeNode; readonly end: number }
  /** `T[]`. */
  | { readonly kind: 'array'; readonly element: TypeNode; readonly end: number }
  | { readonly kind: 'union'; readonly members: readonly TypeNode[]; readonly end: number }
  | { readonly kind: 'intersection'; readonly members: readonly TypeNode[]; readonly end: number }
  | { readonly kind: 'readonly'; readonly inner: TypeNode; readonly end: number }
  /** `typeof(expression)`: `name` when the expression is a single name. */
  | {
      readonly kind: 'typeof';
      readonly name: string | undefined;
      readonly text: string;
      readonly at: number;
      readonly end: number;
    }
  /** `T @min(0) @pattern("…")`. */
  | {
      readonly kind: 'validated';
      readonly inner: TypeNode;
      readonly validators: readonly Validator[];
      readonly end: number;
    };

export interface TableField {
  readonly name: string;
  readonly optional: boolean;
  readonly type: TypeNode;
}

/** `@name(arguments)`: `args` is the text between the parentheses ('' without them). */
export interface Validator {
  readonly name: string;
  readonly args: string;
  readonly at: number;
}

/** `<T, U = Default>` of a generic declaration: names and defaults (bounds are not kept). */
export interface TypeParameter {
  readonly name: string;
  readonly default: TypeNode | undefined;
}

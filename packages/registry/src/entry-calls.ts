import { type LuaComment, type LuaToken, lexLua } from './lua-tokens.js';

/** What a call does with the entry it names, which decides the kinds that entry may be. */
export type EntryCallKind = 'function' | 'spawn' | 'workflow' | 'upgrade';

/** A string literal in a script, where it starts. */
export interface LiteralAt {
  readonly value: string;
  readonly line: number;
  readonly column: number;
}

/** A call in a script that names an entry with a string literal, e.g. `funcs.call("app:x", …)`. */
export interface EntryCall {
  readonly kind: EntryCallKind;
  /** The call as the script writes it: `funcs.call`, `f.async`, `process.with_name(…):exec`. */
  readonly call: string;
  readonly entry: LiteralAt;
  /** The host argument of a spawn or exec, when it is a literal too. */
  readonly host?: LiteralAt;
}

const IGNORE = /(^|\s)luact:ignore(\s|$)/;
const SPAWNS = new Set(['spawn', 'spawn_monitored', 'spawn_linked', 'spawn_linked_monitored']);
/** Methods of spawners and executors that return another one (their arguments do not matter). */
const SPAWNER_SETTINGS = new Set(['with_context', 'with_options', 'with_name', 'with_message']);
const EXECUTOR_SETTINGS = new Set(['with_context', 'with_options']);

type Receiver = 'funcs' | 'process' | 'workflow' | 'executor' | 'spawner';

/**
 * The calls of a Lua source that name an entry with a literal first argument:
 * `funcs.call/async` (also on `funcs.new()` executors built in the same expression),
 * `process.spawn*`, `process.exec` (also on `process.with_*` spawners built in the same
 * expression), `process.upgrade` and `workflow.exec`. The `funcs` and `workflow` modules are
 * found where the script binds them (`local f = require("funcs")`) or calls `require` in the
 * expression itself. An ID made at run time (a variable, a concatenation) is not a literal and
 * is left out; so are executors and spawners kept in variables.
 */
export function literalEntryCalls(source: string): EntryCall[] {
  const { tokens, comments } = lexLua(source);
  const modules = moduleAliases(tokens);
  const ignored = ignoredLines(comments);
  const calls: EntryCall[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const start = receiverAt(tokens, i, modules);
    if (start === undefined) continue;
    const call = followChain(tokens, start.next, start.receiver, start.label);
    if (call && !ignored.has(call.entry.line)) calls.push(call);
  }
  return calls;
}

/**
 * Lines whose calls are not checked: those with a `-- luact:ignore` comment after code, or
 * right below a line holding only that comment (code that names a missing entry on purpose,
 * such as a test of the error).
 */
function ignoredLines(comments: readonly LuaComment[]): Set<number> {
  const lines = new Set<number>();
  for (const comment of comments) {
    if (!IGNORE.test(comment.text)) continue;
    lines.add(comment.afterCode ? comment.line : comment.line + 1);
  }
  return lines;
}

/** Names bound to `require("funcs")` or `require("workflow")`: `local f = require "funcs"`. */
function moduleAliases(tokens: readonly LuaToken[]): Map<string, Receiver> {
  const aliases = new Map<string, Receiver>();
  for (let i = 0; i + 2 < tokens.length; i++) {
    const name = tokens[i] as LuaToken;
    const assign = assignmentAfter(tokens, i);
    if (name.type !== 'name' || assign === undefined || isField(tokens, i)) continue;
    const required = requiredModule(tokens, assign + 1);
    if (required) aliases.set(name.text, required.module);
  }
  return aliases;
}

/**
 * The `=` after the name at `i`: the next token, or in typed Lua (Wippy's dialect) the one after
 * the name's annotation, `local f: T = …` (a single name: with several the values would have to
 * be paired up).
 */
function assignmentAfter(tokens: readonly LuaToken[], i: number): number | undefined {
  if (isSymbol(tokens[i + 1], '=')) return i + 1;
  if (!isSymbol(tokens[i + 1], ':') || !isName(tokens[i - 1], 'local')) return undefined;
  let depth = 0;
  for (let j = i + 2; j < tokens.length; j++) {
    const token = tokens[j] as LuaToken;
    if (token.type !== 'symbol') continue;
    if ('({['.includes(token.text)) depth++;
    else if (')}]'.includes(token.text)) depth--;
    else if (depth === 0 && token.text === '=') return j;
    else if (depth === 0 && token.text === ',') return undefined;
  }
  return undefined;
}

/** `require("funcs")`, `require "funcs"` and the like at `i`: the module and the next token. */
function requiredModule(
  tokens: readonly LuaToken[],
  i: number,
): { module: 'funcs' | 'workflow'; next: number } | undefined {
  if (!isName(tokens[i], 'require') || isField(tokens, i)) return undefined;
  const parenthesized = isSymbol(tokens[i + 1], '(');
  const literal = tokens[parenthesized ? i + 2 : i + 1];
  if (literal?.type !== 'string' || (literal.text !== 'funcs' && literal.text !== 'workflow'))
    return undefined;
  if (parenthesized && !isSymbol(tokens[i + 3], ')')) return undefined;
  return { module: literal.text, next: i + (parenthesized ? 4 : 2) };
}

/** A module value at token `i` (the global `process`, an alias, or a `require` of one). */
function receiverAt(
  tokens: readonly LuaToken[],
  i: number,
  modules: ReadonlyMap<string, Receiver>,
): { receiver: Receiver; label: string; next: number } | undefined {
  const token = tokens[i] as LuaToken;
  if (token.type !== 'name' || isField(tokens, i)) return undefined;
  const required = requiredModule(tokens, i);
  if (required) return { receiver: required.module, label: required.module, next: required.next };
  const receiver = token.text === 'process' ? 'process' : modules.get(token.text);
  return (
    receiver && { receiver, label: receiver === 'process' ? 'process' : token.text, next: i + 1 }
  );
}

/** Walks `.name(…)` / `:name(…)` links from a receiver to the call that names an entry. */
function followChain(
  tokens: readonly LuaToken[],
  at: number,
  receiver: Receiver,
  label: string,
): EntryCall | undefined {
  let i = at;
  let current = receiver;
  let written = label;
  for (;;) {
    const separator = tokens[i];
    const method = tokens[i + 1];
    if (method?.type !== 'name' || !(isSymbol(separator, '.') || isSymbol(separator, ':')))
      return undefined;
    // Module functions are fields (`funcs.call`), spawner and executor ones methods (`:call`).
    const isMethod = separator?.text === ':';
    if (isMethod !== (current === 'executor' || current === 'spawner')) return undefined;
    const name = method.text;
    written += `${separator?.text}${name}`;
    const kind = callKind(current, name);
    if (kind) return entryCall(tokens, i + 2, kind, written);
    const next = nextReceiver(current, name);
    if (next === undefined) return undefined;
    const after = skipArguments(tokens, i + 2);
    if (after === undefined) return undefined;
    current = next;
    written += '(…)';
    i = after;
  }
}

function callKind(receiver: Receiver, name: string): EntryCallKind | undefined {
  switch (receiver) {
    case 'funcs':
    case 'executor':
      return name === 'call' || name === 'async' ? 'function' : undefined;
    case 'process':
      if (name === 'upgrade') return 'upgrade';
      return SPAWNS.has(name) || name === 'exec' ? 'spawn' : undefined;
    case 'spawner':
      return SPAWNS.has(name) || name === 'exec' ? 'spawn' : undefined;
    case 'workflow':
      return name === 'exec' ? 'workflow' : undefined;
  }
}

function nextReceiver(receiver: Receiver, name: string): Receiver | undefined {
  if (receiver === 'funcs') return name === 'new' ? 'executor' : undefined;
  if (receiver === 'executor') return EXECUTOR_SETTINGS.has(name) ? 'executor' : undefined;
  if (receiver === 'process')
    return name === 'with_context' || name === 'with_options' ? 'spawner' : undefined;
  if (receiver === 'spawner') return SPAWNER_SETTINGS.has(name) ? 'spawner' : undefined;
  return undefined;
}

/** The arguments of the call at `i` (`(…)`, `{…}` or a string): the index after them. */
function skipArguments(tokens: readonly LuaToken[], i: number): number | undefined {
  const first = tokens[i];
  if (first?.type === 'string') return i + 1;
  const close = isSymbol(first, '(') ? ')' : isSymbol(first, '{') ? '}' : undefined;
  if (close === undefined) return undefined;
  const open = first?.text as string;
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const token = tokens[j] as LuaToken;
    if (token.type !== 'symbol') continue;
    if (token.text === open) depth++;
    else if (token.text === close && --depth === 0) return j + 1;
  }
  return undefined;
}

/** The call's arguments from `i` when the first is a literal (and the second, if one too). */
function entryCall(
  tokens: readonly LuaToken[],
  i: number,
  kind: EntryCallKind,
  call: string,
): EntryCall | undefined {
  const bare = tokens[i];
  if (bare?.type === 'string') return { kind, call, entry: literal(bare) };
  if (!isSymbol(bare, '(')) return undefined;
  const entry = literalArgument(tokens, i + 1);
  if (!entry) return undefined;
  const host = kind === 'spawn' ? literalArgument(tokens, i + 3) : undefined;
  return host && isSymbol(tokens[i + 2], ',') ? { kind, call, entry, host } : { kind, call, entry };
}

/** A string literal at `i` that is a whole argument (followed by `,` or `)`, not `..`). */
function literalArgument(tokens: readonly LuaToken[], i: number): LiteralAt | undefined {
  const token = tokens[i];
  if (token?.type !== 'string') return undefined;
  const after = tokens[i + 1];
  return isSymbol(after, ',') || isSymbol(after, ')') ? literal(token) : undefined;
}

function literal(token: LuaToken): LiteralAt {
  return { value: token.text, line: token.line, column: token.column };
}

/** Whether the name at `i` is a field or method (`t.process`, `m:require`), not a variable. */
function isField(tokens: readonly LuaToken[], i: number): boolean {
  const before = tokens[i - 1];
  return isSymbol(before, '.') || isSymbol(before, ':');
}

function isSymbol(token: LuaToken | undefined, text: string): boolean {
  return token?.type === 'symbol' && token.text === text;
}

function isName(token: LuaToken | undefined, text: string): boolean {
  return token?.type === 'name' && token.text === text;
}

import { RE2JS } from 're2js';

/**
 * The Go-style search API of re2js's RE2 program (its `re2()`; re2js types it loosely). Every
 * function works on UTF-8 bytes and gives byte offsets, as Go's regexp does: -1 marks a group
 * that took no part in the match. The `All` forms skip an empty match right after a match.
 */
interface Re2Program {
  readonly numSubexp: number;
  matchUTF8(bytes: Uint8Array): boolean;
  findAllUTF8SubmatchIndex(bytes: Uint8Array, n: number): number[][] | null;
}

/** A compiled pattern: RE2 syntax (Go's regexp), matching in time linear in the input. */
export class Regexp {
  readonly groupCount: number;
  /** Group names by index, "" for the whole match and for unnamed groups. */
  readonly groupNames: readonly string[];
  private readonly program: Re2Program;
  private readonly emptyPattern: boolean;

  constructor(compiled: RE2JS) {
    this.emptyPattern = compiled.pattern() === '';
    this.program = compiled.re2() as unknown as Re2Program;
    this.groupCount = this.program.numSubexp;
    const names: string[] = new Array<string>(this.groupCount + 1).fill('');
    for (const [name, index] of Object.entries(compiled.namedGroups())) names[index] = name;
    this.groupNames = names;
  }

  matches(input: Uint8Array): boolean {
    return this.program.matchUTF8(input);
  }

  /**
   * Byte offsets of up to `limit` matches (all when negative), each as start, end and then
   * start, end of every group; none is an empty list.
   */
  findAll(input: Uint8Array, limit: number): number[][] {
    return this.program.findAllUTF8SubmatchIndex(input, limit) ?? [];
  }

  /** `input` with every match replaced by `template` expanded (see `expandTemplate`). */
  replaceAll(input: Uint8Array, template: Uint8Array): Uint8Array {
    const parts: Uint8Array[] = [];
    let copied = 0;
    for (const match of this.findAll(input, -1)) {
      parts.push(input.subarray(copied, match[0]));
      parts.push(expandTemplate(template, input, match, this.groupNames));
      copied = match[1] as number;
    }
    parts.push(input.subarray(copied));
    return Buffer.concat(parts);
  }

  /**
   * The pieces of `input` between matches, as Go's Regexp.Split: at most `limit` pieces when
   * positive (the last holds the rest), none when 0, all when negative. An empty match at the
   * very start makes no empty first piece; an empty input is one empty piece (none for the
   * empty pattern).
   */
  split(input: Uint8Array, limit: number): Uint8Array[] {
    if (limit === 0) return [];
    if (input.length === 0 && !this.emptyPattern) return [input];
    const pieces: Uint8Array[] = [];
    let start = 0;
    let lastMatchStart = 0;
    for (const match of this.findAll(input, limit)) {
      if (limit > 0 && pieces.length === limit - 1) break;
      lastMatchStart = match[0] as number;
      if (match[1] !== 0) pieces.push(input.subarray(start, lastMatchStart));
      start = match[1] as number;
    }
    if (lastMatchStart !== input.length) pieces.push(input.subarray(start));
    return pieces;
  }
}

const DOLLAR = 0x24;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function isNameByte(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f
  );
}

/**
 * A replacement template expanded for one match, with Go's rules: `$1` and `${1}` are groups by
 * number, `$name` and `${name}` by name (a bare name runs as far as letters, digits and `_` go,
 * so `$1x` is the group named "1x"); a group that does not exist or did not match gives nothing;
 * `$$` is one `$`; a `$` that starts none of these stays as it is.
 */
export function expandTemplate(
  template: Uint8Array,
  input: Uint8Array,
  match: readonly number[],
  names: readonly string[],
): Uint8Array {
  const out: Uint8Array[] = [];
  let i = 0;
  let literalStart = 0;
  while (i < template.length) {
    if (template[i] !== DOLLAR) {
      i++;
      continue;
    }
    out.push(template.subarray(literalStart, i));
    if (template[i + 1] === DOLLAR) {
      out.push(template.subarray(i, i + 1));
      i += 2;
      literalStart = i;
      continue;
    }
    const braced = template[i + 1] === OPEN_BRACE;
    let end = braced ? i + 2 : i + 1;
    while (end < template.length && isNameByte(template[end] as number)) end++;
    const name = Buffer.from(template.subarray(braced ? i + 2 : i + 1, end)).toString('latin1');
    const closed = !braced || template[end] === CLOSE_BRACE;
    if (name === '' || !closed) {
      literalStart = i; // not a reference: the `$` is copied with the text after it
      i++;
      continue;
    }
    // A number without leading zeros is a group number, anything else a name
    const group = /^(0|[1-9][0-9]{0,7})$/.test(name) ? Number(name) : names.indexOf(name);
    const from = match[2 * group];
    const to = match[2 * group + 1];
    if (group >= 0 && from !== undefined && to !== undefined && from >= 0) {
      out.push(input.subarray(from, to));
    }
    i = braced ? end + 1 : end;
    literalStart = i;
  }
  out.push(template.subarray(literalStart));
  return Buffer.concat(out);
}

/** A compiled pattern, or Go's description of what is wrong with it. */
export type RegexpCompilation =
  | { readonly ok: true; readonly regexp: Regexp }
  | { readonly ok: false; readonly message: string };

export function compileRegexp(pattern: string): RegexpCompilation {
  try {
    return { ok: true, regexp: new Regexp(RE2JS.compile(pattern)) };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/**
 * Compiled patterns by their text, the most recently used kept (a Lua regexp object holds only
 * its pattern, so nothing here outlives a Lua object by more than the cache's size).
 */
export class RegexpCache {
  private readonly compiled = new Map<string, Regexp>();

  constructor(private readonly capacity = 256) {}

  /** The compiled pattern; throws for a pattern that does not compile. */
  get(pattern: string): Regexp {
    const hit = this.compiled.get(pattern);
    if (hit !== undefined) {
      this.compiled.delete(pattern); // re-insert: Map order is the recency order
      this.compiled.set(pattern, hit);
      return hit;
    }
    const compilation = compileRegexp(pattern);
    if (!compilation.ok) throw new Error(compilation.message);
    this.compiled.set(pattern, compilation.regexp);
    if (this.compiled.size > this.capacity) {
      this.compiled.delete(this.compiled.keys().next().value as string);
    }
    return compilation.regexp;
  }
}

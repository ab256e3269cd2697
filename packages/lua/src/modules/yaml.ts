import { isScalar, type Pair, parseAllDocuments, stringify } from 'yaml';
import { decodeValue, encodeValue, MAX_DEPTH } from '../codec/wire.js';
import type { LuaModuleSpec } from '../vm/host-function.js';
import { luaSource } from '../vm/kernel-files.js';

/** A decoded document, or what is wrong with the text (and where). */
export type YamlDecoding =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly message: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * How a parsed value reaches Lua: integers as integers (bigint, so 2^60 stays exact; beyond 64
 * bits a float, as a Lua number literal would be), maps as Map so keys keep their type (`1: a`
 * is t[1], not t["1"]). A key Lua cannot hold (null, a list, a map) is refused.
 */
function toLuaValue(value: unknown, path: string, depth = 0): unknown {
  if (typeof value === 'bigint') {
    return value < INT64_MIN || value > INT64_MAX ? Number(value) : value;
  }
  if ((Array.isArray(value) || value instanceof Map) && depth >= MAX_DEPTH) {
    throw new Error(`the document nests deeper than ${MAX_DEPTH} levels`);
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => toLuaValue(item, `${path}[${i + 1}]`, depth + 1));
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [key, item] of value) {
      const luaKey = toLuaValue(key, path);
      const keyType = typeof luaKey;
      if (
        keyType !== 'string' &&
        keyType !== 'number' &&
        keyType !== 'bigint' &&
        keyType !== 'boolean'
      ) {
        throw new Error(`a mapping key must be a string, number or boolean${at(path)}`);
      }
      if (typeof luaKey === 'number' && Number.isNaN(luaKey)) {
        throw new Error(`a mapping key cannot be NaN${at(path)}`);
      }
      out.set(luaKey, toLuaValue(item, `${path}.${String(luaKey)}`, depth + 1));
    }
    return out;
  }
  return value;
}

function at(path: string): string {
  return path === '' ? ' (at the top level)' : ` (at ${path.replace(/^\./, '')})`;
}

/** "line L, column C" (both from 1) of a UTF-16 offset into `text`. */
function lineAndColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

/**
 * Parses the first document of `text` (as Go's yaml.Unmarshal does; later documents are not
 * read). YAML 1.2 core schema plus `<<` merge keys and `!!binary`; duplicate keys are an error;
 * at most 100 alias expansions, so a "billion laughs" document fails instead of exhausting memory.
 */
export function decodeYaml(text: string): YamlDecoding {
  const [document] = parseAllDocuments(text, {
    intAsBigInt: true,
    merge: true,
    customTags: ['binary'],
    prettyErrors: false,
  });
  if (document === undefined || !('errors' in document)) return { ok: true, value: null };
  const problem = document.errors[0];
  if (problem !== undefined) {
    return { ok: false, message: `${lineAndColumn(text, problem.pos[0])}: ${problem.message}` };
  }
  try {
    return {
      ok: true,
      value: toLuaValue(document.toJS({ mapAsMap: true, maxAliasCount: 100 }), ''),
    };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

export interface YamlEncodeOptions {
  /** Keys written first, in this order, in every mapping; the rest follow sorted. */
  readonly fieldOrder?: readonly string[] | undefined;
  /** Sort the other string keys character by character instead of in natural order. */
  readonly plainOrder?: boolean | undefined;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Natural order, as Go's YAML encoder sorts map keys (which Wippy writes through): runs of
 * digits compare by their value ("item2" before "item10"; "1" before "01"), the rest by
 * character.
 */
export function compareNatural(a: string, b: string): number {
  const runsA = a.match(/\d+|\D+/g) ?? [];
  const runsB = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < runsA.length && i < runsB.length; i++) {
    const x = runsA[i] as string;
    const y = runsB[i] as string;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const byValue = BigInt(x) - BigInt(y);
      if (byValue !== 0n) return byValue < 0n ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length;
    }
    return compareText(x, y);
  }
  return runsA.length - runsB.length;
}

/** Booleans before numbers before strings; numbers by value, strings as `textOrder` says. */
function compareKeys(a: unknown, b: unknown, textOrder: (a: string, b: string) => number): number {
  const rank = (key: unknown) =>
    typeof key === 'boolean' ? 0 : typeof key === 'number' || typeof key === 'bigint' ? 1 : 2;
  const byRank = rank(a) - rank(b);
  if (byRank !== 0) return byRank;
  if (typeof a === 'string' && typeof b === 'string') return textOrder(a, b);
  return Number(a) - Number(b);
}

/**
 * YAML text for a value decoded from Lua: block style, two-space indent, no line folding, keys
 * in a fixed order (Lua's own order changes between runs), bytes that are not UTF-8 as `!!binary`.
 */
export function encodeYaml(value: unknown, options: YamlEncodeOptions = {}): string {
  const first = new Map((options.fieldOrder ?? []).map((key, i) => [key, i]));
  const keyOf = (pair: Pair) => (isScalar(pair.key) ? pair.key.value : pair.key);
  return stringify(value, {
    indent: 2,
    lineWidth: 0,
    aliasDuplicateObjects: false,
    customTags: ['binary'],
    sortMapEntries: (a, b) => {
      const ka = keyOf(a);
      const kb = keyOf(b);
      const oa = typeof ka === 'string' ? first.get(ka) : undefined;
      const ob = typeof kb === 'string' ? first.get(kb) : undefined;
      if (oa !== undefined || ob !== undefined) {
        return (oa ?? Number.MAX_SAFE_INTEGER) - (ob ?? Number.MAX_SAFE_INTEGER);
      }
      return compareKeys(ka, kb, options.plainOrder ? compareText : compareNatural);
    },
  });
}

/** The `yaml` module (docs/lua-api/yaml.md): the Lua side checks arguments and makes errors. */
export function yamlModule(): LuaModuleSpec {
  return {
    name: 'yaml',
    scope: 'module',
    source: luaSource('modules/yaml.lua'),
    functions: {
      /** encode(value as msgpack, field order as msgpack or nil, plain order) → text, or nil and why */
      encode(L, vm) {
        const value = decodeValue(vm.stack.bytes(L, 1) ?? new Uint8Array());
        const order = vm.stack.bytes(L, 2);
        const fieldOrder = order ? (decodeValue(order) as string[]) : undefined;
        try {
          vm.stack.pushString(
            L,
            encodeYaml(value, { fieldOrder, plainOrder: vm.stack.boolean(L, 3) }),
          );
          return 1;
        } catch (error) {
          vm.api._lua_pushnil(L);
          vm.stack.pushString(L, (error as Error).message);
          return 2;
        }
      },
      /** decode(text) → the value as msgpack, or nil and why */
      decode(L, vm) {
        const decoded = decodeYaml(vm.stack.text(L, 1) ?? '');
        if (decoded.ok) {
          vm.stack.pushBytes(L, encodeValue(decoded.value));
          return 1;
        }
        vm.api._lua_pushnil(L);
        vm.stack.pushString(L, decoded.message);
        return 2;
      },
    },
  };
}

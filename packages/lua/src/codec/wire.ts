/**
 * The TypeScript end of the msgpack value codec; `lua/msgpack.lua` is the Lua end and its header
 * is the contract both keep. Plain msgpack (no msgpackr records or structures).
 *
 * JS → msgpack: `undefined`/`null` → nil; booleans; strings → str; integral numbers → the
 * smallest int (up to ±2^53; the 9-byte class is int64 like Lua writes it), other numbers →
 * float64; bigint → int (beyond the 64-bit range a RangeError); `Uint8Array` → bin (other byte
 * views and ArrayBuffer too); arrays → array (holes → nil); plain objects → map with string keys;
 * `Map` → map with any keys; `LuactError` → ext type 1 (other Errors become `LuactError.from`);
 * objects with `toJSON` (Date) → its result; other class instances → map of own enumerable keys.
 * Functions, symbols, Set/WeakMap/WeakSet/Promise, cycles and nesting deeper than MAX_DEPTH
 * throw a TypeError naming the path.
 *
 * msgpack → JS: nil → `null`; ints → number when |n| ≤ 2^53, else bigint; floats → number;
 * str → string; bin → a fresh `Uint8Array`; array → array; map → plain object when every key is a
 * string, else a `Map`; ext 1 → `LuactError` (an unknown kind becomes UNKNOWN); ext 2 (a Lua
 * payload, kernel/payload.lua) → the value it holds.
 *
 * What does not survive a round trip:
 * - Lua floats with an integral value (1.0) reach JS as plain numbers and go back as integers;
 *   -0 goes back as 0. Lua → Lua keeps them (float64 on the wire).
 * - nil inside an array: Lua leaves a hole, so a Lua table holding it re-encodes as a map
 *   ({1, nil, 3} → Map {1 → 1, 3 → 3}); `[]` and `{}` both become Lua's empty table, which
 *   encodes as an empty map, so `[]` comes back as `{}`.
 * - Map keys that are not strings make a `Map` (Lua `{[1] = 'a'}` → Map {1 → 'a'}); a `Map`
 *   whose keys are all strings comes back as a plain object.
 * - uint64 above 2^63-1 arrives in Lua wrapped to a negative integer (same 64 bits).
 * - Map order: Lua iterates string keys in a per-run order, so the bytes are not canonical.
 */
import type { ErrorDetails, ErrorKind } from '@luact/core';
import { isErrorKind, LuactError } from '@luact/core';
import { addExtension, C1, Packr } from 'msgpackr';

/** The msgpack ext type of an error object, on both ends. */
export const ERROR_EXT_TYPE = 1;
/** The ext type of a Lua payload: its value's msgpack. Lua reads it as a payload again. */
const PAYLOAD_EXT_TYPE = 2;
/** Nesting limit of encode and decode; the Lua codec's default `max_depth`. */
export const MAX_DEPTH = 64;

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: false, // maps decode to Map; fromWire turns all-string-key maps into objects
  variableMapSize: true, // fixmap/map16/map32 by size, as Lua writes them
  encodeUndefinedAsNil: true,
  copyBuffers: true, // bin must not alias the input (often a view of WebAssembly memory)
});
// int64/uint64 → number when |n| <= 2^53, else bigint. msgpackr supports 'auto' (read from the
// instance at unpack time, as its constructor copies options onto it) but its types omit it.
Object.assign(packr, { int64AsType: 'auto' });

// msgpackr keeps extensions per process, not per Packr: every msgpackr user in this process
// now writes LuactError as ext 1 and reads ext 1 as LuactError. Other ext types are left to
// msgpackr (its built-ins, e.g. -1 timestamp → Date; unknown ones throw).
addExtension({
  Class: LuactError,
  type: ERROR_EXT_TYPE,
  pack: (error: LuactError) => encodeValue(error.toData()),
  unpack: (payload: Uint8Array) => errorFromPayload(decodeValue(payload)),
});
// TypeScript has no payloads: one read here is its value (fromWire converts it with the rest).
addExtension({
  type: PAYLOAD_EXT_TYPE,
  unpack: (payload: Uint8Array) => packr.unpack(payload),
});

/**
 * The value's msgpack bytes: a view into msgpackr's shared output block, valid for good but
 * sharing its ArrayBuffer (copy before transferring `.buffer`).
 */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(toWire(value, 0, []));
}

export function decodeValue(bytes: Uint8Array): unknown {
  return fromWire(packr.unpack(bytes), 0);
}

/** The values as one array, like the Lua `codec.encode_values(n, ...)`; `undefined` → nil. */
export function encodeValues(values: readonly unknown[]): Uint8Array {
  return encodeValue(Array.from(values));
}

/** Inverse of `encodeValues` and of the Lua `encode_values`; nils come back as `null`. */
export function decodeValues(bytes: Uint8Array): unknown[] {
  const value = decodeValue(bytes);
  if (!Array.isArray(value)) throw new TypeError('msgpack: decodeValues expects an array');
  return value;
}

const INT_MIN_32 = -0x8000_0000;
const UINT_MAX_32 = 0xffff_ffff;
const BIG_INT_MIN_32 = BigInt(INT_MIN_32);
const BIG_UINT_MAX_32 = BigInt(UINT_MAX_32);
const BIG_INT_MIN_64 = -(2n ** 63n);
const BIG_UINT_MAX_64 = 2n ** 64n - 1n;
const MAX_EXACT_INTEGER = 2 ** 53;

/** Types with no msgpack form: encoding them silently (as `{}`) would lose data. */
const REFUSED: ReadonlyArray<abstract new (...args: never[]) => unknown> = [
  Set,
  WeakMap,
  WeakSet,
  Promise,
];

/**
 * The value as msgpackr should see it: ints that JS holds as numbers but msgpackr would write as
 * float64 (beyond 32 bits) become bigint, small bigints become numbers (smallest encoding), and
 * everything is checked. Copies a container only when something inside it changed.
 * `ancestors[i]` is the container at nesting level i + 1, for cycle reports and paths.
 */
function toWire(value: unknown, depth: number, ancestors: unknown[]): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isInteger(value) &&
        (value > UINT_MAX_32 || value < INT_MIN_32) &&
        Math.abs(value) <= MAX_EXACT_INTEGER
        ? BigInt(value)
        : value;
    case 'bigint':
      if (value >= BIG_INT_MIN_32 && value <= BIG_UINT_MAX_32) return Number(value);
      if (value < BIG_INT_MIN_64 || value > BIG_UINT_MAX_64) {
        throw new RangeError(
          `msgpack: cannot encode ${value}n, outside the 64-bit range${pathOf(ancestors, depth, value)}`,
        );
      }
      return value;
    case 'undefined':
      return null;
    case 'function':
    case 'symbol':
      throw new TypeError(
        `msgpack: cannot encode a ${typeof value}${pathOf(ancestors, depth, value)}`,
      );
    case 'object':
      return value === null ? null : objectToWire(value, depth, ancestors);
    default:
      throw new TypeError(`msgpack: cannot encode a ${typeof value}`);
  }
}

function objectToWire(value: object, depth: number, ancestors: unknown[]): unknown {
  if (value instanceof Uint8Array || value instanceof LuactError) return value;
  if (value instanceof Error) return LuactError.from(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (depth >= MAX_DEPTH) tooDeep(value, depth, ancestors);
  ancestors[depth] = value;
  const inner = depth + 1;

  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const wire = toWire(item, inner, ancestors);
      if (copy === undefined && wire !== item) copy = value.slice(0, i);
      copy?.push(wire);
    }
    return copy ?? value;
  }
  if (value instanceof Map) {
    let changed = false;
    const entries: [unknown, unknown][] = [];
    for (const [key, item] of value as Map<unknown, unknown>) {
      const wireKey = toWire(key, inner, ancestors);
      const wireItem = toWire(item, inner, ancestors);
      if (wireKey !== key || wireItem !== item) changed = true;
      entries.push([wireKey, wireItem]);
    }
    return changed ? new Map(entries) : value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const refused = REFUSED.find((type) => value instanceof type);
    if (refused !== undefined) {
      throw new TypeError(
        `msgpack: cannot encode a ${refused.name}${pathOf(ancestors, depth, value)}`,
      );
    }
    const { toJSON } = value as { toJSON?: unknown };
    if (typeof toJSON === 'function') {
      // like JSON.stringify: the result takes the object's place (Date → ISO string)
      return toWire(toJSON.call(value), depth, ancestors);
    }
  }
  // msgpackr writes own enumerable string keys; a copy is needed for class instances anyway
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined =
    proto === Object.prototype || proto === null ? undefined : {};
  for (const key of Object.keys(record)) {
    const item = record[key];
    const wire = toWire(item, inner, ancestors);
    if (copy === undefined && wire !== item) copy = { ...record };
    if (copy !== undefined) defineKey(copy, key, wire);
  }
  return copy ?? value;
}

function tooDeep(value: object, depth: number, ancestors: readonly unknown[]): never {
  const index = ancestors.slice(0, depth).findIndex((a, i) => ancestors.indexOf(a) !== i);
  if (index > 0) {
    throw new TypeError(
      `msgpack: cannot encode an object that contains itself${pathOf(ancestors, index, ancestors[index])}`,
    );
  }
  if (ancestors.slice(0, depth).includes(value)) {
    throw new TypeError(
      `msgpack: cannot encode an object that contains itself${pathOf(ancestors, depth, value)}`,
    );
  }
  throw new TypeError(
    `msgpack: cannot encode a value nested deeper than ${MAX_DEPTH}${pathOf(ancestors, depth, value)}`,
  );
}

/** " (at key 'a.b[2]')": found by searching each parent, so nothing is tracked on success. */
function pathOf(ancestors: readonly unknown[], depth: number, leaf: unknown): string {
  if (depth === 0) return '';
  let path = '';
  for (let i = 0; i < depth; i++) {
    const parent = ancestors[i];
    const child = i + 1 < depth ? ancestors[i + 1] : leaf;
    path += keyText(keyOf(parent, child), i === 0);
  }
  return ` (at key '${path}')`;
}

function keyOf(parent: unknown, child: unknown): unknown {
  const entries: Iterable<[unknown, unknown]> =
    parent instanceof Map
      ? (parent as Map<unknown, unknown>)
      : Array.isArray(parent)
        ? parent.entries()
        : Object.entries(parent as object);
  for (const [key, item] of entries) {
    if (item === child) return key;
    if (key === child) return `key ${typeof key}`; // a bad Map key itself
  }
  return '?';
}

function keyText(key: unknown, first: boolean): string {
  if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    return first ? key : `.${key}`;
  }
  return typeof key === 'string' ? `[${JSON.stringify(key)}]` : `[${String(key)}]`;
}

/** Assigns without invoking the `__proto__` setter, so that key stays an ordinary property. */
function defineKey(target: Record<string, unknown>, key: string, item: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value: item,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = item;
  }
}

/** msgpackr's output made ours: maps with only string keys become plain objects. */
function fromWire(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) throw nestedTooDeep();
    for (let i = 0; i < value.length; i++) value[i] = fromWire(value[i], depth + 1);
    return value;
  }
  if (value instanceof Map) {
    if (depth >= MAX_DEPTH) throw nestedTooDeep();
    const map = value as Map<unknown, unknown>;
    let stringKeys = true;
    for (const key of map.keys()) {
      if (typeof key !== 'string') {
        stringKeys = false;
        break;
      }
    }
    if (stringKeys) {
      const object: Record<string, unknown> = {};
      for (const [key, item] of map) defineKey(object, key as string, fromWire(item, depth + 1));
      return object;
    }
    const converted = new Map<unknown, unknown>();
    for (const [key, item] of map)
      converted.set(fromWire(key, depth + 1), fromWire(item, depth + 1));
    return converted;
  }
  // bin is already a copy (copyBuffers), but a Buffer when the input was one: same bytes, plain type
  if (value instanceof Buffer) return new Uint8Array(value.buffer, value.byteOffset, value.length);
  if (value === C1) throw new TypeError('msgpack: invalid byte 0xc1');
  return value; // Uint8Array, LuactError, or what a msgpackr built-in extension made
}

function nestedTooDeep(): TypeError {
  return new TypeError(`msgpack: input nested deeper than ${MAX_DEPTH}`);
}

/** The ext 1 payload `{kind, message, retryable, details?}` as a LuactError, tolerating junk. */
function errorFromPayload(payload: unknown): LuactError {
  const fields: Record<string, unknown> =
    payload instanceof Map
      ? Object.fromEntries(payload as Map<unknown, unknown>)
      : typeof payload === 'object' && payload !== null && !Array.isArray(payload)
        ? (payload as Record<string, unknown>)
        : {};
  const kind: ErrorKind = isErrorKind(fields.kind) ? fields.kind : 'UNKNOWN';
  const message =
    typeof fields.message === 'string' ? fields.message : String(fields.message ?? '');
  const { retryable, details } = fields;
  return new LuactError(kind, message, {
    ...(typeof retryable === 'boolean' ? { retryable } : {}),
    ...(details === undefined || details === null ? {} : { details: asDetails(details) }),
  });
}

function asDetails(details: unknown): ErrorDetails {
  if (details instanceof Map) {
    return Object.fromEntries(
      [...(details as Map<unknown, unknown>)].map(([key, item]) => [String(key), item]),
    );
  }
  if (typeof details === 'object' && details !== null && !Array.isArray(details)) {
    return details as ErrorDetails;
  }
  return { value: details };
}

import type { LuaApi, LuaState, Pointer } from './lua-api.js';

const encoder = new TextEncoder();

/** Lua's longest short (interned) string, LUAI_MAXSHORTLEN. */
const SHORT_STRING = 40;
/** Texts WasmMemory.toString keeps (a power of two). */
const RECENT_TEXTS = 256;

/** Texts `pushNumbered` keeps the UTF-8 of at most. */
const MAX_AFFIXES = 64;

/** A text read lately, and the bytes it was decoded from. */
interface RecentText {
  readonly pointer: Pointer;
  readonly bytes: Uint8Array;
  readonly text: string;
}

/**
 * Moves strings and bytes across the WebAssembly boundary. The heap views are read from the
 * module on every use because the memory may grow (and detach old views) during any call.
 */
export class WasmMemory {
  private scratch: Pointer;
  private scratchSize: number;
  private readonly lengthSlot: Pointer;
  private readonly constants = new Map<string, Pointer>();
  /**
   * A Node Buffer over the heap: decoding through it is about twice as fast as TextDecoder for
   * the short strings of PIDs and topics. Rebuilt when the memory grows (its buffer changes).
   */
  private heapView: { array: Uint8Array; view: Buffer } | undefined;
  /** Texts read lately, by their bytes' address (see toString). */
  private readonly recentTexts: (RecentText | undefined)[] = new Array(RECENT_TEXTS);
  /** The one-byte values readBytes hands out, by byte. */
  private readonly singleBytes: (Uint8Array | undefined)[] = [];

  constructor(private readonly api: LuaApi) {
    this.scratchSize = 4096;
    this.scratch = api._malloc(this.scratchSize);
    this.lengthSlot = api._malloc(8);
  }

  /** A NUL-terminated copy of `text` that lives as long as the engine (field names, modes). */
  cString(text: string): Pointer {
    let pointer = this.constants.get(text);
    if (pointer === undefined) {
      const bytes = encoder.encode(text);
      pointer = this.api._malloc(bytes.length + 1);
      this.api.HEAPU8.set(bytes, pointer);
      this.api.HEAPU8[pointer + bytes.length] = 0;
      this.constants.set(text, pointer);
    }
    return pointer;
  }

  /** Pushes `text` as a Lua string (length-taking: NUL bytes survive). */
  pushString(L: LuaState, text: string): void {
    if (text.length === 0) {
      this.api._lua_pushlstring(L, this.scratch, 0);
      return;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.reserve(text.length * 3);
    const written =
      text.length <= SHORT_STRING
        ? this.writeShort(text)
        : // Through the Buffer over the heap: a subarray per push would be garbage per push.
          this.heap().write(text, this.scratch, this.scratchSize, 'utf8');
    this.api._lua_pushlstring(L, this.scratch, written);
  }

  /**
   * Writes a short `text` to the scratch space, its bytes written one by one while they are
   * ASCII (PIDs, topics, names: twice as fast as the Buffer's encoder for them); the encoder
   * writes the whole text again once it meets a character that is not.
   */
  private writeShort(text: string): number {
    const heap = this.api.HEAPU8;
    const start = this.scratch;
    const length = text.length;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) return this.heap().write(text, start, this.scratchSize, 'utf8');
      heap[start + i] = code;
    }
    return length;
  }

  /**
   * Pushes `prefix`, the decimal digits of the integer `n` (0 or more), then `suffix`: written
   * into the engine without that text made in JavaScript first. (A PID is made afresh for each
   * process; `pushString` flattened and copied it a character at a time, ~2% of a spawn.)
   */
  pushNumbered(L: LuaState, prefix: string, n: number, suffix: string): void {
    const head = this.utf8Of(prefix);
    const tail = this.utf8Of(suffix);
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.reserve(head.length + digits + tail.length);
    const heap = this.api.HEAPU8;
    let at = this.scratch;
    for (let i = 0; i < head.length; i++) heap[at++] = head[i] as number;
    let rest = n;
    for (let i = at + digits - 1; i >= at; i--) {
      heap[i] = 48 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    at += digits;
    for (let i = 0; i < tail.length; i++) heap[at++] = tail[i] as number;
    this.api._lua_pushlstring(L, this.scratch, at - this.scratch);
  }

  /** The UTF-8 of a text `pushNumbered` writes around numbers (a host's PID prefix, "}"). */
  private utf8Of(text: string): Uint8Array {
    let bytes = this.affixes.get(text);
    if (bytes === undefined) {
      // A few per host: a map that would grow past that is some caller's mistake, not kept.
      if (this.affixes.size >= MAX_AFFIXES) this.affixes.clear();
      bytes = Buffer.from(text, 'utf8');
      this.affixes.set(text, bytes);
    }
    return bytes;
  }

  private readonly affixes = new Map<string, Uint8Array>();

  pushBytes(L: LuaState, bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.api.HEAPU8.set(bytes, this.scratch);
    this.api._lua_pushlstring(L, this.scratch, bytes.length);
  }

  /**
   * The string at `index` decoded as UTF-8, or undefined when the value is not a string/number
   * or takes more than `maxBytes`.
   * A short Lua string is interned: the same text read again (a peer's PID, a topic, an entry
   * ID) is found among the texts read lately by where its bytes are, and taken once its bytes
   * are seen to be the same (another string may have been made there since).
   */
  toString(L: LuaState, index: number, maxBytes = Number.POSITIVE_INFINITY): string | undefined {
    const pointer = this.api._lua_tolstring(L, index, this.lengthSlot);
    if (pointer === 0) return undefined;
    const length = this.api.HEAP32[this.lengthSlot >> 2] ?? 0;
    // Undecoded past maxBytes: a caller that refuses it need not pay for megabytes of text.
    if (length > maxBytes) return undefined;
    if (length > SHORT_STRING) return this.decodeUtf8(pointer, length);
    const slot = (pointer >>> 3) & (RECENT_TEXTS - 1);
    const recent = this.recentTexts[slot];
    if (
      recent !== undefined &&
      recent.pointer === pointer &&
      recent.bytes.length === length &&
      this.holds(pointer, recent.bytes)
    )
      return recent.text;
    const text = this.decodeUtf8(pointer, length);
    const bytes = this.api.HEAPU8.slice(pointer, pointer + length);
    this.recentTexts[slot] = { pointer, bytes, text };
    return text;
  }

  /** Whether the heap holds `bytes` from `pointer` on. */
  private holds(pointer: Pointer, bytes: Uint8Array): boolean {
    const heap = this.api.HEAPU8;
    for (let i = 0; i < bytes.length; i++) if (heap[pointer + i] !== bytes[i]) return false;
    return true;
  }

  /** A copy of the bytes of the string at `index`. */
  toBytes(L: LuaState, index: number): Uint8Array | undefined {
    const pointer = this.api._lua_tolstring(L, index, this.lengthSlot);
    if (pointer === 0) return undefined;
    const length = this.api.HEAP32[this.lengthSlot >> 2] ?? 0;
    return this.api.HEAPU8.slice(pointer, pointer + length);
  }

  /**
   * The bytes of the string at `index`, for a reader that never writes to them. A string of one
   * byte (msgpack's nil, or an empty list: what most processes return and are spawned with)
   * comes from a table made once per byte value, so the commonest values allocate no buffer.
   */
  readBytes(L: LuaState, index: number): Uint8Array | undefined {
    const pointer = this.api._lua_tolstring(L, index, this.lengthSlot);
    if (pointer === 0) return undefined;
    const length = this.api.HEAP32[this.lengthSlot >> 2] ?? 0;
    if (length !== 1) return this.api.HEAPU8.slice(pointer, pointer + length);
    const byte = this.api.HEAPU8[pointer] ?? 0;
    let shared = this.singleBytes[byte];
    if (shared === undefined) {
      shared = Uint8Array.of(byte);
      this.singleBytes[byte] = shared;
    }
    return shared;
  }

  /** Reads a NUL-terminated C string. */
  readCString(pointer: Pointer, maxLength = 4096): string {
    const heap = this.api.HEAPU8;
    let end = pointer;
    while (end < pointer + maxLength && heap[end] !== 0) end++;
    return this.decodeUtf8(pointer, end - pointer);
  }

  private decodeUtf8(pointer: Pointer, length: number): string {
    return this.heap().toString('utf8', pointer, pointer + length);
  }

  /**
   * The Buffer over the heap as it is now. The module replaces HEAPU8 when the memory grows, so
   * the view is checked by that array's identity (reading `.buffer` costs more, every call).
   */
  private heap(): Buffer {
    const heap = this.api.HEAPU8;
    if (this.heapView?.array !== heap)
      this.heapView = { array: heap, view: Buffer.from(heap.buffer) };
    return this.heapView.view;
  }

  /** Loads `text` as a Lua chunk named `chunkName`; text mode only (no binary chunks). */
  loadChunk(L: LuaState, text: string, chunkName: string): number {
    const bytes = encoder.encode(text);
    this.reserve(bytes.length);
    this.api.HEAPU8.set(bytes, this.scratch);
    return this.api._luaL_loadbufferx(
      L,
      this.scratch,
      bytes.length,
      this.cString(chunkName),
      this.cString('t'),
    );
  }

  private reserve(size: number): void {
    if (size <= this.scratchSize) return;
    let next = this.scratchSize;
    while (next < size) next *= 2;
    this.api._free(this.scratch);
    this.scratch = this.api._malloc(next);
    this.scratchSize = next;
  }
}

import { afterEach, describe, expect, it } from 'vitest';
import { sharedApi } from '../testing/vm-harness.js';
import type { LuaApi, LuaState } from './lua-api.js';
import { WasmMemory } from './memory.js';

let close: (() => void) | undefined;

afterEach(() => {
  close?.();
  close = undefined;
});

async function bare(): Promise<{ api: LuaApi; memory: WasmMemory; L: LuaState }> {
  const api = await sharedApi();
  const L = api._luaL_newstate();
  close = () => api._lua_close(L);
  return { api, memory: new WasmMemory(api), L };
}

describe('WasmMemory', () => {
  it('pushes strings of any length and characters, and reads them back', async () => {
    const { memory, L } = await bare();
    const texts = ['', 'main', 'é – ✓ 😀', 'x'.repeat(10_000), 'a\0b'];
    for (const text of texts) memory.pushString(L, text);
    expect(texts.map((_, i) => memory.toString(L, i + 1))).toEqual(texts);
  });

  it('pushes short texts with and without characters beyond ASCII, and reads them back', async () => {
    const { memory, L } = await bare();
    // Short texts are written byte by byte until a character that is not ASCII.
    const texts = ['processes', 'héllo', 'abc✓', '😀', `${'x'.repeat(39)}é`, 'x'.repeat(40)];
    for (const text of texts) memory.pushString(L, text);
    expect(texts.map((_, i) => memory.toString(L, i + 1))).toEqual(texts);
  });

  it('pushes a prefix, the digits of a number and a suffix as the one string they make', async () => {
    const { api, memory, L } = await bare();
    const cases: [string, number, string][] = [
      ['{app:processes|', 0, '}'],
      ['{app:processes|', 7, '}'],
      ['{app:processes|', 10, '}'],
      ['{node~3@app:hôte|', 9_007_199_254_740_991, '}'],
      ['', 1_234_567_890, ''],
    ];
    for (const [prefix, n, suffix] of cases) memory.pushNumbered(L, prefix, n, suffix);
    expect(cases.map((_, i) => memory.toString(L, i + 1))).toEqual(
      cases.map(([prefix, n, suffix]) => `${prefix}${n}${suffix}`),
    );
    // The same strings as pushString makes: interned, equal to Lua.
    memory.pushString(L, '{app:processes|10}');
    expect(api._lua_rawequal(L, 3, 6)).toBe(1);
  });

  it('reads a short string anew when other bytes are where a text was read before', async () => {
    const { api, memory, L } = await bare();
    memory.pushString(L, 'topic-a');
    expect(memory.toString(L, 1)).toBe('topic-a');
    // Another string made where a collected one was: the same address, other bytes.
    const pointer = api._lua_tolstring(L, 1, 0);
    api.HEAPU8.set(new TextEncoder().encode('topic-b'), pointer);
    expect(memory.toString(L, 1)).toBe('topic-b');
  });

  it('reads the bytes of strings, one-byte ones included, each with its own value', async () => {
    const { memory, L } = await bare();
    const values = [[0x90], [0xc0], [0x90], [], [1, 2, 3], [0]].map((b) => Uint8Array.from(b));
    for (const bytes of values) memory.pushBytes(L, bytes);
    const read = values.map((_, i) => memory.readBytes(L, i + 1));
    expect(read.map((bytes) => [...(bytes ?? [])])).toEqual(values.map((bytes) => [...bytes]));
    // A copy all the same where it is longer than a byte: later pushes change nothing read.
    memory.pushBytes(L, Uint8Array.from([9, 9, 9]));
    expect([...(read[4] ?? [])]).toEqual([1, 2, 3]);
  });

  it('writes and reads strings after the memory grew (its old views are detached)', async () => {
    const { api, memory, L } = await bare();
    memory.pushString(L, 'before');
    expect(memory.toString(L, 1)).toBe('before');
    const before = api.HEAPU8;
    // More than the engine holds now: the memory must grow.
    const block = api._malloc(before.length + 16 * 1024 * 1024);
    expect(api.HEAPU8 === before).toBe(false);
    memory.pushString(L, 'after – ✓');
    expect(memory.toString(L, 2)).toBe('after – ✓');
    expect(memory.toString(L, 1)).toBe('before');
    api._free(block);
  });
});

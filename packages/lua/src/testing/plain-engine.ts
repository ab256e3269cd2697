import { readFile } from 'node:fs/promises';
import { type LuaEngine, LuaFactory } from 'wasmoon';

/**
 * A plain wasmoon engine for testing the pure-Lua libraries under lua/ on their own, outside
 * the luact VM. Values cross only as strings, numbers and booleans computed in Lua (wasmoon cuts
 * strings at NUL bytes and turns Lua integers into JS numbers).
 */
export interface PlainEngine {
  /**
   * Runs a Lua chunk and returns its first result. wasmoon 1.16's doString leaves the chunk's
   * results on the main thread's stack, which overflows (and corrupts memory) after a few dozen
   * calls, so the stack is emptied after every chunk.
   */
  run(code: string): Promise<unknown>;
  /** Runs a Lua chunk with the global TEXT set to `text`. */
  withText(text: string, code: string): Promise<unknown>;
  readonly lua: LuaEngine;
  close(): void;
}

/**
 * An engine with `lua/<library>.lua`'s text in the global SOURCE and the given JS `globals`,
 * then `setup` run.
 */
export async function plainEngine(
  library: string,
  setup: string,
  globals: Readonly<Record<string, unknown>> = {},
): Promise<PlainEngine> {
  const lua = await new LuaFactory().createEngine();
  for (const [name, value] of Object.entries(globals)) lua.global.set(name, value);
  const run = async (code: string) => {
    try {
      return await lua.doString(code);
    } finally {
      lua.global.setTop(0);
    }
  };
  lua.global.set(
    'SOURCE',
    await readFile(new URL(`../../lua/${library}.lua`, import.meta.url), 'utf8'),
  );
  await run(setup);
  return {
    lua,
    run,
    withText: (text, code) => {
      lua.global.set('TEXT', text);
      return run(code);
    },
    close: () => lua.global.close(),
  };
}

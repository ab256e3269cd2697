import { LuaFactory } from 'wasmoon';
import type { LuaApi } from './lua-api.js';

/**
 * Instantiates the Lua WebAssembly module. All engines created from one module share its
 * memory (2 GiB cap), so a node creates it once and gives it to every host.
 */
export async function loadLuaApi(): Promise<LuaApi> {
  const wasm = (await new LuaFactory().getLuaModule()) as unknown as { module: LuaApi };
  return wasm.module;
}

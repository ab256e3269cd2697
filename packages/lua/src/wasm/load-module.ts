import { LuaFactory } from 'wasmoon';
import { DEFAULT_ENGINE_LIMIT, EngineMemory } from '../vm/lua-heap.js';
import type { LuaApi } from './lua-api.js';

/** The part of the WebAssembly global this module touches (lib.dom is not in our types). */
interface WasmGlobal {
  instantiate: (...args: unknown[]) => Promise<unknown>;
}

type Exports = Record<string, unknown>;

/**
 * Instantiates the Lua WebAssembly module. All engines created from one module share its
 * memory (2 GiB cap), so a node creates it once and gives it to every host; its
 * `engineMemory` is the budget they share.
 *
 * wasmoon's glue exposes each C function through a checking wrapper (an assertion and an
 * `apply` per call). Every fiber switch and message makes dozens of such calls, so the API
 * binds the instance's exports directly: the instance is captured as wasmoon creates it.
 */
export async function loadLuaApi(): Promise<LuaApi> {
  const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
  const captured: Exports[] = [];
  const instantiate = wasm.instantiate;
  wasm.instantiate = async (...args: unknown[]) => {
    const result = (await instantiate.apply(wasm, args)) as {
      instance?: { exports: Exports };
      exports?: Exports;
    };
    const exports = result.instance?.exports ?? result.exports;
    if (exports) captured.push(exports);
    return result;
  };
  let module: LuaApi;
  try {
    module = ((await new LuaFactory().getLuaModule()) as unknown as { module: LuaApi }).module;
  } finally {
    wasm.instantiate = instantiate;
  }
  const exports = captured[0];
  const api = (exports ? withDirectExports(module, exports) : module) as {
    engineMemory: EngineMemory;
  };
  api.engineMemory = new EngineMemory(DEFAULT_ENGINE_LIMIT);
  return api as unknown as LuaApi;
}

/**
 * The module with every `_name` C function replaced by the instance's export `name`: own
 * properties of an object whose prototype is the module, so the heap views (replaced by the
 * module when memory grows) are still read from it.
 */
function withDirectExports(module: LuaApi, exports: Exports): LuaApi {
  const api = Object.create(module) as Record<string, unknown>;
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === 'function') api[`_${name}`] = value;
  }
  return api as unknown as LuaApi;
}

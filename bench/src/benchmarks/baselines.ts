import { MessageChannel } from 'node:worker_threads';
import { type LuaApi, LuaStatus, loadLuaApi, WasmMemory } from '@luact/lua';

/**
 * Median µs of one call of a trivial Lua function from TypeScript through the raw C API
 * (lua_pcall on a fresh state): the floor under anything that enters Lua.
 */
export async function bareLuaCallMicros(rounds: number, calls: number): Promise<number> {
  const api: LuaApi = await loadLuaApi();
  const memory = new WasmMemory(api);
  const L = api._luaL_newstate();
  api._luaL_openlibs(L);
  if (memory.loadChunk(L, 'function noop(x) return x end', '=bench') !== LuaStatus.ok)
    throw new Error('chunk');
  api._lua_pcallk(L, 0, 0, 0, 0, 0);
  const name = memory.cString('noop');
  const samples: number[] = [];
  for (let round = 0; round < rounds + 1; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) {
      api._lua_getglobal(L, name);
      api._lua_pushnumber(L, i);
      api._lua_pcallk(L, 1, 1, 0, 0, 0);
      api._lua_settop(L, -2);
    }
    if (round > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e3 / calls);
  }
  api._lua_close(L);
  return samples.sort((a, b) => a - b)[samples.length >> 1] ?? Number.NaN;
}

/**
 * What a bare Lua coroutine suspended in coroutine.yield costs, in a fresh WebAssembly module:
 * Lua heap (collectgarbage("count")) and RSS per coroutine. What the process model adds is
 * measured against this.
 */
export async function bareCoroutineCost(count: number): Promise<{ rss: number; heap: number }> {
  const api: LuaApi = await loadLuaApi();
  const memory = new WasmMemory(api);
  const L = api._luaL_newstate();
  api._luaL_openlibs(L);
  const run = (code: string): number => {
    if (memory.loadChunk(L, code, '=bench') !== LuaStatus.ok) throw new Error('chunk');
    api._lua_pcallk(L, 0, 1, 0, 0, 0);
    const value = api._lua_tonumberx(L, -1, 0);
    api._lua_settop(L, -2);
    return value;
  };
  gc();
  const heapBefore = run('collectgarbage() return collectgarbage("count")');
  const rssBefore = process.memoryUsage().rss;
  const heapAfter = run(`
    local list = {}
    for i = 1, ${count} do
      local co = coroutine.create(function() local inbox = {} coroutine.yield() end)
      coroutine.resume(co)
      list[i] = co
    end
    KEEP = list
    collectgarbage()
    return collectgarbage("count")`);
  gc();
  const rss = (process.memoryUsage().rss - rssBefore) / count;
  api._lua_close(L);
  return { rss, heap: ((heapAfter - heapBefore) * 1024) / count };
}

/** Messages per second of a windowed ping-pong over a JS MessageChannel in one thread. */
export async function messageChannelRate(messages: number, window: number): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  port2.on('message', (value: number) => port2.postMessage(value));
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let received = 0;
    port1.on('message', () => {
      received++;
      if (sent < messages / 2) port1.postMessage(sent++);
      if (received === messages / 2) resolve();
    });
    for (let i = 0; i < window; i++) port1.postMessage(sent++);
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  port1.close();
  port2.close();
  return messages / seconds;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

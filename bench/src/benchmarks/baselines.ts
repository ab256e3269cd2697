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

/**
 * A toy scheduler written in Lua, in the same WebAssembly build: processes are coroutines with
 * a table for an inbox and one run queue, and a send that wakes a waiting receiver queues it.
 * Messages per second of a windowed ping-pong between two of them: what message passing costs
 * when it never leaves the engine (no encoding, no JS), the floor an actor core can aim at.
 */
const TOY_SCHEDULER = `
local messages, window = ...
local queue, head, tail = {}, 1, 0
local function ready(p) tail = tail + 1; queue[tail] = p end
local function new(body)
  local p = { inbox = {}, first = 1, last = 0, waiting = false }
  p.co = coroutine.create(function() body(p) end)
  ready(p)
  return p
end
local function send(p, value)
  p.last = p.last + 1; p.inbox[p.last] = value
  if p.waiting then p.waiting = false; ready(p) end
end
local function receive(p)
  while p.first > p.last do p.waiting = true; coroutine.yield() end
  local value = p.inbox[p.first]; p.inbox[p.first] = nil; p.first = p.first + 1
  return value
end
local rounds, done = messages // 2, 0
local ping
local pong = new(function(self) while true do send(ping, receive(self)) end end)
ping = new(function(self)
  local sent, received = 0, 0
  for _ = 1, window do sent = sent + 1; send(pong, sent) end
  while received < rounds do
    receive(self); received = received + 1
    if sent < rounds then sent = sent + 1; send(pong, sent) end
  end
  done = received * 2
end)
while head <= tail do
  local p = queue[head]; queue[head] = nil; head = head + 1
  coroutine.resume(p.co)
end
return done`;

export async function toySchedulerRate(messages: number, window: number): Promise<number> {
  const api: LuaApi = await loadLuaApi();
  const memory = new WasmMemory(api);
  const L = api._luaL_newstate();
  api._luaL_openlibs(L);
  const samples: number[] = [];
  for (let round = 0; round < 4; round++) {
    if (memory.loadChunk(L, TOY_SCHEDULER, '=toy') !== LuaStatus.ok) throw new Error('chunk');
    api._lua_pushnumber(L, messages);
    api._lua_pushnumber(L, window);
    const start = process.hrtime.bigint();
    if (api._lua_pcallk(L, 2, 1, 0, 0, 0) !== LuaStatus.ok) throw new Error('toy scheduler failed');
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const exchanged = api._lua_tonumberx(L, -1, 0);
    api._lua_settop(L, -2);
    if (exchanged !== messages) throw new Error(`toy scheduler exchanged ${exchanged}`);
    if (round > 0) samples.push(messages / seconds);
  }
  api._lua_close(L);
  return samples.sort((a, b) => a - b)[samples.length >> 1] ?? Number.NaN;
}

/**
 * Median µs of one resume of a coroutine from TypeScript that yields straight back: what each
 * step of a process costs when TypeScript schedules it (the cost in-engine scheduling avoids).
 */
export async function resumeYieldMicros(rounds: number, resumes: number): Promise<number> {
  const api: LuaApi = await loadLuaApi();
  const memory = new WasmMemory(api);
  const L = api._luaL_newstate();
  api._luaL_openlibs(L);
  const co = api._lua_newthread(L);
  if (memory.loadChunk(co, 'while true do coroutine.yield() end', '=yields') !== LuaStatus.ok)
    throw new Error('chunk');
  const results = api._malloc(4);
  const samples: number[] = [];
  for (let round = 0; round < rounds + 1; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < resumes; i++) {
      if (api._lua_resume(co, L, 0, results) !== LuaStatus.yield) throw new Error('no yield');
    }
    if (round > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e3 / resumes);
  }
  api._free(results);
  api._lua_close(L);
  return samples.sort((a, b) => a - b)[samples.length >> 1] ?? Number.NaN;
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

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
 * What message passing costs when it never leaves the engine (no encoding, no JS), the floor an
 * actor core can aim at. `WORKLOAD` is put in front: it starts the processes and sets `done`.
 */
const TOY_SCHEDULER = `
local queue, head, tail = {}, 1, 0
local function ready(p) tail = tail + 1; queue[tail] = p end
local function new(body, ...)
  local p = { inbox = {}, first = 1, last = 0, waiting = false }
  local args = table.pack(...)
  p.co = coroutine.create(function() body(p, table.unpack(args, 1, args.n)) end)
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
local done = 0
WORKLOAD
while head <= tail do
  local p = queue[head]; queue[head] = nil; head = head + 1
  coroutine.resume(p.co)
end
return done`;

/** A windowed ping-pong between two toy processes: `done` is the messages exchanged. */
const TOY_PING_PONG = `
local messages, window = ...
local rounds = messages // 2
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
end)`;

/**
 * One toy process sends one message to each of `receivers` others, started beforehand, and
 * takes their replies: `done` is the replies received.
 */
const TOY_FAN_OUT = `
local receivers = ...
local hub
local peers = {}
for i = 1, receivers do
  peers[i] = new(function(self) send(hub, receive(self)) end)
end
hub = new(function(self)
  for i = 1, receivers do send(peers[i], i) end
  for _ = 1, receivers do receive(self); done = done + 1 end
end)`;

/**
 * The toy scheduler with what a luact message is, done the cheapest way in plain Lua: a send
 * names its receiver by PID string and a topic (the receiver's listened topic, else its inbox),
 * is sized and counted against the receiver's mailbox limits (messages, bytes), and is queued
 * with its topic and the sender's PID; the inbox hands out message objects with `from`,
 * `payload` and `data` methods, a listened topic its value. No sandbox, no checks of user
 * input, no host, no preemption hook, Lua's own allocator: a floor under luact's in-engine
 * messages that the toy, which queues bare values, is not.
 */
const MESSAGE_SEMANTICS = `
local queue, head, tail = {}, 1, 0
local function ready(p) tail = tail + 1; queue[tail] = p end
local Message = {}
local MESSAGE_MT = { __index = Message }
function Message:from() return self[2] end
function Message:payload() return self end
function Message:data() return self[4] end
local BY_PID, pids, running = {}, 0, nil
local MAX_MESSAGES, MAX_BYTES = 50000, 1e9
local function channel(p, mt) return { p = p, head = 1, tail = 0, buf = {}, mt = mt } end
local function new(body, ...)
  pids = pids + 1
  local p = { pid = '{bench|bench:processes|' .. pids .. '}', waiting = false, box = { 0, 0 }, listens = {} }
  p.inbox = channel(p, MESSAGE_MT)
  BY_PID[p.pid] = p
  local args = table.pack(...)
  p.co = coroutine.create(function() body(p, table.unpack(args, 1, args.n)) end)
  ready(p)
  return p
end
local function listen(p, topic)
  local ch = channel(p, nil)
  p.listens[topic] = ch
  return ch
end
local function send(pid, topic, value)
  local p = BY_PID[pid]
  local ch = p.listens[topic] or p.inbox
  local kind = type(value)
  local size = (kind == 'number' and 10 or kind == 'string' and #value + 6 or 2) + #topic
  local box = p.box
  if box[1] >= MAX_MESSAGES or box[2] + size > MAX_BYTES then error('mailbox full') end
  local last = ch.tail + 1
  ch.tail = last
  local buf, at = ch.buf, last * 4 - 4
  buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4] = value, size, running.pid, topic
  box[1], box[2] = box[1] + 1, box[2] + size
  if p.waiting then p.waiting = false; ready(p) end
end
local function receive(ch)
  while ch.head > ch.tail do ch.p.waiting = true; coroutine.yield() end
  local first, buf = ch.head, ch.buf
  local at = first * 4 - 4
  local value, size, from, topic = buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]
  buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4] = nil, nil, nil, nil
  if first == ch.tail then ch.head, ch.tail = 1, 0 else ch.head = first + 1 end
  local box = ch.p.box
  box[1], box[2] = box[1] - 1, box[2] - size
  if ch.mt ~= nil then return setmetatable({ topic, from, nil, value }, ch.mt) end
  return value
end
local done = 0
WORKLOAD
while head <= tail do
  local p = queue[head]; queue[head] = nil; head = head + 1
  running = p
  coroutine.resume(p.co)
end
return done`;

/** The ping-pong of the lua actors benchmark, on MESSAGE_SEMANTICS: `done` is the messages. */
const MESSAGE_SEMANTICS_PING_PONG = `
local messages, window = ...
local rounds = messages // 2
local pong = new(function(self)
  local inbox = self.inbox
  while true do
    local msg = receive(inbox)
    send(msg:from(), 'pong', msg:payload():data())
  end
end)
new(function(self)
  local pongs = listen(self, 'pong')
  local sent, received = 0, 0
  for _ = 1, window do sent = sent + 1; send(pong.pid, 'ping', sent) end
  while received < rounds do
    receive(pongs); received = received + 1
    if sent < rounds then sent = sent + 1; send(pong.pid, 'ping', sent) end
  end
  done = received * 2
end)`;

/** Messages per second of the toy scheduler's ping-pong (see TOY_SCHEDULER). */
export function toySchedulerRate(messages: number, window: number): Promise<number> {
  return toyRate(TOY_SCHEDULER, TOY_PING_PONG, [messages, window], messages);
}

/** Messages per second of the same ping-pong with luact's message semantics (MESSAGE_SEMANTICS). */
export function messageSemanticsRate(messages: number, window: number): Promise<number> {
  return toyRate(MESSAGE_SEMANTICS, MESSAGE_SEMANTICS_PING_PONG, [messages, window], messages);
}

/**
 * Replies per second of the toy scheduler's fan-out: one process, one message to each of
 * `receivers`, one reply from each (starting the receivers' coroutines is timed too).
 */
export function toyFanOutRate(receivers: number): Promise<number> {
  return toyRate(TOY_SCHEDULER, TOY_FAN_OUT, [receivers], receivers);
}

async function toyRate(
  scheduler: string,
  workload: string,
  args: number[],
  expected: number,
): Promise<number> {
  const api: LuaApi = await loadLuaApi();
  const memory = new WasmMemory(api);
  const L = api._luaL_newstate();
  api._luaL_openlibs(L);
  const code = scheduler.replace('WORKLOAD', workload);
  const samples: number[] = [];
  for (let round = 0; round < 4; round++) {
    if (memory.loadChunk(L, code, '=toy') !== LuaStatus.ok) throw new Error('chunk');
    for (const arg of args) api._lua_pushnumber(L, arg);
    const start = process.hrtime.bigint();
    if (api._lua_pcallk(L, args.length, 1, 0, 0, 0) !== LuaStatus.ok)
      throw new Error(`toy scheduler failed: ${memory.toString(L, -1)}`);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const counted = api._lua_tonumberx(L, -1, 0);
    api._lua_settop(L, -2);
    if (counted !== expected) throw new Error(`toy scheduler counted ${counted}`);
    if (round > 0) samples.push(expected / seconds);
  }
  api._lua_close(L);
  return samples.sort((a, b) => a - b)[samples.length >> 1] ?? Number.NaN;
}

/**
 * Median µs to create a Lua coroutine, resume it and let it return, `count` times in a loop
 * inside the engine: what a process's spawn and run to end costs without anything of luact.
 */
export async function bareCoroutineSpawnMicros(rounds: number, count: number): Promise<number> {
  const api: LuaApi = await loadLuaApi();
  const memory = new WasmMemory(api);
  const L = api._luaL_newstate();
  api._luaL_openlibs(L);
  const code = `
    local count = ...
    local create, resume = coroutine.create, coroutine.resume
    local function body() end
    for _ = 1, count do resume(create(body)) end`;
  const samples: number[] = [];
  for (let round = 0; round < rounds + 1; round++) {
    if (memory.loadChunk(L, code, '=spawns') !== LuaStatus.ok) throw new Error('chunk');
    api._lua_pushnumber(L, count);
    const start = process.hrtime.bigint();
    if (api._lua_pcallk(L, 1, 0, 0, 0, 0) !== LuaStatus.ok) throw new Error('spawns failed');
    if (round > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e3 / count);
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

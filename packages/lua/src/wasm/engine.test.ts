import { afterEach, describe, expect, it } from 'vitest';
import { sharedApi } from '../testing/vm-harness.js';
import {
  LUA_DEBUG_CURRENTLINE_OFFSET,
  LUA_DEBUG_SIZE,
  LUA_MASKCOUNT,
  LUA_REGISTRYINDEX,
  type LuaApi,
  type LuaState,
  LuaStatus,
  type Pointer,
} from './lua-api.js';
import { WasmMemory } from './memory.js';

/**
 * Our Lua build (packages/lua/wasm) changes how a coroutine yields — by returning up to
 * lua_resume where it can, by an exception elsewhere — and how the count hook counts. These
 * tests run plain Lua in a bare state and check that coroutines behave as Lua 5.4 says in
 * every place a yield can come from, and that a count hook that yields resumes exactly.
 */

interface Bare {
  readonly api: LuaApi;
  readonly memory: WasmMemory;
  readonly L: LuaState;
}

const opened: Bare[] = [];

afterEach(() => {
  for (const bare of opened.splice(0)) bare.api._lua_close(bare.L);
});

async function bare(): Promise<Bare> {
  const api = await sharedApi();
  const L = api._luaL_newstate();
  api._luaL_openlibs(L);
  const state = { api, memory: new WasmMemory(api), L };
  opened.push(state);
  return state;
}

/** Runs `source` in a protected call and returns its one result as a string (or the error). */
function run({ api, memory, L }: Bare, source: string): string {
  let status = memory.loadChunk(L, source, '=test');
  if (status === LuaStatus.ok) status = api._lua_pcallk(L, 0, 1, 0, 0, 0);
  const result = memory.toString(L, -1) ?? '?';
  api._lua_settop(L, 0);
  return status === LuaStatus.ok ? result : `error: ${result}`;
}

/**
 * Runs `source` on a new thread of `lua` whose count hook is `hook`, every `count`
 * instructions, resuming it with `resume` until it ends; the thread, its results on it.
 */
function runHooked(
  { api, memory, L }: Bare,
  hook: Pointer,
  count: number,
  source: string,
  resume: (thread: LuaState) => number,
): LuaState {
  const thread = api._lua_newthread(L);
  api._lua_sethook(thread, hook, LUA_MASKCOUNT, count);
  memory.loadChunk(thread, source, '=test');
  let status: number = LuaStatus.yield;
  while (status === LuaStatus.yield) status = resume(thread);
  expect(status).toBe(LuaStatus.ok);
  return thread;
}

/**
 * Runs `source` on a new thread whose count hook yields every `count` instructions, resuming
 * it with lua_resume until it ends: the thread (its results on it), and the hook's calls and
 * the yields lua_resume returned.
 */
function runYieldingHook(
  lua: Bare,
  count: number,
  source: string,
): { thread: LuaState; calls: number; yields: number } {
  const { api, L } = lua;
  let calls = 0;
  let yields = 0;
  const hook = api.addFunction((state) => {
    calls++;
    return api._lua_yieldk(state, 0, 0, 0);
  }, 'vii');
  const results = api._malloc(4);
  const thread = runHooked(lua, hook, count, source, (resumed) => {
    const status = api._lua_resume(resumed, L, 0, results);
    if (status === LuaStatus.yield) yields++;
    return status;
  });
  api._free(results);
  api.removeFunction(hook);
  return { thread, calls, yields };
}

/** Resumes a thread as the scheduler does, each slice with a count of 1,000. */
function freshSlices({ api, L }: Bare): (thread: LuaState, results: Pointer) => number {
  return (thread, results) => api._luact_resume(thread, L, 0, results, 1000);
}

/**
 * How often a count hook that does nothing else is called in a run of `source` (on a new
 * thread of `lua`, every 1,000 instructions) that `resume` resumes until it ends.
 */
function countHookCalls(
  lua: Bare,
  source: string,
  resume: (thread: LuaState, results: Pointer) => number,
): number {
  const { api, L } = lua;
  let calls = 0;
  const hook = api.addFunction(() => {
    calls++;
    return undefined;
  }, 'vii');
  const results = api._malloc(4);
  runHooked(lua, hook, 1000, source, (thread) => resume(thread, results));
  api._lua_settop(L, 0);
  api._free(results);
  api.removeFunction(hook);
  return calls;
}

/** `countHookCalls` of `source` in a new bare state, resumed as the scheduler does. */
async function hookCallsInSlices(source: string): Promise<number> {
  const lua = await bare();
  return countHookCalls(lua, source, freshSlices(lua));
}

describe('numbers as text in our Lua build', () => {
  it('writes integers as Lua 5.4 does, without snprintf, and floats as before', async () => {
    const lua = await bare();
    // Integers, from the edges of their range, through concatenation and tostring; floats
    // (still through snprintf) keep their ".0" and exponents.
    const integers = ['0', '7', '-1', '10', '-10', '4096', '9007199254740993', '-123456789012'];
    expect(run(lua, `return ${integers.map((n) => `tostring(${n})`).join(" .. ' ' .. ")}`)).toBe(
      integers.join(' '),
    );
    expect(run(lua, "return math.maxinteger .. ' ' .. math.mininteger .. ' ' .. (1 << 62)")).toBe(
      '9223372036854775807 -9223372036854775808 4611686018427387904',
    );
    expect(run(lua, "return 'item ' .. 42 .. ' ' .. (-7 // 2) .. ' ' .. #('x'):rep(1000)")).toBe(
      'item 42 -4 1000',
    );
    expect(run(lua, "return 1.0 .. ' ' .. -0.0 .. ' ' .. 2^63 .. ' ' .. 0.1 .. ' ' .. 1e100")).toBe(
      '1.0 -0.0 9.2233720368548e+18 0.1 1e+100',
    );
    expect(run(lua, 'return string.format("%d %5d", -42, 7) .. " " .. math.tointeger(3.0)')).toBe(
      '-42     7 3',
    );
  });
});

describe('type() in our Lua build', () => {
  it('names every type as Lua 5.4 does, as the same interned strings, and wants a value', async () => {
    const lua = await bare();
    const values =
      "nil, true, 1, 1.5, 'x', {}, print, function() end, coroutine.create(print), io.stdout";
    expect(
      run(
        lua,
        `local t = table.pack(${values}) local out = {}
      for i = 1, t.n do out[i] = type(t[i]) end return table.concat(out, ' ')`,
      ),
    ).toBe('nil boolean number number string table function function thread userdata');
    // Equal to (and usable as a key alike) the names made by Lua code.
    expect(
      run(
        lua,
        "local k = {} k[type('')] = 1 return tostring(k['str' .. ('ing'):lower()] == 1 and type(k) == 'table')",
      ),
    ).toBe('true');
    expect(run(lua, 'return type()')).toBe(
      "error: test:1: bad argument #1 to 'type' (value expected)",
    );
    expect(run(lua, 'return select("#", type(nil, 1))')).toBe('1');
  });
});

describe('coroutines in our Lua build', () => {
  const cases: Record<string, [string, string]> = {
    'a plain call': [
      `local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
       return co(1) .. ' ' .. co(10)`,
      '2 20',
    ],
    'a tail call (return coroutine.yield(...))': [
      `local function f(...) return coroutine.yield(...) end
       local co = coroutine.wrap(function(...) local x, y = f(...) return x + y end)
       local a, b = co(3, 4) return a .. b .. ' ' .. co(5, 6)`,
      '34 11',
    ],
    'a tail call from a vararg function': [
      `local co = coroutine.wrap(function(...) return coroutine.yield(select('#', ...), ...) end)
       local n, a, b = co('x', 'y') local c, d = co('p', 'q') return n .. a .. b .. c .. d`,
      '2xypq',
    ],
    'inside pcall, then an error caught by it': [
      `local co = coroutine.wrap(function()
         local ok, e = pcall(function() coroutine.yield('in') error('boom', 0) end)
         return tostring(ok) .. ':' .. e
       end)
       return co() .. ' ' .. co()`,
      'in false:boom',
    ],
    'pcalls inside pcalls, then errors caught by the inner and by the outer': [
      `local co = coroutine.wrap(function()
         local okOuter, eOuter = pcall(function()
           local okInner, eInner = pcall(function() coroutine.yield('a') error('inner', 0) end)
           coroutine.yield(tostring(okInner) .. eInner)
           error('outer', 0)
         end)
         return tostring(okOuter) .. eOuter
       end)
       return co() .. ' ' .. co() .. ' ' .. co()`,
      'a falseinner falseouter',
    ],
    'pcall, then values returned through it': [
      `local co = coroutine.wrap(function()
         local ok, a, b = pcall(function(x) local y = coroutine.yield(x) return y, y * 2 end, 1)
         return tostring(ok) .. a .. b
       end)
       return co() .. ' ' .. co(21)`,
      '1 true2142',
    ],
    'xpcall, then an error its handler sees': [
      `local co = coroutine.wrap(function()
         local ok, e = xpcall(function() coroutine.yield('in') error('boom', 0) end,
           function(m) return 'handled ' .. m end)
         return tostring(ok) .. ':' .. e
       end)
       return co() .. ' ' .. co()`,
      'in false:handled boom',
    ],
    'a pcall in a tail call (return pcall(f))': [
      `local function guarded(f) return pcall(f) end
       local co = coroutine.wrap(function()
         local ok, v = guarded(function() return coroutine.yield('t') .. '!' end)
         return tostring(ok) .. v
       end)
       return co() .. ' ' .. co('r')`,
      't truer!',
    ],
    'deep inside a pcall (a thousand Lua frames above it), then an error': [
      `local function deep(n)
         if n == 0 then return coroutine.yield('bottom') end
         return (deep(n - 1)) .. '.'
       end
       local co = coroutine.wrap(function()
         local ok, v = pcall(function() local s = deep(1000) error(#s, 0) end)
         return tostring(ok) .. v
       end)
       return co() .. ' ' .. co('x')`,
      'bottom false1001',
    ],
    'a tail-called xpcall whose body yields no value or one, then returns or fails': [
      `local function run(body)
         local co = coroutine.wrap(function() return xpcall(body, function(m) return 'h:' .. m end) end)
         local n = select('#', co())
         local ok, v = co()
         return n .. ':' .. tostring(ok) .. ':' .. tostring(v)
       end
       return run(function() coroutine.yield() return 'x' end) .. ' '
         .. run(function() coroutine.yield(1) error('e', 0) end)`,
      '0:true:x 1:false:h:e',
    ],
    'a __close that yields while a pcall recovers from an error': [
      `local co = coroutine.wrap(function()
         local ok, e = pcall(function()
           local x <close> = setmetatable({}, { __close = function() coroutine.yield('in close') end })
           error('boom', 0)
         end)
         return tostring(ok) .. ' ' .. tostring(e)
       end)
       local a = co() local b = co() return a .. ' | ' .. b`,
      'in close | false boom',
    ],
    'two __close that yield while an xpcall recovers from an error': [
      `local log = {}
       local function closer(name)
         return setmetatable({}, { __close = function() log[#log + 1] = coroutine.yield(name) end })
       end
       local co = coroutine.wrap(function()
         local ok, e = xpcall(function()
           local a <close> = closer('a')
           local b <close> = closer('b')
           error('boom', 0)
         end, function(m) return 'h:' .. m end)
         return tostring(ok) .. ' ' .. e
       end)
       local r = co() .. co(1) .. ' ' .. co(2)
       return r .. ' ' .. table.concat(log, ',')`,
      'ba false h:boom 1,2',
    ],
    'pcall(coroutine.yield, ...)': [
      `local co = coroutine.wrap(function()
         local ok, v = pcall(coroutine.yield, 'direct')
         return tostring(ok) .. v
       end)
       return co() .. ' ' .. co('back')`,
      'direct trueback',
    ],
    'a pcall a metamethod calls, inside a pcall': [
      `local callable = setmetatable({}, { __call = function(_, k) return coroutine.yield(k) end })
       local t = setmetatable({}, { __index = function(_, k) return select(2, pcall(callable, k)) end })
       local co = coroutine.wrap(function()
         local ok, v = pcall(function() return t.key .. '+' end)
         return tostring(ok) .. v
       end)
       return co() .. ' ' .. co('V')`,
      'key trueV+',
    ],
    'pcall itself as a metamethod, inside a pcall': [
      `local t = setmetatable({}, {
         __index = pcall, -- t.key calls pcall(t, 'key'), which calls t('key')
         __call = function(_, k) return coroutine.yield(k) end,
       })
       local co = coroutine.wrap(function()
         local ok, v = pcall(function()
           -- The first yield throws, so the outer pcall's body then runs under 'unroll':
           -- the second must throw too, not return through the metamethod's C call.
           local first = t.first
           local second = t.second
           return tostring(first) .. tostring(second)
         end)
         return tostring(ok) .. v
       end)
       return co() .. ' ' .. co('A') .. ' ' .. co('B')`,
      'first second truetruetrue',
    ],
    'a metamethod (__index, __lt, __concat)': [
      `local mt = { __index = function(_, k) return coroutine.yield(k) end,
                    __lt = function() return coroutine.yield('lt') end,
                    __concat = function() return coroutine.yield('cat') end }
       local co = coroutine.wrap(function()
         local t = setmetatable({}, mt)
         local v = t.key
         local lt = t < t
         local c = t .. 'x'
         return v .. tostring(lt) .. c
       end)
       return co() .. co('V') .. co(true) .. co('C')`,
      'keyltcatVtrueC',
    ],
    'an iterator of a generic for': [
      `local co = coroutine.wrap(function()
         local sum = 0
         for v in function(_, i) i = (i or 0) + 1 if i <= 3 then coroutine.yield(i) return i end end do
           sum = sum + v
         end
         return 'sum ' .. sum
       end)
       return co() .. co() .. co() .. ' ' .. co()`,
      '123 sum 6',
    ],
    'a coroutine inside a coroutine': [
      `local outer = coroutine.wrap(function()
         local inner = coroutine.wrap(function() coroutine.yield('a') coroutine.yield('b') end)
         coroutine.yield(inner() .. inner())
         return 'end'
       end)
       return outer() .. outer()`,
      'abend',
    ],
    'a C function that cannot let it through (table.sort)': [
      `local co = coroutine.create(function()
         table.sort({ 3, 2, 1 }, function(a, b) coroutine.yield() return a < b end)
       end)
       local ok, e = coroutine.resume(co) return tostring(ok) .. ' ' .. e`,
      'false attempt to yield across a C-call boundary',
    ],
    'a closed to-be-closed variable after the yield': [
      `local log = {}
       local co = coroutine.wrap(function()
         local x <close> = setmetatable({}, { __close = function() log[#log + 1] = 'closed' end })
         coroutine.yield('y')
         return 'r'
       end)
       return co() .. co() .. log[1]`,
      'yrclosed',
    ],
    'coroutine.close and the status of a yielded coroutine': [
      `local co = coroutine.create(function() coroutine.yield(1) end)
       coroutine.resume(co)
       local s = coroutine.status(co)
       return s .. ' ' .. tostring(coroutine.close(co)) .. ' ' .. coroutine.status(co)`,
      'suspended true dead',
    ],
  };

  for (const [where, [source, expected]] of Object.entries(cases)) {
    it(`yields from ${where}`, async () => {
      expect(run(await bare(), source)).toBe(expected);
    });
  }

  it('yields to TypeScript from lua_resume, values in and out, then ends', async () => {
    const { api, memory, L } = await bare();
    const thread = api._lua_newthread(L);
    expect(
      memory.loadChunk(
        thread,
        'local a = ... local b = coroutine.yield(a .. "1") return b .. "2"',
        '=test',
      ),
    ).toBe(LuaStatus.ok);
    const results = api._malloc(4);
    memory.pushString(thread, 'x');
    expect(api._lua_resume(thread, L, 1, results)).toBe(LuaStatus.yield);
    expect(memory.toString(thread, -1)).toBe('x1');
    api._lua_settop(thread, 0);
    memory.pushString(thread, 'y');
    expect(api._lua_resume(thread, L, 1, results)).toBe(LuaStatus.ok);
    expect(memory.toString(thread, -1)).toBe('y2');
    api._free(results);
  });

  it('reports an error raised after a yield as the status of lua_resume', async () => {
    const { api, memory, L } = await bare();
    const thread = api._lua_newthread(L);
    memory.loadChunk(thread, 'coroutine.yield() error("late", 0)', '=test');
    const results = api._malloc(4);
    expect(api._lua_resume(thread, L, 0, results)).toBe(LuaStatus.yield);
    expect(api._lua_resume(thread, L, 0, results)).toBe(LuaStatus.runtimeError);
    expect(memory.toString(thread, -1)).toBe('late');
    api._free(results);
  });
});

describe('the count hook of our Lua build', () => {
  it('yields from the hook in every kind of loop and resumes each exactly where it was', async () => {
    const lua = await bare();
    const { thread, calls, yields } = runYieldingHook(
      lua,
      100,
      `local sum = 0
       for i = 1, 1000 do sum = sum + i end
       local i = 0 while i < 1000 do i = i + 1 sum = sum + 1 end
       repeat i = i - 1 until i == 0
       for _, v in ipairs({ 1, 2, 3 }) do sum = sum + v end
       local function down(n) if n == 0 then return 0 end return 1 + down(n - 1) end
       sum = sum + down(150)
       local function tail(n, acc) if n == 0 then return acc end return tail(n - 1, acc + 1) end
       sum = sum + tail(5000, 0)
       ::again:: i = i + 1 if i < 1000 then goto again end
       -- Below a metamethod the hook's yield throws; elsewhere, below a pcall too, it
       -- returns: all resume alike.
       local function count() local n = 0 for _ = 1, 2000 do n = n + 1 end return n end
       local ok, counted = pcall(count)
       sum = sum + counted
       local lazy = setmetatable({}, { __index = function(_, k) return count() + k end })
       sum = sum + lazy[1] + count()
       return sum + i`,
    );
    expect(lua.memory.toString(thread, -1)).toBe(
      String(500500 + 1000 + 6 + 150 + 5000 + 1000 + 2000 + 2001 + 2000),
    );
    // Each hook call yielded once; the loops above run some 35,000 instructions.
    expect(yields).toBe(calls);
    expect(yields).toBeGreaterThan(50);
  });

  it('preempts a __close that runs while a pcall recovers from an error, and the pcall still fails', async () => {
    const lua = await bare();
    const { thread, yields } = runYieldingHook(
      lua,
      1000,
      `local closed = 0
       local ok, e = pcall(function()
         local x <close> = setmetatable({}, { __close = function()
           for i = 1, 10000 do closed = closed + 1 end
         end })
         error('boom', 0)
       end)
       return tostring(ok) .. ' ' .. tostring(e) .. ' ' .. closed`,
    );
    expect(lua.memory.toString(thread, -1)).toBe('false boom 10000');
    expect(yields).toBeGreaterThan(5);
  });

  it('starts the count afresh at each luact_resume, where lua_resume carries it on', async () => {
    const lua = await bare();
    const { api, L } = lua;
    // Ten stretches of some 600 counted instructions, with a yield between two.
    const source = `for _ = 1, 10 do
        local x = 0 for i = 1, 300 do x = x + i end
        coroutine.yield()
      end`;
    // Some 6,000 instructions in all: the hook every 1,000 of them, across the yields.
    expect(
      countHookCalls(lua, source, (thread, results) => api._lua_resume(thread, L, 0, results)),
    ).toBeGreaterThan(3);
    // Each slice counts from 1,000 again, and none runs that many.
    expect(countHookCalls(lua, source, freshSlices(lua))).toBe(0);
  });

  it('resumes a thread its hook yielded with luact_resume as lua_resume does', async () => {
    const lua = await bare();
    const { api, memory, L } = lua;
    let calls = 0;
    const hook = api.addFunction((state) => {
      calls++;
      return api._lua_yieldk(state, 0, 0, 0);
    }, 'vii');
    const results = api._malloc(4);
    const yields = (resume: (thread: LuaState) => number): number => {
      calls = 0;
      const source = 'local x = 0 for i = 1, 5000 do x = x + i end return x .. ""';
      const thread = runHooked(lua, hook, 1000, source, resume);
      expect(memory.toString(thread, -1)).toBe('12502500');
      api._lua_settop(L, 0);
      return calls;
    };
    const carried = yields((thread) => api._lua_resume(thread, L, 0, results));
    const fresh = yields((thread) => api._luact_resume(thread, L, 0, results, 1000));
    api._free(results);
    api.removeFunction(hook);
    // Some 15,000 instructions (three a turn): a yield every 1,000, none skipped, none twice.
    expect(carried).toBeGreaterThanOrEqual(14);
    expect(fresh).toBe(carried);
  });

  it('runs a coroutine that Lua resumes or closes on the count of the thread that does', async () => {
    // Some 30,000 instructions in 100 coroutines, none of which runs 1,000 of its own, and as
    // many in the __close handlers coroutine.close runs.
    const calls = await hookCallsInSlices(
      `local mt = { __close = function() local x = 0 for i = 1, 100 do x = x + i end end }
       for _ = 1, 100 do
         coroutine.wrap(function() local x = 0 for i = 1, 100 do x = x + i end end)()
         local co = coroutine.create(function() local _ <close> = setmetatable({}, mt) coroutine.yield() end)
         coroutine.resume(co)
         coroutine.close(co)
       end`,
    );
    expect(calls).toBeGreaterThanOrEqual(40);
  });

  it('charges the instructions of the frames an error unwinds', async () => {
    // 100 functions of 300 straight-line instructions, each ending in an error: only the
    // loop around them is charged otherwise (some 600 instructions).
    const calls = await hookCallsInSlices(
      `local function f() local x = 0 ${'x = x + 1 '.repeat(100)}error(x) end
       for _ = 1, 100 do pcall(f) end`,
    );
    expect(calls).toBeGreaterThanOrEqual(20);
  });

  it('charges the frames of a suspended coroutine when Lua closes it', async () => {
    // 100 coroutines, each 300 straight-line instructions and a yield, then closed: only the
    // loop around them is charged otherwise (some 1,000 instructions). A charge that runs the
    // count out drops what is left of it, so fewer than 30.
    const calls = await hookCallsInSlices(
      `local function f() local x = 0 ${'x = x + 1 '.repeat(100)}coroutine.yield() end
       for _ = 1, 100 do
         local co = coroutine.create(f)
         coroutine.resume(co)
         coroutine.close(co)
       end`,
    );
    expect(calls).toBeGreaterThanOrEqual(10);
  });

  it('says whether a yield would reach the scheduler, and which thread runs', async () => {
    const lua = await bare();
    const { api, memory, L } = lua;
    // probe(): "yieldable/can yield to the scheduler/is the running thread", as 0s and 1s.
    const probe = api.addFunction((state) => {
      const running = api._luact_running(L) === state ? 1 : 0;
      memory.pushString(
        state,
        `${api._lua_isyieldable(state)}${api._luact_canyield(state)}${running}`,
      );
      return 1;
    }, 'ii');
    api._lua_pushcclosure(L, probe, 0);
    api._lua_setglobal(L, memory.cString('probe'));
    const results = api._malloc(4);
    const thread = runHooked(
      lua,
      0,
      0,
      `local seen = {}
       local function note() seen[#seen + 1] = probe() end
       local function inC(f)  -- f called from C: a __index of table.concat
         table.concat(setmetatable({}, { __index = function() f() return '' end, __len = function() return 1 end }))
       end
       local function nested(f) return function() coroutine.wrap(f)() end end
       note()
       coroutine.wrap(note)()
       coroutine.wrap(nested(note))()
       inC(note)
       inC(coroutine.wrap(note))
       inC(coroutine.wrap(nested(note)))
       coroutine.wrap(function() inC(coroutine.wrap(note)) end)()
       note()
       return table.concat(seen, ' ')`,
      (resumed) => api._luact_resume(resumed, L, 0, results, 1000),
    );
    api._free(results);
    api.removeFunction(probe);
    expect(memory.toString(thread, -1)).toBe('111 111 111 001 101 101 101 111');
  });

  it('runs the hook once Lua returns to the frame luact_preemptat names, and only then', async () => {
    const bareState = await bare();
    const { api, memory, L } = bareState;
    const frame = api._malloc(LUA_DEBUG_SIZE);
    const lines: number[] = [];
    const hook = api.addFunction((state) => {
      api._lua_getstack(state, 0, frame);
      api._lua_getinfo(state, memory.cString('l'), frame);
      lines.push(api.HEAP32[(frame + LUA_DEBUG_CURRENTLINE_OFFSET) >> 2] ?? 0);
      return undefined;
    }, 'vii');
    // mark() names the frame two below it: the chunk (mark is level 0, inner level 1).
    const mark = api.addFunction((state) => {
      api._lua_getstack(state, 2, frame);
      api._luact_preemptat(state, frame);
      return 0;
    }, 'ii');
    api._lua_sethook(L, hook, LUA_MASKCOUNT, 1_000_000);
    api._lua_pushcclosure(L, mark, 0);
    api._lua_setglobal(L, memory.cString('mark'));
    const result = run(
      bareState,
      `local function inner() mark() local x = 0 for i = 1, 10 do x = x + i end return x end
       local a = inner()
       return a + inner() - 55`,
    );
    api._free(frame);
    api.removeFunction(hook);
    api.removeFunction(mark);
    expect(result).toBe('55');
    // At the first instruction after each return to the chunk (both on line 3: the call
    // leaves its result in place), once per mark: the million-instruction count never ran out.
    expect(lines).toEqual([3, 3]);
  });
});

describe('C work without instructions in our Lua build', () => {
  // Each runs some 16 MiB of work in C with no Lua instruction and no allocation for it.
  const WORK = {
    'the pattern matcher backtracking':
      'string.find(string.rep("a", 40), string.rep(".-", 4) .. "b")',
    'a long set in a pattern': 'string.find("a", "[" .. string.rep("b", 1 << 24) .. "]")',
    'a metatable chain walked from C': `local t = { "x" }
      for _ = 1, 1999 do t = setmetatable({}, { __index = t }) end
      table.unpack(t, 1, 20)`,
    'a __call chain': `local f = function() end
      for _ = 1, 1999 do f = setmetatable({}, { __call = f }) end
      for _ = 1, 20 do f() end`,
    'utf8.len': 'utf8.len(S)',
    'utf8.offset': 'utf8.offset(S, #S)',
    'the codes iterator skipping bytes': 'utf8.codes("a")(string.rep("\\x80", 1 << 24), 0)',
    'string comparison': 'local _ = S < S .. "x"',
    'equality of long strings': 'local _ = S == S:sub(1, -2) .. "x"',
    tonumber: 'tonumber(Z)',
    'tonumber with a base': 'tonumber(Z, 16)',
    'a number read by a library': 'math.abs(Z)',
    'string.pack formats':
      'string.packsize(F) string.pack(F, 1) string.unpack(F, string.pack("i", 1))',
    'string.upper': 'string.upper(S)',
    'compiling a long chain of or': 'load("return a" .. string.rep(" or a", 20000))',
    'a plain find': 'string.find(S, "y", 1, true)',
    'string.unpack of a long zero-terminated string': 'pcall(string.unpack, "z", S)',
    'table.insert and table.remove at the front': `local t = {}
      for i = 1, 20000 do t[i] = i end
      table.insert(t, 1, 0) table.remove(t, 1)`,
    'table.unpack and table.concat of plain tables': `local t = {}
      for i = 1, 20000 do t[i] = "x" end
      table.unpack(t) table.concat(t)`,
  };

  for (const [what, code] of Object.entries(WORK)) {
    it(`reports the work of ${what}`, async () => {
      const lua = await bare();
      const { api, L } = lua;
      let checks = 0;
      const check = api.addFunction(() => {
        checks++;
        return 0;
      }, 'ii');
      const prepared = run(
        lua,
        `S = string.rep("x", 1 << 24)
         Z = string.rep("0", 1 << 24) .. "1"
         F = string.rep(" ", 1 << 24) .. "i"
         return "ready"`,
      );
      expect(prepared).toBe('ready');
      api._luact_onwork(L, check);
      const result = run(lua, `${code} return "ran"`);
      api._luact_onwork(L, 0);
      api.removeFunction(check);
      expect(result).toBe('ran');
      expect(checks).toBeGreaterThanOrEqual(1);
    });
  }

  it('raises, where the check raises, and so ends the work', async () => {
    const lua = await bare();
    const { api, memory, L } = lua;
    let checks = 0;
    const check = api.addFunction((state) => {
      checks++;
      memory.pushString(state, 'stopped');
      return api._lua_error(state);
    }, 'ii');
    api._luact_onwork(L, check);
    const result = run(lua, 'return utf8.len(string.rep("x", 1 << 24))');
    api._luact_onwork(L, 0);
    api.removeFunction(check);
    expect(result).toBe('error: stopped');
    expect(checks).toBe(1);
  });
});

describe('the stacks of suspended coroutines in our Lua build', () => {
  /**
   * Lua heap per coroutine (bytes, after full collections) of 1,000 coroutines suspended in a
   * yield with 14 locals in use: with the 20 free slots every C function gets, the yield would
   * not fit in the 30 slots a thread starts with.
   */
  function suspendedCost(state: Bare): number {
    return Number(
      run(
        state,
        `collectgarbage() collectgarbage()
         local before, keep = collectgarbage('count'), {}
         for i = 1, 1000 do
           local co = coroutine.create(function()
             local a, b, c, d, e, f, g, h, i, j, k, l, m, n = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
             coroutine.yield()
             return a + b + c + d + e + f + g + h + i + j + k + l + m + n
           end)
           assert(coroutine.resume(co))
           keep[i] = co
         end
         collectgarbage() collectgarbage()
         local cost = (collectgarbage('count') - before) * 1024 / 1000
         for i = 1, 1000 do assert(select(2, coroutine.resume(keep[i])) == 105) end
         return cost`,
      ),
    );
  }

  it('reserve no free slots for the yield they wait in', async () => {
    // coroutine.yield needs no free slots: with them, such a coroutine grew its stack by half
    // (1,037 B each in our build before, against 797 B now: thread, stack and closure).
    const cost = suspendedCost(await bare());
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThan(900);
  });

  it('shrink at once when the scheduler asks (luact_shrinkstack), and resume as before', async () => {
    const state = await bare();
    const { api, memory, L } = state;
    // The same wait, once after growing its stack and call records 200 calls deep, once not.
    const waiter = (depth: number) => {
      const thread = api._lua_newthread(L);
      const source = `local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
        local depth = deep(${depth})
        local got = coroutine.yield()
        return depth + got`;
      expect(memory.loadChunk(thread, source, '=deep')).toBe(LuaStatus.ok);
      return thread;
    };
    // No collection in between (it shrinks stacks too); each reading adds the same garbage.
    run(state, "collectgarbage() collectgarbage('stop')");
    let last = Number(run(state, "return collectgarbage('count') * 1024"));
    const grown = () => {
      const now = Number(run(state, "return collectgarbage('count') * 1024"));
      const delta = now - last;
      last = now;
      return delta;
    };
    const reading = grown();
    const results = api._malloc(4);
    const shallow = waiter(0);
    const deep = waiter(200);
    grown();
    expect(api._lua_resume(shallow, L, 0, results)).toBe(LuaStatus.yield);
    api._luact_shrinkstack(shallow);
    const shallowCost = grown() - reading;
    expect(api._lua_resume(deep, L, 0, results)).toBe(LuaStatus.yield);
    const deepCost = grown() - reading;
    api._luact_shrinkstack(deep);
    const shrunk = grown() - reading;
    // 200 frames took several KiB of stack and call records; waiting holds what a wait that
    // never went deep does: every call record it does not use is freed (200 × 36 bytes).
    expect(shrunk).toBeLessThan(-4096);
    expect(Math.abs(deepCost + shrunk - shallowCost)).toBeLessThan(64);
    run(state, "collectgarbage('restart')");
    api._lua_pushinteger(deep, 1n);
    expect(api._lua_resume(deep, L, 1, results)).toBe(LuaStatus.ok);
    expect(memory.toString(deep, -1)).toBe('201');
    api._free(results);
  });
});

describe("a fiber's ids, written into its thread, in our Lua build", () => {
  it('reads them from the thread (fiber_ids): nothing for zeros or what is no thread', async () => {
    const state = await bare();
    const { api, memory, L } = state;
    const setIds = (thread: number, fiber: number, group: number) => {
      // LUA_EXTRASPACE (luaconf.h): two numbers in front of the thread.
      api.HEAPF64[(thread - 16) >> 3] = fiber;
      api.HEAPF64[((thread - 16) >> 3) + 1] = group;
    };
    setIds(L, 0, 0);
    api._lua_pushcclosure(L, api._luact_kernelfunction(2), 0);
    api._lua_setglobal(L, memory.cString('fiber_ids'));
    const made = run(
      state,
      'CO = coroutine.create(function() while true do coroutine.yield(fiber_ids()) end end) return 1',
    );
    expect(made).toBe('1');
    api._lua_getglobal(L, memory.cString('CO'));
    const thread = api._lua_tothread(L, -1);
    api._lua_settop(L, 0);
    const ids = `local function show(...) return select('#', ...) .. ':' .. table.concat({...}, ',') end
      return show(fiber_ids(CO)) .. ' ' .. show(fiber_ids()) .. ' ' .. show(fiber_ids({}))
        .. ' ' .. show(select(2, coroutine.resume(CO)))`;
    // A thread Lua made copies the main thread's zeros: no fiber runs on it.
    expect(run(state, ids)).toBe('0: 0: 0: 0:');
    setIds(thread, 2 ** 40 + 3, 17);
    // Read from the thread given, else the running one (inside CO: CO's own).
    expect(run(state, ids)).toBe(`2:${2 ** 40 + 3},17 0: 0: 2:${2 ** 40 + 3},17`);
  });
});

describe('mail boxes read from TypeScript in our Lua build', () => {
  it('reads the two counts of registry[ref][key] in one call (luact_boxcounts), 0 for none', async () => {
    const state = await bare();
    const { api, L } = state;
    expect(
      run(
        state,
        'BOXES = { [7] = { 3, 1500 }, [2 ^ 40] = { 1, 2.5 }, [9] = "not a box" } return 1',
      ),
    ).toBe('1');
    api._lua_getglobal(L, state.memory.cString('BOXES'));
    const ref = api._luaL_ref(L, LUA_REGISTRYINDEX);
    const out = api._malloc(16);
    const counts = () => [api.HEAPF64[out >> 3], api.HEAPF64[(out >> 3) + 1]];
    expect(api._luact_boxcounts(L, ref, 7, out)).toBe(1);
    expect(counts()).toEqual([3, 1500]);
    expect(api._luact_boxcounts(L, ref, 2 ** 40, out)).toBe(1);
    expect(counts()).toEqual([1, 2.5]);
    expect(api._luact_boxcounts(L, ref, 8, out)).toBe(0);
    expect(api._luact_boxcounts(L, ref, 9, out)).toBe(0);
    expect(api._luact_boxcounts(L, ref + 1000, 7, out)).toBe(0);
    api._free(out);
  });
});

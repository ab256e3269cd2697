import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlainEngine, plainEngine } from '../testing/plain-engine.js';

/**
 * Tests for lua/sort.lua, run in a plain wasmoon engine against the native table.sort of the
 * same engine (Lua 5.4). Comparisons happen in Lua; a test gets back '' or a report of the first
 * differences.
 */

let engine: PlainEngine;
const run = (code: string) => engine.run(code);

const HARNESS = `
  function make(options) return assert(load(SOURCE, '=sort.lua'))(options or {}) end
  S = make()
  native = { sort = table.sort }

  local seed = 1
  function reseed(n) seed = n end
  function random(n)
    seed = seed * 6364136223846793005 + 1442695040888963407
    return (seed >> 33) % n + 1
  end
  function copy(t)
    local c = {}
    for i = 1, #t do c[i] = t[i] end
    return c
  end
  function same(a, b)
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
  end
  -- whether b holds the same elements as a, each as many times
  function permutation_of(a, b)
    if #a ~= #b then return false end
    local count = {}
    for i = 1, #a do count[a[i]] = (count[a[i]] or 0) + 1 end
    for i = 1, #b do
      if not count[b[i]] or count[b[i]] == 0 then return false end
      count[b[i]] = count[b[i]] - 1
    end
    return true
  end
  function sorted(t, comp)
    for i = 2, #t do
      if comp then
        if comp(t[i], t[i - 1]) then return false end
      elseif t[i] < t[i - 1] then
        return false
      end
    end
    return true
  end

  -- what one call lib.sort(...) raised (the call site is this line for both implementations)
  function raised(lib, ...)
    local ok, err = pcall(function(...) local r = lib.sort(...) return r end, ...)
    if ok then return 'no error' end
    return tostring(err)
  end

  -- McIlroy's adversary ("A killer adversary for quicksort", 1999): a comparator that decides
  -- the order of the elements as the sort asks, so as to make a quicksort quadratic. Returns
  -- the number of comparisons the sort made on n elements, after checking its result.
  -- (fail_after: the comparator raises at that comparison instead)
  function adversary(sort, n, fail_after)
    local gas, solid = n + 1, 0
    local value, candidate, comparisons = {}, 0, 0
    local t = {}
    for i = 1, n do t[i], value[i] = i, gas end
    local function freeze(x) solid = solid + 1 value[x] = solid end
    local ok, err = pcall(sort, t, function(x, y)
      comparisons = comparisons + 1
      if comparisons == fail_after then error('stop') end
      if value[x] == gas and value[y] == gas then
        if x == candidate then freeze(x) else freeze(y) end
      end
      if value[x] == gas then candidate = x elseif value[y] == gas then candidate = y end
      return value[x] < value[y]
    end)
    if fail_after then
      local seen = {}
      for i = 1, n do seen[t[i]] = true end
      for i = 1, n do assert(seen[i], 'element lost') end
      return err
    end
    assert(ok, err)
    for i = 2, n do assert(value[t[i - 1]] < value[t[i]], 'not sorted') end
    return comparisons
  end
`;

beforeAll(async () => {
  engine = await plainEngine('sort', HARNESS);
});

afterAll(() => {
  engine.close();
});

describe('sort: the same results as table.sort', () => {
  it('on random numbers and strings, with and without comparators', async () => {
    const code = `
      reseed(1)
      local report = {}
      local comparators = {
        false,
        function(a, b) return a < b end,
        function(a, b) return a > b end,
        function(a, b) return tostring(a) < tostring(b) end,
      }
      for _, n in ipairs({ 0, 1, 2, 3, 4, 5, 7, 100, 127, 128, 129, 1000, 10000 }) do
        for _, range in ipairs({ 3, 1000, 1000000000 }) do
          for c, comp in ipairs(comparators) do
            local data = {}
            for i = 1, n do
              data[i] = c == 4 and tostring(random(range)) or random(range) - range // 2
              if c == 4 and i % 3 == 0 then data[i] = data[i] .. 'x' end
            end
            local a, b = copy(data), copy(data)
            native.sort(a, comp or nil)
            S.sort(b, comp or nil)
            if not same(a, b) then report[#report + 1] = n .. ' of ' .. range .. ' comparator ' .. c end
          end
        end
      end
      return table.concat(report, ', ')
    `;
    expect(await run(code)).toBe('');
  });

  it('puts equal elements in the native order up to 128 elements (where native never randomizes)', async () => {
    const code = `
      reseed(2)
      local report = {}
      local by_key = function(x, y) return x.key < y.key end
      for n = 2, 128 do
        local records = {}
        for i = 1, n do records[i] = { key = random(4), id = i } end
        local a, b = copy(records), copy(records)
        native.sort(a, by_key)
        S.sort(b, by_key)
        if not same(a, b) then report[#report + 1] = n end
      end
      return table.concat(report, ', ')
    `;
    expect(await run(code)).toBe('');
  });

  it('reads and writes through __index, __newindex and __len', async () => {
    const code = `
      local function proxy(store)
        local reads, writes = 0, 0
        local t = setmetatable({}, {
          __index = function(_, i) reads = reads + 1 return store[i] end,
          __newindex = function(_, i, v) writes = writes + 1 store[i] = v end,
          __len = function() return #store end,
        })
        return t, function() return reads, writes end
      end
      local data = { 5, 3, 9, 1, 7, 2, 8, 6, 4, 0 }
      local store_native, store_lua = copy(data), copy(data)
      local t1, counts_native = proxy(store_native)
      local t2, counts_lua = proxy(store_lua)
      native.sort(t1)
      S.sort(t2)
      local r1, w1 = counts_native()
      local r2, w2 = counts_lua()
      return table.concat(store_lua, ' ') .. ' / ' .. tostring(same(store_native, store_lua))
        .. ' reads ' .. tostring(r1 == r2) .. ' writes ' .. tostring(w1 == w2)
    `;
    expect(await run(code)).toBe('0 1 2 3 4 5 6 7 8 9 / true reads true writes true');
  });

  it('takes the length as luaL_len does (integral floats and numeric strings)', async () => {
    const code = `
      local out = {}
      for _, len in ipairs({ 3, 3.0, '3', ' 0x3 ', 1.5, '1.5', 'x', {}, 2^31 - 1, 2^31, -5, 0 }) do
        local function subject()
          return setmetatable({ 3, 1, 2 }, { __len = function() return len end })
        end
        local a, b = subject(), subject()
        local ea, eb = raised(native, a), raised(S, b)
        local function contents(t) return rawget(t, 1) .. rawget(t, 2) .. rawget(t, 3) end
        out[#out + 1] = tostring(len) .. ': '
          .. (ea == eb and contents(a) == contents(b) and 'same' or (ea .. ' ~= ' .. eb))
      end
      return table.concat(out, '\\n')
    `;
    expect(
      ((await run(code)) as string).split('\n').filter((line) => !line.endsWith('same')),
    ).toEqual([]);
  });
});

describe('sort: errors', () => {
  it('raises the native messages for bad arguments and comparisons', async () => {
    const code = `
      local out = {}
      local userdata_like = setmetatable({}, { __index = {}, __len = function() return 2 end })
      for i, args in ipairs({
        { nil }, { 5 }, { 'abc' }, { {3, 1, 2}, 5 }, { {3, 1, 2}, {} }, { {1}, 5 }, { {}, 'x' },
        { {1, 'x', 3} }, { {{}, {}} }, { {1, 2, nil, 4} }, { {true, false} },
        { setmetatable({}, { __len = function() return 2^31 - 1 end }) },
      }) do
        local a, b = raised(native, table.unpack(args, 1, 2)), raised(S, table.unpack(args, 1, 2))
        if a ~= b then out[#out + 1] = i .. ': ' .. a .. ' ~= ' .. b end
      end
      return table.concat(out, '\\n')
    `;
    expect(await run(code)).toBe('');
    expect(await run(`return raised(S, { 1, 'x', 3 })`)).toBe(
      'attempt to compare string with number',
    );
    expect(await run(`return raised(S, { 3, 1, 2 }, 5)`)).toMatch(
      /^\[string ".*"\]:\d+: bad argument #2 to 'sort' \(function expected, got number\)$/,
    );
  });

  it('detects an inconsistent comparator where table.sort does, with the same outcome', async () => {
    const code = `
      reseed(3)
      local report = {}
      local detected = 0
      for trial = 1, 600 do
        local n = random(100)
        local data = {}
        for i = 1, n do data[i] = random(50) end
        -- deterministic nonsense: the same answers for both sorts
        local kind, salt = trial % 4, random(1000)
        local function comp(a, b)
          if kind == 0 then return true end
          if kind == 1 then return a <= b end
          if kind == 2 then return (a * 31 + b * 17 + salt) % 3 == 0 end
          return a ~= b
        end
        local a, b = copy(data), copy(data)
        local ea, eb = raised(native, a, comp), raised(S, b, comp)
        if ea ~= 'no error' then detected = detected + 1 end
        if ea ~= eb or not same(a, b) then
          report[#report + 1] = trial .. ': ' .. ea .. ' ~= ' .. eb
        end
      end
      return #report == 0 and ('detected ' .. tostring(detected > 50)) or table.concat(report, '\\n')
    `;
    expect(await run(code)).toBe('detected true');
    expect(await run(`return raised(S, { 3, 1, 2, 5, 4 }, function() return true end)`)).toMatch(
      /^\[string ".*"\]:\d+: invalid order function for sorting$/,
    );
  });

  it('passes a comparator error on unchanged, with every element still in the table', async () => {
    const code = `
      reseed(4)
      local out = {}
      for _, n in ipairs({ 10, 100, 1000, 4000 }) do
        for _, after in ipairs({ 1, 7, 100, 5000, 30000 }) do
          local data = {}
          for i = 1, n do data[i] = random(1000000) end
          local t, calls = copy(data), 0
          local failure = { 'a table as error value' }
          local adversary_value = {}
          local ok, err = pcall(S.sort, t, function(a, b)
            calls = calls + 1
            if calls == after then error(failure) end
            return a < b
          end)
          if not (ok or err == failure) then out[#out + 1] = 'error changed: ' .. tostring(err) end
          if not permutation_of(data, t) then out[#out + 1] = 'lost elements: ' .. n .. ' after ' .. after end
        end
      end
      -- and in the heapsort that takes over from an adversarial input
      for _, after in ipairs({ 100000, 120000, 150000 }) do -- (heapsort starts after ~88000)
        local ok, err = pcall(adversary, S.sort, 4000, after)
        if not ok then out[#out + 1] = 'heapsort phase: ' .. tostring(err) end
      end
      return table.concat(out, '\\n')
    `;
    expect(await run(code)).toBe('');
  });
});

describe('sort: no quadratic worst case', () => {
  it('sorts an adversarial input in O(n log n) comparisons where table.sort takes O(n^2)', async () => {
    const code = `
      local out = {}
      for _, n in ipairs({ 1000, 4000 }) do
        local bound = 5 * n * math.log(n, 2)
        out[#out + 1] = n .. ': ' .. tostring(adversary(S.sort, n) < bound)
          .. ' (native: ' .. tostring(adversary(native.sort, n) > n * n / 8) .. ')'
      end
      return table.concat(out, ', ')
    `;
    expect(await run(code)).toBe('1000: true (native: true), 4000: true (native: true)');
  });

  it('sorts the classic hard cases', async () => {
    const code = `
      local out = {}
      local n = 20000
      local shapes = {
        sorted = function(i) return i end,
        reversed = function(i) return n - i end,
        equal = function() return 7 end,
        organ_pipe = function(i) return i <= n // 2 and i or n - i end,
        sawtooth = function(i) return i % 100 end,
        two_values = function(i) return i % 2 end,
        almost_sorted = function(i) return i % 1000 == 0 and -i or i end,
      }
      for name, shape in pairs(shapes) do
        local data = {}
        for i = 1, n do data[i] = shape(i) end
        local t = copy(data)
        S.sort(t)
        if not (sorted(t) and permutation_of(data, t)) then out[#out + 1] = name end
      end
      return table.concat(out, ', ')
    `;
    expect(await run(code)).toBe('');
  });
});

describe('sort: comparators run as Lua', () => {
  it('lets the comparator yield', async () => {
    const code = `
      local t = { 3, 1, 2 }
      local co = coroutine.wrap(function()
        S.sort(t, function(a, b) coroutine.yield() return a < b end)
        return 'done'
      end)
      local yields = 0
      while co() ~= 'done' do yields = yields + 1 end
      local ok, err = pcall(coroutine.wrap(function()
        native.sort({ 2, 1 }, function(a, b) coroutine.yield() return a < b end)
      end))
      return table.concat(t, ' ') .. ' after ' .. tostring(yields > 0) .. ' / native: ' .. err
    `;
    expect(await run(code)).toBe(
      '1 2 3 after true / native: attempt to yield across a C-call boundary',
    );
  });
});

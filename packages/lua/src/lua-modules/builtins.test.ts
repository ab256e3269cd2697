import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlainEngine, plainEngine } from '../testing/plain-engine.js';

/**
 * lua/builtins.lua in a plain engine: each replacement keeps the native function's results
 * (compared with the native one on the same inputs) and bounds what the native one did not.
 */

let engine: PlainEngine;
const run = (code: string) => engine.run(code);

beforeAll(async () => {
  engine = await plainEngine(
    'builtins',
    `TERMINATED = {}
     B = load(SOURCE)()({ TERMINATED = TERMINATED, max_string = 1 << 24, max_chunk = 1 << 16 })`,
  );
});

afterAll(() => engine.close());

describe('string.rep', () => {
  it('gives what the native rep gives, with and without separators, around its chunk size', async () => {
    const mismatches = await run(`
      local bad = {}
      for _, s in ipairs({ '', 'x', 'ab', ('q'):rep(70000) }) do
        for _, sep in ipairs({ false, '', ',', '--' }) do
          for _, n in ipairs({ -1, 0, 1, 2, 3, 65535, 65536, 65537, 131072, 200001 }) do
            if #s * n < 1e7 then
              local got = B.string.rep(s, n, sep or nil)
              if got ~= string.rep(s, n, sep or nil) then
                bad[#bad + 1] = #s .. '/' .. tostring(sep) .. '/' .. n
              end
            end
          end
        end
      end
      return table.concat(bad, ' ')`);
    expect(mismatches).toBe('');
  });

  it('repeats an empty string any number of times at once, and refuses results over the limit', async () => {
    expect(await run('return #B.string.rep("", math.maxinteger)')).toBe(0);
    expect(await run('return #B.string.rep("", math.maxinteger, "")')).toBe(0);
    expect(await run('return select(2, pcall(B.string.rep, "ab", 1 << 24))')).toMatch(
      /string\.rep: a result of 33554432 bytes is over the limit of 16777216 bytes/,
    );
    expect(await run('return select(2, pcall(B.string.rep, "x", 1.5))')).toMatch(
      /bad argument #2 to 'rep' \(number has no integer representation\)/,
    );
    expect(await run('return select(2, pcall(B.string.rep, {}, 2))')).toMatch(
      /bad argument #1 to 'rep' \(string expected, got table\)/,
    );
  });
});

describe('table functions', () => {
  it('move, insert and remove give what the native ones give, on plain tables and through metamethods', async () => {
    const result = await run(`
      local function proxy(t)
        return setmetatable({}, { __index = t, __newindex = t, __len = function() return #t end })
      end
      local function show(t) return table.concat(t, ',') end
      local out = {}
      -- move: overlapping both ways, another table, through a proxy
      local a, b = { 1, 2, 3, 4, 5 }, { 1, 2, 3, 4, 5 }
      B.table.move(a, 1, 3, 2); table.move(b, 1, 3, 2)
      out[#out + 1] = show(a) == show(b)
      a, b = { 1, 2, 3, 4, 5 }, { 1, 2, 3, 4, 5 }
      B.table.move(a, 2, 5, 1); table.move(b, 2, 5, 1)
      out[#out + 1] = show(a) == show(b)
      local raw = { 1, 2, 3, 4 }
      local p = proxy(raw)
      B.table.move(p, 1, 4, 3)
      out[#out + 1] = show(raw) == '1,2,1,2,3,4'
      -- insert and remove through a proxy
      raw = { 'a', 'b', 'c' }
      p = proxy(raw)
      B.table.insert(p, 2, 'x'); B.table.insert(p, 'z')
      out[#out + 1] = show(raw) == 'a,x,b,c,z'
      out[#out + 1] = B.table.remove(p, 1) == 'a' and B.table.remove(p) == 'z' and show(raw) == 'x,b,c'
      return out`);
    expect(result).toEqual([true, true, true, true, true]);
  });

  it('refuses a range no table can hold instead of looping over it', async () => {
    expect(
      await run('return select(2, pcall(B.table.move, {}, 1, math.maxinteger - 1, 2))'),
    ).toMatch(/table\.move: 9223372036854775806 elements are more than any table can hold/);
    expect(
      await run(
        'return select(2, pcall(B.table.insert, setmetatable({}, { __len = function() return math.maxinteger - 1 end }), 1, "x"))',
      ),
    ).toMatch(/table\.insert: a length of .* is more than any table can hold/);
    expect(await run('return select(2, pcall(B.table.move, {}, 1, 3, math.maxinteger))')).toMatch(
      /destination wrap around/,
    );
  });
});

describe('load helpers', () => {
  it('reads a reader function into one chunk, with errors and the size limit', async () => {
    expect(
      await run(`local parts = { 'return ', '4', '2' }
        local i = 0
        return B.read_chunk(function() i = i + 1; return parts[i] end)`),
    ).toBe('return 42');
    expect(await run('return select(2, B.read_chunk(function() error("bad reader", 0) end))')).toBe(
      'bad reader',
    );
    expect(await run('return select(2, B.read_chunk(function() return {} end))')).toBe(
      'reader function must return a string',
    );
    expect(
      await run('return select(2, B.read_chunk(function() return ("x"):rep(4096) end))'),
    ).toMatch(/load: a chunk of more than 65536 bytes is over the limit/);
    // A termination is never taken for the reader's error.
    expect(await run('return pcall(B.read_chunk, function() error(TERMINATED) end) == false')).toBe(
      true,
    );
  });

  it("never lets a user chunk take the name of luact's own code", async () => {
    expect(await run('return B.chunk_name("=luact:kernel", "x")')).toBe('==luact:kernel');
    expect(await run('return B.chunk_name(nil, "=luact:x return 1")')).toBe('==luact:x return 1');
    expect(await run('return B.chunk_name("=mine", "x")')).toBe('=mine');
    expect(await run('return B.chunk_name(nil, function() end)')).toBe('=(load)');
  });
});

describe('tostring and pcall', () => {
  it('calls __tostring from Lua and checks its result like the native tostring', async () => {
    expect(
      await run(
        'return B.tostring(setmetatable({}, { __tostring = function() return "obj" end }))',
      ),
    ).toBe('obj');
    expect(
      await run(
        'return select(2, pcall(B.tostring, setmetatable({}, { __tostring = function() return 1 end })))',
      ),
    ).toMatch(/'__tostring' must return a string/);
    expect(await run('return B.tostring(12) .. B.tostring(nil) .. B.tostring(true)')).toBe(
      '12niltrue',
    );
  });

  it('formats like string.format, calling __tostring of its arguments from Lua', async () => {
    expect(
      await run(`local obj = setmetatable({}, { __tostring = function() return "obj" end })
        return B.string.format("%s|%5.1f|%s|%q", obj, 2.25, obj, "a\\n") ==
          string.format("%s|%5.1f|%s|%q", "obj", 2.25, "obj", "a\\n")`),
    ).toBe(true);
    expect(await run('return B.string.format("%d-%s", 7, "x")')).toBe('7-x');
  });

  it('lets a termination through pcall and xpcall instead of catching it', async () => {
    expect(await run('return select(2, pcall(B.pcall, error, TERMINATED)) == TERMINATED')).toBe(
      true,
    );
    expect(
      await run(
        'return select(2, pcall(B.xpcall, error, function() return "handled" end, TERMINATED)) == TERMINATED',
      ),
    ).toBe(true);
    expect(await run('return select(2, B.pcall(error, "plain", 0))')).toBe('plain');
  });
});

describe('a generator of random numbers of its own', () => {
  it('draws the same numbers for the same seed, within the bounds asked for', async () => {
    expect(
      await run(`local a, b = B.new_generator(42), B.new_generator(42)
        for i = 1, 1000 do
          local x, y = a(3, 9), b(3, 9)
          if x ~= y or x < 3 or x > 9 or math.type(x) ~= 'integer' then return false end
        end
        local f = a()
        return f >= 0 and f < 1 and a(5) >= 1`),
    ).toBe(true);
    expect(await run('return B.new_generator(1)(1, 1e6) ~= B.new_generator(2)(1, 1e6)')).toBe(true);
    expect(await run('return select(2, pcall(B.new_generator(1), 0))')).toMatch(
      /bad argument #1 to 'random' \(interval is empty\)/,
    );
  });
});

describe('pattern functions with the pure-Lua matcher to route to', () => {
  it('give the native results for short patterns, the first time and once remembered', async () => {
    const patternsSource = await readFile(
      new URL('../../lua/patterns.lua', import.meta.url),
      'utf8',
    );
    const routed = await plainEngine(
      'builtins',
      `P = load(PATTERNS, '=patterns.lua')({})
       B = load(SOURCE)()({ TERMINATED = {}, patterns = P, max_string = 1 << 24, max_chunk = 1 << 16 })`,
      { PATTERNS: patternsSource },
    );
    try {
      const mismatches = await routed.run(`
        local bad = {}
        local function same(what, a, b)
          if a.n ~= b.n then bad[#bad + 1] = what; return end
          for i = 1, a.n do if a[i] ~= b[i] then bad[#bad + 1] = what; return end end
        end
        local subjects = { 'a.b.c', 'key=value', '', ('x'):rep(63), ('x'):rep(64) }
        local inits = { nil, 1, 3, -2, -100, 100 }
        for _ = 1, 2 do -- the second round takes the path of remembered patterns
          for _, s in ipairs(subjects) do
            for _, p in ipairs({ '.', '%.', '(%w+)', 'x', '^x', 'x$', '' }) do
              for k = 1, 6 do
                local init = inits[k]
                for _, plain in ipairs({ false, true }) do
                  local what = ('find %q %q %s %s'):format(s, p, tostring(init), tostring(plain))
                  same(what, table.pack(B.string.find(s, p, init, plain)), table.pack(string.find(s, p, init, plain)))
                end
                same('match ' .. p, table.pack(B.string.match(s, p, init)), table.pack(string.match(s, p, init)))
              end
              for _, n in ipairs({ nil, 1 }) do
                same('gsub ' .. p, table.pack(B.string.gsub(s, p, '<%0>', n)), table.pack(string.gsub(s, p, '<%0>', n)))
              end
              local got, want = {}, {}
              for a in B.string.gmatch(s, p) do got[#got + 1] = a end
              for a in string.gmatch(s, p) do want[#want + 1] = a end
              same('gmatch ' .. p, table.pack(table.unpack(got)), table.pack(table.unpack(want)))
            end
          end
        end
        return table.concat(bad, '; ')`);
      expect(mismatches).toBe('');
    } finally {
      routed.close();
    }
  });
});

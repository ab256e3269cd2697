import { describe, expect, it } from 'vitest';
import { literalRequires } from './requires.js';

describe('literalRequires', () => {
  it('finds every literal form with its line and ignores comments and lookalikes', () => {
    const source = [
      'local json = require("json")',
      "local time = require 'time'",
      'local uuid = require[[uuid]]',
      '-- local io = require("io")',
      '--[[ local os = require("os") ]]',
      'local x = my.require("nope")',
      'local lib = require ( "lib" )',
      'error("call require(\'json\') before use")',
      'local s = [[ require("inside") ]]',
      'local ok = t.require("nope2")',
    ].join('\n');
    expect(literalRequires(source)).toEqual([
      { name: 'json', line: 1, inFunction: false },
      { name: 'time', line: 2, inFunction: false },
      { name: 'uuid', line: 3, inFunction: false },
      { name: 'lib', line: 7, inFunction: false },
    ]);
  });

  it('finds the requires of a typed source (Wippy type annotations)', () => {
    const source = [
      'type Config = {name: string, retries?: integer}',
      'local json: {encode: (any) -> string} = require("json")',
      'local function load(raw: string): Config?',
      '  local time = require("time") :: any',
      '  return json.decode(raw) as Config',
      'end',
    ].join('\n');
    expect(literalRequires(source)).toEqual([
      { name: 'json', line: 2, inFunction: false },
      { name: 'time', line: 4, inFunction: true },
    ]);
  });

  it('says which requires sit in a function body, through every kind of block', () => {
    const source = [
      'local json = require("json")', // 1: top level
      'if ready then local a = require("a") end', // 2: a block, still top level
      'for i = 1, 2 do local b = require("b") end', // 3
      'local function helper()', // 4
      '  while true do local c = require("c") end', // 5: in a function
      '  repeat local d = require("d") until true', // 6
      'end',
      'local e = require("e")', // 8: after the function ended
      'return { main = function() return require("f") end,', // 9
      '  other = function() if x then return require("g") end end }', // 10
      'local h = require("h")', // 11
    ].join('\n');
    expect(literalRequires(source).map(({ name, inFunction }) => [name, inFunction])).toEqual([
      ['json', false],
      ['a', false],
      ['b', false],
      ['c', true],
      ['d', true],
      ['e', false],
      ['f', true],
      ['g', true],
      ['h', false],
    ]);
  });
});

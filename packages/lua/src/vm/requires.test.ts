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
      { name: 'json', line: 1 },
      { name: 'time', line: 2 },
      { name: 'uuid', line: 3 },
      { name: 'lib', line: 7 },
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
      { name: 'json', line: 2 },
      { name: 'time', line: 4 },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { luaTokens } from './lua-tokens.js';

const brief = (source: string) => luaTokens(source).map((t) => `${t.type}:${t.text}`);

describe('luaTokens', () => {
  it('gives names, strings, numbers and symbols with their line and column', () => {
    expect(luaTokens('local x = f("a")\n  y.z = 1.5')).toEqual([
      { type: 'name', text: 'local', line: 1, column: 1 },
      { type: 'name', text: 'x', line: 1, column: 7 },
      { type: 'symbol', text: '=', line: 1, column: 9 },
      { type: 'name', text: 'f', line: 1, column: 11 },
      { type: 'symbol', text: '(', line: 1, column: 12 },
      { type: 'string', text: 'a', line: 1, column: 13 },
      { type: 'symbol', text: ')', line: 1, column: 16 },
      { type: 'name', text: 'y', line: 2, column: 3 },
      { type: 'symbol', text: '.', line: 2, column: 4 },
      { type: 'name', text: 'z', line: 2, column: 5 },
      { type: 'symbol', text: '=', line: 2, column: 7 },
      { type: 'number', text: '1.5', line: 2, column: 9 },
    ]);
  });

  it('drops comments, keeps multi-character operators whole and reads numbers as numbers', () => {
    expect(brief('a .. b -- c.d\n--[[ e\n f ]] g ... h:: 0x1p4 .5 1e-3 3..x')).toEqual([
      'name:a',
      'symbol:..',
      'name:b',
      'name:g',
      'symbol:...',
      'name:h',
      'symbol:::',
      'number:0x1p4',
      'number:.5',
      'number:1e-3',
      'number:3',
      'symbol:..',
      'name:x',
    ]);
  });

  it('decodes escapes and long strings, and counts the lines they span', () => {
    const tokens = luaTokens('"a\\tb\\x41\\65\\u{48}\\z\n   c" [==[\nx]]y]==] z');
    expect(tokens.map((t) => t.text)).toEqual(['a\tbAAHc', 'x]]y', 'z']);
    expect(tokens.map((t) => [t.line, t.column])).toEqual([
      [1, 1],
      [2, 7],
      [3, 10],
    ]);
  });

  it('ends an unclosed string at the end of its line', () => {
    expect(brief('x = "open\ny = 1')).toEqual([
      'name:x',
      'symbol:=',
      'string:open',
      'name:y',
      'symbol:=',
      'number:1',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { literalEntryCalls } from './entry-calls.js';

const found = (source: string) =>
  literalEntryCalls(source).map((c) =>
    [c.kind, c.call, c.entry.value, `${c.entry.line}:${c.entry.column}`, c.host?.value].filter(
      (part) => part !== undefined,
    ),
  );

describe('literalEntryCalls', () => {
  it('finds funcs calls through the name the script binds the module to, with their place', () => {
    const source = [
      'local funcs = require("funcs")',
      "local f = require 'funcs'",
      'local a = funcs.call("app:triple", 2)',
      'local b = f.async "tripple"',
      'local c = require("funcs").call("other:fn")',
    ].join('\n');
    expect(found(source)).toEqual([
      ['function', 'funcs.call', 'app:triple', '3:22'],
      ['function', 'f.async', 'tripple', '4:19'],
      ['function', 'funcs.call', 'other:fn', '5:33'],
    ]);
  });

  it('finds the calls of a typed source (Wippy type annotations on locals and functions)', () => {
    const source = [
      'local f: any = require("funcs")',
      'local wf: {exec: (string) -> any} = require("workflow")',
      'local function go(x: number): (string?, string?)',
      '  return f.call("app:typed", x :: integer), wf.exec("app:flow")',
      'end',
    ].join('\n');
    expect(found(source)).toEqual([
      ['function', 'f.call', 'app:typed', '4:17'],
      ['workflow', 'wf.exec', 'app:flow', '4:53'],
    ]);
  });

  it('finds executors and spawners built in the same expression', () => {
    const source = [
      'local funcs = require("funcs")',
      'funcs.new():with_options({ timeout = 5 }):call("app:slow")',
      'funcs.new():with_context{ user = "x" }:async("app:fast", 1)',
      'process.with_context({ a = 1 }):with_name("n"):spawn_monitored("app:worker", "app:host")',
      'process.with_options{}:exec("app:job", "app:host", 1)',
    ].join('\n');
    expect(found(source)).toEqual([
      ['function', 'funcs.new(…):with_options(…):call', 'app:slow', '2:48'],
      ['function', 'funcs.new(…):with_context(…):async', 'app:fast', '3:46'],
      [
        'spawn',
        'process.with_context(…):with_name(…):spawn_monitored',
        'app:worker',
        '4:64',
        'app:host',
      ],
      ['spawn', 'process.with_options(…):exec', 'app:job', '5:29', 'app:host'],
    ]);
  });

  it('finds every spawn, exec, upgrade and workflow.exec, with a literal host when there is one', () => {
    const source = [
      'local workflow = require("workflow")',
      'process.spawn("a", "h")',
      'process.spawn_linked("b", host)',
      'process.spawn_monitored("c", "h")',
      'process.spawn_linked_monitored("d", "h", 1, 2)',
      'process.exec("e", "h" .. suffix)',
      'process.upgrade("f")',
      'workflow.exec("g", 1)',
    ].join('\n');
    expect(found(source)).toEqual([
      ['spawn', 'process.spawn', 'a', '2:15', 'h'],
      ['spawn', 'process.spawn_linked', 'b', '3:22'],
      ['spawn', 'process.spawn_monitored', 'c', '4:25', 'h'],
      ['spawn', 'process.spawn_linked_monitored', 'd', '5:32', 'h'],
      ['spawn', 'process.exec', 'e', '6:14'],
      ['upgrade', 'process.upgrade', 'f', '7:17'],
      ['workflow', 'workflow.exec', 'g', '8:15'],
    ]);
  });

  it('leaves out IDs made at run time, lookalikes, comments and strings', () => {
    const source = [
      'local funcs = require("funcs")',
      'funcs.call(name)',
      'funcs.call("app:" .. name)',
      'funcs.call(("app:x"))',
      'self.process.spawn("app:a", "h")',
      'other.call("app:b")',
      'funcs:call("app:c")',
      'process:spawn("app:d", "h")',
      '-- funcs.call("app:e")',
      'print("funcs.call(\'app:f\')")',
      'local ex = funcs.new()',
      'ex:call("app:g")',
      'workflow.exec("app:h")',
    ].join('\n');
    expect(found(source)).toEqual([]);
  });

  it('leaves out calls marked -- luact:ignore, on their line or on the line above', () => {
    const source = [
      'local funcs = require("funcs")',
      'funcs.call("app:a") -- luact:ignore (a test of the error)',
      '-- luact:ignore',
      'funcs.call("app:b")',
      'funcs.call("app:c") --[[ luact:ignore ]]',
      'funcs.call("app:d") -- luact:ignored is not the marker',
      'funcs.call("app:e")',
    ].join('\n');
    expect(found(source).map(([, , id]) => id)).toEqual(['app:d', 'app:e']);
  });
});

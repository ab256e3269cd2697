import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../node.js';
import { writeApp } from '../testing/app.js';
import type { TerminalConsole } from './console.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A console whose stdin the test writes and whose stdout and stderr it reads. */
function testConsole(args: string[] = [], tty = false) {
  const stdin = new PassThrough();
  const rawCalls: boolean[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const text = (chunk: string | Uint8Array) =>
    typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const console: TerminalConsole = {
    stdin: Object.assign(
      stdin,
      tty ? { isTTY: true, setRawMode: (raw: boolean) => rawCalls.push(raw) } : {},
    ),
    stdout: { write: (chunk) => out.push(text(chunk)) },
    stderr: { write: (chunk) => err.push(text(chunk)) },
    args,
  };
  return { console, stdin, rawCalls, stdout: () => out.join(''), stderr: () => err.join('') };
}

/** An application with a terminal host, a process host and `entries` (YAML list items). */
async function start(entries: string, console: TerminalConsole) {
  const app = await writeApp({
    'app.yaml': `
namespace: app
entries:
  - name: terminal
    kind: terminal.host
  - name: processes
    kind: process.host
${entries}`,
  });
  cleanups.push(app.remove);
  const node = await Node.start({ dir: app.dir, env: {}, console, print: () => {} });
  cleanups.push(async () => void (await node.stop()));
  return node;
}

function entry(name: string, source: string, modules = '[io]'): string {
  const body = source
    .trim()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  return `  - name: ${name}\n    kind: process.lua\n    modules: ${modules}\n    source: |\n${body}\n`;
}

describe('io on a terminal host', () => {
  it('writes to stdout and stderr as Wippy does: write joins, print and eprint use tabs and a newline', async () => {
    const term = testConsole();
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  assert(io.write("a", 1, true) == true)
  assert(io.print("x", 2.5, nil) == true)
  assert(io.eprint("oops", 3) == true)
  assert(io.flush() == true)
  return 0
end }`,
      ),
      term.console,
    );
    expect(await node.run('app:cli', [], { host: 'app:terminal' })).toEqual({ ok: true, value: 0 });
    expect(term.stdout()).toBe('a1truex\t2.5\tnil\n');
    expect(term.stderr()).toBe('oops\t3\n');
  });

  it('reads lines without their line ends, then the last unterminated line, then EOF', async () => {
    const term = testConsole();
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  local lines = {}
  while true do
    local line, err = io.readline()
    if err then
      lines[#lines + 1] = err:kind() .. ": " .. err:message()
      break
    end
    lines[#lines + 1] = "[" .. line .. "]"
  end
  return table.concat(lines, " ")
end }`,
      ),
      term.console,
    );
    const run = node.run('app:cli', [], { host: 'app:terminal' });
    term.stdin.write('first\r\nsec');
    term.stdin.write('ond\n\nlast');
    term.stdin.end();
    expect(await run).toEqual({
      ok: true,
      value: '[first] [second] [] [last] Unavailable: readline: EOF (stdin is closed)',
    });
  });

  it('blocks only the reading process: others, and other coroutines of the reader, keep running', async () => {
    const term = testConsole();
    const node = await start(
      entry(
        'ticker',
        `
return { main = function(parent)
  for i = 1, 3 do process.send(parent, "tick", i) end
end }`,
        '[]',
      ) +
        entry(
          'cli',
          `
local io = require("io")
return { main = function()
  local got = channel.new(1)
  coroutine.spawn(function() got:send(io.readline()) end)
  process.spawn("app:ticker", "app:processes", process.pid())
  local inbox = process.inbox()
  local ticks = 0
  for _ = 1, 3 do
    inbox:receive()
    ticks = ticks + 1
  end
  io.print("ticks", ticks)
  local line = got:receive()
  return line
end }`,
        ),
      term.console,
    );
    const run = node.run('app:cli', [], { host: 'app:terminal' });
    await waitFor(() => term.stdout().includes('ticks'));
    expect(term.stdout()).toBe('ticks\t3\n');
    term.stdin.write('typed\n');
    expect(await run).toEqual({ ok: true, value: 'typed' });
  });

  it('reads bytes: at most the count asked (1024 for none or a count ≤ 0), as soon as some arrive', async () => {
    const term = testConsole();
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  local a = io.read(3)
  local b = io.read(0)
  local c, err = io.read()
  return { a, b, tostring(c), err:kind() }
end }`,
      ),
      term.console,
    );
    const run = node.run('app:cli', [], { host: 'app:terminal' });
    term.stdin.write('abcdef');
    await waitFor(() => false, 50);
    term.stdin.end();
    expect(await run).toEqual({ ok: true, value: ['abc', 'def', 'nil', 'Unavailable'] });
  });

  it('gives the command-line arguments as strings, and each read to the process that asked first', async () => {
    const term = testConsole(['--flag', '42']);
    // Each reader says it asks right before it reads (its read is made in the same slice), and
    // the second is spawned only then: "first" is the order of asking, not of spawning.
    const node = await start(
      entry(
        'reader',
        `
local io = require("io")
return { main = function(parent, name)
  process.send(parent, "asking", name)
  local line = io.readline()
  process.send(parent, "line", { name = name, line = line })
end }`,
      ) +
        entry(
          'cli',
          `
local io = require("io")
return { main = function()
  local me = process.pid()
  local inbox = process.inbox()
  local lines, asked = {}, 0
  local function take()
    local message = inbox:receive()
    if message:topic() == "asking" then asked = asked + 1
    else local got = message:payload():data(); lines[got.name] = got.line end
  end
  process.spawn("app:reader", "app:terminal", me, "one")
  while asked < 1 do take() end
  process.spawn("app:reader", "app:terminal", me, "two")
  while asked < 2 or lines.one == nil or lines.two == nil do take() end
  return { io.args(), lines.one, lines.two }
end }`,
        ),
      term.console,
    );
    const run = node.run('app:cli', [], { host: 'app:terminal' });
    term.stdin.write('x\ny\n');
    expect(await run).toEqual({ ok: true, value: [['--flag', '42'], 'x', 'y'] });
  });

  it('gives every argument of a long command line (more than a host call may push unasked)', async () => {
    const args = Array.from({ length: 500 }, (_, i) => `argument-${i}`);
    const term = testConsole(args);
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  local all = io.args()
  local words = {}
  for i = 1, 200 do words[i] = ("x"):rep(i) end
  return { #all, all[1], all[500], table.concat(all, ","):len(), #words[200] }
end }`,
      ),
      term.console,
    );
    const outcome = await node.run('app:cli', [], { host: 'app:terminal' });
    expect(outcome).toEqual({
      ok: true,
      value: [500, 'argument-0', 'argument-499', args.join(',').length, 200],
    });
  });

  it('leaves the input of a reader that was terminated while it waited to the next reader', async () => {
    const term = testConsole();
    const node = await start(
      entry(
        'reader',
        `
local io = require("io")
return { main = function() return io.readline() end }`,
      ) +
        entry(
          'cli',
          `
local io = require("io")
local time = require("time")
return { main = function()
  local pid = process.spawn_monitored("app:reader", "app:terminal")
  time.sleep("50ms")
  process.terminate(pid)
  process.events():receive()
  io.print("ready")
  return io.readline()
end }`,
          '[io, time]',
        ),
      term.console,
    );
    const run = node.run('app:cli', [], { host: 'app:terminal' });
    await waitFor(() => term.stdout().includes('ready'));
    term.stdin.write('mine\n');
    expect(await run).toEqual({ ok: true, value: 'mine' });
  });

  it('counts raw mode and turns it off when the process that held it ends', async () => {
    const term = testConsole([], true);
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  assert(io.raw(true))
  assert(io.raw())
  assert(io.raw(false))
  return "held once"
end }`,
      ),
      term.console,
    );
    expect(await node.run('app:cli', [], { host: 'app:terminal' })).toEqual({
      ok: true,
      value: 'held once',
    });
    expect(term.rawCalls).toEqual([true, false]);
  });
});

describe('io elsewhere', () => {
  it('is nil and an UNAVAILABLE error outside a terminal host, saying where the process runs; args() is empty', async () => {
    const term = testConsole(['ignored']);
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  local results = {}
  for _, call in ipairs({ "write", "print", "eprint", "readline", "read", "flush", "raw" }) do
    local ok, err = io[call]("x" == call and 1 or nil)
    results[#results + 1] = call .. ":" .. tostring(ok) .. ":" .. err:kind()
  end
  local _, err = io.print("hi")
  return { results, #io.args(), err:message() }
end }`,
      ),
      term.console,
    );
    const outcome = await node.run('app:cli', [], { host: 'app:processes' });
    expect(outcome).toEqual({
      ok: true,
      value: [
        [
          'write:nil:Unavailable',
          'print:nil:Unavailable',
          'eprint:nil:Unavailable',
          'readline:nil:Unavailable',
          'read:nil:Unavailable',
          'flush:nil:Unavailable',
          'raw:nil:Unavailable',
        ],
        0,
        'no terminal context: io works only in processes on a terminal.host (app:cli runs on app:processes, which is not a terminal.host)',
      ],
    });
    expect(term.stdout()).toBe('');
  });

  it('raises on arguments of the wrong type, naming the function', async () => {
    const term = testConsole();
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  local a = select(2, pcall(io.read, "ten"))
  local b = select(2, pcall(io.raw, "on"))
  local c = select(2, pcall(io.read, 1.5))
  return { a, b, c }
end }`,
      ),
      term.console,
    );
    const outcome = await node.run('app:cli', [], { host: 'app:terminal' });
    expect(outcome).toMatchObject({ ok: true });
    const [read, raw, fraction] = (outcome as { value: string[] }).value;
    expect(read).toContain('io.read expects a byte count (an integer), got string');
    expect(raw).toContain('io.raw expects true or false, got string');
    expect(fraction).toContain('io.read expects a byte count (an integer), got 1.5');
  });

  it('refuses raw mode when stdin is not a terminal (TTY)', async () => {
    const term = testConsole();
    const node = await start(
      entry(
        'cli',
        `
local io = require("io")
return { main = function()
  local ok, err = io.raw(true)
  return { tostring(ok), err:kind(), err:message() }
end }`,
      ),
      term.console,
    );
    expect(await node.run('app:cli', [], { host: 'app:terminal' })).toEqual({
      ok: true,
      value: [
        'nil',
        'Unavailable',
        'raw terminal control unavailable: stdin is not a terminal (TTY)',
      ],
    });
  });
});

describe('choosing the console host', () => {
  it("is the application's only terminal.host for a process, none for a function, and --host when named", async () => {
    const node = await start(
      entry('cli', 'return { main = function() end }', '[]') +
        '  - name: fn\n    kind: function.lua\n    source: "return { main = function() end }"\n',
      testConsole().console,
    );
    expect(node.consoleHost('app:cli')).toBe('app:terminal');
    expect(node.consoleHost('app:fn')).toBeUndefined();
    expect(node.consoleHost('app:cli', 'app:processes')).toBe('app:processes');
    expect(String(node.consoleHost('app:cli', 'app:cli'))).toContain(
      '--host app:cli is a process.lua; a process runs on a terminal.host or a process.host',
    );
    expect(String(node.consoleHost('app:cli', 'app:termnal'))).toContain(
      '--host app:termnal: no such entry (did you mean app:terminal?)',
    );
    expect(String(node.consoleHost('app:fn', 'app:terminal'))).toContain(
      '--host applies to process.lua entries; app:fn is a function.lua',
    );
  });
});

/** Waits until `done()` holds, for at most `ms` (then carries on: the assertion after says). */
async function waitFor(done: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
}

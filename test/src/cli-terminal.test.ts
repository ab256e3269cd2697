import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, startLuact } from './luact-cli.js';

/** How long one console program may take, boot and shutdown included. */
const RUN_LIMIT_MS = 30_000;

let scratch = '';
const children: ChildProcess[] = [];

beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-terminal-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await rm(scratch, { recursive: true, force: true });
});

interface ConsoleRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `luact run <app> …args` as a child whose stdin is a pipe: `input` is written to it,
 * then it is closed unless `keepOpen`. Killed after RUN_LIMIT_MS.
 */
function runConsole(args: readonly string[], input = '', keepOpen = false): Promise<ConsoleRun> {
  const child = spawn(process.execPath, [BIN, 'run', scratch, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdin?.write(input);
  if (!keepOpen) child.stdin?.end();
  const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The application: a terminal host (unless `terminal` is false) and `entries`. */
async function writeApp(entries: string, terminal = true): Promise<void> {
  const host = terminal ? '  - name: terminal\n    kind: terminal.host\n' : '';
  await writeFile(
    path.join(scratch, 'app.yaml'),
    `namespace: app\nentries:\n${host}  - name: processes\n    kind: process.host\n${entries}`,
  );
}

async function writeProgram(name: string, lua: string, modules = '[io, logger]'): Promise<void> {
  await writeFile(path.join(scratch, `${name}.lua`), lua);
  await writeFile(
    path.join(scratch, `${name}.yaml`),
    `namespace: app\nentries:\n  - name: ${name}\n    kind: process.lua\n    source: file://${name}.lua\n    modules: ${modules}\n`,
  );
}

describe('luact run --exec on a terminal host (a real child process with piped stdio)', () => {
  it('gives the program the console: it reads stdin line by line, its output alone is stdout, its number the exit status', async () => {
    await writeApp('');
    await writeProgram(
      'cli',
      `local io = require("io")
local logger = require("logger")
return { main = function()
  logger:info("not for the console")
  io.write("name? ")
  local count = 0
  while true do
    local line, err = io.readline()
    if err then break end
    count = count + 1
    io.print("hello", line:upper())
  end
  io.eprint("lines:", count)
  return 3
end }`,
    );
    const run = await runConsole(['--exec', 'app:cli'], 'ada\nbob\n');
    expect(run.stdout).toBe('name? hello\tADA\nhello\tBOB\n');
    expect(run.stderr).toBe('lines:\t2\n');
    expect(run.code).toBe(3);
  });

  it('ends as Wippy ends a terminal program: a string is printed, false is 1, an error goes to stderr with 1', async () => {
    await writeApp('');
    await writeProgram(
      'cli',
      `local io = require("io")
return { main = function(mode)
  if mode == "text" then return "done: " .. table.concat(io.args(), ",") end
  if mode == "false" then return false end
  error("broken on purpose")
end }`,
    );
    const text = await runConsole(['--exec', 'app:cli', 'text', 'x y', '2']);
    expect([text.code, text.stdout, text.stderr]).toEqual([0, 'done: text,x y,2\n', '']);
    const refused = await runConsole(['--exec', 'app:cli', 'false']);
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    const failed = await runConsole(['--exec', 'app:cli', 'error']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain('broken on purpose');
  });

  it('a program waiting for input keeps waiting, and other processes run meanwhile', async () => {
    await writeApp(
      '  - name: ticker\n    kind: process.lua\n    modules: [time]\n    source: |\n      local time = require("time")\n      return { main = function(parent)\n        for i = 1, 3 do time.sleep("20ms"); process.send(parent, "tick", i) end\n      end }\n',
    );
    await writeProgram(
      'cli',
      `local io = require("io")
return { main = function()
  process.spawn("app:ticker", "app:processes", process.pid())
  local answer = channel.new(1)
  coroutine.spawn(function() answer:send(io.readline()) end)
  for _ = 1, 3 do process.inbox():receive() end
  io.print("ticked")
  return answer:receive()
end }`,
    );
    const child = runConsole(['--exec', 'app:cli'], '', true);
    const started = children.at(-1) as ChildProcess;
    await new Promise<void>((resolve) => {
      started.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ticked')) resolve();
      });
    });
    started.stdin?.end('typed late\n');
    const run = await child;
    expect([run.code, run.stdout]).toEqual([0, 'ticked\ntyped late\n']);
  });

  it('chooses among several terminal hosts only when told with --host, and refuses a host that is none', async () => {
    await writeApp('  - name: other\n    kind: terminal.host\n');
    await writeProgram(
      'cli',
      'local io = require("io")\nreturn { main = function() io.print("on a console") end }',
    );
    const ambiguous = await runConsole(['--exec', 'app:cli']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain(
      'the application has 2 terminal hosts (app:other, app:terminal): name the one app:cli runs on with --host',
    );
    const chosen = await runConsole(['--exec', 'app:cli', '--host', 'app:other']);
    expect([chosen.code, chosen.stdout]).toEqual([0, 'on a console\n']);
    const wrong = await runConsole(['--exec', 'app:cli', '--host', 'app:cli']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      '--host app:cli is a process.lua; a process runs on a terminal.host or a process.host',
    );
  });

  it('a serving node counts its terminal hosts among its hosts and stops cleanly', async () => {
    await writeApp('');
    const node = startLuact(['run', scratch]);
    children.push(node.child);
    await node.waitFor('2 hosts, 0 of 0 services running');
    node.child.kill('SIGINT');
    expect(await node.exited).toBe(0);
  });

  it('without a terminal host the entry runs as before: io is an error and the result is JSON', async () => {
    await writeApp('', false);
    await writeProgram(
      'cli',
      `local io = require("io")
return { main = function()
  local ok, err = io.print("lost")
  return err:kind() .. ": " .. err:message()
end }`,
    );
    const run = await runConsole(['--exec', 'app:cli']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: true,
      value:
        'Unavailable: no terminal context: io works only in processes on a terminal.host (app:cli runs on luact:main, which is not a terminal.host)',
    });
  });
});

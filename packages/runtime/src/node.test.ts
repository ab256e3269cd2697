import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeValue } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { ApplicationError, Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function start(files: Record<string, string>) {
  const app = await writeApp(files);
  cleanups.push(app.remove);
  const printed: string[] = [];
  const node = await Node.start({ dir: app.dir, env: {}, print: (text) => printed.push(text) });
  cleanups.push(async () => void (await node.stop()));
  return { node, dir: app.dir, printed };
}

const APP = `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: greet
    kind: function.lua
    source: file://greet.lua
  - name: main
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(who)
        print("greeting " .. who)
        return funcs.call("greet", who)
      end }
`;

describe('Node', () => {
  it('boots an application and runs a process that calls a function', async () => {
    const { node, printed } = await start({
      'app.yaml': APP,
      'greet.lua': 'return { main = function(who) return "hello, " .. who end }',
    });
    expect(await node.run('app:main', ['ada'])).toEqual({ ok: true, value: 'hello, ada' });
    expect(printed).toEqual(['greeting ada']);
    expect(await node.run('app:greet', ['bob'])).toEqual({ ok: true, value: 'hello, bob' });
  });

  it('lets Lua call TypeScript functions and TypeScript send to named processes', async () => {
    const { node } = await start({
      'app.yaml': `
namespace: app
entries:
  - name: echo
    kind: process.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function()
        process.registry.register("echo")
        local msg = process.inbox():receive()
        return funcs.call("app:shout", msg:payload():data())
      end }
`,
    });
    node.registerFunction('app:shout', (_call, text) => String(text).toUpperCase());
    const pid = await node.spawn('app:echo');
    const exit = node.system.waitForExit(pid);
    for (let i = 0; i < 100 && node.system.names.lookup('echo') === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await node.send('echo', 'say', 'hi');
    const outcome = await exit;
    expect(outcome.ok && decodeValue(outcome.value)).toBe('HI');
  });

  it('refuses to start with every problem listed: registry, Lua syntax and requires', async () => {
    const app = await writeApp({
      'app.yaml': `
namespace: app
entries:
  - name: broken
    kind: process.lua
    source: file://broken.lua
  - name: sneaky
    kind: function.lua
    source: |
      local json = require("json")
      return {}
  - name: wrong
    kind: process.servic
`,
      'broken.lua': 'return {\n  main = function()\n    return 1 +\n  end\n}\n',
    });
    cleanups.push(app.remove);
    const error = await Node.start({ dir: app.dir, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationError);
    expect((error as ApplicationError).diagnostics.map((d) => d.code)).toEqual(['unknown-kind']);
    const yamlFile = path.join(app.dir, 'app.yaml');
    await writeFile(
      yamlFile,
      (await readFile(yamlFile, 'utf8')).replace('  - name: wrong\n    kind: process.servic\n', ''),
    );
    const second = (await Node.start({ dir: app.dir, env: {} }).catch(
      (e: unknown) => e,
    )) as ApplicationError;
    expect(
      second.diagnostics.map((d) => [
        d.code,
        d.entry,
        path.basename(d.location?.file ?? ''),
        d.location?.line,
      ]),
    ).toEqual([
      ['lua-require', 'app:sneaky', 'app.yaml', 10],
      ['lua-syntax', 'app:broken', 'broken.lua', 4],
    ]);
    expect(second.diagnostics[0]?.message).toContain('requires "json"');
    expect(second.diagnostics[1]?.message).toContain("unexpected symbol near 'end'");
  });

  it('refuses a malformed type annotation at its file, line and column', async () => {
    const app = await writeApp({
      'app.yaml': `
namespace: app
entries:
  - name: typed
    kind: function.lua
    source: file://typed.lua
    method: main
`,
      'typed.lua':
        'type Id = string\nlocal function main(id: Id, n: {[string] number})\nend\nreturn main\n',
    });
    cleanups.push(app.remove);
    const error = (await Node.start({ dir: app.dir, env: {} }).catch(
      (e: unknown) => e,
    )) as ApplicationError;
    expect(error).toBeInstanceOf(ApplicationError);
    const [problem] = error.diagnostics;
    expect(problem).toMatchObject({
      code: 'lua-syntax',
      entry: 'app:typed',
      location: { file: expect.stringMatching(/typed\.lua$/), line: 2, column: 42 },
    });
    expect(problem?.message).toMatch(
      /^Lua syntax error: .*typed\.lua:2:42: type annotation: expected ':' after ']', found 'number'$/,
    );
  });

  it('places a malformed annotation of an inline source at its column in the YAML file', async () => {
    const app = await writeApp({
      'app.yaml': `
namespace: app
entries:
  - name: inline
    kind: function.lua
    source: |
      local function main(n: number?): {string
      end
      return main
`,
    });
    cleanups.push(app.remove);
    const error = (await Node.start({ dir: app.dir, env: {} }).catch(
      (e: unknown) => e,
    )) as ApplicationError;
    expect(error.diagnostics).toMatchObject([
      { code: 'lua-syntax', entry: 'app:inline', location: { line: 8, column: 7 } },
    ]);
    expect(error.diagnostics[0]?.message).toContain("expected ',' or '}'");
  });

  it('takes globals listed under modules and required by name, as Wippy code does', async () => {
    const { node } = await start({
      'app.yaml': `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: listed
    kind: function.lua
    modules: [process, channel, os, errors, string, table]
    source: |
      local errs = require("errors")
      local ch = require("channel")
      return function() return errs == errors and ch == channel and require("os") == os end
  - name: worker
    kind: process.lua
    modules: [channel, os]
    source: |
      return function() return require("errors").new("made").message ~= nil end
`,
    });
    expect(await node.run('app:listed')).toEqual({ ok: true, value: true });
    expect(await node.run('app:worker')).toEqual({ ok: true, value: true });
    await node.stop();
  });

  it('imports a function.lua entry: require gives what its chunk returns', async () => {
    const { node } = await start({
      'app.yaml': `
namespace: app
entries:
  - name: double
    kind: function.lua
    source: |
      return function(x) return x * 2 end
  - name: shapes
    kind: function.lua
    source: |
      return { main = function() end, area = function(w, h) return w * h end }
  - name: caller
    kind: function.lua
    imports: { double: app:double, shapes: app:shapes }
    source: |
      return function() return require("double")(4) + require("shapes").area(2, 3) end
`,
    });
    expect(await node.run('app:caller')).toEqual({ ok: true, value: 14 });
    await node.stop();
  });

  it('starts an entry whose unlisted require sits in a method it does not run, with a warning', async () => {
    const { node } = await start({
      'app.yaml': `
namespace: app
entries:
  - name: lister
    kind: function.lua
    source: file://pair.lua
    method: list
  - name: encoder
    kind: function.lua
    source: file://pair.lua
    method: encode
`,
      // Two methods, two entries: only encode needs json, and only encoder may use it.
      'pair.lua': [
        'return {',
        '  list = function() return { 1, 2 } end,',
        '  encode = function() return require("json").encode({ 1 }) end,',
        '}',
      ].join('\n'),
    });
    const warned = node.warnings.filter((d) => d.code === 'lua-require');
    expect(warned.map((d) => [d.severity, d.entry, d.location?.line])).toEqual([
      ['warning', 'app:encoder', 3],
      ['warning', 'app:lister', 3],
    ]);
    expect(warned[0]?.message).toContain('it is in a function');
    expect(await node.run('app:lister')).toEqual({ ok: true, value: [1, 2] });
    const refused = await node.run('app:encoder');
    expect(refused.ok ? undefined : refused.error.message).toContain(
      'module "json" is not available to app:encoder',
    );
    await node.stop();
  });

  it('starts services in dependency order, lets Lua read them, and stops them in reverse', async () => {
    const { node, printed } = await start({
      'app.yaml': `
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: worker
    kind: process.lua
    source: |
      return { main = function(name)
        print(name .. " up")
        local events = process.events()
        while events:receive().kind ~= process.event.CANCEL do end
        print(name .. " down")
      end }
  - name: db
    kind: process.service
    process: worker
    host: processes
    input: [db]
  - name: api
    kind: process.service
    process: worker
    host: processes
    input: [api]
    lifecycle: { auto_start: true, requires: [db] }
  - name: probe
    kind: process.lua
    modules: [supervisor]
    source: |
      local supervisor = require("supervisor")
      return { main = function() return supervisor.status("api").state end }
`,
    });
    const started = await node.startServices();
    expect(started.map((s) => [s.id, s.state]).sort()).toEqual([
      ['app:api', 'running'],
      ['app:db', 'running'],
    ]);
    expect(await node.run('app:probe')).toEqual({ ok: true, value: 'running' });
    const stopped = await node.stop();
    expect(stopped.clean).toBe(true);
    expect(printed).toEqual(['db up', 'api up', 'api down', 'db down']);
  });

  it('reloads changed code: new spawns run it, a bad edit is refused whole', async () => {
    const { node, dir } = await start({
      'app.yaml':
        'namespace: app\nentries:\n  - name: v\n    kind: process.lua\n    source: file://v.lua\n',
      'v.lua': 'return { main = function() return 1 end }',
    });
    expect(await node.run('app:v')).toEqual({ ok: true, value: 1 });
    await writeFile(path.join(dir, 'v.lua'), 'return { main = function() return 2 end }');
    expect(await node.reload()).toEqual({ ok: true, changed: 1, warnings: [] });
    expect(await node.run('app:v')).toEqual({ ok: true, value: 2 });
    // A reload that brings a call of an entry that does not exist warns, as a start does.
    await writeFile(
      path.join(dir, 'v.lua'),
      'return { main = function() if false then process.spawn("app:nope", "app:h") end return 2 end }',
    );
    const warned = await node.reload();
    const warnings = warned.ok ? warned.warnings : [];
    expect(warnings.map((w) => w.message).join('\n')).toContain('app:nope');
    expect(warnings.every((w) => w.code === 'lua-unknown-entry' && w.location?.line === 1)).toBe(
      true,
    );
    await writeFile(path.join(dir, 'v.lua'), 'return { main = function() return 3 +  end }');
    const refused = await node.reload();
    expect(refused.ok).toBe(false);
    expect(await node.run('app:v')).toEqual({ ok: true, value: 2 });
  });
});

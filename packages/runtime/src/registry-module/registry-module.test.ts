import { afterEach, describe, expect, it } from 'vitest';
import { lintApplication } from '../lint.js';
import { Node } from '../node.js';
import { writeApp } from '../testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** Indents Lua text to sit in a YAML block scalar. */
const block = (lua: string) =>
  lua
    .trim()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');

/**
 * A node of a small application whose app:probe function runs `body` (with `registry`, `funcs`
 * and the helpers `ids(list)`, sorted IDs of entries, and `fail(err)`, an error's kind and
 * message as one string).
 */
async function start(body: string, extra = '') {
  const app = await writeApp({
    'app.yaml': `
namespace: app
entries:
  - name: probe
    kind: function.lua
    meta: { type: probe, owner: ops, tags: [a, b] }
    modules: [registry, funcs]
    source: |
${block(`
local registry, funcs = require("registry"), require("funcs")
local function ids(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = e.id end
  table.sort(out)
  return out
end
local function fail(err) return err:kind() .. ": " .. err:message() end
return { main = function()
${body}
end }`)}
  - name: settings
    kind: registry.entry
    meta: { type: config, owner: ops, tags: [a, b, c], description: "payment settings" }
    currency: EUR
  - name: double
    kind: function.lua
    meta: { type: tool }
    source: 'return { main = function(x) return x * 2 end }'
${extra}`,
    'other.yaml': `
namespace: other
entries:
  - name: limits
    kind: registry.entry
    meta: { type: config, owner: web }
    max: 3
`,
  });
  cleanups.push(app.remove);
  const node = await Node.start({ dir: app.dir, env: {} });
  cleanups.push(async () => void (await node.stop()));
  return node;
}

async function probe(body: string, extra = ''): Promise<unknown> {
  const node = await start(body, extra);
  const outcome = await node.run('app:probe');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

describe('registry reads', () => {
  it('get returns an entry as id, kind, meta and data; a bare name is in the caller namespace', async () => {
    expect(
      await probe(`
        local e = registry.get("app:settings")
        local same = registry.get("settings")
        return { id = e.id, kind = e.kind, type = e.meta.type, currency = e.data.currency,
          same = same.id }`),
    ).toEqual({
      id: 'app:settings',
      kind: 'registry.entry',
      type: 'config',
      currency: 'EUR',
      same: 'app:settings',
    });
  });

  it('get of a missing entry is nil and a NOT_FOUND error that is not retryable', async () => {
    expect(
      await probe(`
        local e, err = registry.get("app:missing")
        return { e = e == nil, kind = err:kind(), retryable = err:retryable(), message = err:message() }`),
    ).toEqual({
      e: true,
      kind: 'NotFound',
      retryable: false,
      message: 'no entry app:missing in registry version 1',
    });
  });

  it('get of a malformed ID is an INVALID error naming what is wrong', async () => {
    expect(await probe(`local _, err = registry.get("a b:c") return fail(err)`)).toBe(
      'Invalid: the entry ID: "a b:c" has an invalid namespace "a b"',
    );
  });

  it('find matches kind, namespace, name and id (with * wildcards) and meta fields', async () => {
    expect(
      await probe(`
        return {
          kind = ids(registry.find({ kind = "registry.entry" })),
          dot_kind = ids(registry.find({ [".kind"] = "function.*" })),
          ns = ids(registry.find({ [".ns"] = "other" })),
          name = ids(registry.find({ [".name"] = "d*" })),
          id = ids(registry.find({ [".id"] = "app:probe" })),
          bare_meta = ids(registry.find({ type = "config" })),
          meta_prefix = ids(registry.find({ ["meta.owner"] = "ops", [".kind"] = "registry.entry" })),
          nested = ids(registry.find({ meta = { type = "config", owner = "web" } })),
          tags = ids(registry.find({ tags = { "c", "a" } })),
          none = #registry.find({ type = "nothing" }),
          all = #registry.find({}),
        }`),
    ).toEqual({
      kind: ['app:settings', 'other:limits'],
      dot_kind: ['app:double', 'app:probe'],
      ns: ['other:limits'],
      name: ['app:double'],
      id: ['app:probe'],
      bare_meta: ['app:settings', 'other:limits'],
      meta_prefix: ['app:settings'],
      nested: ['other:limits'],
      tags: ['app:settings'],
      none: 0,
      all: 4,
    });
  });

  it('find compares strings with ~ (pattern), * (contains), ^ (prefix) and $ (suffix)', async () => {
    expect(
      await probe(`
        return {
          pattern = ids(registry.find({ ["~meta.description"] = "^pay.*s$" })),
          contains = ids(registry.find({ ["*meta.description"] = "ment set" })),
          contains_tag = ids(registry.find({ ["*meta.tags"] = "c" })),
          prefix = ids(registry.find({ ["^meta.type"] = "con" })),
          suffix = ids(registry.find({ ["$meta.owner"] = "eb" })),
        }`),
    ).toEqual({
      pattern: ['app:settings'],
      contains: ['app:settings'],
      contains_tag: ['app:settings'],
      prefix: ['app:settings', 'other:limits'],
      suffix: ['other:limits'],
    });
  });

  it('find refuses criteria it cannot read with an INVALID error naming the criterion', async () => {
    expect(
      await probe(`
        local _, unknown = registry.find({ [".owner"] = "ops" })
        local _, not_text = registry.find({ [".kind"] = 3 })
        local _, pattern = registry.find({ ["~meta.type"] = "(" })
        local _, list = registry.find({ "config" })
        return { fail(unknown), fail(not_text), pattern:kind(), fail(list) }`),
    ).toEqual([
      'Invalid: registry.find: unknown criterion ".owner" (entry fields: .kind, .ns, .name, .id)',
      'Invalid: registry.find: criterion .kind must be a string, not number 3',
      'Invalid',
      'Invalid: registry.find expects a table of named criteria, not a list',
    ]);
  });

  it('parse_id splits at the first colon; without one the namespace is empty', async () => {
    expect(
      await probe(`
        local a, b, c = registry.parse_id("app.lib:assert"), registry.parse_id("solo"),
          registry.parse_id("ns:a:b")
        return { a.ns, a.name, b.ns, b.name, c.ns, c.name }`),
    ).toEqual(['app.lib', 'assert', '', 'solo', 'ns', 'a:b']);
  });

  it('a snapshot reads entries, one entry, a namespace and finds, at its own version', async () => {
    expect(
      await probe(`
        local snap = registry.snapshot()
        return {
          version = snap:version():id(),
          entries = #snap:entries(),
          get = snap:get("app:double").kind,
          namespace = ids(snap:namespace("other")),
          find = ids(snap:find({ type = "tool" })),
          text = tostring(snap),
        }`),
    ).toEqual({
      version: 1,
      entries: 4,
      get: 'function.lua',
      namespace: ['other:limits'],
      find: ['app:double'],
      text: 'Snapshot(v1)',
    });
  });

  it('wrong argument types raise an error at the call', async () => {
    expect(
      await probe(`
        local ok1, e1 = pcall(registry.get, 42)
        local ok2, e2 = pcall(registry.find, "kind")
        local ok3, e3 = pcall(function() registry.snapshot():changes():create({ kind = "x" }) end)
        return { ok1, tostring(e1), ok2, tostring(e2), ok3, tostring(e3) }`),
    ).toEqual([
      false,
      expect.stringContaining('registry.get expects a string, got number'),
      false,
      expect.stringContaining('registry.find expects a table, got string'),
      false,
      expect.stringContaining('changes:create: the entry needs a string id'),
    ]);
  });
});

describe('registry change sets', () => {
  it('creates a function that funcs.call then runs, as a new version', async () => {
    expect(
      await probe(`
        local before = registry.current_version():id()
        local changes = registry.snapshot():changes()
        changes:create({ id = "app:triple", kind = "function.lua",
          data = { source = "return { main = function(x) return x * 3 end }" } })
        local version, err = changes:apply()
        assert(err == nil, tostring(err))
        return { before = before, after = version:id(), current = registry.current_version():id(),
          result = funcs.call("app:triple", 5) }`),
    ).toEqual({ before: 1, after: 2, current: 2, result: 15 });
  });

  it('lists its operations with Wippy kind names; delete takes an ID or {ns, name}', async () => {
    expect(
      await probe(`
        local changes = registry.snapshot():changes()
        local chained = changes:create({ id = "app:a", kind = "registry.entry" })
          :update({ id = "app:settings", kind = "registry.entry", data = { currency = "USD" } })
          :delete("app:double"):delete({ ns = "other", name = "limits" })
        local ops = {}
        for i, op in ipairs(changes:ops()) do ops[i] = op.kind .. " " .. op.entry.id end
        return { same = chained == changes, text = tostring(changes), ops = ops }`),
    ).toEqual({
      same: true,
      text: 'Changes(4 ops)',
      ops: [
        'entry.create app:a',
        'entry.update app:settings',
        'entry.delete app:double',
        'entry.delete other:limits',
      ],
    });
  });

  it('applies updates and deletes together; the old snapshot still reads the old version', async () => {
    expect(
      await probe(`
        local old = registry.snapshot()
        local changes = old:changes()
        changes:update({ id = "app:settings", kind = "registry.entry", meta = { type = "config" },
          data = { currency = "USD" } })
        changes:delete("other:limits")
        local version, err = changes:apply()
        assert(err == nil, tostring(err))
        local gone, gone_err = registry.get("other:limits")
        return { version = version:id(), currency = registry.get("app:settings").data.currency,
          old_currency = old:get("app:settings").data.currency, gone = gone == nil,
          gone_kind = gone_err:kind(), old_limits = old:get("other:limits").data.max }`),
    ).toEqual({
      version: 2,
      currency: 'USD',
      old_currency: 'EUR',
      gone: true,
      gone_kind: 'NotFound',
      old_limits: 3,
    });
  });

  it('starts what a change set adds: a new process host takes spawns of a new process', async () => {
    expect(
      await probe(`
        local changes = registry.snapshot():changes()
        changes:create({ id = "app:workers", kind = "process.host" })
        changes:create({ id = "app:worker", kind = "process.lua",
          data = { source = "return { main = function(n) return n + 1 end }" } })
        assert(changes:apply())
        return process.exec("app:worker", "app:workers", 41)`),
    ).toBe(42);
  });

  it('may add a library and the function importing it in one change set', async () => {
    expect(
      await probe(`
        local changes = registry.snapshot():changes()
        changes:create({ id = "app:words", kind = "library.lua",
          data = { source = "return { hello = function() return 'hi' end }" } })
        changes:create({ id = "app:speaker", kind = "function.lua",
          data = { imports = { words = "app:words" },
            source = "local w = require('words') return { main = function() return w.hello() end }" } })
        local version, err = changes:apply()
        assert(err == nil, tostring(err))
        return funcs.call("app:speaker")`),
    ).toBe('hi');
  });

  it('refuses a change set with any bad entry as one INVALID error, applying none of it', async () => {
    expect(
      await probe(`
        local changes = registry.snapshot():changes()
        changes:create({ id = "app:fine", kind = "registry.entry" })
        changes:create({ id = "app:odd", kind = "test.kind" })
        changes:create({ id = "app:broken", kind = "function.lua", data = { source = "return {" } })
        local version, err = changes:apply()
        local details = err:details()
        return { version = version == nil, kind = err:kind(), message = err:message(),
          count = details.count, first = details.errors[1].entry, codes = details.errors[1].code,
          fine = registry.get("app:fine") == nil, current = registry.current_version():id() }`),
    ).toMatchObject({
      version: true,
      kind: 'Invalid',
      message: expect.stringMatching(
        /^change set not applied \(1 problem\): app:odd › kind: unknown kind "test\.kind"/,
      ),
      count: 1,
      first: 'app:odd',
      codes: 'unknown-kind',
      fine: true,
      current: 1,
    });
  });

  it('refuses Lua that does not compile, naming the entry, before anything is applied', async () => {
    const result = (await probe(`
        local changes = registry.snapshot():changes()
        changes:create({ id = "app:broken", kind = "function.lua", data = { source = "return {" } })
        local _, err = changes:apply()
        return { kind = err:kind(), message = err:message(), entry = err:details().errors[1].entry,
          code = err:details().errors[1].code, gone = registry.get("app:broken") == nil }`)) as Record<
      string,
      unknown
    >;
    expect(result).toMatchObject({
      kind: 'Invalid',
      entry: 'app:broken',
      code: 'lua-syntax',
      gone: true,
    });
    expect(result.message).toMatch(/^change set not applied \(1 problem\): app:broken › source: /);
  });

  it('refuses references to missing entries, duplicate creates, and updates of missing ones', async () => {
    expect(
      await probe(`
        local function apply(op, entry)
          local changes = registry.snapshot():changes()
          changes[op](changes, entry)
          local _, err = changes:apply()
          return err:details().errors[1].code
        end
        local _, empty = registry.snapshot():changes():apply()
        local _, extra = registry.snapshot():changes():create({ id = "app:x", kind = "registry.entry",
          source = "oops" }):apply()
        local _, mixed = registry.snapshot():changes():create({ id = "app:x", kind = "registry.entry",
          data = { 1, 2, three = 3 } }):apply()
        return {
          apply("create", { id = "app:svc", kind = "process.service",
            data = { process = "app:nothing", host = "app:nohost" } }),
          apply("create", { id = "app:settings", kind = "registry.entry" }),
          apply("update", { id = "app:nobody", kind = "registry.entry" }),
          fail(empty), fail(extra), fail(mixed) }`),
    ).toEqual([
      'dangling-reference',
      'duplicate-id',
      'entry-not-found',
      'Invalid: no changes to apply',
      'Invalid: operation 1 (entry.create, app:x): unknown field "source" (an entry has id, kind, meta, data)',
      'Invalid: operation 1 (entry.create, app:x): data must be a table of named fields',
    ]);
  });
});

describe('registry.build_delta', () => {
  it('lists the creates, updates and deletes that turn one list of entries into another', async () => {
    expect(
      await probe(`
        local a = { id = "app:a", kind = "registry.entry", data = { n = 1 } }
        local b = { id = "app:b", kind = "registry.entry", meta = { tags = { "x" } } }
        local b2 = { id = "app:b", kind = "registry.entry", meta = { tags = { "y" } } }
        local c = { id = "app:c", kind = "registry.entry" }
        local d = { id = "app:d", kind = "registry.entry" }
        local same = { id = "app:a", kind = "registry.entry", data = { n = 1 } }
        local ops = registry.build_delta({ a, d, b }, { c, b2, same })
        local out = {}
        for i, op in ipairs(ops) do out[i] = op.kind .. " " .. op.entry.id end
        local _, not_list = registry.build_delta("x", {})
        local _, no_id = registry.build_delta({}, { { kind = "k" } })
        local _, twice = registry.build_delta({ a, same }, {})
        return { ops = out, none = #registry.build_delta({ a }, { same }),
          errors = { fail(not_list), fail(no_id), fail(twice) } }`),
    ).toEqual({
      ops: ['entry.create app:c', 'entry.update app:b', 'entry.delete app:d'],
      none: 0,
      errors: [
        'Invalid: registry.build_delta: from must be a list of entries, got string',
        'Invalid: registry.build_delta: to[1] is not an entry with a string id',
        'Invalid: registry.build_delta: from has app:a twice',
      ],
    });
  });
});

describe('registry versions', () => {
  it('keeps versions to read and go back to; a rollback makes the old version current again', async () => {
    expect(
      await probe(`
        local v1 = registry.current_version()
        local changes = registry.snapshot():changes()
        changes:create({ id = "app:triple", kind = "function.lua",
          data = { source = "return { main = function(x) return x * 3 end }" } })
        local v2 = changes:apply()
        local called = funcs.call("app:triple", 2)
        local ok, err = registry.apply_version(v1)
        local after = registry.current_version():id()
        local _, call_err = funcs.call("app:triple", 2)
        local forward = registry.apply_version(v2)
        local again = funcs.call("app:triple", 3)
        -- A change set after going back branches from the version that is current.
        registry.apply_version(v1)
        local v3 = registry.snapshot():changes():create({ id = "app:x", kind = "registry.entry" }):apply()
        local list = {}
        for i, v in ipairs(registry.versions()) do list[i] = v:id() end
        return { called = called, ok = ok, err = err == nil, after = after,
          call_err = call_err:kind(), forward = forward, again = again, v3 = v3:id(),
          v3_previous = v3:previous():id(), v1_next = v1:next():id(), v1_previous = v1:previous() == nil,
          list = list, text = tostring(v3) .. " " .. v3:string(),
          snap2 = registry.snapshot_at(2):get("app:triple").kind,
          missing_in_1 = registry.history():snapshot_at(v1):get("app:triple") == nil }`),
    ).toEqual({
      called: 6,
      ok: true,
      err: true,
      after: 1,
      call_err: 'NotFound',
      forward: true,
      again: 9,
      v3: 3,
      v3_previous: 1,
      v1_next: 3,
      v1_previous: true,
      list: [1, 2, 3],
      text: 'Version(v3) v3',
      snap2: 'function.lua',
      missing_in_1: true,
    });
  });

  it('refuses versions it does not keep: NOT_FOUND, and INVALID below 1', async () => {
    expect(
      await probe(`
        local _, zero = registry.snapshot_at(0)
        local _, missing = registry.snapshot_at(99)
        local _, bad = registry.history():get_version(-1)
        local ok, gone = registry.apply_version(42)
        return { zero = zero:kind(), missing = fail(missing), bad = bad:kind(), ok = ok,
          gone = gone:kind(), history = tostring(registry.history()) }`),
    ).toEqual({
      zero: 'Invalid',
      missing: 'NotFound: registry version 99 is not kept (kept: 1…1)',
      bad: 'Invalid',
      ok: false,
      gone: 'NotFound',
      history: 'History(1 versions)',
    });
  });
});

describe('registry in workflows', () => {
  it('is refused, as it reads state outside the workflow journal', async () => {
    const app = await writeApp({
      'app.yaml': `
namespace: app
entries:
  - name: flow
    kind: workflow.lua
    modules: [registry]
    source: 'return { main = function() return require("registry").get("app:flow") end }'
`,
    });
    cleanups.push(app.remove);
    const { diagnostics } = await lintApplication(app.dir, { env: {} });
    expect(diagnostics.map((d) => `${d.code}: ${d.message}`)).toContainEqual(
      expect.stringMatching(
        /^workflow-module: workflow app:flow may not use module "registry": it reads state outside the workflow journal/,
      ),
    );
  });
});

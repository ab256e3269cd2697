import { afterEach, beforeEach, expect, it } from 'vitest';
import { VmHarness } from '../testing/vm-harness.js';
import { GLOBAL_MODULES } from './global-modules.js';

let h: VmHarness;

beforeEach(async () => {
  h = await VmHarness.create();
});

afterEach(() => {
  h.close();
});

it('lets an entry list every global under modules and require it by name', async () => {
  const names = [...GLOBAL_MODULES];
  const exit = await h.run(
    `return function(names)
      local same = {}
      for _, name in ipairs(names) do same[name] = require(name) == _ENV[name] end
      return same
    end`,
    [names],
    { modules: names },
  );
  expect(exit).toEqual({ ok: true, value: Object.fromEntries(names.map((name) => [name, true])) });
});

it('hands over a global by require without listing it, and still refuses other names', async () => {
  const exit = await h.run(`return function()
    assert(require("errors") == errors and require("channel") == channel)
    local ok, err = pcall(require, "io")
    return { ok = ok, message = tostring(err) }
  end`);
  expect(exit).toMatchObject({
    ok: true,
    value: { ok: false, message: expect.stringContaining('module "io" is not available') },
  });
});

it('still refuses an unknown name under modules', () => {
  expect(() => h.prepare('return function() end', { modules: ['io'] })).toThrow(
    /unknown module "io"/,
  );
});

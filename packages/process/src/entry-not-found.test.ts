import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, harness, lua } from './testing/system-harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

const TRIPLE = { kind: 'function.lua', source: 'return { main = function(x) return x * 3 end }' };

describe('calls and spawns of an entry that does not exist', () => {
  it('say where the Lua code named it and which entry was likely meant', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:triple': TRIPLE,
      'app:worker': lua('return { main = function() end }'),
      'app:main': lua(
        `local funcs = require("funcs")
        return { main = function()
          local _, called = funcs.call("app:tripple", 2)
          local _, asked = funcs.new():with_options({ timeout = 1000 }):async("tripple", 2)
          local _, spawned = process.with_context({ a = 1 }):spawn_linked("wroker", "app:processes")
          local _, ran = process.exec("app:workr", "app:processes")
          return { called:kind(), called:message(), asked:message(), spawned:message(), ran:message() }
        end }`,
        ['funcs'],
      ),
    });
    expect((await h.run('app:main')).value).toEqual([
      'NotFound',
      'entry app:tripple not found (did you mean app:triple?) at app:main.lua:3',
      'entry app:tripple not found (did you mean app:triple?) at app:main.lua:4',
      'entry app:wroker not found (did you mean app:worker?) at app:main.lua:5',
      'entry app:workr not found (did you mean app:worker?) at app:main.lua:6',
    ]);
  });

  it('suggest an entry the call could run before an equally close one it could not', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:triple': TRIPLE,
      'app:triples': lua('return { main = function() end }'),
      'app:main': lua(
        `return { main = function()
          local _, err = process.spawn("app:tripler", "app:processes")
          return err:message()
        end }`,
      ),
    });
    expect((await h.run('app:main')).value).toBe(
      'entry app:tripler not found (did you mean app:triples?) at app:main.lua:2',
    );
  });
});

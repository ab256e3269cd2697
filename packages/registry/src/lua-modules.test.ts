import { describe, expect, it } from 'vitest';
import type { Entry } from './entry.js';
import { loadApplication } from './loader.js';
import { unknownModules } from './lua-modules.js';
import { appDir, yaml } from './testing/app-dir.js';

const BUILT_IN = new Set(['json', 'time', 'uuid', 'logger']);

async function entryOf(text: string, id: string): Promise<Entry> {
  const loaded = await loadApplication(await appDir({ 'app.yaml': text }));
  const entry = loaded.snapshot?.get(id);
  if (!entry) throw new Error(JSON.stringify(loaded.diagnostics));
  return entry;
}

describe('unknownModules', () => {
  it('reports every unknown module of the list, each at its own item, with a "did you mean"', async () => {
    const entry = await entryOf(
      yaml`
        namespace: app
        entries:
          - name: job
            kind: function.lua
            source: "return { main = function() end }"
            modules: [io, json, package, jsno, debug, somethingelse]
      `,
      'app:job',
    );
    const problems = unknownModules(entry, BUILT_IN);
    expect(
      problems.map((d) => [d.code, d.entry, d.field, d.location?.line, d.location?.column]),
    ).toEqual([
      ['unknown-module', 'app:job', 'modules[0]', 6, 15],
      ['unknown-module', 'app:job', 'modules[2]', 6, 25],
      ['unknown-module', 'app:job', 'modules[3]', 6, 34],
      ['unknown-module', 'app:job', 'modules[4]', 6, 40],
      ['unknown-module', 'app:job', 'modules[5]', 6, 47],
    ]);
    expect(problems.every((d) => d.location?.file.endsWith('app.yaml'))).toBe(true);
    const messages = problems.map((d) => d.message);
    expect(messages[0]).toBe(
      `unknown module "io": that is Lua's own library, not a luact module (the sandbox has no io); remove it from modules:`,
    );
    expect(messages[1]).toContain('the sandbox has no package');
    expect(messages[2]).toBe(
      'unknown module "jsno": did you mean "json"? (built-in modules: json, logger, time, uuid)',
    );
    expect(messages[4]).toBe(
      'unknown module "somethingelse": there is no built-in module of that name (built-in modules: json, logger, time, uuid; a library.lua entry goes under imports:)',
    );
  });

  it('suggests among the modules offered to the entry, not every module there is', async () => {
    const entry = await entryOf(
      yaml`
        namespace: app
        name: flow
        kind: workflow.lua
        source: "return { main = function() end }"
        modules: [tme]
      `,
      'app:flow',
    );
    const [problem] = unknownModules(entry, new Set([...BUILT_IN, 'env']), new Set(['time']));
    expect(problem?.message).toBe(
      'unknown module "tme": did you mean "time"? (built-in modules: time)',
    );
  });

  it('has nothing to say about known modules or an entry without a list', async () => {
    const entry = await entryOf(
      yaml`
        namespace: app
        entries:
          - name: a
            kind: process.lua
            source: "return { main = function() end }"
            modules: [json, time]
          - name: b
            kind: library.lua
            source: "return {}"
      `,
      'app:a',
    );
    expect(unknownModules(entry, BUILT_IN)).toEqual([]);
  });
});

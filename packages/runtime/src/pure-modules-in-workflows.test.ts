import { afterEach, describe, expect, it } from 'vitest';
import { Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs workflow `app:flow`, listing `modules` and running `source`, with `arg`; its outcome. */
async function runFlow(modules: readonly string[], source: string, arg: unknown) {
  const indented = source.replace(/^/gm, '      ');
  const app = await writeApp({
    'app.yaml': `namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: flow
    kind: workflow.lua
    meta: { host: app:flows }
    modules: [${modules.join(', ')}]
    source: |
${indented}
`,
  });
  cleanups.push(app.remove);
  const node = await Node.start({ dir: app.dir, env: {}, print: () => {} });
  cleanups.push(async () => void (await node.stop()));
  return node.run('app:flow', [arg]);
}

// These modules compute from their arguments alone (a diff has no time limit in a workflow), so
// a replay computes the same values: workflows may list them as processes and functions do.
describe('modules that are pure functions, in a workflow', () => {
  it('base64 and hash compute as in a process', async () => {
    const outcome = await runFlow(
      ['base64', 'hash'],
      `local base64 = require("base64")
local hash = require("hash")
return { main = function(text)
  return base64.encode(hash.sha256(text, true)) .. " " .. hash.fnv32(text)
end }`,
      'abc',
    );
    // SHA-256("abc") of FIPS 180 in base64; FNV-1 (32 bits) of "abc".
    expect(outcome).toEqual({
      ok: true,
      value: 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0= 1134309195',
    });
  });

  it('yaml and text compute as in a process', async () => {
    const outcome = await runFlow(
      ['yaml', 'text'],
      `local yaml = require("yaml")
local text = require("text")
return { main = function(doc)
  local config = yaml.decode(doc)
  local words = text.regexp.compile("[a-z]+"):find_all_string(config.title)
  local diffs = text.diff.new({ diff_timeout = 0.001 }):compare(config.title, "hello there")
  return yaml.encode({ words = words, pieces = #diffs })
end }`,
      'title: hello world\n',
    );
    expect(outcome).toEqual({ ok: true, value: 'pieces: 6\nwords:\n  - hello\n  - world\n' });
  });
});

import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { formatDiagnostic } from '@luact/registry';
import { afterEach, describe, expect, it } from 'vitest';
import { lintApplication } from './lint.js';
import { Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const APP = {
  'app.yaml': `namespace: myapp
entries:
  - name: triple
    kind: function.lua
    source: file://triple.lua
  - name: caller
    kind: process.lua
    modules: [funcs]
    source: file://caller.lua
`,
  'triple.lua': 'return { main = function(x) return x * 3 end }\n',
  'caller.lua': `local funcs = require("funcs")
return { main = function(x)
  local tripled, err = funcs.call("myapp:tripple", x)
  if err then return nil, err end
  return tripled
end }
`,
};

async function app(): Promise<string> {
  const written = await writeApp(APP);
  cleanups.push(written.remove);
  return written.dir;
}

describe('a literal entry ID that names no entry', () => {
  it('is an error of lint, at the literal, with the caller and a "did you mean"', async () => {
    const dir = await app();
    const { diagnostics } = await lintApplication(dir);
    expect(diagnostics.map((d) => formatDiagnostic(d, dir))).toEqual([
      'caller.lua:3:35: error: myapp:caller › source: funcs.call("myapp:tripple"): there is no entry myapp:tripple (did you mean myapp:triple?) [lua-unknown-entry]',
    ]);
  });

  it('only warns when a node starts, and the call fails naming its line', async () => {
    const dir = await app();
    const node = await Node.start({ dir, env: {}, print: () => {} });
    cleanups.push(async () => void (await node.stop()));
    expect(node.warnings.map((d) => [d.severity, d.code, d.location?.line])).toEqual([
      ['warning', 'lua-unknown-entry', 3],
    ]);
    const outcome = await node.run('myapp:caller', [2]);
    expect(outcome.ok).toBe(false);
    const file = path.join(await realpath(dir), 'caller.lua');
    expect(outcome.ok ? undefined : outcome.error.message).toBe(
      `entry myapp:tripple not found (did you mean myapp:triple?) at ${file}:3`,
    );
  });
});

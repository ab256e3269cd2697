import { decodeValue } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// base64 and hash are pure functions of their arguments, so a replay computes the same values:
// workflows may list them as processes and functions do.
const APP = `namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: sign
    kind: workflow.lua
    meta: { host: app:flows }
    modules: [base64, hash]
    source: |
      local base64 = require("base64")
      local hash = require("hash")
      return { main = function(text)
        return base64.encode(hash.sha256(text, true)) .. " " .. hash.fnv32(text)
      end }
`;

describe('base64 and hash in a workflow', () => {
  it('a workflow.lua entry may list them, and they compute as in a process', async () => {
    const app = await writeApp({ 'app.yaml': APP });
    cleanups.push(app.remove);
    const node = await Node.start({ dir: app.dir, env: {}, print: () => {} });
    cleanups.push(async () => void (await node.stop()));

    const pid = await node.workflows.start('app:sign', ['abc'], { id: 'sign-1' });
    const outcome = await new Promise<{ ok: boolean; value?: Uint8Array }>((resolve) => {
      void node.workflows.host('app:flows')?.watchWorkflow(pid, resolve as never);
    });
    expect(outcome.ok).toBe(true);
    // SHA-256("abc") of FIPS 180 in base64; FNV-1 (32 bits) of "abc".
    expect(decodeValue(outcome.value as Uint8Array)).toBe(
      'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0= 1134309195',
    );
  });
});

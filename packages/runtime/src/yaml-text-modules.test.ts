import { decodeValue } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// yaml and text compute from their arguments alone (a diff has no time limit in a workflow),
// so workflows may list them as processes and functions do.
const APP = `namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: report
    kind: workflow.lua
    meta: { host: app:flows }
    modules: [yaml, text]
    source: |
      local yaml = require("yaml")
      local text = require("text")
      return { main = function(doc)
        local config = yaml.decode(doc)
        local words = text.regexp.compile("[a-z]+"):find_all_string(config.title)
        local diffs = text.diff.new({ diff_timeout = 0.001 }):compare(config.title, "hello there")
        return yaml.encode({ words = words, pieces = #diffs })
      end }
`;

describe('yaml and text in a workflow', () => {
  it('a workflow.lua entry may list them, and they compute as in a process', async () => {
    const app = await writeApp({ 'app.yaml': APP });
    cleanups.push(app.remove);
    const node = await Node.start({ dir: app.dir, env: {}, print: () => {} });
    cleanups.push(async () => void (await node.stop()));

    const pid = await node.workflows.start('app:report', ['title: hello world\n'], { id: 'r-1' });
    const outcome = await new Promise<{ ok: boolean; value?: Uint8Array }>((resolve) => {
      void node.workflows.host('app:flows')?.watchWorkflow(pid, resolve as never);
    });
    expect(outcome.ok).toBe(true);
    expect(decodeValue(outcome.value as Uint8Array)).toBe(
      'pieces: 6\nwords:\n  - hello\n  - world\n',
    );
  });
});

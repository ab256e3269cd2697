import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from './diagnostics.js';
import { entryCallProblems } from './entry-call-check.js';
import { loadApplication } from './loader.js';
import type { RegistrySnapshot } from './snapshot.js';
import { appDir, yaml } from './testing/app-dir.js';

const APP = yaml`
  namespace: myapp
  entries:
    - name: processes
      kind: process.host
    - name: flows
      kind: workflow.host
    - name: triple
      kind: function.lua
      source: file://lua/triple.lua
    - name: counter
      kind: process.lua
      source: |
        return { main = function() end }
    - name: order
      kind: workflow.lua
      source: |
        return { main = function() end }
`;

async function load(
  files: Record<string, string>,
): Promise<{ dir: string; snapshot: RegistrySnapshot }> {
  const dir = await appDir({
    'app.yaml': APP,
    'lua/triple.lua': 'return { main = function(x) return x * 3 end }\n',
    ...files,
  });
  const loaded = await loadApplication(dir);
  expect(loaded.diagnostics).toEqual([]);
  return { dir, snapshot: loaded.snapshot as RegistrySnapshot };
}

describe('entryCallProblems', () => {
  it('reports an unknown literal ID at the literal, with the caller and a "did you mean"', async () => {
    const { dir, snapshot } = await load({
      'caller.yaml': yaml`
        namespace: myapp
        entries:
          - name: caller
            kind: process.lua
            modules: [funcs]
            source: file://lua/caller.lua
      `,
      'lua/caller.lua': [
        'local funcs = require("funcs")',
        'return { main = function()',
        '  local tripled = funcs.call("myapp:triple", 1)',
        '  return funcs.call("myapp:tripple", tripled)',
        'end }',
      ].join('\n'),
    });
    const problems = entryCallProblems(snapshot, 'error');
    expect(problems.map((d) => formatDiagnostic(d, dir))).toEqual([
      'lua/caller.lua:4:21: error: myapp:caller › source: funcs.call("myapp:tripple"): there is no entry myapp:tripple (did you mean myapp:triple?) [lua-unknown-entry]',
    ]);
    expect(entryCallProblems(snapshot, 'warning')[0]?.severity).toBe('warning');
  });

  it('lets funcs.call name a process.lua that has meta.default_host (a process function)', async () => {
    const { snapshot } = await load({
      'worker.yaml': yaml`
        namespace: myapp
        entries:
          - name: worker
            kind: process.lua
            meta: { default_host: processes }
            source: |
              return { main = function(x) return x end }
          - name: caller
            kind: function.lua
            modules: [funcs]
            source: |
              local funcs = require("funcs")
              return { main = function()
                funcs.call("worker", 1)
                return funcs.call("counter", 2)
              end }
      `,
    });
    expect(entryCallProblems(snapshot, 'error').map((d) => d.message)).toEqual([
      expect.stringContaining('funcs.call("counter"): myapp:counter is a process.lua entry'),
    ]);
  });

  it('resolves a relative ID in the caller’s namespace, as the runtime does', async () => {
    const { snapshot } = await load({
      'other.yaml': yaml`
        namespace: other
        entries:
          - name: caller
            kind: process.lua
            source: |
              local funcs = require("funcs")
              return { main = function()
                funcs.call("myapp:triple")
                return funcs.call("triple")
              end }
      `,
    });
    expect(entryCallProblems(snapshot, 'error').map((d) => d.message)).toEqual([
      'funcs.call("triple"): there is no entry other:triple (did you mean myapp:triple?)',
    ]);
  });

  it('places problems of inline sources at their column in the YAML file', async () => {
    const { dir, snapshot } = await load({
      'inline.yaml': yaml`
        namespace: myapp
        entries:
          - name: inline
            kind: process.lua
            source: |
              return { main = function()
                return process.exec("countr", "processes")
              end }
      `,
    });
    const [problem] = entryCallProblems(snapshot, 'error');
    expect(problem?.location).toEqual({ file: path.join(dir, 'inline.yaml'), line: 7, column: 29 });
    expect(problem?.message).toBe(
      'process.exec("countr"): there is no entry myapp:countr (did you mean myapp:counter?)',
    );
  });

  it('reports an entry of a kind the call cannot run, and a host that is not a host', async () => {
    const { snapshot } = await load({
      'kinds.yaml': yaml`
        namespace: myapp
        entries:
          - name: kinds
            kind: process.lua
            source: |
              local funcs = require("funcs")
              local workflow = require("workflow")
              return { main = function()
                funcs.call("counter")
                process.spawn("triple", "processes")
                process.spawn("order", "processes")
                process.spawn("order", "flows")
                process.spawn("counter", "triple")
                process.spawn("counter", "procesess")
              end }
          - name: flow
            kind: workflow.lua
            source: |
              return { main = function()
                process.spawn("counter", "processes")
                require("workflow").exec("counter")
              end }
      `,
    });
    expect(entryCallProblems(snapshot, 'error').map((d) => [d.entry, d.code, d.message])).toEqual([
      [
        'myapp:flow',
        'lua-entry-kind',
        'process.spawn names host myapp:processes, a process.host entry; a workflow starts its children on a workflow.host',
      ],
      [
        'myapp:flow',
        'lua-entry-kind',
        'workflow.exec("counter"): myapp:counter is a process.lua entry, and workflow.exec runs workflow.lua entries',
      ],
      [
        'myapp:kinds',
        'lua-entry-kind',
        'funcs.call("counter"): myapp:counter is a process.lua entry, and funcs.call runs function.lua entries (spawn a process with process.spawn or process.exec, or give it meta.default_host to call it as a function)',
      ],
      [
        'myapp:kinds',
        'lua-entry-kind',
        'process.spawn("triple"): myapp:triple is a function.lua entry, and process.spawn runs process.lua entries (call a function with funcs.call)',
      ],
      [
        'myapp:kinds',
        'lua-entry-kind',
        'process.spawn("order"): myapp:order is a workflow.lua entry, and process.spawn runs process.lua entries',
      ],
      [
        'myapp:kinds',
        'lua-entry-kind',
        'process.spawn names host myapp:triple, a function.lua entry; processes run on a process.host (or a terminal.host), workflows on a workflow.host',
      ],
      [
        'myapp:kinds',
        'lua-unknown-entry',
        'process.spawn names host myapp:procesess, which is not an entry (did you mean myapp:processes?)',
      ],
    ]);
  });

  it('takes a terminal.host as the host of a process, not of a workflow', async () => {
    const { snapshot } = await load({
      'app.yaml': yaml`
        namespace: myapp
        entries:
          - name: terminal
            kind: terminal.host
          - name: counter
            kind: process.lua
            source: 'return { main = function() end }'
          - name: order
            kind: workflow.lua
            source: 'return { main = function() end }'
          - name: cli
            kind: process.lua
            source: |
              return { main = function()
                process.spawn("counter", "terminal")
                process.spawn("order", "terminal")
              end }
      `,
    });
    expect(entryCallProblems(snapshot, 'error').map((d) => [d.entry, d.message])).toEqual([
      [
        'myapp:cli',
        'process.spawn("order"): myapp:order is a workflow.lua entry, and process.spawn runs process.lua entries',
      ],
    ]);
  });

  it('says a problem of a file several entries share once', async () => {
    const { snapshot } = await load({
      'shared.yaml': yaml`
        namespace: myapp
        entries:
          - name: first
            kind: process.lua
            source: file://lua/shared.lua
          - name: second
            kind: process.lua
            method: other
            source: file://lua/shared.lua
      `,
      'lua/shared.lua': 'return { main = function() process.exec("nowhere", "processes") end }',
    });
    expect(entryCallProblems(snapshot, 'error').map((d) => [d.entry, d.location?.line])).toEqual([
      ['myapp:first', 1],
    ]);
  });

  it('checks only full IDs in libraries, whose relative ones depend on who imports them', async () => {
    const { snapshot } = await load({
      'lib.yaml': yaml`
        namespace: myapp
        entries:
          - name: helpers
            kind: library.lua
            source: |
              local funcs = require("funcs")
              return {
                a = function() return funcs.call("anything") end,
                b = function() return funcs.call("myapp:nothing") end,
              }
      `,
    });
    expect(entryCallProblems(snapshot, 'error').map((d) => d.message)).toEqual([
      'funcs.call("myapp:nothing"): there is no entry myapp:nothing',
    ]);
  });
});

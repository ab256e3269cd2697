import { afterEach, describe, expect, it } from 'vitest';
import { fn, type Node, node, workflow } from './testing/harness.js';

let n: Node | undefined;

afterEach(async () => {
  await n?.stop();
  n = undefined;
});

describe('a workflow naming an entry that does not exist', () => {
  it('gets NOT_FOUND for the activity and the child, with the line that named it', async () => {
    n = await node({
      'app:triple': fn('return { main = function(x) return x * 3 end }'),
      'app:child': workflow('return { main = function() return 1 end }'),
      'app:flow': workflow(
        `local funcs = require("funcs")
         local workflow = require("workflow")
         return { main = function()
           local _, called = funcs.call("tripple", 2)
           local _, child = workflow.exec("app:chld")
           return { called:kind(), called:message(), child:kind(), child:message() }
         end }`,
        ['funcs', 'workflow'],
      ),
    });
    expect(await n.run('app:flow')).toEqual({
      ok: true,
      value: [
        'NotFound',
        'entry app:tripple not found (did you mean app:triple?) at app:flow.lua:4',
        'NotFound',
        'entry app:chld not found (did you mean app:child?) at app:flow.lua:5',
      ],
    });
  });

  it('gets NOT_FOUND for a child on a host that does not exist, INVALID on one that is no workflow host', async () => {
    n = await node({
      'app:child': workflow('return { main = function() return 1 end }'),
      'app:processes': { kind: 'process.host' },
      'app:flow': workflow(
        `return { main = function()
           local _, missing = process.exec("app:child", "app:worker")
           local _, wrong = process.exec("app:child", "app:processes")
           return { missing:kind(), missing:message(), wrong:kind() }
         end }`,
      ),
    });
    expect(await n.run('app:flow')).toEqual({
      ok: true,
      value: [
        'NotFound',
        'workflow host app:worker not found (no workflow.host entry with that ID or task queue)',
        'Invalid',
      ],
    });
  });

  it('from a process: the spawn fails naming the line and the workflow likely meant', async () => {
    n = await node({
      'app:order': workflow('return { main = function() return 1 end }'),
      'app:starter': {
        kind: 'process.lua',
        source: `return { main = function()
          local _, err = process.spawn("ordr", "app:flows")
          return { err:kind(), err:message() }
        end }`,
      },
    });
    expect(await n.process('app:starter')).toEqual({
      ok: true,
      value: [
        'NotFound',
        'entry app:ordr not found (did you mean app:order?) at app:starter.lua:2',
      ],
    });
  });
});

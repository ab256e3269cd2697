import { afterEach, expect, it } from 'vitest';
import { type Node, node, workflow } from './testing/harness.js';

let n: Node | undefined;

afterEach(async () => {
  await n?.stop();
  n = undefined;
});

it('tells a run where it runs and how long its history is, as Temporal names them', async () => {
  n = await node({
    'app:about': workflow(
      `local workflow = require("workflow")
       local time = require("time")
       return { main = function()
         local info = workflow.info()
         local before = workflow.history_length()
         time.sleep("10ms")
         return { queue = info.task_queue, namespace = info.namespace,
                  before = before, grew = workflow.history_length() > before,
                  same = info.history_length == before }
       end }`,
      ['workflow', 'time'],
    ),
  });
  const outcome = await n.run('app:about', [], { workflow: 'about-1' });
  expect(outcome).toMatchObject({ ok: true, value: { grew: true, same: true } });
  const value = (outcome as { value: Record<string, unknown> }).value;
  expect(value.queue).toMatch(/^[\w.]+:[\w.]+$/);
  expect(value.namespace).toBe(String(value.queue).split(':')[0]);
  expect(value.before).toBeGreaterThanOrEqual(1);
});

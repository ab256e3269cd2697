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
         local before, size = workflow.history_length(), workflow.history_size()
         time.sleep("10ms")
         process.send(process.pid(), "note", string.rep("x", 1000))
         process.listen("note"):receive()
         return { queue = info.task_queue, namespace = info.namespace,
                  before = before, grew = workflow.history_length() > before,
                  same = info.history_length == before, size = size,
                  size_grew = workflow.history_size() - size }
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
  expect(value.size).toBeGreaterThan(0);
  // The timer and the signal of 1,000 bytes, at least, were handled since.
  expect(value.size_grew).toBeGreaterThan(1000);
});

import { afterEach, expect, it } from 'vitest';
import { type Node, node, workflow } from './testing/harness.js';

let n: Node | undefined;
const savedZone = process.env.TZ;

afterEach(async () => {
  await n?.stop();
  n = undefined;
  if (savedZone === undefined) delete process.env.TZ;
  else process.env.TZ = savedZone;
});

it('reads time values the same on every node: localtz is UTC in a workflow, zones and layouts work', async () => {
  // A node in Tokyo: processes there see it as time.localtz, workflows must not.
  process.env.TZ = 'Asia/Tokyo';
  n = await node({
    'app:clock': workflow(
      `local time = require("time")
       return { main = function()
         local ny = assert(time.load_location("America/New_York"))
         local start = time.now()
         time.sleep("10ms")
         local t = time.date(2024, 1, 15, 9, 0, 0, 0)
         local parsed = assert(time.parse(time.RFC3339, "2024-01-15T09:00:00-05:00"))
         return { zone = time.localtz:string(), hour = t:utc():hour(),
                  ny = t:in_location(ny):format("15:04 MST"), same = parsed:equal(t:add("5h")),
                  slept = time.now():sub(start):milliseconds() >= 10, kind = type(start) }
       end }`,
      ['time'],
    ),
  });
  const outcome = await n.run('app:clock', [], { workflow: 'clock-1' });
  expect(outcome).toEqual({
    ok: true,
    value: { zone: 'UTC', hour: 9, ny: '04:00 EST', same: true, slept: true, kind: 'userdata' },
  });
});

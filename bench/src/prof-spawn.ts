import { benchNode } from './benchmarks/lua-app.js';

const { node, close } = await benchNode(`
namespace: bench
entries:
  - name: processes
    kind: process.host
  - name: quick
    kind: process.lua
    source: "return { main = function() end }"
  - name: spawner
    kind: process.lua
    source: |
      return { main = function(n)
        for i = 1, n do process.spawn("quick", "processes") end
      end }
`);
const host = node.system.host('bench:processes')!;
for (let r = 0; r < 6; r++) {
  const t = performance.now();
  await node.run('bench:spawner', [10000]);
  while (host.processes.size > 0) await new Promise((resolve) => setImmediate(resolve));
  console.log('round', r, (((performance.now() - t) * 1000) / 10000).toFixed(1), 'us');
}
await close();

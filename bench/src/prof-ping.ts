import { benchNode } from './benchmarks/lua-app.js';

const { node, close } = await benchNode(`
namespace: bench
entries:
  - name: processes
    kind: process.host
    host: { max_mailbox: 100000 }
  - name: pong
    kind: process.lua
    source: |
      return { main = function()
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          process.send(msg:from(), "pong", msg:payload():data())
        end
      end }
  - name: ping
    kind: process.lua
    source: |
      return { main = function(messages, window)
        local peer = process.spawn_linked("pong", "processes")
        local pongs = process.listen("pong")
        local rounds = messages // 2
        local sent, received = 0, 0
        for i = 1, window do sent = sent + 1; process.send(peer, "ping", sent) end
        while received < rounds do
          pongs:receive()
          received = received + 1
          if sent < rounds then sent = sent + 1; process.send(peer, "ping", sent) end
        end
        return received * 2
      end }
`);
for (let r = 0; r < 4; r++) {
  const t = performance.now();
  const o = await node.run('bench:ping', [200000, 100]);
  const s = (performance.now() - t) / 1000;
  console.log('round', r, ((o as { value: number }).value / s / 1000).toFixed(1), 'k msgs/s');
}
await close();

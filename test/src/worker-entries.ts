/**
 * Registry entries the workers test files share, as YAML text to put into their apps under
 * `entries:`.
 */

/** Answers n pings with pongs, to whoever pings (each pong carries its ping's value). */
export const PONGER_ENTRY = `  - name: ponger
    kind: process.lua
    source: |
      return { main = function(n)
        local pings = process.inbox()
        for _ = 1, n do
          local msg = pings:receive()
          process.send(msg:from(), "pong", msg:payload():data())
        end
      end }
`;

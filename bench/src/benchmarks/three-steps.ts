/**
 * The 3-step workflow the workflow benchmarks run (issue 13's unit): entries of the `bench`
 * namespace, as lines of an app.yaml's `entries:` list.
 */
export const THREE_STEP_ENTRIES = `  - name: step
    kind: function.lua
    source: "return { main = function(x) return x end }"
  - name: three_steps
    kind: workflow.lua
    modules: [funcs]
    source: |
      local funcs = require("funcs")
      return { main = function(x)
        local a = funcs.call("bench:step", x)
        local b = funcs.call("bench:step", a + 1)
        return funcs.call("bench:step", b + 1)
      end }
`;

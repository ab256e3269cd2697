/**
 * What Wippy's test application defines around its suites, as luact registry files: the
 * process host the suites name (`app:processes`) and the assertion library they import
 * (`app.lib:assert`; its Lua source is copied from the checkout at run time). Written for
 * luact here, not taken from Wippy.
 */
export const SCAFFOLD_FILES: Readonly<Record<string, string>> = {
  'scaffold.yaml': `namespace: app
entries:
  - name: processes
    kind: process.host
    lifecycle:
      auto_start: true
`,
  'lib/_index.yaml': `namespace: app.lib
entries:
  - name: assert
    kind: library.lua
    source: file://assert.lua
`,
};

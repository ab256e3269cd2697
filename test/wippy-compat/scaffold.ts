/**
 * What Wippy's test application defines around its suites, as luact registry files: the
 * process host the suites name (`app:processes`) and the libraries they import (`app.lib:assert`,
 * the assertions; `app.lib:sigv4`, an AWS request signer over the hash module; their Lua sources
 * are copied from the checkout at run time). Written for luact here, not taken from Wippy.
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
  - name: sigv4
    kind: library.lua
    source: file://sigv4.lua
    modules: [hash]
`,
};

import { describe, expect, it } from 'vitest';
import { luact } from '../src/luact-cli.js';

/**
 * Hostile registries: YAML aliases that never end or expand to billions of nodes, and module
 * lists full of names that do not exist. `luact lint` must answer in bounded time with one
 * diagnostic per problem, each at its file, line and column, and never a bare stack overflow.
 */

const FIXTURES = 'test/isolation/fixtures/registry';

/** `file:line:col` and code of each error line `luact lint` printed. */
function errorsOf(stdout: string, dir: string): [string, string][] {
  return stdout
    .split('\n')
    .filter((line) => line.includes(': error: '))
    .map((line) => [
      line.slice(`${dir}/`.length, line.indexOf(': ')),
      line.slice(line.lastIndexOf(' [') + 1),
    ]);
}

describe('luact lint on a hostile registry', () => {
  it('reports recursive aliases, an alias bomb and a missing anchor at the alias, and the other files too', async () => {
    const dir = `${FIXTURES}/aliases`;
    const run = await luact(['lint', dir]);
    expect(run.stderr).not.toMatch(/Maximum call stack|Excessive alias count|at .*\.js:\d+/);
    expect(run.code).toBe(1);
    expect(errorsOf(run.stdout, dir)).toEqual([
      ['bomb.yaml:13:10', '[yaml-alias]'],
      ['dangling.yaml:6:12', '[yaml-alias]'],
      ['loop.yaml:7:9', '[yaml-alias]'],
      ['loop.yaml:12:15', '[yaml-alias]'],
      ['plain.yaml:5:11', '[unknown-kind]'],
    ]);
    expect(run.stdout).toContain(
      'bomb.yaml:13:10: error: too many alias expansions (4,412,961,405 nodes, limit 100,000): an alias bomb? *l8 here alone expands to 435,848,050 nodes',
    );
    expect(run.stdout).toContain(
      'loop.yaml:7:9: error: alias *merged refers to itself: it is inside the node &merged names (line 5, column 5), so its value would never end',
    );
    expect(run.stdout).toContain(
      'dangling.yaml:6:12: error: alias *later has no anchor &later before it',
    );
  });

  it('reports every unknown module of every entry at its list item, with "did you mean"', async () => {
    const dir = `${FIXTURES}/modules`;
    const run = await luact(['lint', dir]);
    expect(run.code).toBe(1);
    expect(errorsOf(run.stdout, dir)).toEqual([
      ['app.yaml:6:15', '[unknown-module]'],
      ['app.yaml:6:20', '[unknown-module]'],
      ['app.yaml:6:29', '[unknown-module]'],
      ['app.yaml:12:9', '[unknown-module]'],
      ['app.yaml:13:9', '[unknown-module]'],
      ['app.yaml:17:21', '[workflow-module]'],
      ['app.yaml:17:26', '[unknown-module]'],
    ]);
    const lines = run.stdout.split('\n');
    const about = (module: string) => lines.find((line) => line.includes(`module "${module}"`));
    expect(about('lfs')).toContain(
      'mods:habits › modules[0]: unknown module "lfs": there is no built-in module of that name',
    );
    expect(about('package')).toContain(
      'mods:habits › modules[1]: unknown module "package": that is Lua\'s own library, not a luact module',
    );
    expect(about('debug')).toContain('mods:habits › modules[2]: unknown module "debug"');
    expect(about('tme')).toContain(
      'mods:typos › modules[1]: unknown module "tme": did you mean "time"?',
    );
    expect(about('logr')).toContain('did you mean "logger"?');
    expect(about('workflw')).toContain(
      'mods:flow › modules[2]: unknown module "workflw": did you mean "workflow"?',
    );
    expect(run.stdout).not.toContain('lua-syntax');
  });
});

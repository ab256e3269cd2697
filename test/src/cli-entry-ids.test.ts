import { realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { luact, REPO_ROOT } from './luact-cli.js';

const APP = 'test/fixtures/entry-ids';
const REPORT =
  'lua/caller.lua:3:35: %s: myapp:caller › source: funcs.call("myapp:tripple"): there is no entry myapp:tripple (did you mean myapp:triple?) [lua-unknown-entry]';

describe('a literal entry ID with a typo (the real binary)', () => {
  it('is an error of luact lint, at the literal, with the caller and the entry likely meant', async () => {
    const run = await luact(['lint', APP]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${APP}/${REPORT.replace('%s', 'error')}\n`);
  });

  it('is a warning when the application starts, and the call fails naming its line', async () => {
    const run = await luact(['run', APP, '--exec', 'myapp:caller', '2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${APP}/${REPORT.replace('%s', 'warning')}\n`);
    const caller = path.join(realpathSync(REPO_ROOT), APP, 'lua/caller.lua');
    expect(run.stdout + run.stderr).toContain(
      `entry myapp:tripple not found (did you mean myapp:triple?) at ${caller}:3`,
    );
  });
});

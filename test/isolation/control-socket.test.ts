import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luact, type RunningCli, startedByTests } from '../src/luact-cli.js';

// Items 10 and 11 of issue 8: where the control socket lives and who may own what is there.
const APP = 'test/isolation/fixtures/control';
/** `nobody`: the owner of what "another user" left behind (the tests run as root, who can chown). */
const OTHER_UID = 65534;
const uid = process.getuid?.() ?? 0;

const clis = startedByTests('luact-control-socket-');

beforeEach(() => clis.prepare());
afterEach(() => clis.cleanUp());

/** An environment whose runtime directory is `xdg` (or none) and whose temporary one is `tmp`. */
function environment(places: { xdg?: string; tmp: string }): NodeJS.ProcessEnv {
  const { XDG_RUNTIME_DIR: _ignored, ...env } = process.env;
  return {
    ...env,
    TMPDIR: places.tmp,
    ...(places.xdg !== undefined ? { XDG_RUNTIME_DIR: places.xdg } : {}),
  };
}

function start(args: readonly string[], env?: NodeJS.ProcessEnv): RunningCli {
  return clis.start(args, env);
}

const stateDir = () => ['--state-dir', path.join(clis.scratch, 'state')];

describe('luact run --control PATH', () => {
  it('refuses a path that holds a regular file, and leaves the file as it was', async () => {
    const notes = path.join(clis.scratch, 'notes.txt');
    await writeFile(notes, 'my notes\n');
    const run = await luact(['run', APP, ...stateDir(), '--control', notes]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${notes} exists and is not a socket (a regular file)`);
    expect(await readFile(notes, 'utf8')).toBe('my notes\n');
  });

  it('refuses a path that is a directory', async () => {
    const dir = path.join(clis.scratch, 'somewhere');
    await mkdir(dir);
    const run = await luact(['run', APP, ...stateDir(), '--control', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${dir} exists and is not a socket (a directory)`);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });

  it("refuses a socket in another user's directory", async () => {
    const theirs = path.join(clis.scratch, 'theirs');
    await mkdir(theirs, { mode: 0o755 });
    await chown(theirs, OTHER_UID, OTHER_UID);
    const run = await luact(['run', APP, ...stateDir(), '--control', path.join(theirs, 'c.sock')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${theirs} belongs to uid ${OTHER_UID}, not to you (uid ${uid})`);
  });

  it('refuses a socket in a directory others may write to', async () => {
    const open = path.join(clis.scratch, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const run = await luact(['run', APP, ...stateDir(), '--control', path.join(open, 'c.sock')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${open} can be written by other users (mode 0777)`);
  });
});

describe('the default control socket', () => {
  it('lives in $XDG_RUNTIME_DIR/luact, private, where luact services finds it', async () => {
    const xdg = path.join(clis.scratch, 'xdg');
    await mkdir(xdg, { mode: 0o700 });
    const env = environment({ xdg, tmp: clis.scratch });
    const node = start(['run', APP, ...stateDir()], env);
    await node.waitFor('stop with Ctrl+C');

    const dir = path.join(xdg, 'luact');
    expect(((await stat(dir)).mode & 0o777).toString(8)).toBe('700');
    const services = await luact(['services', APP, '--json'], env);
    expect(services.stderr).toBe('');
    expect(JSON.parse(services.stdout)).toEqual([expect.objectContaining({ id: 'ctl:idle' })]);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
  });

  it('falls back to a 0700 luact-<uid> directory in the temporary directory', async () => {
    const env = environment({ tmp: clis.scratch });
    const node = start(['run', APP, ...stateDir()], env);
    await node.waitFor('stop with Ctrl+C');
    const dir = await stat(path.join(clis.scratch, `luact-${uid}`));
    expect([(dir.mode & 0o777).toString(8), dir.uid]).toEqual(['700', uid]);
    const ps = await luact(['ps', APP, '--json'], env);
    expect(ps.code).toBe(0);
  });

  it('is not put in a pre-existing directory anyone may enter, and says how to fix it', async () => {
    const dir = path.join(clis.scratch, `luact-${uid}`);
    await mkdir(dir);
    await chmod(dir, 0o777);
    const run = await luact(['run', APP, ...stateDir()], environment({ tmp: clis.scratch }));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${dir} is open to other users (mode 0777)`);
    expect(run.stderr).toContain(`chmod 700 ${dir}`);
    expect(((await stat(dir)).mode & 0o777).toString(8)).toBe('777');
  });

  it('is not put in a directory another user made there first', async () => {
    const dir = path.join(clis.scratch, `luact-${uid}`);
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, OTHER_UID, OTHER_UID);
    const env = environment({ tmp: clis.scratch });
    const run = await luact(['run', APP, ...stateDir()], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${dir} belongs to uid ${OTHER_UID}, not to you (uid ${uid})`);

    const services = await luact(['services', APP], env);
    expect(services.code).toBe(1);
    expect(services.stderr).toContain(`belongs to uid ${OTHER_UID}`);
  });

  it('ignores an $XDG_RUNTIME_DIR that is not private and uses the fallback', async () => {
    const xdg = path.join(clis.scratch, 'xdg');
    await mkdir(xdg);
    await chmod(xdg, 0o777);
    const env = environment({ xdg, tmp: clis.scratch });
    const node = start(['run', APP, ...stateDir()], env);
    await node.waitFor('stop with Ctrl+C');
    await expect(stat(path.join(xdg, 'luact'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await luact(['services', APP], env)).code).toBe(0);
  });
});

describe('luact services/ps/workflow, before they connect', () => {
  it('refuse a socket that belongs to another user, saying whose it is', async () => {
    const control = path.join(clis.scratch, 'control.sock');
    const node = start(['run', APP, ...stateDir(), '--control', control]);
    await node.waitFor('stop with Ctrl+C');
    await chown(control, OTHER_UID, OTHER_UID);

    for (const command of [
      ['services'],
      ['ps'],
      ['workflow', 'signal', 'some-id', 'topic', '{"secret":1}'],
    ]) {
      const asked = await luact([...command, '--control', control]);
      expect(asked.code).toBe(1);
      expect(asked.stderr).toContain(
        `${control} belongs to uid ${OTHER_UID}, not to you (uid ${uid})`,
      );
    }
  });

  it('refuse a socket in a directory that belongs to another user', async () => {
    const control = path.join(clis.scratch, 'control.sock');
    const node = start(['run', APP, ...stateDir(), '--control', control]);
    await node.waitFor('stop with Ctrl+C');
    await chown(clis.scratch, OTHER_UID, OTHER_UID);
    const asked = await luact(['services', '--control', control]);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain(`${clis.scratch} belongs to uid ${OTHER_UID}`);
    await chown(clis.scratch, uid, uid);
  });

  it('refuse a path that is not a socket', async () => {
    const notes = path.join(clis.scratch, 'notes.txt');
    await writeFile(notes, 'x');
    const asked = await luact(['ps', '--control', notes]);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain(`${notes} is not a socket (a regular file)`);
  });
});

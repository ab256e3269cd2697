import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkSocketDirectory, preparePrivateDirectory } from './socket-owner.js';
import { controlSocketDir, controlSocketPath, defaultControlSocket } from './socket-path.js';

/** The user these tests run as, and one they are not. */
const me = process.getuid?.() ?? 0;
const someoneElse = me + 1;
/** `nobody`, whom root (as in CI) can give a directory to. */
const NOBODY = 65534;

let scratch: string;

beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-socket-owner-'));
});

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function directory(name: string, mode: number): Promise<string> {
  const dir = path.join(scratch, name);
  await mkdir(dir);
  await chmod(dir, mode);
  return dir;
}

describe('the private directory of the default sockets', () => {
  it('is created with mode 0700', async () => {
    const dir = path.join(scratch, 'luact');
    await preparePrivateDirectory(dir, me);
    const stats = await stat(dir);
    expect([(stats.mode & 0o777).toString(8), stats.uid]).toEqual(['700', me]);
  });

  it('is used again as it is when it is private and ours', async () => {
    const dir = await directory('luact', 0o700);
    await expect(preparePrivateDirectory(dir, me)).resolves.toBeUndefined();
  });

  it.each([0o777, 0o755, 0o750, 0o701])(
    'is refused, and left unrepaired, when it is there already with mode %o',
    async (mode) => {
      const dir = await directory('luact', mode);
      await expect(preparePrivateDirectory(dir, me)).rejects.toMatchObject({
        kind: 'PERMISSION_DENIED',
        message: `${dir} is open to other users (mode 0${mode.toString(8)}); make it private with: chmod 700 ${dir}`,
      });
      expect((await stat(dir)).mode & 0o777).toBe(mode);
    },
  );

  it('is refused when another user made it (as the current user sees it)', async () => {
    const dir = await directory('luact', 0o700);
    await expect(preparePrivateDirectory(dir, someoneElse)).rejects.toMatchObject({
      kind: 'PERMISSION_DENIED',
      message: expect.stringContaining(
        `${dir} belongs to uid ${me}, not to you (uid ${someoneElse})`,
      ),
    });
  });

  it('is refused when it belongs to nobody (a directory chowned by root)', async () => {
    const dir = await directory('luact', 0o700);
    await chown(dir, NOBODY, NOBODY);
    await expect(preparePrivateDirectory(dir, me)).rejects.toMatchObject({
      kind: 'PERMISSION_DENIED',
      message: expect.stringContaining(`${dir} belongs to uid ${NOBODY}, not to you (uid ${me})`),
    });
  });

  it('is refused when it is not a directory', async () => {
    const target = await directory('elsewhere', 0o700);
    const link = path.join(scratch, 'luact');
    await symlink(target, link);
    await expect(preparePrivateDirectory(link, me)).rejects.toMatchObject({
      message: `${link} is not a directory (a symbolic link)`,
    });
  });
});

describe('the directory of an explicit socket', () => {
  it('may be readable by others, not writable', async () => {
    await expect(
      checkSocketDirectory(await directory('shared', 0o755), 'owned', me),
    ).resolves.toBeUndefined();
    const open = await directory('open', 0o1777);
    await expect(checkSocketDirectory(open, 'owned', me)).rejects.toMatchObject({
      kind: 'PERMISSION_DENIED',
      message: expect.stringContaining(`${open} can be written by other users (mode 1777)`),
    });
  });
});

describe('where the default socket is', () => {
  it('is $XDG_RUNTIME_DIR/luact when that is a private directory of the user', async () => {
    const xdg = await directory('run-user', 0o700);
    const place = { env: { XDG_RUNTIME_DIR: xdg }, tmpdir: scratch, uid: me };
    expect(controlSocketDir(place)).toBe(path.join(xdg, 'luact'));
    expect(path.dirname(controlSocketPath('/srv/app', 'local', place))).toBe(
      path.join(xdg, 'luact'),
    );
  });

  it.each([
    ['unset', undefined],
    ['relative', 'run/user'],
    ['missing', '/nonexistent/run/user'],
  ])('falls back to <tmpdir>/luact-<uid> when $XDG_RUNTIME_DIR is %s', (_, value) => {
    const place = { env: { XDG_RUNTIME_DIR: value }, tmpdir: scratch, uid: me };
    expect(controlSocketDir(place)).toBe(path.join(scratch, `luact-${me}`));
  });

  it("falls back when $XDG_RUNTIME_DIR is open to others or someone else's", async () => {
    const open = await directory('open', 0o777);
    expect(controlSocketDir({ env: { XDG_RUNTIME_DIR: open }, tmpdir: scratch, uid: me })).toBe(
      path.join(scratch, `luact-${me}`),
    );
    const mine = await directory('mine', 0o700);
    expect(
      controlSocketDir({ env: { XDG_RUNTIME_DIR: mine }, tmpdir: scratch, uid: someoneElse }),
    ).toBe(path.join(scratch, `luact-${someoneElse}`));
  });

  it('stays the same for the same directory and node, and differs between users', () => {
    const place = { env: {}, tmpdir: scratch, uid: me };
    expect(controlSocketPath('/srv/app', 'local', place)).toBe(
      controlSocketPath('/srv/app/', 'local', place),
    );
    expect(controlSocketPath('/srv/app', 'local', place)).not.toBe(
      controlSocketPath('/srv/app', 'local', { ...place, uid: someoneElse }),
    );
  });

  it('is given to a client without creating its directory, and refused in a bad one', async () => {
    const place = { env: {}, tmpdir: scratch, uid: me };
    const socket = await defaultControlSocket('/srv/app', 'local', { ...place, create: false });
    await expect(stat(path.dirname(socket))).rejects.toMatchObject({ code: 'ENOENT' });

    await directory(`luact-${me}`, 0o777);
    await expect(
      defaultControlSocket('/srv/app', 'local', { ...place, create: false }),
    ).rejects.toMatchObject({ kind: 'PERMISSION_DENIED' });
  });
});

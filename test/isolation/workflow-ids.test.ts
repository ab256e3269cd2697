import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileJournal } from '@luact/journal';
import type { LogRecord } from '@luact/lua';
import { Node, queryControl } from '@luact/runtime';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Workflow IDs become PIDs, journal file names and rows of `luact workflow list`. One rule
 * (1 to 256 bytes of UTF-8, one line of printable text, no `{|}`) holds at every door: Lua's
 * with_name in a process and in a workflow, the node's API, the control endpoint, and the
 * journal a node recovers from.
 */

const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'workflow-ids');

/**
 * IDs that break the rule; what the INVALID error must say about each; and what Lua's
 * with_name says, which checks a name's size before it leaves the Lua heap, with
 * @luact/process's wording, and leaves the rest to the rule itself.
 */
const BAD_IDS: readonly { id: string; message: RegExp; fromLua: RegExp }[] = [
  {
    id: 'ü'.repeat(256),
    message: /workflow ID "ü+…" is 512 bytes long in UTF-8, over the limit of 256 bytes/,
    fromLua: /512 bytes.* limit of 256 bytes/,
  },
  {
    id: 'two\nlines',
    message: /workflow ID "two\\u\{A\}lines" has a line feed \(U\+000A\) at character 4/,
    fromLua: /"two\\u\{A\}lines" has a line feed \(U\+000A\) at character 4/,
  },
  {
    id: 'tab\there',
    message: /has a tab \(U\+0009\) at character 4/,
    fromLua: /has a tab \(U\+0009\) at character 4/,
  },
  {
    id: 'c1\u0085',
    message: /has a next-line control \(U\+0085\) at character 3/,
    fromLua: /has a next-line control \(U\+0085\) at character 3/,
  },
  {
    id: 'row\u2028break',
    message: /has a line separator \(U\+2028\) at character 4/,
    fromLua: /has a line separator \(U\+2028\) at character 4/,
  },
  {
    id: 'flip\u202Eded',
    message: /has a bidirectional control \(U\+202E\) at character 5/,
    fromLua: /has a bidirectional control \(U\+202E\) at character 5/,
  },
  {
    id: 'pid|like',
    message: /has "\|" \(U\+007C\) at character 4/,
    fromLua: /has "\|" \(U\+007C\) at character 4/,
  },
];

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startNode(
  log?: (record: LogRecord) => void,
): Promise<{ node: Node; state: string }> {
  const state = await mkdtemp(path.join(tmpdir(), 'luact-ids-'));
  cleanups.push(() => rm(state, { recursive: true, force: true }));
  const node = await Node.start({
    dir: APP,
    env: {},
    stateDir: state,
    print: () => {},
    ...(log ? { log } : {}),
  });
  cleanups.push(() => node.stop());
  return { node, state };
}

/** What a Lua entry's spawn with `with_name(id)` answered (or raised): `{pid}` or `{kind, message}`. */
async function spawnFromLua(node: Node, entry: string, id: string) {
  const outcome = await node.run(entry, [id]);
  if (!outcome.ok) throw outcome.error;
  return outcome.value as { pid?: string; kind?: string; message?: string };
}

describe('workflow IDs', () => {
  it("Lua's with_name in a process refuses each bad ID as INVALID, saying which rule and where", async () => {
    const { node } = await startNode();
    for (const { id, fromLua } of BAD_IDS) {
      const answer = await spawnFromLua(node, 'ids:spawner', id);
      expect(answer, JSON.stringify(id)).toEqual({
        kind: 'Invalid',
        message: expect.stringMatching(fromLua),
      });
    }
    expect(node.workflows.list()).toEqual([]);
  });

  it("Lua's with_name in a workflow (a child workflow) refuses each bad ID the same way", async () => {
    const { node } = await startNode();
    for (const { id, fromLua } of BAD_IDS) {
      const answer = await spawnFromLua(node, 'ids:parent', id);
      expect(answer, JSON.stringify(id)).toEqual({
        kind: 'Invalid',
        message: expect.stringMatching(fromLua),
      });
    }
    expect(node.workflows.list().map((w) => w.entry)).not.toContain('ids:child');
  });

  it("the node's API refuses each bad ID", async () => {
    const { node } = await startNode();
    for (const { id, message } of BAD_IDS) {
      await expect(
        node.workflows.start('ids:child', [], { id }),
        JSON.stringify(id),
      ).rejects.toMatchObject({
        kind: 'INVALID',
        message: expect.stringMatching(message),
      });
    }
  });

  it('the control endpoint refuses each bad ID, and finding a workflow by a bad ID is INVALID too', async () => {
    const { node, state } = await startNode();
    const socket = path.join(state, 'control.sock');
    await node.serveControl(socket, 'ids');
    for (const { id, message } of BAD_IDS) {
      await expect(
        queryControl(socket, '/workflow/start', { body: { entry: 'ids:child', id } }),
        JSON.stringify(id),
      ).rejects.toMatchObject({ kind: 'INVALID', message: expect.stringMatching(message) });
      await expect(queryControl(socket, '/workflow', { query: { id } })).rejects.toMatchObject({
        kind: 'INVALID',
        message: expect.stringMatching(message),
      });
    }
    expect(await queryControl(socket, '/workflows')).toEqual({ workflows: [], total: 0, more: 0 });
  });

  it('takes the longest IDs the rule allows through every door, journal included', async () => {
    const { node } = await startNode();
    const longest = ['ü'.repeat(128), 'x'.repeat(256), '😀'.repeat(64)];
    expect(await spawnFromLua(node, 'ids:spawner', longest[0] as string)).toEqual({
      pid: `{ids:flows|${longest[0]}}`,
    });
    expect(await spawnFromLua(node, 'ids:parent', longest[1] as string)).toEqual({
      pid: `{ids:flows|${longest[1]}}`,
      child: 'done',
    });
    await node.workflows.start('ids:child', [], { id: longest[2] as string });
    await expect(
      node.workflows.start('ids:child', [], { id: `${longest[2]}c` }),
    ).rejects.toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('257 bytes long in UTF-8, over the limit of 256 bytes'),
    });
    const children = () => node.workflows.list().filter((w) => w.entry === 'ids:child');
    for (let i = 0; i < 200 && children().some((w) => w.status !== 'completed'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(
      node.workflows
        .list()
        .filter((w) => w.entry === 'ids:child')
        .map((w) => [w.workflow, w.status])
        .sort(),
    ).toEqual(longest.map((id) => [id, 'completed']).sort());
  });

  it('an ID of digits keeps its spelling: "007" is found by its PID, from TypeScript and from Lua', async () => {
    const { node } = await startNode();
    const pid = await node.workflows.start('ids:waiter', [], { id: '007' });
    expect(pid).toBe('{ids:flows|007}');
    expect(await node.workflows.show(pid)).toMatchObject({ workflow: '007', status: 'running' });
    expect(await node.run('ids:sender', [pid])).toEqual({ ok: true, value: true });
    const ended = () => node.workflows.list().find((w) => w.workflow === '007')?.status;
    for (let i = 0; i < 200 && ended() !== 'completed'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await node.workflows.show('007')).toMatchObject({
      status: 'completed',
      ended: { value: 'heard' },
    });
  });

  it('a journal holding a workflow ID that breaks the rule is left alone and logged, never listed', async () => {
    const first = await startNode();
    const pid = await first.node.workflows.start('ids:waiter', [], { id: 'plain' });
    expect(pid).toBe('{ids:flows|plain}');
    await first.node.stop();
    // A journal from elsewhere (an older version, a copied directory) with a newline in its ID.
    const journal = await FileJournal.open({
      dir: path.join(first.state, 'journal', 'ids_flows'),
      fsync: 'always',
    });
    const records = await journal.read('plain~1');
    expect(records[0]).toMatchObject({ t: 'started', workflow: 'plain' });
    await journal.append('bad\nid~1', 0, [
      { ...records[0], workflow: 'bad\nid' },
      ...records.slice(1),
    ]);
    await journal.remove('plain~1');
    await journal.shutdown();

    const logged: LogRecord[] = [];
    const node = await Node.start({
      dir: APP,
      env: {},
      stateDir: first.state,
      print: () => {},
      log: (record) => logged.push(record),
    });
    cleanups.push(() => node.stop());
    expect(node.workflows.list()).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'workflow journal ignored',
        fields: expect.objectContaining({
          stream: 'bad\nid~1',
          error: expect.stringContaining('has a line feed (U+000A) at character 4'),
        }),
      }),
    );
  });
});

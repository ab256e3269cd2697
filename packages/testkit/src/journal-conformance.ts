import type { Journal, JournalRecord } from '@luact/journal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** One journal under test, on storage of its own. */
export interface JournalHarness {
  readonly journal: Journal;
  /**
   * A new journal over the same storage, for durability checks. The suite shuts `journal`
   * down first and shuts the new one down itself.
   */
  readonly reopen?: () => Promise<Journal>;
  /**
   * Damages stream `id` (which has at least three records) so that reading it must fail with
   * INTERNAL: more than a torn final record. Journals that cannot be damaged leave it out.
   */
  readonly damage?: (id: string) => Promise<void>;
  /** Removes the storage; runs after the suite shut `journal` down. */
  readonly cleanup: () => Promise<void>;
}

export type JournalFactory = () => Promise<JournalHarness>;

/** What a journal can be tested for beyond the common contract (its harness must offer it). */
export interface JournalFeatures {
  /** Records outlive the journal object: the harness has `reopen`. */
  readonly durable: boolean;
  /** Damage can be made and must be reported: the harness has `damage`. */
  readonly damageable: boolean;
}

/**
 * The contract of `Journal` (@luact/journal) as one vitest `describe` block: every journal
 * implementation runs it. Each test gets a fresh harness from `factory`.
 */
export function describeJournalConformance(
  name: string,
  factory: JournalFactory,
  features: JournalFeatures = { durable: true, damageable: true },
): void {
  describe(`${name} (journal conformance)`, () => {
    let harness: JournalHarness;
    let journal: Journal;

    beforeEach(async () => {
      harness = await factory();
      journal = harness.journal;
    });

    afterEach(async () => {
      await journal.shutdown();
      await harness.cleanup();
    });

    it('reads back every kind of value it appended, in order', async () => {
      await journal.append('values', 0, VALUES);
      const read = await journal.read('values');
      expect(plainBytes(read)).toEqual(VALUES);
      const [numbers, bytes] = read;
      expect(typeof numbers?.big).toBe('bigint');
      expect(typeof numbers?.small).toBe('bigint');
      expect(Number.isInteger(numbers?.integer)).toBe(true);
      expect(bytes?.nul).toBeInstanceOf(Uint8Array);
    });

    it('hands out records that share nothing with the stored ones', async () => {
      await journal.append('wf', 0, [{ bytes: new Uint8Array([1, 2]), list: [1] }]);
      const [first] = (await journal.read('wf')) as [{ bytes: Uint8Array; list: number[] }];
      first.bytes[0] = 9;
      first.list.push(2);
      expect(plainBytes(await journal.read('wf'))).toEqual([
        { bytes: new Uint8Array([1, 2]), list: [1] },
      ]);
    });

    it('keeps one order over several appends', async () => {
      await journal.append('wf', 0, [{ n: 0 }, { n: 1 }]);
      await journal.append('wf', 2, [{ n: 2 }]);
      await journal.append('wf', 3, [{ n: 3 }, { n: 4 }, { n: 5 }]);
      expect(await journal.read('wf')).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n })));
    });

    it('reads an unknown stream as empty', async () => {
      expect(await journal.read('never-written')).toEqual([]);
    });

    it('refuses an append with the wrong expected length and stores nothing', async () => {
      await journal.append('wf', 0, [{ n: 0 }, { n: 1 }]);
      await expectError(journal.append('wf', 3, [{ n: 3 }]), 'CONFLICT');
      await expectError(journal.append('wf', 1, [{ n: 9 }]), 'CONFLICT');
      await expectError(journal.append('wf', 0, [{ n: 9 }]), 'CONFLICT');
      expect(await journal.read('wf')).toEqual([{ n: 0 }, { n: 1 }]);
    });

    it('refuses a first append that does not expect 0 and creates no stream', async () => {
      await expectError(journal.append('wf', 1, [{ n: 1 }]), 'CONFLICT');
      expect(await journal.list()).toEqual([]);
    });

    it('stores the records of a repeated append once', async () => {
      await journal.append('wf', 0, [{ n: 0 }, { n: 1 }]);
      await journal.append('wf', 0, [{ n: 0 }, { n: 1 }]);
      await journal.append('wf', 2, [{ n: 2 }]);
      await journal.append('wf', 2, [{ n: 2 }]);
      expect(await journal.read('wf')).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    });

    it('treats a repeat with other records, or after later appends, as a conflict', async () => {
      await journal.append('wf', 0, [{ n: 0 }]);
      await expectError(journal.append('wf', 0, [{ n: 'other' }]), 'CONFLICT');
      await journal.append('wf', 1, [{ n: 1 }]);
      await expectError(journal.append('wf', 0, [{ n: 0 }]), 'CONFLICT');
      expect(await journal.read('wf')).toEqual([{ n: 0 }, { n: 1 }]);
    });

    it('stores nothing and creates no stream for an empty append', async () => {
      await journal.append('wf', 0, []);
      expect(await journal.list()).toEqual([]);
      expect(await journal.open()).toEqual([]);
      await journal.append('wf', 0, [{ n: 0 }]);
      await journal.append('wf', 1, []);
      expect(await journal.read('wf')).toEqual([{ n: 0 }]);
    });

    it('refuses appends to a closed stream and keeps its records', async () => {
      await journal.append('wf', 0, [{ n: 0 }]);
      await journal.close('wf');
      await expectError(journal.append('wf', 1, [{ n: 1 }]), 'CONFLICT');
      await expectError(journal.append('wf', 0, [{ n: 0 }]), 'CONFLICT');
      expect(await journal.read('wf')).toEqual([{ n: 0 }]);
    });

    it('closes idempotently, and closing a stream without records does nothing', async () => {
      await journal.append('wf', 0, [{ n: 0 }]);
      await journal.close('wf');
      await journal.close('wf');
      await journal.close('nothing-here');
      expect(await journal.list()).toEqual([{ id: 'wf', length: 1, closed: true }]);
      await journal.append('nothing-here', 0, [{ n: 0 }]);
      expect(await journal.open()).toEqual(['nothing-here']);
    });

    it('lists exactly the unclosed streams with records as open', async () => {
      await journal.append('running', 0, [{ n: 0 }]);
      await journal.append('finished', 0, [{ n: 0 }]);
      await journal.close('finished');
      await journal.append('empty', 0, []);
      await journal.append('removed', 0, [{ n: 0 }]);
      await journal.remove('removed');
      expect(await journal.open()).toEqual(['running']);
    });

    it('lists every stream with its length and whether it is closed', async () => {
      await journal.append('a', 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
      await journal.append('b', 0, [{ n: 0 }]);
      await journal.append('b', 1, [{ n: 1 }]);
      await journal.close('b');
      expect(sortById(await journal.list())).toEqual([
        { id: 'a', length: 3, closed: false },
        { id: 'b', length: 2, closed: true },
      ]);
    });

    it('removes streams, closed or not, idempotently, and lets the ID be used again', async () => {
      await journal.append('open', 0, [{ n: 0 }, { n: 1 }]);
      await journal.append('closed', 0, [{ n: 0 }]);
      await journal.close('closed');
      await journal.remove('open');
      await journal.remove('closed');
      await journal.remove('open');
      await journal.remove('never-written');
      expect(await journal.list()).toEqual([]);
      expect(await journal.read('open')).toEqual([]);
      await journal.append('open', 0, [{ n: 0 }]);
      await journal.append('closed', 0, [{ again: true }]);
      expect(await journal.read('open')).toEqual([{ n: 0 }]);
      expect(await journal.read('closed')).toEqual([{ again: true }]);
      expect(sortById(await journal.list())).toEqual([
        { id: 'closed', length: 1, closed: false },
        { id: 'open', length: 1, closed: false },
      ]);
    });

    it('keeps streams with awkward IDs apart and reports the IDs unchanged', async () => {
      for (const id of AWKWARD_IDS) await journal.append(id, 0, [{ id }]);
      for (const id of AWKWARD_IDS) expect(await journal.read(id)).toEqual([{ id }]);
      expect((await journal.open()).sort()).toEqual([...AWKWARD_IDS].sort());
      expect((await journal.list()).map((stream) => stream.id).sort()).toEqual(
        [...AWKWARD_IDS].sort(),
      );
      await journal.close(AWKWARD_IDS[0] as string);
      expect(await journal.open()).not.toContain(AWKWARD_IDS[0]);
    });

    it('refuses invalid stream IDs as INVALID', async () => {
      for (const id of INVALID_IDS) {
        await expectError(journal.append(id, 0, [{ n: 0 }]), 'INVALID');
        await expectError(journal.read(id), 'INVALID');
      }
      expect(await journal.list()).toEqual([]);
    });

    it('keeps 200 streams appended concurrently apart and in order', async () => {
      const ids = Array.from({ length: 200 }, (_, index) => `wf-${index}`);
      for (let round = 0; round < 20; round++) {
        await Promise.all(ids.map((id) => journal.append(id, round, [{ id, round }])));
      }
      const reads = await Promise.all(ids.map((id) => journal.read(id)));
      reads.forEach((records, index) => {
        const id = ids[index];
        expect(records).toEqual(Array.from({ length: 20 }, (_, round) => ({ id, round })));
      });
      expect((await journal.list()).filter((stream) => stream.length === 20)).toHaveLength(200);
    });

    // Registered only for journals that have the feature: a test never silently skips.
    const durableIt = features.durable ? it : undefined;
    const damageableIt = features.damageable ? it : undefined;

    durableIt?.('keeps records, lengths and closed streams across a reopen', async () => {
      if (!harness.reopen) throw new Error(`${name}: a durable journal's harness needs reopen`);
      await journal.append('running', 0, [{ n: 0 }]);
      await journal.append('running', 1, [{ n: 1 }, { n: 2 }]);
      await journal.append('finished', 0, [{ n: 0 }]);
      await journal.close('finished');
      await journal.shutdown();
      const reopened = await harness.reopen();
      try {
        expect(await reopened.read('running')).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
        expect(await reopened.open()).toEqual(['running']);
        expect(sortById(await reopened.list())).toEqual([
          { id: 'finished', length: 1, closed: true },
          { id: 'running', length: 3, closed: false },
        ]);
        await expectError(reopened.append('running', 0, [{ n: 0 }, { n: 9 }]), 'CONFLICT');
        await expectError(reopened.append('finished', 1, [{ n: 1 }]), 'CONFLICT');
        await reopened.append('running', 3, [{ n: 3 }]);
        expect(await reopened.read('running')).toHaveLength(4);
        expect(await reopened.listClosed()).toEqual([{ id: 'finished' }]);
      } finally {
        await reopened.shutdown();
      }
    });

    durableIt?.('keeps the summaries of closed streams across a reopen', async () => {
      if (!harness.reopen) throw new Error(`${name}: a durable journal's harness needs reopen`);
      await journal.append('a', 0, [{ n: 0 }]);
      await journal.append('b', 0, [{ n: 0 }]);
      await journal.close('a', { status: 'completed' });
      await journal.shutdown();
      const reopened = await harness.reopen();
      try {
        await reopened.close('b', { status: 'failed' });
        expect(sortById(await reopened.listClosed())).toEqual([
          { id: 'a', summary: { status: 'completed' } },
          { id: 'b', summary: { status: 'failed' } },
        ]);
      } finally {
        await reopened.shutdown();
      }
    });

    damageableIt?.(
      'fails reading a damaged stream with INTERNAL and leaves the others alone',
      async () => {
        if (!harness.damage)
          throw new Error(`${name}: a damageable journal's harness needs damage`);
        await journal.append('damaged', 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
        await journal.append('healthy', 0, [{ n: 0 }]);
        await harness.damage('damaged');
        await expectError(journal.read('damaged'), 'INTERNAL');
        expect(await journal.read('healthy')).toEqual([{ n: 0 }]);
        await journal.append('healthy', 1, [{ n: 1 }]);
        expect(await journal.read('healthy')).toEqual([{ n: 0 }, { n: 1 }]);
        expect(await journal.open()).toContain('healthy');
        expect((await journal.list()).map((stream) => stream.id)).toContain('healthy');
      },
    );

    it('names every stream with records and whether it is closed, without their lengths', async () => {
      await journal.append('a', 0, [{ n: 0 }]);
      await journal.append('b/c', 0, [{ n: 0 }, { n: 1 }]);
      await journal.append('b', 0, []);
      await journal.close('a');
      expect(sortById(await journal.ids())).toEqual([
        { id: 'a', closed: true },
        { id: 'b/c', closed: false },
      ]);
    });

    it('lists closed streams with the summary each was closed with, without open ones', async () => {
      const long = `${'y'.repeat(300)}-closed`; // a file name that cannot hold the whole ID
      await journal.append('done', 0, [{ n: 0 }, { n: 1 }]);
      await journal.append(long, 0, [{ n: 0 }]);
      await journal.append('plain', 0, [{ n: 0 }]);
      await journal.append('running', 0, [{ n: 0 }]);
      await journal.close('done', { status: 'completed', at: 1_700_000_000_000, big: 2n ** 60n });
      await journal.close(long, { status: 'failed' });
      await journal.close('plain');
      await journal.close('never-written', { status: 'completed' });
      expect(sortById(await journal.listClosed())).toEqual(
        sortById([
          { id: 'done', summary: { status: 'completed', at: 1_700_000_000_000, big: 2n ** 60n } },
          { id: long, summary: { status: 'failed' } },
          { id: 'plain' },
        ]),
      );
    });

    it('keeps the first summary when a stream is closed again, and forgets it with the stream', async () => {
      await journal.append('wf', 0, [{ n: 0 }]);
      await journal.close('wf', { status: 'first' });
      await journal.close('wf', { status: 'second' });
      expect(await journal.listClosed()).toEqual([{ id: 'wf', summary: { status: 'first' } }]);
      await journal.remove('wf');
      expect(await journal.listClosed()).toEqual([]);
      await journal.append('wf', 0, [{ n: 0 }]);
      expect(await journal.listClosed()).toEqual([]);
      await journal.close('wf');
      expect(await journal.listClosed()).toEqual([{ id: 'wf' }]);
      await journal.remove('wf');
      await journal.append('wf', 0, [{ n: 0 }]);
      await journal.close('wf', { status: 'third' });
      expect(await journal.listClosed()).toEqual([{ id: 'wf', summary: { status: 'third' } }]);
    });

    it('lists many closed streams with their summaries', async () => {
      const ids = Array.from({ length: 300 }, (_, index) => `run-${index}`);
      await Promise.all(ids.map((id) => journal.append(id, 0, [{ id }])));
      await Promise.all(ids.map((id, index) => journal.close(id, { index })));
      const listed = await journal.listClosed();
      expect(listed).toHaveLength(300);
      for (const stream of listed) {
        expect(stream.summary).toEqual({ index: ids.indexOf(stream.id) });
      }
    });

    it('shuts down idempotently', async () => {
      await journal.append('wf', 0, [{ n: 0 }]);
      await journal.shutdown();
      await journal.shutdown();
    });
  });
}

/** One record per family of values msgpack must carry unchanged. */
const VALUES: readonly JournalRecord[] = [
  {
    big: 2n ** 60n + 1n,
    negativeBig: -(2n ** 63n),
    maxUnsigned: 2n ** 64n - 1n,
    small: 5n,
    integer: 42,
    negative: -7,
    maxSafe: Number.MAX_SAFE_INTEGER,
    float: 1.5,
    tenth: 0.1,
    negativeFloat: -2.25,
    huge: 1e300,
    tiny: 5e-324,
  },
  {
    nul: new Uint8Array([0, 1, 0, 255, 0]),
    empty: new Uint8Array(0),
    large: new Uint8Array(70_000).fill(7),
  },
  {
    plain: 'hello',
    accents: 'héllo wörld',
    cjk: '日本語のテキスト',
    emoji: '👩‍💻 🚀',
    withNul: 'a\u0000b',
    empty: '',
    nothing: null,
    yes: true,
    no: false,
  },
  {
    nested: { list: [1, 'two', { three: [3n, null, [true]] }], deep: { a: { b: { c: {} } } } },
    emptyList: [],
  },
  {},
];

const AWKWARD_IDS: readonly string[] = [
  'orders/2024/42',
  'a.b.c',
  '*',
  '>',
  'a.*.>',
  'with spaces and\ttab',
  '100%',
  '%2F',
  '/',
  '.',
  '..',
  'closed',
  'CaseSensitive',
  'casesensitive',
  'emoji 😀 wf',
  'x'.repeat(512),
  'é'.repeat(256),
  `${'y'.repeat(300)}-a`,
  `${'y'.repeat(300)}-b`,
  `${'%'.repeat(170)}`,
];

const INVALID_IDS: readonly string[] = ['', 'x'.repeat(513), `${'é'.repeat(256)}x`, 'lone \ud800'];

/**
 * `value` with every byte string as a plain Uint8Array: a journal may hand back a subclass
 * (Node's Buffer), which is a Uint8Array but not equal to one for `toEqual`.
 */
function plainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainBytes(item)]));
  }
  return value;
}

async function expectError(promise: Promise<unknown>, kind: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'LuactError', kind });
}

function sortById<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

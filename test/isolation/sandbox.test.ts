import { describe, expect, it } from 'vitest';
import { execResult, fixture, runNode } from './attack.js';

/** Runs entry `entry` of fixtures/sandbox with `luact run --exec` and returns its value. */
async function exec(entry: string): Promise<unknown> {
  const result = execResult(await runNode(['run', fixture('sandbox'), '--exec', entry]));
  if (!result.ok) throw new Error(`${entry} failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

describe('the sandbox: no process can change what another sees (issue 8, items 1-3)', () => {
  it('keeps every shared table out of reach of writes, by pairs, next, rawget, rawset, getmetatable, __index or module objects', async () => {
    const value = (await exec('iso:main')) as {
      written: number;
      seen_by_a_process: unknown;
      seen_by_a_function: unknown;
    };
    // The walk did write into the poisoning process's own tables (its objects are its own).
    expect(value.written).toBeGreaterThan(50);
    // Lua's empty table comes back as {} through JSON.
    expect(value.seen_by_a_process).toEqual({});
    expect(value.seen_by_a_function).toEqual({});
  });

  it('refuses finalizers, which would run inside other processes, and never runs a late one', async () => {
    const value = (await exec('iso:finalizers')) as {
      tries: Record<string, { ok: boolean; error?: string }>;
      finalized?: string;
    };
    const refused = expect.stringContaining('setmetatable: __gc finalizers are not available');
    expect(value.tries).toEqual({
      direct: { ok: false, error: refused },
      placeholder: { ok: false, error: refused },
    });
    expect(value.finalized).toBeUndefined();
  });

  it('hands out no shared metatable, and string methods are the sandboxed ones', async () => {
    expect(await exec('iso:shared_metatables')).toEqual({
      json_array: 'json.array',
      json_object: 'json.object',
      json_null: 'json.null',
      string: false,
      dump: true,
      string_rep_is_the_sandboxed_one: true,
      big_rep: expect.stringContaining(
        'string.rep: a result of 1073741824 bytes is over the limit of 67108864 bytes',
      ),
      empty_array_encodes: '[]',
      empty_object_encodes: '{}',
    });
  });

  it("acts only on what a process made itself, whatever it writes into its objects' fields", async () => {
    expect(await exec('iso:forgery')).toEqual({
      canceled: false,
      victim_answered: true,
      victim_ended: 'victim ended normally',
    });
  });

  it("runs nothing a receiver writes into its channel's fields in a process that sends to it", async () => {
    expect(await exec('iso:mail_trap')).toEqual({
      received: [1, 2, 3],
      sends: [true, true, true],
      trap_runs: 0,
    });
  });

  it('runs no __eq of a value it compares with a table of its own (a sentinel, a metatable), which would be handed that table', async () => {
    expect(await exec('iso:equality')).toEqual({ eq_calls: 0, buffered: true, unbuffered: true });
  });

  it('gives a process that seeds math.random a generator of its own, which no other can steer', async () => {
    expect(await exec('iso:random')).toEqual({
      same_as_reference: true,
      float: true,
      empty: expect.stringContaining("bad argument #2 to 'random' (interval is empty)"),
    });
  });
});

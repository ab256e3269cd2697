import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, luact, REPO_ROOT } from './luact-cli.js';

/** The log records a run printed on stderr (JSON lines). */
function records(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("the README's main job: luact run --exec orders:place_order", () => {
  it('places three orders through the saga, the supervised notifier hears each, and all stops', async () => {
    const run = await luact(['run', 'registry', '--exec', 'orders:place_order']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { ok: boolean; value: Record<string, unknown> };
    expect(result).toEqual({
      ok: true,
      value: {
        'A-1001': {
          ok: true,
          result: {
            order: 'A-1001',
            payment: expect.any(String),
            tracking: expect.stringMatching(/^trk-/),
          },
        },
        'A-1002': {
          ok: false,
          error: expect.stringContaining('failed at orders:charge_payment: card declined'),
        },
        'A-1003': {
          ok: false,
          error: expect.stringContaining('failed at orders:ship_order'),
        },
      },
    });
    // Keys in a stable (sorted) order, log records with one ISO time, no JSON inside strings.
    expect(Object.keys(result.value)).toEqual(['A-1001', 'A-1002', 'A-1003']);
    for (const record of records(run.stderr)) {
      expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      for (const field of Object.values(record))
        expect(
          typeof field === 'string' && /^[[{]/.test(field) && !/^\{[\w.:-]+\|\d+\}$/.test(field),
          String(field),
        ).toBe(false);
    }
    // Lint's note about the example temporal.client is not repeated by every run.
    expect(run.stderr).not.toContain('is not contacted');
    const logged = records(run.stderr);
    expect(
      logged
        .filter((r) => r.msg === 'order update')
        .map((r) => [r.topic, (r.update as { order: string }).order]),
    ).toEqual([
      ['order.completed', 'A-1001'],
      ['order.failed', 'A-1002'],
      ['order.failed', 'A-1003'],
    ]);
    expect(
      logged.filter((r) => r.msg === 'service state').map((r) => `${r.service}:${r.state}`),
    ).toEqual([
      'orders:notifier:starting',
      'orders:notifier:running',
      'orders:notifier:stopping',
      'orders:notifier:stopped',
    ]);
  });

  it('prints a readable line per order and readable log lines on a terminal', async () => {
    // `script` gives the command a terminal, as a person running it has.
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        'script',
        ['-qec', `${process.execPath} ${BIN} run registry --exec orders:place_order`, '/dev/null'],
        { cwd: REPO_ROOT, timeout: 60_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const lines = output.split(/\r?\n/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^A-1001 {2}✓ order=A-1001 payment=\S+ tracking=trk-\S+$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^A-1002 {2}✗ order A-1002 failed at orders:charge_payment: card declined/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^A-1003 {2}✗ order A-1003 failed at orders:ship_order/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}order shipped {2}.*order=A-1001/),
    );
    expect(output).not.toContain('{"');
  });
});

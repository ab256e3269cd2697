import { describe, expect, it } from 'vitest';
import { luact } from './luact-cli.js';

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
});

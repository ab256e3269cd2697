import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luact, type RunningCli, startedByTests } from './luact-cli.js';

const clis = startedByTests('luact-run-services-');

beforeEach(() => clis.prepare());
afterEach(() => clis.cleanUp());

function start(args: readonly string[]): RunningCli {
  return clis.start(args);
}

/** The service state changes a node logged, as "service:state", in order. */
function transitions(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.includes('"msg":"service state"'))
    .map((line) => JSON.parse(line) as { service: string; state: string })
    .map((record) => `${record.service}:${record.state}`);
}

describe('luact run (a real node process) with services', () => {
  it('starts a diamond bottom-up, and on SIGTERM stops it top-down and exits 0', async () => {
    const control = path.join(clis.scratch, 'control.sock');
    const node = start(['run', 'test/fixtures/services', '--control', control]);
    await node.waitFor('4 of 4 services running');
    const up = transitions(node.stderr()).filter((t) => t.endsWith(':running'));
    expect(up[0]).toBe('shop:config:running');
    expect(up.slice(1, 3).sort()).toEqual(['shop:cache:running', 'shop:db:running']);
    expect(up[3]).toBe('shop:api:running');

    const listed = await luact(['services', '--control', control, '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((s: { id: string; state: string }) => s.state)).toEqual([
      'running',
      'running',
      'running',
      'running',
    ]);

    const before = transitions(node.stderr()).length;
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    const down = transitions(node.stderr())
      .slice(before)
      .filter((t) => t.endsWith(':stopped'));
    expect(down[0]).toBe('shop:api:stopped');
    expect(down.slice(1, 3).sort()).toEqual(['shop:cache:stopped', 'shop:db:stopped']);
    expect(down[3]).toBe('shop:config:stopped');
    expect(node.stderr()).toContain('luact: stopped cleanly');
  });

  it('exits 1 at once on a second signal while a service will not stop', async () => {
    await writeFile(
      path.join(clis.scratch, 'app.yaml'),
      `namespace: app
entries:
  - name: processes
    kind: process.host
  - name: stubborn
    kind: process.lua
    source: |
      return { main = function()
        local events = process.events()
        while true do events:receive() end
      end }
  - name: jammed
    kind: process.service
    process: stubborn
    host: processes
    lifecycle: { auto_start: true, stop_timeout: 1m }
`,
    );
    const node = start(['run', clis.scratch, '--control', path.join(clis.scratch, 'control.sock')]);
    await node.waitFor('1 of 1 service running');
    node.child.kill('SIGINT');
    await node.waitFor('stopping services');
    node.child.kill('SIGINT');
    expect(await node.exited).toBe(1);
    expect(node.stderr()).toContain('SIGINT again, exiting without waiting for services');
  });
});

import { describe, expect, it } from 'vitest';
import { luact } from './luact-cli.js';

describe('luact lint (the real binary)', () => {
  it('passes on the default application and its examples', async () => {
    const run = await luact(['lint', 'registry']);
    expect(run.stderr).toBe('');
    // The one note: the Temporal-compatibility example's temporal.client is not contacted.
    expect(run.stdout).toMatch(
      /^registry\/examples\/temporal-compat\/\S+:\d+:\d+: note: examples\.temporal:temporal_client: luact keeps workflows in its own journal; \S+ is not contacted \[temporal-client\]\nregistry: \d+ entries in \d+ files, no problems\n$/,
    );
    expect(run.code).toBe(0);
  });

  it('reports all ten mistakes of the fixture, each with file:line, and exits 1', async () => {
    const run = await luact(['lint', 'test/fixtures/ten-mistakes']);
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((line) => line.includes(': error: '));
    const fixture = 'test/fixtures/ten-mistakes/';
    const expected: [string, string][] = [
      ['app.yaml:6:20', '[wrong-type]'],
      ['app.yaml:13:11', '[unknown-kind]'],
      ['app.yaml:15:5', '[missing-field]'],
      ['app.yaml:21:13', '[source-not-found]'],
      ['app.yaml:25:13', '[source-outside-app]'],
      ['app.yaml:30:14', '[env-unset]'],
      ['broken.yaml:5:13', '[yaml-syntax]'],
      ['more.yaml:3:11', '[duplicate-id]'],
      ['more.yaml:11:13', '[dangling-reference]'],
      ['more.yaml:16:19', '[dependency-cycle]'],
    ];
    expect(
      errors.map((line) => [
        line.slice(fixture.length, line.indexOf(': ')),
        line.slice(line.lastIndexOf(' [') + 1),
      ]),
    ).toEqual(expected);
    expect(errors.every((line) => line.startsWith(fixture))).toBe(true);
    expect(run.stdout).toContain('notes.yaml:1:1: warning: file skipped: no top-level "namespace"');
    expect(run.stdout).toMatch(
      /luact lint test\/fixtures\/ten-mistakes: 10 errors, 1 warning in 4 files \(1 skipped\)\n$/,
    );
  });

  it('gives the same report as JSON', async () => {
    const run = await luact(['lint', 'test/fixtures/ten-mistakes', '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      errors: number;
      diagnostics: { location?: { file: string } }[];
    };
    expect(report.ok).toBe(false);
    expect(report.errors).toBe(10);
    expect(
      report.diagnostics.every((d) => d.location?.file.startsWith('test/fixtures/ten-mistakes/')),
    ).toBe(true);
  });

  it('exits 2 on a usage error and 0 for --help and --version', async () => {
    expect((await luact(['lint', '--bogus'])).code).toBe(2);
    expect((await luact(['--help'])).code).toBe(0);
    const version = await luact(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });
});

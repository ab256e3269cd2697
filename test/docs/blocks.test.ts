import { describe, expect, it } from 'vitest';
import { codeBlocksOf, stepsOf } from './blocks.js';
import { missingJson, missingTextLines } from './expected-output.js';

const FENCE = '```';

function stepsOfPage(...lines: string[]) {
  return stepsOf(codeBlocksOf('example.md', lines.join('\n')));
}

describe('reading the code blocks of a docs page', () => {
  it('reads a snippet, an app file and a command with its output, each at its line', () => {
    const steps = stepsOfPage(
      '# Page',
      `${FENCE}lua run=workflow expect=error`,
      'error("x")',
      FENCE,
      `${FENCE}yaml app=shop file=app.yaml`,
      'namespace: shop',
      FENCE,
      `${FENCE}sh app=shop exit=1`,
      'luact test .',
      FENCE,
      'It prints:',
      `${FENCE}text`,
      '0 passed, 0 failed',
      FENCE,
    );
    expect(steps.map((step) => [step.type, step.block.line])).toEqual([
      ['snippet', 2],
      ['file', 5],
      ['command', 8],
      ['output', 12],
    ]);
    expect(steps[0]).toMatchObject({ kind: 'workflow', expectError: true });
    expect(steps[0]?.block.body).toBe('error("x")');
    expect(steps[2]).toMatchObject({ exitCode: 1, background: false, output: { line: 12 } });
  });

  it('fails every block that is not runnable, saying why', () => {
    const whys = stepsOfPage(
      `${FENCE}ts`,
      'const x = 1;',
      FENCE,
      `${FENCE}lua run=process expect=errors`,
      FENCE,
      `${FENCE}text`,
      'orphan output',
      FENCE,
      `${FENCE}`,
      'no language',
      FENCE,
      `${FENCE}lua app=shop`,
      FENCE,
      `${FENCE}sh app=shop run=forever`,
      'luact run .',
      FENCE,
    ).map((step) => (step.type === 'not-runnable' ? step.why : step.type));
    expect(whys).toEqual([
      expect.stringContaining('```ts without attributes'),
      expect.stringContaining('expect=errors'),
      expect.stringContaining('only the expected output'),
      expect.stringContaining('names no language'),
      expect.stringContaining('needs file=PATH'),
      expect.stringContaining('run=forever'),
    ]);
  });

  it('takes inline code that starts a line for text, and reads blocks indented in lists', () => {
    const steps = stepsOfPage(
      '```` ```text ```` is output.',
      '- a step:',
      `  ${FENCE}lua run=process`,
      '  assert(true)',
      `  ${FENCE}`,
    );
    expect(steps).toHaveLength(1);
    expect(steps[0]?.block).toMatchObject({ line: 3, body: 'assert(true)' });
  });
});

describe('matching the output the docs show', () => {
  it('finds text lines in order, skipping ... lines and matching ... inside a line', () => {
    const output = 'booting\n✓ app:a (12 ms)\nnoise\n1 passed, 0 failed\n';
    expect(missingTextLines('✓ app:a (... ms)\n...\n1 passed, 0 failed', output)).toBeUndefined();
    expect(missingTextLines('1 passed, 0 failed\n✓ app:a', output)).toContain(
      'before the lines above it',
    );
    expect(missingTextLines('2 passed', output)).toContain('lacks the line "2 passed"');
  });

  it('finds a JSON value containing the one shown, on one line or over several', () => {
    expect(missingJson('{"ok": true}', 'log\n{"ok":true,"value":3}\n')).toBeUndefined();
    expect(missingJson('{"passed": 1}', '{\n  "passed": 1,\n  "failed": 0\n}\n')).toBeUndefined();
    expect(missingJson('{"value": [1]}', '{"value":[1,2]}')).toContain('no JSON value');
  });
});

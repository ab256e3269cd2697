import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { activateEntry, loadApplication } from '@luact/registry';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './attack.js';

/** The example of docs/isolation.md is a valid process.host with the limits it says it sets. */
it('docs/isolation.md: the process.host example loads with the limits it lists', async () => {
  const doc = await readFile(path.join(REPO_ROOT, 'docs/isolation.md'), 'utf8');
  const example = /```yaml app=isolation file=app.yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(example).toBeDefined();
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-docs-'));
  try {
    await writeFile(path.join(dir, 'app.yaml'), example ?? '');
    const loaded = await loadApplication(dir);
    expect(loaded.diagnostics).toEqual([]);
    const entry = loaded.snapshot?.get('docs:workers');
    expect(entry?.kind).toBe('process.host');
    const config = entry && activateEntry(entry, {});
    expect(config?.ok && config.value).toMatchObject({
      host: {
        max_mailbox_bytes: 64 * 1024 * 1024,
        time_slice: 2,
        max_slice: 1000,
        max_memory: 256 * 1024 * 1024,
        max_process_memory: 64 * 1024 * 1024,
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

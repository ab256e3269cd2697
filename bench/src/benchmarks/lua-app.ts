import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Node, type NodeOptions } from '@luact/runtime';

/** A throwaway application for a benchmark: YAML text, started as a node. */
export async function benchNode(
  yaml: string,
  options: Pick<NodeOptions, 'log'> = {},
): Promise<{ node: Node; close: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-bench-'));
  await writeFile(path.join(dir, 'app.yaml'), yaml);
  const node = await Node.start({ dir, env: {}, print: () => {}, ...options });
  return {
    node,
    close: async () => {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

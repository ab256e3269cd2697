import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findDefinitionFiles, loadApplication } from '@luact/registry';
import { parse } from 'yaml';
import { type Benchmark, compareMs } from '../harness.js';

const ENTRIES = 1_000;
const FILES = 20;
const ROUNDS = { warmup: 3, rounds: 21 };

/**
 * Loading an application of 1,000 entries in 20 files (hosts, Lua processes and functions,
 * services that reference them), against only reading and YAML-parsing the same files.
 */
export const registryLoad: Benchmark = {
  name: 'registry load',
  async run() {
    const dir = await mkdtemp(path.join(tmpdir(), 'luact-bench-registry-'));
    try {
      await writeApplication(dir);
      const check = await loadApplication(dir);
      if (!check.snapshot || check.snapshot.size !== ENTRIES) {
        throw new Error(
          `benchmark application is invalid: ${JSON.stringify(check.diagnostics.slice(0, 3))}`,
        );
      }
      const files = await findDefinitionFiles(dir);
      const parseFiles = () =>
        Promise.all(files.map(async (file) => parse(await readFile(file, 'utf8'))));
      const medians = await compareMs(() => loadApplication(dir), parseFiles, ROUNDS);
      return [
        {
          figure: `registry load, ${ENTRIES} entries / ${FILES} files`,
          median: medians.subject,
          unit: 'ms',
          baseline: 'read + yaml.parse of the same files',
          baselineMedian: medians.baseline,
          durability: 'n/a (no journal)',
        },
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** Writes FILES namespaces of ENTRIES / FILES entries each: a host, then processes, functions and services. */
async function writeApplication(dir: string): Promise<void> {
  const perFile = ENTRIES / FILES;
  await Promise.all(
    Array.from({ length: FILES }, async (_, file) => {
      const entries = [['  - name: processes', '    kind: process.host']];
      for (let i = 0; entries.length < perFile; i++) entries.push(...entryGroup(i));
      const text = [
        `namespace: bench.n${file}`,
        'entries:',
        ...entries.slice(0, perFile).flat(),
      ].join('\n');
      await writeFile(path.join(dir, `n${file}.yaml`), `${text}\n`);
    }),
  );
}

/** A process, a function and a service that runs the process, each as its lines of YAML. */
function entryGroup(i: number): string[][] {
  return [
    [
      `  - name: worker${i}`,
      '    kind: process.lua',
      '    modules: [time, logger]',
      `    source: "return { main = function(n) return n + ${i} end }"`,
    ],
    [
      `  - name: fn${i}`,
      '    kind: function.lua',
      '    meta: { type: helper }',
      `    source: "return { main = function(x) return x * ${i} end }"`,
    ],
    [
      `  - name: svc${i}`,
      '    kind: process.service',
      `    process: worker${i}`,
      '    host: processes',
      '    lifecycle: { auto_start: true, restart: { max_attempts: 3 } }',
    ],
  ];
}

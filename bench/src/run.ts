import { actors } from './benchmarks/actors.js';
import { cluster } from './benchmarks/cluster.js';
import { clusterWorkflows } from './benchmarks/cluster-workflows.js';
import { isolation } from './benchmarks/isolation.js';
import { registryLoad } from './benchmarks/registry-load.js';
import { supervision } from './benchmarks/supervision.js';
import { workers } from './benchmarks/workers.js';
import { workflows } from './benchmarks/workflows.js';
import { type Benchmark, type Figure, formatTable } from './harness.js';

/** Every benchmark, run in order; `npm run bench` prints one table of all their figures. */
const BENCHMARKS: readonly Benchmark[] = [
  registryLoad,
  actors,
  workers,
  supervision,
  workflows,
  isolation,
  cluster,
  clusterWorkflows,
];

const only = process.argv[2];
const figures: Figure[] = [];
for (const benchmark of BENCHMARKS) {
  if (only !== undefined && !benchmark.name.includes(only)) continue;
  process.stderr.write(`running ${benchmark.name}…\n`);
  figures.push(...(await benchmark.run()));
}
process.stdout.write(`${formatTable(figures)}\n`);

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePorts, type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, luact, type RunningCli, startedByTests } from './luact-cli.js';

/**
 * Operating a cluster from the command line: `luact cluster`, and `luact ps/services --nats`
 * asking every node, against two real `luact run --nats … --node a|b` processes.
 */

const APP = `version: "1.0"
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: worker
    kind: process.lua
    source: |
      return { main = function()
        local events = process.events()
        while true do events:receive() end
      end }
  - name: work
    kind: process.service
    process: worker
    host: processes
    lifecycle: { auto_start: true }
  - name: flows
    kind: workflow.host
  - name: square
    kind: workflow.lua
    source: "return { main = function(x) return x * x end }"
    meta: { host: app:flows }
`;

interface ClusterJson {
  version: number;
  committed_at: string;
  partitions: number;
  members: { node: string; incarnation: number; queues: string[]; joined_at: string | null }[];
  owners: Record<string, { partition: number; node: string; incarnation: number; epoch: number }[]>;
}

const clis = startedByTests('luact-cli-cluster-');
let server: NatsServerHandle;
let app: string;
const nodes: Record<string, RunningCli> = {};

beforeAll(async () => {
  await clis.prepare();
  app = path.join(clis.scratch, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'app.yaml'), APP);
  server = await startNatsServer();
  for (const name of ['a', 'b'])
    nodes[name] = clis.start(['run', app, '--nats', server.url, '--node', name]);
  // Each node serves once its service runs.
  await Promise.all(
    Object.values(nodes).map((node) => node.waitFor('1 of 1 service running', 60_000)),
  );
}, 90_000);

afterAll(async () => {
  await clis.cleanUp();
  await server?.stop();
});

const clusterJson = async (): Promise<ClusterJson> => {
  const run = await luact(['cluster', '--nats', server.url, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as ClusterJson;
};

/** The cluster once `predicate` holds for it, polled for up to a minute. */
async function clusterWhen(predicate: (cluster: ClusterJson) => boolean): Promise<ClusterJson> {
  let last: ClusterJson | undefined;
  await expect
    .poll(
      async () => {
        last = await clusterJson();
        return predicate(last);
      },
      { timeout: 60_000, interval: 500 },
    )
    .toBe(true);
  return last as ClusterJson;
}

const incarnationOf = (cluster: ClusterJson, node: string) =>
  cluster.members.find((member) => member.node === node)?.incarnation;

describe('luact cluster and ps/services --nats', () => {
  let incarnations: Record<string, number> = {};

  it('lists both members with their incarnations and the owners of the workflow host both serve', async () => {
    // Partitions move to a joining node a few per view: wait for the balanced view.
    const owners = (cluster: ClusterJson) => cluster.owners['app:flows'] ?? [];
    const cluster = await clusterWhen(
      (c) =>
        c.members.length === 2 &&
        owners(c).filter((owner) => owner.node === 'a').length === c.partitions / 2,
    );
    expect(cluster.members.map((m) => [m.node, m.queues])).toEqual([
      ['a', ['app:flows']],
      ['b', ['app:flows']],
    ]);
    incarnations = { a: incarnationOf(cluster, 'a') ?? -1, b: incarnationOf(cluster, 'b') ?? -1 };
    expect(incarnations.a).toBeGreaterThan(0);
    expect(incarnations.b).toBeGreaterThan(0);
    expect(incarnations.a).not.toBe(incarnations.b);
    for (const member of cluster.members) expect(Date.parse(member.joined_at ?? '')).not.toBeNaN();
    // Every partition has an owner that is a member at its current incarnation.
    expect(owners(cluster).map((owner) => owner.partition)).toEqual(
      Array.from({ length: cluster.partitions }, (_, i) => i),
    );
    for (const owner of owners(cluster)) expect(owner.incarnation).toBe(incarnations[owner.node]);

    // On a terminal: a row per member, and per queue each owner with its partition count.
    const text = await luact(['cluster', '--nats', server.url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`view ${cluster.version}, committed `);
    expect(text.stdout).toMatch(new RegExp(`\\na +${incarnations.a} +\\S+`));
    expect(text.stdout).toMatch(new RegExp(`\\nb +${incarnations.b} +\\S+`));
    const half = cluster.partitions / 2;
    expect(text.stdout).toMatch(new RegExp(`queue app:flows\\n.*\\n {2}a +${half} +\\d`));
    expect(text.stdout).toMatch(new RegExp(`\\n {2}b +${half} +\\d`));
  }, 90_000);

  it("ps --nats and services --nats list every node's processes and services, keyed by node", async () => {
    const ps = await luact(['ps', '--nats', server.url, '--json']);
    expect(ps.code, ps.stderr).toBe(0);
    const processes = JSON.parse(ps.stdout) as Record<
      string,
      { state: string; incarnation: number; processes: { pid: string; entry: string }[] }
    >;
    expect(Object.keys(processes)).toEqual(['a', 'b']);
    for (const node of ['a', 'b']) {
      expect(processes[node]).toMatchObject({ state: 'answered', incarnation: incarnations[node] });
      expect(processes[node]?.processes).toEqual([
        expect.objectContaining({
          pid: expect.stringMatching(
            new RegExp(`^\\{${node}~${incarnations[node]}@app:processes\\|\\d+\\}$`),
          ),
          entry: 'app:worker',
        }),
      ]);
    }
    const psText = await luact(['ps', '--nats', server.url]);
    expect(psText.code, psText.stderr).toBe(0);
    expect(psText.stdout).toContain(`node a (incarnation ${incarnations.a})\nPID`);
    expect(psText.stdout).toMatch(
      new RegExp(`\\{b~${incarnations.b}@app:processes\\|\\d+\\} +app:worker`),
    );

    const services = await luact(['services', '--nats', server.url, '--json']);
    expect(services.code, services.stderr).toBe(0);
    const byNode = JSON.parse(services.stdout) as Record<
      string,
      { services: { id: string; state: string }[] }
    >;
    for (const node of ['a', 'b'])
      expect(byNode[node]?.services).toEqual([
        expect.objectContaining({ id: 'app:work', state: 'running' }),
      ]);
    // --node asks one node only.
    const one = await luact(['services', '--nats', server.url, '--node', 'b']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(`node b (incarnation ${incarnations.b})\nSERVICE`);
    expect(one.stdout).not.toContain('node a');
  }, 90_000);

  it('workflow list --nats and show --nats find a workflow wherever it ran', async () => {
    const started = await luact([
      'workflow',
      'start',
      '-d',
      app,
      '--node',
      'a',
      'app:square',
      '7',
      '--id',
      'sq-7',
    ]);
    expect(started.code, started.stderr).toBe(0);
    let listed: { workflows: { workflow: string; status: string; nodes: string[] }[] } = {
      workflows: [],
    };
    await expect
      .poll(
        async () => {
          const list = await luact(['workflow', 'list', '--nats', server.url, '--json']);
          expect(list.code, list.stderr).toBe(0);
          listed = JSON.parse(list.stdout);
          return listed.workflows.find((run) => run.workflow === 'sq-7')?.status;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe('completed');
    expect(listed.workflows.find((run) => run.workflow === 'sq-7')?.nodes.length).toBeGreaterThan(
      0,
    );

    const show = await luact(['workflow', 'show', 'sq-7', '--nats', server.url]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^node: +[ab]\n/);
    expect(show.stdout).toMatch(/\nresult: +49\n/);

    const nobody = await luact(['workflow', 'show', 'nope', '--nats', server.url]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toBe('luact: no node of the cluster knows workflow nope\n');
  }, 90_000);

  it('a node killed with SIGKILL is reported by ps at once, and leaves the cluster after the down bound', async () => {
    const b = nodes.b as RunningCli;
    b.child.kill('SIGKILL');
    await b.exited;
    // At once: b is still in the view but does not answer (nothing listens), or already gone.
    const right = await luact(['ps', '--nats', server.url, '--json']);
    const report = (JSON.parse(right.stdout) as Record<string, { state: string }>).b;
    expect(['not_answering', 'down']).toContain(report?.state);
    expect(right.code).toBe(report?.state === 'down' ? 0 : 1);
    if (report?.state === 'not_answering')
      expect(right.stderr).toContain('luact: 1 of 2 nodes did not answer: b');

    const after = await clusterWhen((c) => c.members.length === 1);
    expect(after.members.map((m) => m.node)).toEqual(['a']);
    expect((after.owners['app:flows'] ?? []).every((owner) => owner.node === 'a')).toBe(true);

    const gone: CliRun = await luact(['ps', '--nats', server.url]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toContain(`node a (incarnation ${incarnations.a})\nPID`);
    expect(gone.stdout).toContain(
      `node b (incarnation ${incarnations.b}): gone, declared down in view ${after.version}`,
    );
  }, 120_000);
});

describe('luact cluster: clear errors', () => {
  it('says so when NATS cannot be reached, as run --nats does', async () => {
    const [port] = await freePorts(1);
    for (const command of [['cluster'], ['ps'], ['services']]) {
      const run = await luact([...command, '--nats', `nats://127.0.0.1:${port}`]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `luact: --nats: cannot connect to NATS at nats://127.0.0.1:${port}: connection refused\n`,
      );
    }
  }, 60_000);

  it('says so when no node ever joined a cluster on that NATS', async () => {
    const empty = await startNatsServer();
    try {
      for (const command of [['cluster'], ['ps']]) {
        const run = await luact([...command, '--nats', empty.url]);
        expect(run.code).toBe(1);
        expect(run.stderr).toContain('luact: no node has ever joined a cluster on this NATS');
      }
    } finally {
      await empty.stop();
    }
  }, 60_000);
});

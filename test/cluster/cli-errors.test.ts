import { freePorts } from '@luact/testkit';
import { expect, it } from 'vitest';
import { luact } from '../src/luact-cli.js';
import { CLUSTER_APP, clusterSuite } from './cluster-nodes.js';

/**
 * A node asked to join a cluster (`--node`, serving) that cannot reach NATS says so and exits
 * 1; test/src/cli-nats.test.ts covers the same errors for --exec without --node.
 */

const PASSWORD = 'a-cluster-password';

const { nodes, server } = clusterSuite('luact-cluster-cli-', CLUSTER_APP, {
  args: ['--user', 'luact', '--pass', PASSWORD],
});

const withPassword = (password: string) =>
  server().url.replace('nats://', `nats://luact:${password}@`);

it('refuses to join with a wrong password, naming the server and user but not the password', async () => {
  const run = await luact(['run', CLUSTER_APP, '--nats', withPassword('wrong-pw'), '--node', 'a']);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(
    `luact: --nats: NATS at nats://luact:***@127.0.0.1:${server().port} refused user "luact" with the password given`,
  );
  expect(run.stderr).not.toContain('wrong-pw');
  expect(run.stderr).not.toContain('joined the cluster');
}, 60_000);

it('fails at once when no server of the list can be reached', async () => {
  const ports = await freePorts(2);
  const urls = ports.map((port) => `nats://127.0.0.1:${port}`);
  const run = await luact(['run', CLUSTER_APP, '--nats', urls.join(','), '--node', 'a']);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /^luact: --nats: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/m,
  );
  expect(run.stderr).toContain('connection refused');
}, 60_000);

it('joins through the one server of its list that answers', async () => {
  const [port] = await freePorts(1);
  const node = await nodes.serve('a', [`nats://127.0.0.1:${port}`, withPassword(PASSWORD)]);
  expect(node.stderr()).not.toContain(PASSWORD);
}, 60_000);

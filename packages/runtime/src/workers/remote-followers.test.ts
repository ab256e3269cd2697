import { LuactError } from '@luact/core';
import type { Pid, Signal } from '@luact/process';
import { describe, expect, it } from 'vitest';
import { RemoteFollowers } from './remote-followers.js';

const WORKER = '{a~1@app:w|4}' as Pid;
const OTHER_WORKER = '{a~1@app:w|5}' as Pid;
const ON_B = '{b~3@app:p|9}' as Pid;
const ON_C = '{c~1@app:p|2}' as Pid;
const MAIN_HERE = '{a~1@luact:main|7}' as Pid;
const LOST = new LuactError('UNAVAILABLE', 'worker down: app:w#1 (it exited with code 1)');
const onWorker = (pid: Pid) => pid === WORKER;

const relation = (kind: 'monitor' | 'demonitor' | 'link' | 'unlink', from: Pid, to: Pid): Signal =>
  ({ kind, from, to }) as Signal;
const ended = (kind: 'exit' | 'link-down', from: Pid, to: Pid): Signal => ({
  kind,
  from,
  to,
  at: 1n,
  outcome: { ok: true, value: new Uint8Array() },
});

describe('the processes of other nodes that follow a worker’s process', () => {
  it('hear EXIT, LINK_DOWN and the outcome they wait for when its thread is lost', () => {
    const followers = new RemoteFollowers('a');
    followers.inbound(relation('monitor', ON_B, WORKER));
    followers.inbound(relation('link', ON_B, WORKER));
    followers.spawnedFor({ pid: ON_C, monitor: false, link: false, resultChannel: 3 }, WORKER);
    const signals = followers.lost(onWorker, LOST, 5n);
    const outcome = { ok: false, error: LOST };
    expect(signals).toEqual([
      { node: 'b', signal: { kind: 'exit', to: ON_B, from: WORKER, at: 5n, outcome } },
      { node: 'b', signal: { kind: 'link-down', to: ON_B, from: WORKER, at: 5n, outcome } },
      { node: 'c', signal: { kind: 'result', to: ON_C, from: WORKER, channel: 3, outcome } },
    ]);
    // Told once.
    expect(followers.lost(onWorker, LOST, 6n)).toEqual([]);
  });

  it('are forgotten when they stop following, end, or their node goes down', () => {
    const followers = new RemoteFollowers('a');
    followers.inbound(relation('monitor', ON_B, WORKER));
    followers.inbound(relation('demonitor', ON_B, WORKER));
    followers.inbound(relation('link', ON_C, WORKER));
    followers.inbound(ended('link-down', ON_C, WORKER));
    followers.outbound(relation('link', WORKER, ON_B));
    followers.nodeDown('b', 3);
    expect(followers.lost(onWorker, LOST, 1n)).toEqual([]);
    expect(followers.size).toBe(0);
  });

  it('are forgotten once the worker’s process ended and told them itself', () => {
    const followers = new RemoteFollowers('a');
    followers.outbound(relation('link', WORKER, ON_B));
    followers.inbound(relation('monitor', ON_C, WORKER));
    followers.outbound(ended('exit', WORKER, ON_C));
    expect(followers.lost(onWorker, LOST, 1n)).toEqual([]);
  });

  it('count processes of other nodes only, and a linked child spawned on another node', () => {
    const followers = new RemoteFollowers('a');
    followers.inbound(relation('monitor', MAIN_HERE, WORKER));
    followers.spawnedFor({ pid: MAIN_HERE, monitor: true, link: true }, OTHER_WORKER);
    expect(followers.size).toBe(0);
    followers.linkedChild(WORKER, ON_B);
    expect(followers.lost(onWorker, LOST, 1n)).toEqual([
      { node: 'b', signal: expect.objectContaining({ kind: 'link-down', to: ON_B }) },
    ]);
  });
});

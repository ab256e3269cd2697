import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LuactError } from '@luact/core';
import { decodeValue } from '@luact/lua';
import type { Pid } from '@luact/process';
import { Node } from '@luact/runtime';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mailbox');

/** A node running fixtures/mailbox in this process, with a state directory of its own. */
export async function mailboxNode(): Promise<{
  node: Node;
  /** Starts `entry` on `host` and resolves with its value (or throws its error). */
  run(entry: string, host: string, ...args: unknown[]): Promise<unknown>;
  spawn(entry: string, host: string, ...args: unknown[]): Promise<Pid>;
  outcome(pid: Pid): Promise<unknown>;
  stop(): Promise<void>;
}> {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'luact-mailbox-'));
  const node = await Node.start({ dir: FIXTURE, stateDir, env: {}, print: () => {} }).catch(
    async (error: unknown) => {
      await rm(stateDir, { recursive: true, force: true });
      throw error;
    },
  );
  const spawn = (entry: string, host: string, ...args: unknown[]) => node.spawn(entry, args, host);
  // Followed from an inbox, as a process on any thread (LUACT_WORKERS=2 puts hosts on workers).
  const outcome = (pid: Pid) =>
    new Promise<unknown>((resolve, reject) => {
      const inbox = node.system.openInbox(() => {});
      const watched = inbox.watch(pid, (exit) => {
        inbox.close();
        if (exit.ok) resolve(decodeValue(exit.value));
        else reject(exit.error);
      });
      if (watched instanceof LuactError) {
        inbox.close();
        reject(watched);
      } else
        watched?.catch((error: unknown) => {
          inbox.close();
          reject(error);
        });
    });
  return {
    node,
    spawn,
    outcome,
    run: async (entry, host, ...args) => outcome(await spawn(entry, host, ...args)),
    async stop() {
      await node.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

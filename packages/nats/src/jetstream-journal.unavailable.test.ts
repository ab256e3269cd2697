import { expect, it } from 'vitest';
import { JetStreamJournal } from './jetstream-journal.js';
import { natsServerAndConnection } from './testing/nats-server.js';

const nats = natsServerAndConnection();

it('fails with UNAVAILABLE naming the server when NATS is down, and recovers after', async () => {
  // A publish is retried while its outcome is unknown: 1 s here instead of the default 15 s.
  const journal = await JetStreamJournal.open({
    connection: nats.connection,
    requestTimeoutMs: 1_000,
    publishBudgetMs: 1_000,
  });
  await journal.append('wf', 0, [{ n: 0 }]);
  await nats.server.kill();

  const unavailable = {
    name: 'LuactError',
    kind: 'UNAVAILABLE',
    retryable: true,
    message: expect.stringContaining(`NATS 127.0.0.1:${nats.server.port}`),
  };
  const started = Date.now();
  await expect(journal.append('wf', 1, [{ n: 1 }])).rejects.toMatchObject({
    ...unavailable,
    message: expect.stringMatching(/append to journal wf failed/),
  });
  await expect(journal.read('wf')).rejects.toMatchObject(unavailable);
  await expect(journal.open()).rejects.toMatchObject(unavailable);
  expect(Date.now() - started).toBeLessThan(5_000); // bounded by the request timeout, no hang

  await nats.server.restart();
  // The append's outcome was unknown to the caller: repeating it is safe.
  await expect
    .poll(
      () =>
        journal.append('wf', 1, [{ n: 1 }]).then(
          () => true,
          () => false,
        ),
      {
        timeout: 10_000,
        interval: 200,
      },
    )
    .toBe(true);
  await journal.append('wf', 1, [{ n: 1 }]);
  expect(await journal.read('wf')).toEqual([{ n: 0 }, { n: 1 }]);
  await journal.shutdown();
});

it('opens once JetStream answers again: a journal opened while the server restarts waits for it', async () => {
  await nats.server.kill();
  const opening = JetStreamJournal.open({
    connection: nats.connection,
    stream: 'LUACT_JOURNAL_LATE',
    subjectPrefix: 'luact.late',
    requestTimeoutMs: 1_000,
  });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await nats.server.restart();
  const journal = await opening;
  await journal.append('late', 0, [{ n: 0 }]);
  expect(await journal.read('late')).toEqual([{ n: 0 }]);
}, 60_000);

import { afterEach, describe, expect, it } from 'vitest';
import { mailboxNode } from './mailbox-harness.js';

/**
 * Item 8 of issue 8: a 200 MB topic and a 5 MB cancel reason were accepted under a 1 MiB
 * message limit. Topics, reasons, names and destinations have byte limits; what exceeds one
 * is INVALID for the caller, and the node goes on.
 */

let stop: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('huge strings handed to the runtime', () => {
  it('a 200 MiB topic, a 5 MiB cancel reason and 5 MiB names are INVALID with the size and the limit', async () => {
    const t = await mailboxNode();
    stop = t.stop;
    const target = await t.spawn('mbx:idle', 'mbx:roomy');
    const exited = t.outcome(target);
    const result = await t.run('mbx:values', 'mbx:roomy', target);
    const invalid = (message: string) => ({ kind: 'Invalid', message });
    expect(result).toEqual({
      send: invalid('process.send: topic of 209715200 bytes exceeds the limit of 1024 bytes'),
      listen: invalid('process.listen: topic of 209715200 bytes exceeds the limit of 1024 bytes'),
      with_message: invalid(
        'with_message: topic of 209715200 bytes exceeds the limit of 1024 bytes',
      ),
      cancel: invalid('process.cancel: reason of 5242880 bytes exceeds the limit of 65536 bytes'),
      register: invalid(
        'process.registry.register: name of 5242880 bytes exceeds the limit of 256 bytes',
      ),
      lookup: invalid(
        'process.registry.lookup: name of 5242880 bytes exceeds the limit of 256 bytes',
      ),
      with_name: invalid('with_name: name of 5242880 bytes exceeds the limit of 256 bytes'),
      destination: invalid(
        'process.send: destination of 5242880 bytes exceeds the limit of 2048 bytes',
      ),
      still_delivers: true,
    });
    // The target got the ordinary message and nothing else: no cancel, no huge topic.
    expect(await exited).toBeNull();
  });
});

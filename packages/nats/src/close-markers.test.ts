import { describe, expect, it } from 'vitest';
import { CloseMarkers } from './close-markers.js';

/** A marker publish that fails its first `failures` attempts for each journal. */
function publisher(failures = 0) {
  const attempts: string[] = [];
  const stored = new Set<string>();
  const publish = async (id: string) => {
    attempts.push(id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (attempts.filter((each) => each === id).length <= failures) {
      throw new Error(`marker of ${id} lost`);
    }
    stored.add(id);
  };
  return { attempts, stored, publish };
}

const summary = new Uint8Array(0);

describe('close markers on their way', () => {
  it('are waited for by settle, which sends a failed one again', async () => {
    const { attempts, stored, publish } = publisher(1);
    const markers = new CloseMarkers(publish);
    markers.send('a', summary);
    markers.send('b', summary);
    expect(stored.size).toBe(0);
    await markers.settle();
    expect([...stored].sort()).toEqual(['a', 'b']);
    expect(attempts.sort()).toEqual(['a', 'a', 'b', 'b']);
    await markers.settle();
    expect(attempts).toHaveLength(4);
  });

  it('tell settle the failure of a marker that fails again', async () => {
    const markers = new CloseMarkers(publisher(2).publish);
    markers.send('a', summary);
    await expect(markers.settle()).rejects.toThrow('marker of a lost');
    await markers.settle(); // the third attempt stores it
  });

  it('are waited for, not sent again, by idle and drop', async () => {
    const { attempts, stored, publish } = publisher(1);
    const markers = new CloseMarkers(publish);
    markers.send('a', summary);
    markers.send('b', summary);
    await markers.drop('a');
    await markers.idle();
    expect(stored.size).toBe(0);
    expect(attempts.sort()).toEqual(['a', 'b']);
    await markers.settle(); // only b is still to be sent
    expect(attempts.sort()).toEqual(['a', 'b', 'b']);
  });
});

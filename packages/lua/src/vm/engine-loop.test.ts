import { describe, expect, it } from 'vitest';
import { EngineLoop, type SliceRunner } from './engine-loop.js';

/** A VM stand-in: records its turns and does `work` in each. */
function runner(name: string, turns: string[], work: () => void = () => {}): SliceRunner {
  return {
    runQueuedSlice() {
      turns.push(name);
      work();
    },
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A turn long enough that a loaded machine descheduling the test cannot end it early. */
const LONG_TURN_MS = 60_000;
/** A turn the test can use up on purpose. */
const SHORT_TURN_MS = 20;

describe('the engine loop', () => {
  it('runs a VM woken by another in the same event-loop turn', async () => {
    const loop = new EngineLoop(LONG_TURN_MS);
    const turns: string[] = [];
    const b = runner('b', turns);
    const a = runner('a', turns, () => loop.request(b));
    loop.request(a);
    await nextTurn(); // queued after the loop's turn: runs once it is over
    expect(turns).toEqual(['a', 'b']);
  });

  it('leaves what is left past the time of a turn to the next turn, oldest request first', async () => {
    const loop = new EngineLoop(SHORT_TURN_MS);
    const turns: string[] = [];
    const b = runner('b', turns);
    let first = true;
    const a: SliceRunner = runner('a', turns, () => {
      if (!first) return;
      first = false;
      loop.request(b);
      const until = performance.now() + SHORT_TURN_MS + 2;
      while (performance.now() < until) {} // uses up the turn
      loop.request(a); // still has work
    });
    loop.request(a);
    await nextTurn();
    expect(turns).toEqual(['a']);
    await nextTurn();
    expect(turns).toEqual(['a', 'b', 'a']);
  });
});

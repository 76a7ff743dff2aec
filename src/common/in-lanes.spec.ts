import { inLanes } from './in-lanes';

describe('inLanes', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('works every item with at most `lanes` in flight', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await inLanes([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      done.push(n);
      running--;
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('waits for the other lanes before rethrowing the first failure', async () => {
    const finished: number[] = [];
    const run = inLanes([1, 2, 3], 3, async (n) => {
      if (n === 1) throw new Error('first');
      await tick();
      await tick();
      finished.push(n);
    });
    await expect(run).rejects.toThrow('first');
    expect(finished.sort()).toEqual([2, 3]);
  });

  it('does nothing for no items', async () => {
    await expect(inLanes([], 4, () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});

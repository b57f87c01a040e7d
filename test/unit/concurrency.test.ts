import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allSettled, mapWithLimit } from '../../shared/concurrency.js';

describe('mapWithLimit', () => {
  it('maps in input order with never more than `limit` calls pending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        async (delays, limit) => {
          let pending = 0;
          let most = 0;
          const results = await mapWithLimit(delays, limit, async (delay, index) => {
            pending++;
            most = Math.max(most, pending);
            for (let tick = 0; tick < delay; tick++) await new Promise((resolve) => setImmediate(resolve));
            pending--;
            return index * 2;
          });
          expect(results).toEqual(delays.map((_, index) => index * 2));
          expect(most).toBe(Math.min(limit, delays.length));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects with the first failure', async () => {
    await expect(
      mapWithLimit([1, 2, 3], 2, async (item) => {
        if (item === 2) throw new Error('two');
        return item;
      }),
    ).rejects.toThrow('two');
  });
});

describe('allSettled', () => {
  it('rejects with the first failure only once every promise has settled', async () => {
    let lateDone = false;
    const late = new Promise<number>((resolve) =>
      setTimeout(() => {
        lateDone = true;
        resolve(1);
      }, 30),
    );
    await expect(allSettled([Promise.reject(new Error('first')), late])).rejects.toThrow('first');
    expect(lateDone).toBe(true);
  });

  it('resolves with every value in order', async () => {
    expect(await allSettled([Promise.resolve(1), Promise.resolve('a')])).toEqual([1, 'a']);
  });
});

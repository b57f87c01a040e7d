/**
 * The order-key encodings (keys.ts): string order of the encoded values is the order runs searches use
 * (numbers numerically, names by code point, a name before the names it prefixes), so that reading an
 * index partition in key order reads runs in search order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../../../shared/domain/search/order.js';
import { keys, NAME_KEY_BYTES, sortableName, sortableNumber } from '../../../shared/store/keys.js';

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Every character an order key may hold sorts below `~` (run-index.ts ends ranges with it). */
const BELOW_TOP = /^[#.0-9A-Za-z]*$/;

describe('sortableNumber', () => {
  it('orders any two finite doubles as numbers, and equal numbers (0 and -0) alike', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (a, b) => {
          const [ka, kb] = [sortableNumber(a), sortableNumber(b)];
          expect(ka).toMatch(/^[0-9a-f]{16}$/);
          expect(sign(compareStrings(ka, kb))).toBe(sign(a - b));
        },
      ),
      { numRuns: 2000 },
    );
    expect(sortableNumber(-0)).toBe(sortableNumber(0));
  });

  it('orders epoch milliseconds and safe integers', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), (a, b) => {
        expect(sign(compareStrings(sortableNumber(a), sortableNumber(b)))).toBe(sign(a - b));
      }),
    );
  });
});

describe('sortableName', () => {
  it('orders names by code point, a prefix first, up to the key prefix length', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        (a, b) => {
          const order = sign(compareCodePoints(a, b));
          // Keys end in NAME_END then the run id: compare them as the index does.
          const ka = keys.runOrderListing({
            experimentId: '1',
            runId: 'aa',
            runName: a,
            lifecycleStage: 'active',
            startTime: 0,
          }).gsi1sk;
          const kb = keys.runOrderListing({
            experimentId: '1',
            runId: 'bb',
            runName: b,
            lifecycleStage: 'active',
            startTime: 0,
          }).gsi1sk;
          expect(ka).toMatch(BELOW_TOP);
          if (order !== 0) expect(sign(compareStrings(ka, kb))).toBe(order);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps the first NAME_KEY_BYTES bytes: longer names tie on their key and are ordered after reading', () => {
    const long = 'é'.repeat(NAME_KEY_BYTES);
    expect(sortableName(`${long}a`)).toBe(sortableName(`${long}b`));
    expect(sortableName(long).length).toBe(NAME_KEY_BYTES * 2);
  });
});

describe('run order keys', () => {
  it('put a stage first, and runs without an end time apart from those with one', () => {
    const run = { runId: 'ab12', experimentId: '7', startTime: 5, lifecycleStage: 'deleted', runName: 'n' };
    const start = keys.runListing(run);
    const open = keys.runOrderListing(run);
    const ended = keys.runOrderListing({ ...run, lifecycleStage: 'active', endTime: 9 });
    expect(start.gsi1sk).toBe(`D#${sortableNumber(5)}#ab12`);
    expect(open.gsi2sk).toBe(`D#N#${sortableNumber(5)}#ab12`);
    expect(ended.gsi2sk).toBe(`A#V#${sortableNumber(9)}#ab12`);
    expect(ended.gsi1sk).toBe(`A#${sortableName('n')}.${sortableNumber(-5)}#ab12`);
    for (const key of [start.gsi1sk, open.gsi2sk, ended.gsi2sk, ended.gsi1sk]) expect(key).toMatch(BELOW_TOP);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nearEnd, visibleWindow } from '../../../ui/src/runs/virtual.js';

describe('virtual window', () => {
  it('covers exactly the rows in the viewport without overscan', () => {
    expect(visibleWindow(0, 320, 32, 10_000)).toEqual({ first: 0, last: 10 });
    expect(visibleWindow(32 * 100, 320, 32, 10_000)).toEqual({ first: 100, last: 110 });
    // A row cut in half at either edge is still drawn.
    expect(visibleWindow(32 * 100 + 16, 320, 32, 10_000)).toEqual({ first: 100, last: 111 });
  });

  it('adds overscan on both sides and clamps to the list', () => {
    expect(visibleWindow(0, 320, 32, 10_000, 5)).toEqual({ first: 0, last: 15 });
    expect(visibleWindow(32 * 100, 320, 32, 10_000, 5)).toEqual({ first: 95, last: 115 });
    expect(visibleWindow(32 * 9_995, 320, 32, 10_000, 5)).toEqual({ first: 9_990, last: 10_000 });
  });

  it('accounts for the header above the first row', () => {
    expect(visibleWindow(0, 320, 32, 100, 0, 40)).toEqual({ first: 0, last: 9 });
    expect(visibleWindow(40 + 32 * 3, 320, 32, 100, 0, 40)).toEqual({ first: 3, last: 13 });
  });

  it('handles empty lists, zero heights and scrolling past the end', () => {
    expect(visibleWindow(0, 500, 32, 0)).toEqual({ first: 0, last: 0 });
    expect(visibleWindow(0, 0, 32, 10)).toEqual({ first: 0, last: 1 });
    expect(visibleWindow(1e9, 320, 32, 10)).toEqual({ first: 9, last: 10 });
  });

  it('always returns a window inside the list that contains every visible row', () => {
    fc.assert(
      fc.property(
        fc.nat(400_000),
        fc.nat(2_000),
        fc.integer({ min: 1, max: 80 }),
        fc.nat(12_000),
        fc.nat(20),
        (scrollTop, height, rowHeight, count, overscan) => {
          const { first, last } = visibleWindow(scrollTop, height, rowHeight, count, overscan);
          expect(0 <= first && first <= last && last <= count).toBe(true);
          for (let row = 0; row < count; row++) {
            const top = row * rowHeight;
            const visible = top < scrollTop + height && top + rowHeight > scrollTop;
            if (visible) expect(first <= row && row < last).toBe(true);
          }
          // Never more than the viewport's rows plus overscan and the two partial rows.
          expect(last - first).toBeLessThanOrEqual(Math.ceil(height / rowHeight) + 2 + 2 * overscan);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('asks for the next page when the window nears the end of what is loaded', () => {
    expect(nearEnd({ first: 400, last: 420 }, 500, 100)).toBe(true);
    expect(nearEnd({ first: 100, last: 120 }, 500, 100)).toBe(false);
  });
});

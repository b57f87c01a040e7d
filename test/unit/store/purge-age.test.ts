/** `cairn gc --older-than`: the thresholds it accepts, and what it refuses. */
import { describe, expect, it } from 'vitest';
import { DAY_MS, parseAge } from '../../../shared/store/purge/purge.js';

describe('parseAge', () => {
  it('reads days, hours and minutes, a bare number as days', () => {
    expect(parseAge('30d')).toBe(30 * DAY_MS);
    expect(parseAge('30')).toBe(30 * DAY_MS);
    expect(parseAge('12h')).toBe(12 * 3_600_000);
    expect(parseAge('90m')).toBe(90 * 60_000);
    expect(parseAge('0d')).toBe(0);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'soon', '-1d', '1.5d', '30 days', '1w', '9999999d'])
      expect(parseAge(bad), bad).toBeUndefined();
  });
});

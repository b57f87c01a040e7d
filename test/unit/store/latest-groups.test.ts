/** The pure parts of wide runs' latest groups: which group a key goes to, how many groups, the merge. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredLatest } from '../../../shared/store/runs/entity.js';
import {
  GROUP_TARGET_BYTES,
  groupCount,
  groupOf,
  latestAfterCommit,
  MAX_GROUPS,
  mergeLatest,
  splitByGroup,
} from '../../../shared/store/runs/latest-groups.js';

const storedArb = fc.tuple(
  fc.integer({ min: 0, max: 5 }),
  fc.integer({ min: 0, max: 5 }),
  fc.constantFrom('0', '-0', '1', '1.5', '-2', 'NaN', 'Infinity', '-Infinity'),
) as fc.Arbitrary<StoredLatest>;
const mapArb = fc.dictionary(fc.constantFrom('t:a', 't:b', 't:c', 't:__proto__', 't:d'), storedArb);

describe('groupOf', () => {
  it('is stable (the groups of stored runs depend on it) and in range', () => {
    expect(groupOf('t:loss', 16)).toBe(groupOf('t:loss', 16));
    expect([groupOf('t:loss', 1024), groupOf('t:accuracy', 1024), groupOf('', 1024)]).toEqual([
      (fnv('t:loss') >>> 0) % 1024,
      (fnv('t:accuracy') >>> 0) % 1024,
      0x811c9dc5 % 1024,
    ]);
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(4, 8, 256), (key, groups) => {
        const group = groupOf(key, groups);
        return Number.isInteger(group) && group >= 0 && group < groups;
      }),
    );
  });

  it('spreads typical metric keys evenly', () => {
    const counts = new Array(32).fill(0);
    for (let i = 0; i < 3200; i++) counts[groupOf(`t:model.layers.${i}.mlp.grad_norm`, 32)]++;
    expect(Math.max(...counts)).toBeLessThan(150);
    expect(Math.min(...counts)).toBeGreaterThan(50);
  });
});

/** FNV-1a as specified (offset basis 2166136261, prime 16777619), written out independently. */
function fnv(text: string): number {
  let hash = 2166136261;
  for (const unit of Array.from({ length: text.length }, (_, i) => text.charCodeAt(i))) {
    hash = Number((BigInt((hash ^ unit) >>> 0) * 16777619n) % 4294967296n);
  }
  return hash;
}

describe('groupCount', () => {
  it('is a power of two that keeps groups near the target, within bounds', () => {
    expect(groupCount(0)).toBe(4);
    expect(groupCount(10_000)).toBe(4);
    expect(groupCount(100_000)).toBe(64);
    expect(groupCount(100_000, 128)).toBe(128);
    expect(groupCount(1e9)).toBe(MAX_GROUPS);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (bytes) => {
        const groups = groupCount(bytes);
        return (
          Number.isInteger(Math.log2(groups)) &&
          (groups === MAX_GROUPS || groups * GROUP_TARGET_BYTES >= bytes) &&
          (groups === 4 || (groups / 2) * GROUP_TARGET_BYTES < bytes)
        );
      }),
    );
  });
});

describe('splitByGroup', () => {
  it('puts each entry in its group and loses none, whatever the key', () => {
    fc.assert(
      fc.property(mapArb, fc.constantFrom(4, 16), (m, groups) => {
        const split = splitByGroup(m, groups);
        const back: Record<string, StoredLatest> = {};
        for (const [group, entries] of split) {
          for (const [key, point] of Object.entries(entries)) {
            expect(groupOf(key, groups)).toBe(group);
            back[key] = point;
          }
        }
        expect(back).toEqual(m);
      }),
    );
  });
});

describe('mergeLatest', () => {
  const merged = (base: Record<string, StoredLatest>, changes: Record<string, StoredLatest>) =>
    mergeLatest(base, changes) ?? base;

  it('keeps the greatest (step, timestamp, value) per key: commutative, associative, idempotent', () => {
    fc.assert(
      fc.property(mapArb, mapArb, mapArb, (a, b, c) => {
        expect(merged(a, b)).toEqual(merged(b, a));
        expect(merged(merged(a, b), c)).toEqual(merged(a, merged(b, c)));
        expect(mergeLatest(merged(a, b), b)).toBeUndefined();
      }),
    );
  });

  it('follows MLflow: a later step wins over a larger value, NaN is the greatest value', () => {
    expect(mergeLatest({ 't:a': [2, 0, '1'] }, { 't:a': [1, 9, '9'] })).toBeUndefined();
    expect(mergeLatest({ 't:a': [1, 5, '9'] }, { 't:a': [1, 6, '0'] })).toEqual({ 't:a': [1, 6, '0'] });
    expect(mergeLatest({ 't:a': [1, 5, 'Infinity'] }, { 't:a': [1, 5, 'NaN'] })).toEqual({
      't:a': [1, 5, 'NaN'],
    });
    const base = { 't:a': [0, 0, '1'] as StoredLatest };
    expect(mergeLatest(base, { 't:b': [0, 0, '2'] })).toEqual({ 't:a': [0, 0, '1'], 't:b': [0, 0, '2'] });
    expect(base).toEqual({ 't:a': [0, 0, '1'] });
  });
});

describe('latestAfterCommit', () => {
  it("gives the asked keys' points as the committed groups hold them, and skips keys they lack", () => {
    const groups: { m: Record<string, StoredLatest> }[] = [
      { m: { 't:a': [3, 1, '2'] } },
      { m: { 't:b': [1, 1, '5'] } },
    ];
    expect(latestAfterCommit(groups, ['t:a', 't:c', 't:__proto__'])).toEqual({ 't:a': [3, 1, '2'] });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chunkSummary,
  comparePoints,
  decodeChunk,
  encodeChunk,
  isStrictlyOrdered,
  sortAndDedupe,
} from '../../../shared/domain/runs/metric-codec.js';
import type { MetricPoint } from '../../../shared/domain/runs/model.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** A NaN with a payload other than the canonical one; V8 keeps it through reads of a Float64Array. */
const OTHER_NAN = new Float64Array(new Uint8Array([1, 0, 0, 0, 0, 0, 0xf8, 0xff]).buffer)[0]!;

/** Exact, printable form of a number: String() round-trips every double; −0 needs saying. */
const exact = (n: number) => (Object.is(n, -0) ? '-0' : String(n));
/** Points as exact strings, so toEqual compares −0 ≠ 0 and NaN = NaN the way Object.is does. */
const exactly = (points: readonly MetricPoint[]) =>
  points.map((p) => `${exact(p.step)} ${exact(p.timestamp)} ${exact(p.value)}`);

const point = (step: number, timestamp: number, value: number): MetricPoint => ({ step, timestamp, value });

// Small ranges make equal steps, timestamps and duplicates common; the edges make deltas near ±2^54.
const integer = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(MAX, -MAX, MAX - 1, -MAX + 1, 2 ** 52, -(2 ** 52), 1_700_000_000_000),
  fc.maxSafeInteger(),
);
const value = fc.oneof(
  fc.double(),
  fc.constantFrom(
    Number.NaN,
    OTHER_NAN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    0,
    -0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    1,
  ),
);
const metricPoint = fc.record({ step: integer, timestamp: integer, value });
/** Unsorted point lists with exact duplicates (copies of earlier points) mixed in. */
const pointLists = fc
  .tuple(fc.array(metricPoint, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 20 }))
  .chain(([points, picks]) => {
    const copies = points.length === 0 ? [] : picks.map((i) => ({ ...points[i % points.length]! }));
    return fc.shuffledSubarray([...points, ...copies], { minLength: points.length + copies.length });
  });

/** Version 2 (still read), written out the slow, obvious way. */
function referenceEncodeV2(points: readonly MetricPoint[]): Uint8Array {
  const sorted = sortAndDedupe(points);
  const out: number[] = [2];
  const varint = (z: bigint, into: number[] = out) => {
    while (z >= 0x80n) {
      into.push(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    into.push(Number(z));
  };
  const zigzag = (d: bigint, into: number[] = out) => varint(d >= 0n ? 2n * d : -2n * d - 1n, into);
  varint(BigInt(sorted.length));
  const kinds = new Array<number>(Math.ceil(sorted.length / 4)).fill(0);
  const body: number[] = [];
  let step = 0n;
  let timestamp = 0n;
  sorted.forEach((p, i) => {
    zigzag(BigInt(p.step) - step, body);
    zigzag(BigInt(p.timestamp) - timestamp, body);
    step = BigInt(p.step);
    timestamp = BigInt(p.timestamp);
    let kind: number;
    if (i > 0 && Object.is(p.value, sorted[i - 1]!.value)) kind = 2;
    else if (Number.isInteger(p.value) && Math.abs(p.value) <= 2 ** 31 && !Object.is(p.value, -0)) {
      kind = 3;
      zigzag(BigInt(p.value), body);
    } else if (Number.isNaN(p.value)) {
      kind = 1;
      body.push(0, 0, 0xc0, 0x7f);
    } else if (Math.fround(p.value) === p.value) {
      kind = 1;
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setFloat32(0, p.value, true);
      body.push(...bytes);
    } else {
      kind = 0;
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, p.value, true);
      body.push(...bytes);
    }
    kinds[i >> 2]! |= kind << ((i & 3) * 2);
  });
  return Uint8Array.from([...out, ...kinds, ...body]);
}

/** Version 3 written out the slow, obvious way: BigInt zigzag varints, bit strings, kinds one by one. */
function referenceEncode(points: readonly MetricPoint[]): Uint8Array {
  const sorted = sortAndDedupe(points);
  const varint = (z: bigint, into: number[]) => {
    while (z >= 0x80n) {
      into.push(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    into.push(Number(z));
  };
  const zigzag = (d: bigint, into: number[]) => varint(d >= 0n ? 2n * d : -2n * d - 1n, into);
  const column = (values: bigint[]): number[] => {
    const deltas: number[] = [0];
    const runs: number[] = [1];
    let prev = 0n;
    const ds = values.map((v) => {
      const d = v - prev;
      prev = v;
      return d;
    });
    for (const d of ds) zigzag(d, deltas);
    for (let i = 0; i < ds.length; ) {
      let repeat = 1;
      while (i + repeat < ds.length && ds[i + repeat] === ds[i]) repeat++;
      zigzag(ds[i]!, runs);
      varint(BigInt(repeat), runs);
      i += repeat;
    }
    const exact = ds.every((d) => d <= BigInt(MAX) && d >= -BigInt(MAX));
    return exact && runs.length < deltas.length ? runs : deltas;
  };
  const out: number[] = [3];
  varint(BigInt(sorted.length), out);
  out.push(...column(sorted.map((p) => BigInt(p.step))));
  out.push(...column(sorted.map((p) => BigInt(p.timestamp))));
  const kinds = new Array<number>(Math.ceil(sorted.length / 4)).fill(0);
  const values: number[] = [];
  let bitString = '';
  let prevBits = 0n;
  let window: { lead: number; trail: number } | undefined;
  const bin = (v: bigint, width: number) => v.toString(2).padStart(width, '0');
  sorted.forEach((p, i) => {
    let kind: number;
    if (i > 0 && Object.is(p.value, sorted[i - 1]!.value)) kind = 2;
    else if (Number.isInteger(p.value) && Math.abs(p.value) <= 2 ** 31 && !Object.is(p.value, -0)) {
      kind = 3;
      zigzag(BigInt(p.value), values);
    } else if (Number.isNaN(p.value)) {
      kind = 1;
      values.push(0, 0, 0xc0, 0x7f);
    } else if (Math.fround(p.value) === p.value) {
      kind = 1;
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setFloat32(0, p.value, true);
      values.push(...bytes);
    } else {
      kind = 0;
      const bits = new DataView(Float64Array.of(p.value).buffer).getBigUint64(0, true);
      const x = bits ^ prevBits;
      prevBits = bits;
      if (x === 0n) bitString += '0';
      else {
        const text = bin(x, 64);
        const lead = text.indexOf('1');
        const trail = 63 - text.lastIndexOf('1');
        const fresh = 64 - Math.min(lead, 31) - trail;
        if (
          window &&
          lead >= window.lead &&
          trail >= window.trail &&
          64 - window.lead - window.trail <= fresh + 11
        ) {
          bitString += `10${text.slice(window.lead, 64 - window.trail)}`;
        } else {
          window = { lead: Math.min(lead, 31), trail };
          const length = 64 - window.lead - trail;
          bitString += `11${bin(BigInt(window.lead), 5)}${bin(BigInt(length - 1), 6)}${text.slice(window.lead, 64 - trail)}`;
        }
      }
    }
    kinds[i >> 2]! |= kind << ((i & 3) * 2);
  });
  bitString = bitString.padEnd(Math.ceil(bitString.length / 8) * 8, '0');
  const stream = (bitString.match(/.{8}/g) ?? []).map((byte) => Number.parseInt(byte, 2));
  out.push(...kinds);
  varint(BigInt(stream.length), out);
  return Uint8Array.from([...out, ...stream, ...values]);
}

describe('encodeChunk / decodeChunk', () => {
  it('round-trips any points to their sorted, deduplicated list, exactly', () => {
    fc.assert(
      fc.property(pointLists, (points) => {
        expect(exactly(decodeChunk(encodeChunk(points)))).toEqual(exactly(sortAndDedupe(points)));
      }),
      { numRuns: 500 },
    );
  });

  it('writes the documented format byte for byte', () => {
    fc.assert(
      fc.property(pointLists, (points) => {
        expect(encodeChunk(points)).toEqual(referenceEncode(points));
      }),
      { numRuns: 500 },
    );
  });

  it('encodes a known chunk', () => {
    // Steps 0, 1 and timestamps 1000, 999 as per-point deltas (zigzag(1000) = 2000 = 0x0f << 7 | 0x50,
    // zigzag(−1) = 1); kinds: integer 1 (3), then NaN as float32 (1); an empty float64 stream; the values.
    expect([...encodeChunk([point(1, 999, Number.NaN), point(0, 1000, 1)])]).toEqual([
      3, 2, 0, 0x00, 0x02, 0, 0xd0, 0x0f, 0x01, 0b0111, 0, 0x02, 0, 0, 0xc0, 0x7f,
    ]);
  });

  it('stores each value in the smallest exact form', () => {
    const values = [0.1, Math.fround(0.1), Math.fround(0.1), 7, -0, Number.POSITIVE_INFINITY, 2 ** 40];
    const points = values.map((value, step) => point(step, 0, value));
    expect(exactly(decodeChunk(encodeChunk(points)))).toEqual(exactly(points));
    // 1 version + 1 count; steps as runs (mode, 0 once, 1 six times: 5); timestamps as runs (mode, 0 seven
    // times: 3); 2 kinds bytes; float64 stream: 0.1 = 0x3FB999999999999A has 2 leading and 1 trailing
    // zero bits, '11' + 5 + 6 + 61 bits = 10 bytes, and its length byte; values: float32 4, repeat 0,
    // integer 1, −0 as float32 4, +∞ as float32 4, 2^40 (too large for the integer kind) as float32 4.
    expect(encodeChunk(points).length).toBe(2 + 5 + 3 + 2 + 11 + 17);
  });

  it('round-trips deltas on both sides of ±2^53 exactly', () => {
    // Timestamp deltas within one step can be negative; these straddle where Number stops being exact.
    const pairs: [number, number][] = [
      [MAX, -MAX],
      [-MAX, MAX],
      [MAX, -1],
      [MAX, -2],
      [MAX, 0],
      [MAX, 1],
      [-MAX, 0],
      [-MAX, 1],
      [-MAX, 2],
      [-1, MAX],
      [0, MAX],
      [1, -MAX],
      [MAX - 1, -MAX],
    ];
    for (const [a, b] of pairs) {
      const points = [point(-MAX, a, 1), point(-MAX, b, 2), point(MAX, a, 3), point(MAX, b, 4)];
      expect(exactly(decodeChunk(encodeChunk(points)))).toEqual(exactly(sortAndDedupe(points)));
      expect(encodeChunk(points)).toEqual(referenceEncode(points));
    }
  });

  it('round-trips an empty chunk', () => {
    const bytes = encodeChunk([]);
    expect([...bytes]).toEqual([3, 0, 0, 0, 0]);
    expect(decodeChunk(bytes)).toEqual([]);
  });

  it('writes every NaN as the one canonical NaN', () => {
    expect(encodeChunk([point(0, 0, OTHER_NAN)])).toEqual(encodeChunk([point(0, 0, Number.NaN)]));
    expect(decodeChunk(encodeChunk([point(0, 0, OTHER_NAN), point(0, 0, Number.NaN)]))).toHaveLength(1);
  });

  it('decodes a chunk that is a view into a larger buffer', () => {
    const points = [point(0, 10, -0), point(1, 11, 5e-324), point(2, 12, Number.NEGATIVE_INFINITY)];
    const bytes = encodeChunk(points);
    const buffer = new Uint8Array(bytes.length + 7);
    buffer.set(bytes, 3);
    expect(exactly(decodeChunk(buffer.subarray(3, 3 + bytes.length)))).toEqual(exactly(points));
  });

  it('collapses regular steps and timestamps, and shares the leading bits of neighbouring float64s', () => {
    // A loss-like curve: decaying, with noise; steps 0…999, a timestamp every 37 ms.
    const curve = (i: number) => 2 / (1 + i / 50) + Math.sin(i * 12.9898) * 0.01;
    const float64 = Array.from({ length: 1000 }, (_, i) => point(i, 1_700_000_000_000 + i * 37, curve(i)));
    const float32 = float64.map((p) => point(p.step, p.timestamp, Math.fround(p.value)));
    // 1 version + 2 count; steps (mode, 0 once, 1 × 999: 6 bytes); timestamps (mode, the first one once
    // in 7 bytes, 37 × 999 in 1 + 2: 11 bytes); 250 kinds bytes; an empty stream's length byte; the first
    // value, 2, is an integer (1 byte), the others float32s.
    const fixed = 3 + 6 + 11 + 250;
    expect(encodeChunk(float32).length).toBe(fixed + 1 + 1 + 999 * 4);
    // The same values as doubles: under 7 bytes each instead of 8 raw (the noise is 0.5–10 % of the
    // value, so neighbours share sign, exponent and a few mantissa bits).
    expect(encodeChunk(float64).length).toBeLessThan(fixed + 2 + 1000 * 7);
  });

  it('reads version 2 chunks (property)', () => {
    fc.assert(
      fc.property(pointLists, (points) => {
        expect(exactly(decodeChunk(referenceEncodeV2(points)))).toEqual(exactly(sortAndDedupe(points)));
      }),
      { numRuns: 300 },
    );
  });

  it('does not change its input', () => {
    const points = [point(2, 0, 1), point(1, 0, 1), point(1, 0, 1)];
    const before = structuredClone(points);
    encodeChunk(points);
    expect(points).toEqual(before);
  });
});

describe('errors', () => {
  const valid = encodeChunk([point(0, 1_700_000_000_000, 1), point(MAX, -MAX, Number.NaN)]);

  it('refuses another version byte', () => {
    for (const version of [0, 1, 0xff]) {
      const bytes = valid.slice();
      bytes[0] = version;
      expect(() => decodeChunk(bytes)).toThrow(RangeError);
    }
  });

  it('refuses every truncation, and bytes after the last point', () => {
    for (let length = 0; length < valid.length; length++) {
      expect(() => decodeChunk(valid.subarray(0, length))).toThrow(RangeError);
    }
    expect(() => decodeChunk(Uint8Array.of(...valid, 0))).toThrow(RangeError);
    expect(() => decodeChunk(Uint8Array.of(2, 1))).toThrow(RangeError);
  });

  it('refuses overlong varints, out-of-range steps and a repeat before the first value', () => {
    // Version 2, one point, kinds byte 0 (float64), then the point.
    const value = [0, 0, 0, 0, 0, 0, 0xf0, 0x3f];
    // Nine-group varint for the step.
    expect(() => decodeChunk(Uint8Array.of(2, 1, 0, ...Array(8).fill(0x80), 0, 0, ...value))).toThrow(
      RangeError,
    );
    // zigzag 2^54 = step 2^53: one past the safe range (the BigInt path).
    expect(() =>
      decodeChunk(Uint8Array.of(2, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, ...value)),
    ).toThrow(RangeError);
    // Two steps of 2^52 each: in range alone, 2^53 together (the Number path).
    const half = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    expect(() => decodeChunk(Uint8Array.of(2, 2, 0, ...half, 0, ...value, ...half, 0, ...value))).toThrow(
      RangeError,
    );
    expect(decodeChunk(Uint8Array.of(2, 1, 0, ...half, 0, ...value))).toEqual([point(2 ** 52, 0, 1)]);
    // Kind 2 (repeat) for the first point.
    expect(() => decodeChunk(Uint8Array.of(2, 1, 0b10, 0, 0))).toThrow(RangeError);
  });

  it('refuses malformed version 3 columns and float64 streams', () => {
    // One point at step 0, timestamp 0: version, count, steps column, timestamps column, kinds.
    const head = (steps: number[], kinds = 0b00) => [3, 1, ...steps, 0, 0, kinds];
    expect(() => decodeChunk(Uint8Array.of(...head([2, 0]), 0))).toThrow(/column mode/);
    expect(() => decodeChunk(Uint8Array.of(...head([1, 0, 0]), 0))).toThrow(/run length/);
    expect(() => decodeChunk(Uint8Array.of(3, 1, 1, 0, 2, 0, 0, 0b00, 0))).toThrow(/run length/);
    // A float64 that reuses a window no value has set.
    expect(() => decodeChunk(Uint8Array.of(...head([0, 0]), 1, 0b1000_0000))).toThrow(/window/);
    // A window of 31 leading zero bits and 64 meaningful ones does not fit in 64 bits.
    expect(() => decodeChunk(Uint8Array.of(...head([0, 0]), 2, 0xff, 0xf8))).toThrow(/window/);
    const valid = encodeChunk([point(0, 0, 0.1)]);
    // 0.1 takes 74 bits: the last of its 10 stream bytes has 6 bits of zero padding.
    expect([...valid.subarray(0, 8)]).toEqual([3, 1, 0, 0, 0, 0, 0b00, 10]);
    const padded = valid.slice();
    padded[padded.length - 1]! |= 1;
    expect(() => decodeChunk(padded)).toThrow(/bits after/);
    const longer = Uint8Array.of(...valid.subarray(0, 7), 11, ...valid.subarray(8), 0);
    expect(() => decodeChunk(longer)).toThrow(/bits after/);
  });

  it('fails only with RangeError on corrupted chunks (property)', () => {
    fc.assert(
      fc.property(pointLists, fc.nat(), fc.integer({ min: 1, max: 255 }), (points, where, flip) => {
        const bytes = encodeChunk(points);
        bytes[where % bytes.length]! ^= flip;
        try {
          decodeChunk(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses steps and timestamps that are not safe integers', () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 53)]) {
      expect(() => encodeChunk([point(bad, 0, 1)])).toThrow(RangeError);
      expect(() => encodeChunk([point(0, bad, 1)])).toThrow(RangeError);
    }
  });
});

describe('comparePoints', () => {
  const sign = (n: number) => Math.sign(n) + 0;
  // Few distinct values, so equal fields and chains of three related points are common.
  const small = fc.record({
    step: fc.integer({ min: -1, max: 1 }),
    timestamp: fc.constantFrom(-MAX, 0, MAX),
    value: fc.constantFrom(
      Number.NEGATIVE_INFINITY,
      -1,
      -0,
      0,
      5e-324,
      1,
      Number.POSITIVE_INFINITY,
      Number.NaN,
      OTHER_NAN,
    ),
  });
  const any = fc.oneof(small, metricPoint);

  it('is a total order: reflexive, antisymmetric, transitive, and 0 only for the same point', () => {
    fc.assert(
      fc.property(any, any, any, (a, b, c) => {
        for (const x of [a, b, c]) expect(comparePoints(x, x)).toBe(0);
        for (const [x, y] of [
          [a, b],
          [b, c],
          [a, c],
        ] as const) {
          expect([-1, 0, 1]).toContain(sign(comparePoints(x, y)));
          expect(sign(comparePoints(x, y)) + sign(comparePoints(y, x))).toBe(0);
          expect(comparePoints(x, y) === 0).toBe(exactly([x])[0] === exactly([y])[0]);
        }
        if (comparePoints(a, b) <= 0 && comparePoints(b, c) <= 0)
          expect(comparePoints(a, c)).toBeLessThanOrEqual(0);
        if (comparePoints(a, b) < 0 && comparePoints(b, c) < 0) expect(comparePoints(a, c)).toBeLessThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('orders values −∞ < −1 < −0 < +0 < 5e-324 < +∞ < NaN, all NaNs equal', () => {
    const values = [Number.NEGATIVE_INFINITY, -1, -0, 0, 5e-324, 1, Number.POSITIVE_INFINITY, Number.NaN];
    for (let i = 0; i < values.length; i++) {
      for (let j = 0; j < values.length; j++) {
        expect(sign(comparePoints(point(0, 0, values[i]!), point(0, 0, values[j]!)))).toBe(sign(i - j));
      }
    }
    expect(comparePoints(point(0, 0, Number.NaN), point(0, 0, OTHER_NAN))).toBe(0);
  });

  it('orders by step, then timestamp, then value', () => {
    expect(comparePoints(point(1, 0, 0), point(2, -5, -5))).toBeLessThan(0);
    expect(comparePoints(point(1, 2, 0), point(1, 1, 9))).toBeGreaterThan(0);
    expect(
      comparePoints(point(-MAX, MAX, Number.NaN), point(MAX, -MAX, Number.NEGATIVE_INFINITY)),
    ).toBeLessThan(0);
  });
});

describe('sortAndDedupe', () => {
  it('is strictly increasing and holds exactly the input points', () => {
    fc.assert(
      fc.property(pointLists, (points) => {
        const out = sortAndDedupe(points);
        for (let i = 1; i < out.length; i++) expect(comparePoints(out[i - 1]!, out[i]!)).toBeLessThan(0);
        for (const p of points) expect(out.some((q) => comparePoints(p, q) === 0)).toBe(true);
        for (const q of out) expect(points.some((p) => comparePoints(p, q) === 0)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('removes exact duplicates only: −0 and +0 stay apart, NaNs are one', () => {
    const out = sortAndDedupe([
      point(1, 5, 0),
      point(1, 5, -0),
      point(1, 5, 0),
      point(1, 5, Number.NaN),
      point(1, 5, OTHER_NAN),
      point(0, 5, 0),
      point(1, 4, 0),
    ]);
    expect(exactly(out)).toEqual(['0 5 0', '1 4 0', '1 5 -0', '1 5 0', '1 5 NaN']);
  });
});

describe('chunkSummary', () => {
  it('counts the points and spans their steps', () => {
    expect(chunkSummary(sortAndDedupe([point(7, 0, 1), point(-3, 1, 1), point(7, 0, 1)]))).toEqual({
      count: 2,
      minStep: -3,
      maxStep: 7,
    });
    expect(chunkSummary([point(5, 0, 1), point(2, 0, 1), point(9, 0, 1)])).toEqual({
      count: 3,
      minStep: 2,
      maxStep: 9,
    });
  });

  it('gives an empty list the identities of min and max', () => {
    expect(chunkSummary([])).toEqual({
      count: 0,
      minStep: Number.POSITIVE_INFINITY,
      maxStep: Number.NEGATIVE_INFINITY,
    });
  });
});

describe('isStrictlyOrdered', () => {
  it('holds exactly for lists that sortAndDedupe leaves as they are (property)', () => {
    fc.assert(
      fc.property(pointLists, (points) => {
        const normalized = points.map((p) => point(p.step + 0, p.timestamp + 0, p.value));
        expect(isStrictlyOrdered(normalized)).toBe(
          exactly(sortAndDedupe(normalized)).join('|') === exactly(normalized).join('|'),
        );
        expect(isStrictlyOrdered(sortAndDedupe(points))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * The binary codec for metric history chunks: many points of one metric key of one run, stored in one
 * DynamoDB binary attribute.
 *
 * Format, version 2 (all varints are unsigned LEB128, least significant group first):
 *
 *   version   1 byte, 0x02
 *   count     varint, the number of points
 *   kinds     ceil(count / 4) bytes: 2 bits per point (point i: byte i >> 2, bits 2·(i & 3)), how its
 *             value is stored:
 *               0  float64, little-endian, 8 bytes
 *               1  float32, little-endian, 4 bytes (the value is exactly a float32: what PyTorch's
 *                  `loss.item()` gives; every NaN is written as 0x7FC00000)
 *               2  the previous point's value again, 0 bytes (never for the first point)
 *               3  an integer of magnitude ≤ 2^31 (not −0), zigzag varint (counts, epochs, 0 and 1)
 *   count × point, in comparePoints order, without duplicates:
 *     step      zigzag varint: step − previous step (the first point: − 0)
 *     timestamp zigzag varint: timestamp − previous timestamp (the first point: − 0)
 *     value     as its kind says
 *
 * Zigzag is protobuf's sint64 mapping (0, −1, 1, −2 … → 0, 1, 2, 3 …). Steps and timestamps are safe
 * integers, so a delta can reach ±(2^54 − 2) and its zigzag value 2^55: such deltas (beyond ±(2^53 − 1))
 * take a BigInt path; ordinary ones stay in Number arithmetic. Nothing after the last point is allowed.
 *
 * Why the value kinds: a chunk of 100 points must stay within one 1 KB write unit (design.md budgets
 * 20 write units per 1,000 points logged 100 per key). Raw float64 values alone take 800 bytes; float32-
 * exact values (the usual case for deep-learning metrics) take half. Why hand-written: decode + JSON of a
 * 25,000-point page has a 20 ms budget and a 1,000-point batch 2 ms of handler CPU.
 */
import type { MetricPoint } from './model.js';

const VERSION = 2;
const MAX = Number.MAX_SAFE_INTEGER;
/** The most bytes a point can take: two 8-byte varints (zigzag values < 2^56) and a float64. */
const MAX_POINT_BYTES = 24;
/** The fewest bytes a point can take: two 1-byte varints and a repeated value. */
const MIN_POINT_BYTES = 2;

const KIND_FLOAT64 = 0;
const KIND_FLOAT32 = 1;
const KIND_REPEAT = 2;
const KIND_INTEGER = 3;
const INTEGER_LIMIT = 2 ** 31;

function valueKind(value: number, previous: number, first: boolean): number {
  if (!first && Object.is(value, previous)) return KIND_REPEAT;
  if (Number.isInteger(value) && Math.abs(value) <= INTEGER_LIMIT && !Object.is(value, -0))
    return KIND_INTEGER;
  if (Number.isNaN(value) || Math.fround(value) === value) return KIND_FLOAT32;
  return KIND_FLOAT64;
}

/** Orders values by IEEE-754 totalOrder with one canonical NaN: −∞ < … < −0 < +0 < … < +∞ < NaN. */
function compareValues(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) {
    // Equal unless they are zeros of different signs.
    if (a !== 0 || Object.is(a, b)) return 0;
    return Object.is(a, -0) ? -1 : 1;
  }
  // At least one NaN.
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  return aNaN === bNaN ? 0 : aNaN ? 1 : -1;
}

/**
 * A total order on points: by step, then timestamp, then value (IEEE-754 totalOrder, all NaNs one value).
 * Steps and timestamps must be integers (−0 equals 0 there).
 */
export function comparePoints(a: MetricPoint, b: MetricPoint): number {
  if (a.step !== b.step) return a.step < b.step ? -1 : 1;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return compareValues(a.value, b.value);
}

/**
 * New `{ step, timestamp, value }` objects in comparePoints order, exact duplicates removed (MLflow's
 * dedupe on key, step, timestamp, value: −0 and +0 differ, all NaNs are equal). The input is not changed;
 * a −0 step or timestamp becomes 0.
 */
export function sortAndDedupe(points: readonly MetricPoint[]): MetricPoint[] {
  const sorted: MetricPoint[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    sorted[i] = { step: p.step + 0, timestamp: p.timestamp + 0, value: p.value };
  }
  sorted.sort(comparePoints);
  let kept = 0;
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (kept === 0 || comparePoints(sorted[kept - 1]!, p) !== 0) sorted[kept++] = p;
  }
  sorted.length = kept;
  return sorted;
}

/** The first and last (step, timestamp) of a list of points, in comparePoints order (undefined when empty). */
export function stepTimeRange(
  points: readonly MetricPoint[],
): { first: { step: number; timestamp: number }; last: { step: number; timestamp: number } } | undefined {
  const head = points[0];
  if (!head) return undefined;
  let first = head;
  let last = head;
  for (const point of points) {
    if (point.step < first.step || (point.step === first.step && point.timestamp < first.timestamp))
      first = point;
    if (point.step > last.step || (point.step === last.step && point.timestamp > last.timestamp))
      last = point;
  }
  return {
    first: { step: first.step + 0, timestamp: first.timestamp + 0 },
    last: { step: last.step + 0, timestamp: last.timestamp + 0 },
  };
}

/** True when `points` are already in strictly increasing comparePoints order (so sorted and without duplicates). */
export function isStrictlyOrdered(points: readonly MetricPoint[]): boolean {
  for (let i = 1; i < points.length; i++) if (comparePoints(points[i - 1]!, points[i]!) >= 0) return false;
  return true;
}

export interface ChunkSummary {
  count: number;
  /** +Infinity for no points, so `Math.min` over summaries and range checks need no special case. */
  minStep: number;
  /** −Infinity for no points. */
  maxStep: number;
}

/**
 * Count and step range of a chunk's points. `count` is `points.length`: pass the sortAndDedupe'd list (what
 * encodeChunk stores) to get the stored count; minStep and maxStep hold for any list.
 */
export function chunkSummary(points: readonly MetricPoint[]): ChunkSummary {
  let minStep = Number.POSITIVE_INFINITY;
  let maxStep = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < points.length; i++) {
    const step = points[i]!.step;
    if (step < minStep) minStep = step;
    if (step > maxStep) maxStep = step;
  }
  // + 0 turns a −0 step into 0, as sortAndDedupe does.
  return { count: points.length, minStep: minStep + 0, maxStep: maxStep + 0 };
}

// ---------------------------------------------------------------------------------------------------
// Encoding. One scratch buffer, grown as needed and reused, so a batch costs one copy of its bytes.

let scratch = new Uint8Array(4096);
let scratchView = new DataView(scratch.buffer);
let pos = 0;

function writeVarint(n: number): void {
  while (n >= 0x80) {
    scratch[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  scratch[pos++] = n;
}

/** Writes zigzag(d) for a safe integer d. As 2m + s with m = d or −d − 1: 2m + s itself may not be exact. */
function writeZigzag(d: number): void {
  let s = 0;
  let m = d;
  if (d < 0) {
    s = 1;
    m = -d - 1;
  }
  if (m < 0x40) {
    scratch[pos++] = (m << 1) | s;
    return;
  }
  // `&` keeps the low 32 bits exactly, so the low groups are right for any safe integer.
  scratch[pos++] = 0x80 | ((m & 0x3f) << 1) | s;
  writeVarint(Math.floor(m / 0x40));
}

function writeZigzagBig(d: bigint): void {
  let z = d >= 0n ? d << 1n : (-d << 1n) - 1n;
  while (z >= 0x80n) {
    scratch[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  scratch[pos++] = Number(z);
}

/** Writes `next − prev` exactly; both are safe integers. */
function writeDelta(next: number, prev: number): void {
  const d = next - prev;
  // Correctly rounded: exact when |next − prev| ≤ 2^53, and ≥ 2^53 in magnitude otherwise.
  if (d <= MAX && d >= -MAX) writeZigzag(d);
  else writeZigzagBig(BigInt(next) - BigInt(prev));
}

function checkInteger(field: string, n: number): void {
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`Metric ${field} must be an integer in ±(2^53 − 1), got ${n}.`);
  }
}

/** The chunk of `points` (sorted and deduplicated first). RangeError for a non-integer or unsafe step or timestamp. */
export function encodeChunk(points: readonly MetricPoint[]): Uint8Array {
  const sorted = sortAndDedupe(points);
  const need = 6 + sorted.length * MAX_POINT_BYTES;
  if (scratch.length < need) {
    scratch = new Uint8Array(Math.max(need, scratch.length * 2));
    scratchView = new DataView(scratch.buffer);
  }
  pos = 0;
  scratch[pos++] = VERSION;
  writeVarint(sorted.length);
  const kindsAt = pos;
  const kindBytes = (sorted.length + 3) >> 2;
  scratch.fill(0, kindsAt, kindsAt + kindBytes);
  pos += kindBytes;
  let prevStep = 0;
  let prevTimestamp = 0;
  let prevValue = 0;
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    checkInteger('step', p.step);
    checkInteger('timestamp', p.timestamp);
    writeDelta(p.step, prevStep);
    writeDelta(p.timestamp, prevTimestamp);
    prevStep = p.step;
    prevTimestamp = p.timestamp;
    const value = p.value;
    const kind = valueKind(value, prevValue, i === 0);
    prevValue = value;
    scratch[kindsAt + (i >> 2)]! |= kind << ((i & 3) * 2);
    if (kind === KIND_FLOAT64) {
      scratchView.setFloat64(pos, value, true);
      pos += 8;
    } else if (kind === KIND_FLOAT32) {
      // One NaN bit pattern, so equal chunks are equal bytes.
      if (Number.isNaN(value)) scratchView.setUint32(pos, 0x7fc00000, true);
      else scratchView.setFloat32(pos, value, true);
      pos += 4;
    } else if (kind === KIND_INTEGER) {
      writeZigzag(value);
    }
  }
  return scratch.slice(0, pos);
}

// ---------------------------------------------------------------------------------------------------
// Decoding.

let input: Uint8Array = scratch;
let inputEnd = 0;
let at = 0;

function truncated(): never {
  throw new RangeError('Metric chunk is truncated.');
}

function readCount(): number {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (at >= inputEnd) truncated();
    const b = input[at++]!;
    n += (b & 0x7f) * mul;
    if (b < 0x80) return n;
    mul *= 0x80;
  }
  throw new RangeError('Metric chunk has an invalid point count.');
}

/** Reads one zigzag delta and returns `prev + delta`, exactly. */
function readAfter(prev: number): number {
  const start = at;
  if (at >= inputEnd) truncated();
  let b = input[at++]!;
  const s = b & 1;
  let m = (b >>> 1) & 0x3f;
  if (b >= 0x80) {
    let mul = 0x40;
    let groups = 1;
    do {
      // Zigzag values of valid deltas are < 2^56: at most 8 groups.
      if (++groups > 8) throw new RangeError('Metric chunk has an overlong varint.');
      if (at >= inputEnd) truncated();
      b = input[at++]!;
      m += (b & 0x7f) * mul;
      mul *= 0x80;
    } while (b >= 0x80);
  }
  // Sums of distinct bit groups are exact below 2^53; m > MAX means it may not be, so redo in BigInt.
  const next = m <= MAX ? prev + (s === 0 ? m : -m - 1) : readAfterBig(prev, start);
  if (next > MAX || next < -MAX) throw new RangeError('Metric chunk holds a step or timestamp out of range.');
  return next;
}

function readAfterBig(prev: number, start: number): number {
  let z = 0n;
  let shift = 0n;
  for (let i = start; i < at; i++) {
    z |= BigInt(input[i]! & 0x7f) << shift;
    shift += 7n;
  }
  const d = (z & 1n) === 0n ? z >> 1n : -(z >> 1n) - 1n;
  const next = BigInt(prev) + d;
  if (next > BigInt(MAX) || next < -BigInt(MAX)) {
    throw new RangeError('Metric chunk holds a step or timestamp out of range.');
  }
  return Number(next);
}

/** The points of a chunk, in comparePoints order. RangeError for another version or malformed bytes. */
export function decodeChunk(bytes: Uint8Array): MetricPoint[] {
  if (bytes.length === 0) truncated();
  if (bytes[0] !== VERSION) throw new RangeError(`Unknown metric chunk version ${bytes[0]}.`);
  input = bytes;
  inputEnd = bytes.length;
  at = 1;
  try {
    const count = readCount();
    const kindsAt = at;
    const kindBytes = Math.ceil(count / 4);
    if (kindBytes + count * MIN_POINT_BYTES > inputEnd - at) truncated();
    at += kindBytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const points: MetricPoint[] = new Array(count);
    let step = 0;
    let timestamp = 0;
    let value = 0;
    for (let i = 0; i < count; i++) {
      step = readAfter(step);
      timestamp = readAfter(timestamp);
      const kind = (input[kindsAt + (i >> 2)]! >> ((i & 3) * 2)) & 3;
      if (kind === KIND_FLOAT64) {
        if (at + 8 > inputEnd) truncated();
        value = view.getFloat64(at, true);
        at += 8;
      } else if (kind === KIND_FLOAT32) {
        if (at + 4 > inputEnd) truncated();
        value = view.getFloat32(at, true);
        at += 4;
      } else if (kind === KIND_INTEGER) {
        value = readAfter(0);
        if (Math.abs(value) > INTEGER_LIMIT)
          throw new RangeError('Metric chunk holds an integer value out of range.');
      } else if (i === 0) {
        throw new RangeError('Metric chunk repeats a value before its first point.');
      }
      points[i] = { step, timestamp, value };
    }
    if (at !== inputEnd) throw new RangeError('Metric chunk has bytes after its last point.');
    return points;
  } finally {
    input = scratch;
  }
}

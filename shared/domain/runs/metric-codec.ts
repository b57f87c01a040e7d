/**
 * The binary codec for metric history chunks: many points of one metric key of one run, stored in one
 * DynamoDB binary attribute.
 *
 * Format, version 3 (varints are unsigned LEB128, least significant group first; zigzag is protobuf's
 * sint64 mapping 0, −1, 1, −2 … → 0, 1, 2, 3 …):
 *
 *   version     1 byte, 0x03
 *   count       varint, the number of points, which are stored in comparePoints order without duplicates
 *   steps       a column (below)
 *   timestamps  a column
 *   kinds       ceil(count / 4) bytes: 2 bits per point (point i: byte i >> 2, bits 2·(i & 3)), how its
 *               value is stored:
 *                 0  float64, in the float64 stream
 *                 1  float32, 4 bytes little-endian in the byte values (the value is exactly a float32:
 *                    what PyTorch's `loss.item()` gives; every NaN is written as 0x7FC00000)
 *                 2  the previous point's value again, nothing stored (never for the first point)
 *                 3  an integer of magnitude ≤ 2^31 (not −0), a zigzag varint in the byte values
 *   f64 length  varint, the bytes of the float64 stream
 *   f64 stream  the float64 values, in point order, XOR-coded against the previous float64 value (the
 *               first against +0) as bits, most significant first, padded with zero bits to a byte:
 *                 '0'                    the same value again
 *                 '10' + bits            the XOR's meaningful bits fit the previous window: its
 *                                        64 − lead − trail bits (written only when no longer than a
 *                                        new window would be)
 *                 '11' + lead (5 bits) + (length − 1) (6 bits) + length bits
 *                                        a new window: lead zero bits (at most 31) above the meaningful
 *                                        bits, trail = 64 − lead − length zero bits below
 *   byte values the float32 and integer values, in point order
 *
 * A column holds count integers, each as a delta from the one before (the first from 0), in one of two
 * modes, whichever is shorter (deltas on a tie):
 *   0x00 deltas  count zigzag varints
 *   0x01 runs    (zigzag varint delta, varint repeat ≥ 1) pairs, repeats summing to count: the delta is
 *                applied `repeat` times. Steps 0…99 take 4 bytes, timestamps every 37 ms take 8.
 *
 * Steps and timestamps are safe integers, so a delta can reach ±(2^54 − 2) and its zigzag value 2^55:
 * such deltas (beyond ±(2^53 − 1)) take a BigInt path; ordinary ones stay in Number arithmetic. Nothing
 * after the byte values is allowed. Version 2 chunks (per-point deltas, float64 values as 8 raw bytes)
 * are still read.
 *
 * Why this shape: design.md budgets 20 write units per 1,000 points logged 100 per key, so a chunk of
 * 100 points must stay within one 1 KB write unit with its keys. Raw float64 values alone take 800
 * bytes. Regular steps and timestamps (the common case) collapse to a few bytes; the XOR coding (as in
 * Facebook's Gorilla paper) drops the sign, exponent and leading mantissa bits that neighbouring values
 * of a training curve share; float32-exact values (deep-learning metrics) take 4 bytes. Why
 * hand-written: decode + JSON of a 25,000-point page has a 20 ms budget and a 1,000-point batch 2 ms of
 * handler CPU.
 */
import type { MetricPoint } from './model.js';

const VERSION = 3;
const LEGACY_VERSION = 2;
const MAX = Number.MAX_SAFE_INTEGER;
const MODE_DELTAS = 0;
const MODE_RUNS = 1;

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
// Encoding. Scratch buffers, grown as needed and reused, so a batch costs one copy of its bytes.

/** A growable byte buffer with a write position; one per stream being written. */
class Sink {
  bytes = new Uint8Array(4096);
  view = new DataView(this.bytes.buffer);
  pos = 0;

  reserve(more: number): void {
    const need = this.pos + more;
    if (need <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(need, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

const out = new Sink();
const vals = new Sink();
const bits = new Sink();
/** Bits already used in the last byte of `bits` (0 when the stream ends on a byte boundary). */
let bitFill = 0;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

function writeVarint(sink: Sink, n: number): void {
  const bytes = sink.bytes;
  while (n >= 0x80) {
    bytes[sink.pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  bytes[sink.pos++] = n;
}

/** zigzag(d) = 2m + s with m = d or −d − 1; 2m + s itself may not be exact, so m and s travel apart. */
function zigzagSize(d: number): number {
  const m = d < 0 ? -d - 1 : d;
  return m < 0x40 ? 1 : 1 + varintSize(Math.floor(m / 0x40));
}

/** Writes zigzag(d) for a safe integer d. */
function writeZigzag(sink: Sink, d: number): void {
  let s = 0;
  let m = d;
  if (d < 0) {
    s = 1;
    m = -d - 1;
  }
  if (m < 0x40) {
    sink.bytes[sink.pos++] = (m << 1) | s;
    return;
  }
  // `&` keeps the low 32 bits exactly, so the low groups are right for any safe integer.
  sink.bytes[sink.pos++] = 0x80 | ((m & 0x3f) << 1) | s;
  writeVarint(sink, Math.floor(m / 0x40));
}

function writeZigzagBig(sink: Sink, d: bigint): void {
  let z = d >= 0n ? d << 1n : (-d << 1n) - 1n;
  while (z >= 0x80n) {
    sink.bytes[sink.pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  sink.bytes[sink.pos++] = Number(z);
}

/** Writes `next − prev` exactly; both are safe integers. */
function writeDelta(sink: Sink, next: number, prev: number): void {
  const d = next - prev;
  // Correctly rounded: exact when |next − prev| ≤ 2^53, and ≥ 2^53 in magnitude otherwise.
  if (d <= MAX && d >= -MAX) writeZigzag(sink, d);
  else writeZigzagBig(sink, BigInt(next) - BigInt(prev));
}

function checkInteger(field: string, n: number): void {
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`Metric ${field} must be an integer in ±(2^53 − 1), got ${n}.`);
  }
}

/** Writes one column (steps or timestamps) of sorted points, in the shorter of the two modes. */
function writeColumn(points: readonly MetricPoint[], field: 'step' | 'timestamp'): void {
  const n = points.length;
  // Sizes of both modes. A delta beyond the safe range cannot be compared exactly: such columns
  // (absurd steps or timestamps) are written as deltas.
  let deltasSize = 0;
  let runsSize = 0;
  let exact = true;
  let prev = 0;
  let runDelta = Number.NaN;
  let runLength = 0;
  for (let i = 0; i < n; i++) {
    const next = points[i]![field];
    checkInteger(field, next);
    const d = next - prev;
    prev = next;
    if (d > MAX || d < -MAX) {
      exact = false;
      break;
    }
    const size = zigzagSize(d);
    deltasSize += size;
    if (d === runDelta) {
      runLength++;
    } else {
      if (runLength > 0) runsSize += varintSize(runLength);
      runsSize += size;
      runDelta = d;
      runLength = 1;
    }
  }
  if (runLength > 0) runsSize += varintSize(runLength);
  out.reserve(1 + (exact ? Math.max(deltasSize, runsSize) : n * 9));
  if (exact && runsSize < deltasSize) {
    out.bytes[out.pos++] = MODE_RUNS;
    prev = 0;
    let i = 0;
    while (i < n) {
      const d = points[i]![field] - prev;
      let repeat = 1;
      while (i + repeat < n && points[i + repeat]![field] - points[i + repeat - 1]![field] === d) repeat++;
      writeZigzag(out, d);
      writeVarint(out, repeat);
      i += repeat;
      prev = points[i - 1]![field];
    }
    return;
  }
  out.bytes[out.pos++] = MODE_DELTAS;
  prev = 0;
  for (let i = 0; i < n; i++) {
    const next = points[i]![field];
    checkInteger(field, next);
    writeDelta(out, next, prev);
    prev = next;
  }
}

/** Appends the low `n` bits of `v` (1 ≤ n ≤ 32, v < 2^n) to the float64 stream, most significant first. */
function writeBits(v: number, n: number): void {
  const bytes = bits.bytes;
  while (n > 0) {
    if (bitFill === 0) bytes[bits.pos++] = 0;
    const free = 8 - bitFill;
    const take = Math.min(free, n);
    const piece = (v >>> (n - take)) & ((1 << take) - 1);
    bytes[bits.pos - 1]! |= piece << (free - take);
    n -= take;
    bitFill = (bitFill + take) & 7;
  }
}

/** Writes `length` bits of the 64-bit value (hi, lo) shifted right by `shift`. */
function writeShifted(hi: number, lo: number, shift: number, length: number): void {
  let h = hi;
  let l = lo;
  if (shift >= 32) {
    l = hi >>> (shift - 32);
    h = 0;
  } else if (shift > 0) {
    l = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    h = hi >>> shift;
  }
  if (length > 32) {
    writeBits(h, length - 32);
    writeBits(l, 32);
  } else {
    writeBits(l, length);
  }
}

const word = new DataView(new ArrayBuffer(8));

function trailingZeros32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The chunk of `points` (sorted and deduplicated first). RangeError for a non-integer or unsafe step or timestamp. */
export function encodeChunk(points: readonly MetricPoint[]): Uint8Array {
  const sorted = sortAndDedupe(points);
  const n = sorted.length;
  out.pos = 0;
  out.reserve(11);
  out.bytes[out.pos++] = VERSION;
  writeVarint(out, n);
  writeColumn(sorted, 'step');
  writeColumn(sorted, 'timestamp');

  const kindsAt = out.pos;
  const kindBytes = (n + 3) >> 2;
  out.reserve(kindBytes);
  out.bytes.fill(0, kindsAt, kindsAt + kindBytes);
  out.pos += kindBytes;
  vals.pos = 0;
  vals.reserve(n * 5);
  bits.pos = 0;
  bitFill = 0;
  // Each float64 takes at most 2 + 5 + 6 + 64 bits.
  bits.reserve(n * 10 + 1);
  let prevHi = 0;
  let prevLo = 0;
  let windowLead = -1;
  let windowTrail = 0;
  let prevValue = 0;
  for (let i = 0; i < n; i++) {
    const value = sorted[i]!.value;
    const kind = valueKind(value, prevValue, i === 0);
    prevValue = value;
    out.bytes[kindsAt + (i >> 2)]! |= kind << ((i & 3) * 2);
    if (kind === KIND_FLOAT32) {
      // One NaN bit pattern, so equal chunks are equal bytes.
      if (Number.isNaN(value)) vals.view.setUint32(vals.pos, 0x7fc00000, true);
      else vals.view.setFloat32(vals.pos, value, true);
      vals.pos += 4;
    } else if (kind === KIND_INTEGER) {
      writeZigzag(vals, value);
    } else if (kind === KIND_FLOAT64) {
      word.setFloat64(0, value, true);
      const lo = word.getUint32(0, true);
      const hi = word.getUint32(4, true);
      const xh = (hi ^ prevHi) >>> 0;
      const xl = (lo ^ prevLo) >>> 0;
      prevHi = hi;
      prevLo = lo;
      if (xh === 0 && xl === 0) {
        writeBits(0, 1);
        continue;
      }
      const lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
      const trail = xl !== 0 ? trailingZeros32(xl) : 32 + trailingZeros32(xh);
      // Reuse the window only when that is no longer than opening a tighter one (11 header bits): a
      // wide window set by one value would otherwise cost every later value all of its bits.
      const capped = Math.min(lead, 31);
      if (
        windowLead >= 0 &&
        lead >= windowLead &&
        trail >= windowTrail &&
        64 - windowLead - windowTrail <= 64 - capped - trail + 11
      ) {
        writeBits(0b10, 2);
        writeShifted(xh, xl, windowTrail, 64 - windowLead - windowTrail);
      } else {
        windowLead = capped;
        windowTrail = trail;
        const length = 64 - windowLead - windowTrail;
        writeBits(0b11, 2);
        writeBits(windowLead, 5);
        writeBits(length - 1, 6);
        writeShifted(xh, xl, windowTrail, length);
      }
    }
  }
  out.reserve(10 + bits.pos + vals.pos);
  writeVarint(out, bits.pos);
  out.bytes.set(bits.bytes.subarray(0, bits.pos), out.pos);
  out.pos += bits.pos;
  out.bytes.set(vals.bytes.subarray(0, vals.pos), out.pos);
  out.pos += vals.pos;
  return out.bytes.slice(0, out.pos);
}

// ---------------------------------------------------------------------------------------------------
// Decoding.

const NO_INPUT = new Uint8Array(0);
let input: Uint8Array = NO_INPUT;
let inputEnd = 0;
let at = 0;

function truncated(): never {
  throw new RangeError('Metric chunk is truncated.');
}

/** A varint below 2^35 (point counts, repeats, stream lengths). */
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
  throw new RangeError('Metric chunk has an invalid count.');
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

let stepsColumn = new Float64Array(1024);
let timestampsColumn = new Float64Array(1024);

function readColumn(into: Float64Array, count: number): void {
  if (at >= inputEnd) truncated();
  const mode = input[at++];
  let prev = 0;
  if (mode === MODE_DELTAS) {
    for (let i = 0; i < count; i++) {
      prev = readAfter(prev);
      into[i] = prev;
    }
    return;
  }
  if (mode !== MODE_RUNS) throw new RangeError(`Metric chunk has an unknown column mode ${mode}.`);
  let i = 0;
  while (i < count) {
    const first = readAfter(prev);
    const repeat = readCount();
    if (repeat < 1 || repeat > count - i) throw new RangeError('Metric chunk has an invalid run length.');
    const d = first - prev;
    into[i++] = first;
    prev = first;
    for (let r = 1; r < repeat; r++) {
      prev += d;
      if (prev > MAX || prev < -MAX) {
        throw new RangeError('Metric chunk holds a step or timestamp out of range.');
      }
      into[i++] = prev;
    }
  }
}

/**
 * The float64 stream's reader: `bitBuffer` holds the `bitCount` (< 32) bits read from the stream but not
 * yet consumed; `bitByte` is the next byte, `bitByteEnd` the stream's end. Int32 operations only: gathering
 * bits through doubles or one bit at a time made float64 decoding several times slower.
 */
let bitBuffer = 0;
let bitCount = 0;
let bitByte = 0;
let bitByteEnd = 0;

/** The next `n` bits (1 ≤ n ≤ 24), most significant first. */
function readBits(n: number): number {
  while (bitCount < n) {
    if (bitByte >= bitByteEnd) truncated();
    bitBuffer = (bitBuffer << 8) | input[bitByte++]!;
    bitCount += 8;
  }
  bitCount -= n;
  const v = (bitBuffer >>> bitCount) & ((1 << n) - 1);
  bitBuffer &= (1 << bitCount) - 1;
  return v;
}

/** The next `n` bits (1 ≤ n ≤ 32) as an int32 (bit 31 becomes the sign). */
function readWord(n: number): number {
  if (n <= 24) return readBits(n);
  const high = readBits(n - 16);
  return (high << 16) | readBits(16);
}

/** The previous float64 value's bits (int32 halves) and the current window, while a chunk is decoded. */
let xorHi = 0;
let xorLo = 0;
let xorLead = -1;
let xorTrail = 0;
/** The next value of the float64 stream. Int32 throughout: doubles here cost allocations. */
function readFloat64(): number {
  if (readBits(1) === 1) {
    if (readBits(1) === 1) {
      xorLead = readBits(5);
      xorTrail = 64 - xorLead - (readBits(6) + 1);
      if (xorTrail < 0) throw new RangeError('Metric chunk has an invalid float64 window.');
    } else if (xorLead < 0) {
      throw new RangeError('Metric chunk reuses a float64 window before setting one.');
    }
    const length = 64 - xorLead - xorTrail;
    const shift = xorTrail;
    let h = 0;
    let l: number;
    if (length > 32) {
      h = readWord(length - 32);
      l = readWord(32);
    } else {
      l = readWord(length);
    }
    if (shift >= 32) {
      h = l << (shift - 32);
      l = 0;
    } else if (shift > 0) {
      h = (h << shift) | (l >>> (32 - shift));
      l <<= shift;
    }
    xorHi ^= h;
    xorLo ^= l;
  }
  word.setInt32(0, xorLo, true);
  word.setInt32(4, xorHi, true);
  return word.getFloat64(0, true);
}

/** The points of a chunk, in comparePoints order. RangeError for an unknown version or malformed bytes. */
export function decodeChunk(bytes: Uint8Array): MetricPoint[] {
  if (bytes.length === 0) truncated();
  if (bytes[0] === LEGACY_VERSION) return decodeLegacyChunk(bytes);
  if (bytes[0] !== VERSION) throw new RangeError(`Unknown metric chunk version ${bytes[0]}.`);
  input = bytes;
  inputEnd = bytes.length;
  at = 1;
  try {
    const count = readCount();
    // Every point takes at least a quarter byte of kinds: this bounds what the columns allocate.
    if (count > 4 * (inputEnd - at)) truncated();
    if (stepsColumn.length < count) {
      stepsColumn = new Float64Array(count);
      timestampsColumn = new Float64Array(count);
    }
    readColumn(stepsColumn, count);
    readColumn(timestampsColumn, count);
    const kindsAt = at;
    const kindBytes = (count + 3) >> 2;
    if (kindBytes > inputEnd - at) truncated();
    at += kindBytes;
    const streamBytes = readCount();
    if (streamBytes > inputEnd - at) truncated();
    bitBuffer = 0;
    bitCount = 0;
    bitByte = at;
    bitByteEnd = at + streamBytes;
    at += streamBytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const points: MetricPoint[] = new Array(count);
    let value = 0;
    xorHi = 0;
    xorLo = 0;
    xorLead = -1;
    xorTrail = 0;
    for (let i = 0; i < count; i++) {
      const kind = (input[kindsAt + (i >> 2)]! >> ((i & 3) * 2)) & 3;
      if (kind === KIND_FLOAT32) {
        if (at + 4 > inputEnd) truncated();
        value = view.getFloat32(at, true);
        at += 4;
      } else if (kind === KIND_INTEGER) {
        value = readAfter(0);
        if (Math.abs(value) > INTEGER_LIMIT)
          throw new RangeError('Metric chunk holds an integer value out of range.');
      } else if (kind === KIND_FLOAT64) {
        value = readFloat64();
      } else if (i === 0) {
        throw new RangeError('Metric chunk repeats a value before its first point.');
      }
      // An int32 step becomes a small integer rather than a boxed double: 25,000-point history pages
      // allocate less and serialize faster (steps are nearly always int32).
      const step = stepsColumn[i]!;
      points[i] = { step: (step | 0) === step ? step | 0 : step, timestamp: timestampsColumn[i]!, value };
    }
    // The stream must be used up, but for zero padding in its last byte.
    if (bitByte !== bitByteEnd || bitCount >= 8 || bitBuffer !== 0) {
      throw new RangeError('Metric chunk has bits after its last float64 value.');
    }
    if (at !== inputEnd) throw new RangeError('Metric chunk has bytes after its last point.');
    return points;
  } finally {
    input = NO_INPUT;
  }
}

/** Version 2: per-point (step delta, timestamp delta, value) records; float64 values as 8 raw bytes. */
function decodeLegacyChunk(bytes: Uint8Array): MetricPoint[] {
  input = bytes;
  inputEnd = bytes.length;
  at = 1;
  try {
    const count = readCount();
    const kindsAt = at;
    const kindBytes = (count + 3) >> 2;
    // Each point takes at least two bytes (its two deltas).
    if (kindBytes + count * 2 > inputEnd - at) truncated();
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
    input = NO_INPUT;
  }
}

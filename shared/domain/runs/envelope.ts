/**
 * Metric envelopes (Cairn's /api/2.0/cairn/metrics/get-envelope): a step range cut into equal-width
 * buckets, and per bucket the min, max, count and last point of a series, so that a chart drawn from
 * them keeps every spike at any zoom (sampling, as get-history-bulk-interval does, drops them).
 *
 * Cost is bounded by the buckets, not the series: every sealed chunk of a key has a small summary (its
 * min, max, count and last point). A chunk inside the range is served from its summary when it is no
 * wider than two buckets: into its bucket when its steps all fall in one (exact), else whole into the
 * bucket holding its last step, so that `last` stays a bucket's true last point and every spike is
 * kept, at most one chunk span early (the envelope then says `exact: false`). Decoded are only chunks
 * straddling the range's edges or reaching out of its first bucket (three per run when chunks do not
 * overlap) and chunks wider than two buckets (a deep zoom, where few chunks are in range: at most one
 * per two buckets when they do not overlap). Which chunks have summaries, and how summaries are stored, is the store's business
 * (shared/store/runs/envelope-read.ts); this module is the bucketing itself, pure.
 */
import { InvalidParameterValueError } from '../../errors.js';
import { validateRunId } from '../ids.js';
import { validateKey } from '../rules.js';
import { comparePoints, sortAndDedupe } from './metric-codec.js';
import type {
  EnvelopeChunkSummary,
  EnvelopeReader,
  EnvelopeSources,
  MetricPoint,
  PointSummary,
  StepInterval,
  SummarizedChunk,
} from './model.js';

// The shapes a repository hands envelopes live with the repository's interface (model.ts); named here
// too, for the store and the tests that build them.
export type { EnvelopeChunkSummary, EnvelopeReader, EnvelopeSources, PointSummary, SummarizedChunk };

import { runNotFound } from './rules.js';
import { stepIntervals } from './sampling.js';

export const ENVELOPE_LIMITS = { runs: 100, bucketsMax: 2000, bucketsDefault: 500 } as const;

export interface EnvelopeBucket extends PointSummary {
  startStep: number;
  endStep: number;
}

export interface Envelope {
  runId: string;
  key: string;
  startStep: number;
  endStep: number;
  totalPoints: number;
  /**
   * False when some chunk summary was counted whole in a bucket whose edges the chunk crosses: then a
   * bucket may hold points of the one or two before it (never of a later one), and min/max/count/last per bucket are
   * those of what it was given; the range's min, max, count and last stay exact.
   */
  exact: boolean;
  buckets: EnvelopeBucket[];
}

/** Orders values for min/max: −0 below +0 so that the result never depends on the order of merging. */
function below(a: number, b: number): boolean {
  return a < b || (a === 0 && b === 0 && Object.is(a, -0) && !Object.is(b, -0));
}

function mergeMin(current: number, value: number): number {
  if (Number.isNaN(value)) return current;
  return Number.isNaN(current) || below(value, current) ? value : current;
}

function mergeMax(current: number, value: number): number {
  if (Number.isNaN(value)) return current;
  return Number.isNaN(current) || below(current, value) ? value : current;
}

/** The summary of a non-empty list of points, in any order (the count is of the list as given). */
export function summarize(points: readonly MetricPoint[]): EnvelopeChunkSummary {
  const head = points[0];
  if (!head) throw new RangeError('summarize needs at least one point');
  let min = Number.NaN;
  let max = Number.NaN;
  let last = head;
  let firstStep = head.step;
  for (const point of points) {
    min = mergeMin(min, point.value);
    max = mergeMax(max, point.value);
    if (comparePoints(point, last) > 0) last = point;
    if (point.step < firstStep) firstStep = point.step;
  }
  return { count: points.length, min, max, last: { ...last }, firstStep };
}

/** One bucket's running summary. */
class Accumulator {
  count = 0;
  min = Number.NaN;
  max = Number.NaN;
  last: MetricPoint | undefined;

  add(summary: PointSummary): void {
    this.count += summary.count;
    this.min = mergeMin(this.min, summary.min);
    this.max = mergeMax(this.max, summary.max);
    if (!this.last || comparePoints(summary.last, this.last) > 0) this.last = summary.last;
  }

  addPoint(point: MetricPoint): void {
    this.count++;
    this.min = mergeMin(this.min, point.value);
    this.max = mergeMax(this.max, point.value);
    if (!this.last || comparePoints(point, this.last) > 0) this.last = point;
  }
}

/** The index of the interval holding `step`, or −1 (intervals sorted, contiguous, non-empty). */
export function bucketOf(intervals: readonly StepInterval[], step: number): number {
  let lo = 0;
  let hi = intervals.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const interval = intervals[mid] as StepInterval;
    if (step < interval.from) hi = mid - 1;
    else if (step > interval.to) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** A chunk served by its summary: counted whole in `bucket`; `crosses` when its steps reach outside it. */
export interface SummaryPlacement {
  chunk: SummarizedChunk;
  bucket: number;
  crosses: boolean;
}

/**
 * Which summarized chunks stand for their points, and where. A chunk inside the range whose steps fall
 * in one bucket goes there; one no wider than two buckets goes whole to the bucket of its last step (so
 * the bucket's last is still the greatest point it is given, and no point moves to a later bucket than
 * its own); the rest reaching into the range (across the range's edges, wider than two buckets, or
 * reaching out of the first bucket) must be read. Those wholly outside the range are dropped.
 *
 * The first bucket is kept exact because a chart's line starts at its last point: placed whole in the
 * next bucket, the first chunk of a series would leave the first bucket empty and the line would begin
 * a chunk late. That is one chunk more per run.
 */
export function planEnvelope(
  intervals: readonly StepInterval[],
  chunks: readonly SummarizedChunk[],
): { summarized: SummaryPlacement[]; raw: SummarizedChunk[] } {
  const summarized: SummaryPlacement[] = [];
  const raw: SummarizedChunk[] = [];
  const first = intervals[0];
  const last = intervals.at(-1);
  if (!first || !last) return { summarized, raw };
  // Nominal bucket width; floating point near 2^53, which only moves the threshold by a step.
  const width = (last.to - first.from + 1) / intervals.length;
  for (const chunk of chunks) {
    const { firstStep, last: lastPoint } = chunk.summary;
    if (lastPoint.step < first.from || firstStep > last.to) continue;
    if (firstStep < first.from || lastPoint.step > last.to) {
      raw.push(chunk);
      continue;
    }
    const bucket = bucketOf(intervals, lastPoint.step);
    const interval = intervals[bucket] as StepInterval;
    if (firstStep >= interval.from) summarized.push({ chunk, bucket, crosses: false });
    else if (firstStep > first.to && lastPoint.step - firstStep <= 2 * width) {
      summarized.push({ chunk, bucket, crosses: true });
    } else raw.push(chunk);
  }
  return { summarized, raw };
}

/**
 * The non-empty buckets of `intervals` from summaries, each counted in the bucket it is placed in, and
 * raw points (deduplicated here; those outside the range are left out).
 */
export function bucketize(
  intervals: readonly StepInterval[],
  summarized: readonly { chunk: SummarizedChunk; bucket: number }[],
  points: readonly MetricPoint[],
): EnvelopeBucket[] {
  const accumulators = new Map<number, Accumulator>();
  const at = (bucket: number) => {
    let accumulator = accumulators.get(bucket);
    if (!accumulator) {
      accumulator = new Accumulator();
      accumulators.set(bucket, accumulator);
    }
    return accumulator;
  };
  for (const { chunk, bucket } of summarized) at(bucket).add(chunk.summary);
  for (const point of sortAndDedupe(points)) {
    const bucket = bucketOf(intervals, point.step);
    if (bucket >= 0) at(bucket).addPoint(point);
  }
  return [...accumulators.entries()]
    .sort(([a], [b]) => a - b)
    .map(([bucket, accumulator]) => {
      const interval = intervals[bucket] as StepInterval;
      return {
        startStep: interval.from,
        endStep: interval.to,
        count: accumulator.count,
        min: accumulator.min,
        max: accumulator.max,
        last: accumulator.last as MetricPoint,
      };
    });
}

/**
 * [start, end] cut into `buckets` contiguous intervals of equal width (widths differ by at most one step
 * when the range does not divide evenly; fewer buckets when the range has fewer steps).
 */
export function envelopeIntervals(start: number, end: number, buckets: number): StepInterval[] {
  return stepIntervals(start, end, buckets);
}

/** The smallest and largest step of what a run's sources hold, or undefined when they hold nothing. */
function extent(sources: EnvelopeSources): { first: number; last: number } | undefined {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { summary } of sources.chunks) {
    if (summary.firstStep < first) first = summary.firstStep;
    if (summary.last.step > last) last = summary.last.step;
  }
  for (const point of sources.points) {
    if (point.step < first) first = point.step;
    if (point.step > last) last = point.step;
  }
  return first <= last ? { first, last } : undefined;
}

export interface EnvelopeRequest {
  runIds: string[];
  key: string;
  buckets?: number;
  startStep?: number;
  endStep?: number;
}

/**
 * Envelopes of one key for several runs, in request order. Without a start or end step, the range is
 * that of all the runs' points together, so that the runs' buckets line up on one chart.
 */
export async function metricEnvelopes(reader: EnvelopeReader, request: EnvelopeRequest): Promise<Envelope[]> {
  const { runIds, key } = request;
  if (runIds.length === 0) {
    throw new InvalidParameterValueError(
      "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.",
    );
  }
  if (runIds.length > ENVELOPE_LIMITS.runs) {
    throw new InvalidParameterValueError(
      `Invalid value ${runIds.length} for parameter 'run_id' supplied: at most ${ENVELOPE_LIMITS.runs} runs per request.`,
    );
  }
  const buckets = request.buckets ?? ENVELOPE_LIMITS.bucketsDefault;
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > ENVELOPE_LIMITS.bucketsMax) {
    throw new InvalidParameterValueError(
      `Invalid value ${buckets} for parameter 'buckets' supplied: it must be an integer from 1 to ${ENVELOPE_LIMITS.bucketsMax}.`,
    );
  }
  const { startStep, endStep } = request;
  if (startStep !== undefined && endStep !== undefined && startStep > endStep) {
    throw new InvalidParameterValueError(
      `Invalid value ${startStep} for parameter 'start_step' supplied: it must not be greater than end_step (${endStep}).`,
    );
  }
  for (const runId of runIds) validateRunId(runId);
  validateKey('metric_key', key);

  const sources = await Promise.all(
    runIds.map((runId) => reader.readEnvelopeSources(runId, key, startStep, endStep)),
  );
  const found = sources.map((source, index) => {
    if (!source) throw runNotFound(runIds[index] as string);
    return source;
  });
  const extents = found.map(extent).filter((range) => range !== undefined);
  // A series that starts late (a resumed run, steps counted in samples) starts its range where its
  // points do: from 0 its buckets would all but one be empty.
  const firstStep = extents.length > 0 ? Math.min(...extents.map((range) => range.first)) : 0;
  const start = startStep ?? (endStep === undefined ? firstStep : Math.min(firstStep, endStep));
  const end = Math.max(start, endStep ?? Math.max(...extents.map((range) => range.last), start));
  const intervals = envelopeIntervals(start, end, buckets);

  return Promise.all(
    found.map(async (source, index) => {
      const runId = runIds[index] as string;
      const { summarized, raw } = planEnvelope(intervals, source.chunks);
      const points =
        raw.length > 0
          ? [...source.points, ...(await reader.readEnvelopeChunks(runId, key, raw))]
          : source.points;
      const bucketList = bucketize(intervals, summarized, points);
      return {
        runId,
        key,
        startStep: start,
        endStep: end,
        totalPoints: bucketList.reduce((total, bucket) => total + bucket.count, 0),
        exact: !summarized.some((placement) => placement.crosses),
        buckets: bucketList,
      };
    }),
  );
}

/**
 * A summary as stored beside its chunk (version 1), ~20 bytes: the first (step, timestamp) is the
 * chunk's and travels in its key, so only offsets from it are kept.
 *
 *   version      1 byte, 0x01
 *   kinds        1 byte: 2 bits each for min (bits 0–1), max (2–3), last value (4–5):
 *                0 float64 follows, 1 float32 follows (the value is exactly a float32; NaN is one),
 *                2 equal to min (for max and last), 3 equal to max (for last)
 *   count        varint
 *   step span    varint, last step − first step (≥ 0)
 *   time offset  zigzag varint, last point's timestamp − first point's timestamp
 *   values       min, max, last as the kinds say, little-endian
 */
const SUMMARY_VERSION = 1;
const KIND_F64 = 0;
const KIND_F32 = 1;
const KIND_MIN = 2;
const KIND_MAX = 3;

function isFloat32(value: number): boolean {
  return Number.isNaN(value) || Object.is(Math.fround(value), value);
}

/** LEB128 of a non-negative integer up to 2^64 held in a double (division by 128 stays exact). */
function pushVarint(bytes: number[], value: number): void {
  let rest = value;
  while (rest >= 128) {
    bytes.push((rest % 128) | 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
}

function pushFloat(bytes: number[], value: number, kind: number): void {
  const view = new DataView(new ArrayBuffer(8));
  if (kind === KIND_F32) {
    view.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) bytes.push(view.getUint8(i));
  } else if (kind === KIND_F64) {
    view.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) bytes.push(view.getUint8(i));
  }
}

export function encodeSummary(summary: EnvelopeChunkSummary, firstTimestamp: number): Uint8Array {
  const { min, max, last } = summary;
  const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  const valueKind = (value: number) => (isFloat32(value) ? KIND_F32 : KIND_F64);
  const minKind = valueKind(min);
  const maxKind = same(max, min) ? KIND_MIN : valueKind(max);
  const lastKind = same(last.value, min)
    ? KIND_MIN
    : same(last.value, max)
      ? KIND_MAX
      : valueKind(last.value);
  const bytes: number[] = [SUMMARY_VERSION, minKind | (maxKind << 2) | (lastKind << 4)];
  pushVarint(bytes, summary.count);
  pushVarint(bytes, last.step - summary.firstStep);
  const offset = last.timestamp - firstTimestamp;
  pushVarint(bytes, offset >= 0 ? offset * 2 : -offset * 2 - 1);
  pushFloat(bytes, min, minKind);
  pushFloat(bytes, max, maxKind);
  pushFloat(bytes, last.value, lastKind);
  return Uint8Array.from(bytes);
}

export function decodeSummary(
  bytes: Uint8Array,
  first: { step: number; timestamp: number },
): EnvelopeChunkSummary {
  if (bytes[0] !== SUMMARY_VERSION || bytes.length < 5) throw new RangeError('Not a chunk summary.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kinds = bytes[1] as number;
  let at = 2;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new RangeError('Chunk summary is truncated.');
      const byte = bytes[at++] as number;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
  };
  const count = varint();
  const span = varint();
  const zigzag = varint();
  const offset = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  const values: number[] = [];
  for (const kind of [kinds & 3, (kinds >> 2) & 3, (kinds >> 4) & 3]) {
    if (kind === KIND_F32) {
      values.push(view.getFloat32(at, true));
      at += 4;
    } else if (kind === KIND_F64) {
      values.push(view.getFloat64(at, true));
      at += 8;
    } else values.push(values[kind === KIND_MIN ? 0 : 1] as number);
  }
  if (at !== bytes.length) throw new RangeError('Chunk summary has bytes after its values.');
  const [min, max, value] = values as [number, number, number];
  return {
    count,
    min,
    max,
    firstStep: first.step,
    last: { step: first.step + span, timestamp: first.timestamp + offset, value },
  };
}

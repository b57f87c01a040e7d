/**
 * Packing a metric write's sealed points into chunk items (see entity.ts for their shape). Chunks are
 * addressed by their content, so a replayed write puts the very same items again: retries cannot
 * duplicate history.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { encodeSummary, summarize } from '../../domain/runs/envelope.js';
import { decodeChunk, encodeChunk, sortAndDedupe, stepTimeRange } from '../../domain/runs/metric-codec.js';
import { groupByKey, type MetricWritePlan } from '../../domain/runs/metrics.js';
import type { KeyedPoint, MetricPoint } from '../../domain/runs/model.js';
import { queryAll } from '../doc-commands.js';
import { fromStoredMap, storedKey } from '../items.js';
import { keyConditions, keys, sortableStep } from '../keys.js';
import type { LatestItem, MetricChunkItem, MetricSummaryItem, MixedChunkItem } from './entity.js';

/**
 * 16 base64url characters (96 bits) of SHA-256: collisions between two chunks of one run and key are out
 * of reach, and every byte of the key counts against the 1 KB write unit a 100-point chunk must fit.
 */
const CONTENT_ID_LENGTH = 16;

/** A mixed chunk's data at most, well under the 400 KB item limit with its keys and names. */
const MIXED_CHUNK_BYTES = 300_000;

function contentId(bytes: Uint8Array, salt: string): string {
  return createHash('sha256').update(salt).update(bytes).digest('base64url').slice(0, CONTENT_ID_LENGTH);
}

/** The points of a LATEST item's tail, every key. */
export function tailPoints(tail: LatestItem['tail'] | undefined): KeyedPoint[] {
  const points: KeyedPoint[] = [];
  for (const [key, bytes] of Object.entries(fromStoredMap(tail))) {
    for (const point of decodeChunk(bytes)) points.push({ key, ...point });
  }
  return points;
}

/** The tail a plan leaves, encoded per key as a LATEST item stores it. */
export function encodeTail(points: readonly KeyedPoint[]): LatestItem['tail'] {
  const tail: LatestItem['tail'] = {};
  for (const [key, group] of groupByKey(points)) tail[storedKey(key)] = encodeChunk(group);
  return tail;
}

/**
 * Own chunks of at least this many points get a summary item (metric envelopes read it instead of the
 * chunk). Smaller ones do not: a summary costs a write unit, and the 10 keys × 100 points log-batch of
 * design.md's write budget would go from 12 to 22 units per 1,000 points; a chunk this small is cheap to
 * read whole anyway (LATEST's `ev` tells readers where such chunks lie).
 */
export const SUMMARY_MIN_POINTS = 256;

/**
 * The chunk items a write plan seals: one per own-chunk group, and the mixed group in as few as fit. A
 * summary follows the own chunk it summarizes, so that both go in the same BatchWrite (putChunks).
 */
export function chunkItems(
  runId: string,
  plan: Pick<MetricWritePlan, 'keyChunks' | 'mixedChunk'>,
  withSummaries = true,
): (MetricChunkItem | MixedChunkItem | MetricSummaryItem)[] {
  const items: (MetricChunkItem | MixedChunkItem | MetricSummaryItem)[] = [];
  for (const { key, points: group } of plan.keyChunks) {
    const bytes = encodeChunk(group);
    const range = stepTimeRange(group) as NonNullable<ReturnType<typeof stepTimeRange>>;
    const id = contentId(bytes, key);
    items.push({
      ...keys.metricChunk(runId, key, range.first, id),
      d: bytes,
      hi: range.last.step,
      ht: range.last.timestamp,
    });
    if (withSummaries && group.length >= SUMMARY_MIN_POINTS) {
      // Summarized as stored: the codec keeps each distinct point once.
      const summary = summarize(sortAndDedupe(group));
      items.push({
        ...keys.metricSummary(runId, key, range.first, id),
        s: encodeSummary(summary, range.first.timestamp),
      });
    }
  }
  if (plan.mixedChunk) items.push(...mixedChunkItems(runId, plan.mixedChunk));
  return items;
}

/** Whether an item chunkItems made is a summary (it does not count as a chunk). */
export function isSummaryItem(item: object): item is MetricSummaryItem {
  return 's' in item;
}

/**
 * LATEST's envelope marks after a write seals `items` (see LatestItem `ev`, `mr`): the widest chunk per
 * key and of mixed chunks, and per key the step hull of own chunks left without a summary. A hull, not a
 * list, keeps LATEST bounded; a reader reads everything inside it raw, which is correct, only slower.
 */
export function envelopeMarks(
  latest: Pick<LatestItem, 'ev' | 'mr'>,
  plan: Pick<MetricWritePlan, 'keyChunks'>,
  items: readonly (MetricChunkItem | MixedChunkItem | MetricSummaryItem)[],
): Pick<LatestItem, 'ev' | 'mr'> {
  let ev = latest.ev;
  let mr = latest.mr;
  for (const { key, points: group } of plan.keyChunks) {
    const range = stepTimeRange(group) as NonNullable<ReturnType<typeof stepTimeRange>>;
    const stored = storedKey(key);
    const [reach = 0, lo, hi] = ev?.[stored] ?? [];
    const next = [Math.max(reach, range.last.step - range.first.step)];
    if (group.length < SUMMARY_MIN_POINTS) {
      next.push(
        Math.min(lo ?? range.first.step, range.first.step),
        Math.max(hi ?? range.last.step, range.last.step),
      );
    } else if (lo !== undefined && hi !== undefined) next.push(lo, hi);
    ev = { ...ev, [stored]: next };
  }
  for (const item of items) {
    if (isSummaryItem(item) || !item.sk.startsWith(keys.mixedChunkPrefix)) continue;
    const first = firstStepOfSk(item.sk, keys.mixedChunkPrefix);
    mr = Math.max(mr ?? 0, item.hi - first);
  }
  return { ...(ev ? { ev } : {}), ...(mr !== undefined ? { mr } : {}) };
}

const SORTABLE_STEP_WIDTH = 17;
const STEP_OFFSET = 2n ** 53n;

/** The first step in a chunk's (or summary's) sort key, `<prefix><sortable step>#…`. */
export function firstStepOfSk(sk: string, prefix: string): number {
  return Number(BigInt(sk.slice(prefix.length, prefix.length + SORTABLE_STEP_WIDTH)) - STEP_OFFSET);
}

/** The first (step, timestamp) in a chunk's (or summary's) sort key, `<prefix><step>#<timestamp>#…`. */
export function firstStepTimeOfSk(sk: string, prefix: string): { step: number; timestamp: number } {
  const at = prefix.length + SORTABLE_STEP_WIDTH + 1;
  return {
    step: firstStepOfSk(sk, prefix),
    timestamp: Number(BigInt(sk.slice(at, at + SORTABLE_STEP_WIDTH)) - STEP_OFFSET),
  };
}

/** Several items when the keys are many and long: each stays under the item size budget. */
function mixedChunkItems(runId: string, groups: ReadonlyMap<string, MetricPoint[]>): MixedChunkItem[] {
  const items: MixedChunkItem[] = [];
  let encoded: Record<string, Uint8Array> = {};
  let bytes = 0;
  let members: MetricPoint[] = [];
  let hash = createHash('sha256');
  const flush = () => {
    const range = stepTimeRange(members);
    if (!range) return;
    items.push({
      ...keys.mixedChunk(runId, range.first, hash.digest('base64url').slice(0, CONTENT_ID_LENGTH)),
      d: encoded,
      hi: range.last.step,
      ht: range.last.timestamp,
    });
    encoded = {};
    bytes = 0;
    members = [];
    hash = createHash('sha256');
  };
  for (const [key, group] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const chunk = encodeChunk(group);
    const cost = chunk.length + Buffer.byteLength(storedKey(key)) + 8;
    if (bytes + cost > MIXED_CHUNK_BYTES) flush();
    const range = stepTimeRange(group);
    if (range) members.push({ ...range.first, value: 0 }, { ...range.last, value: 0 });
    hash.update(key).update(chunk);
    encoded[storedKey(key)] = chunk;
    bytes += cost;
  }
  flush();
  return items;
}

/** The lowest step a chunk key range starts from (steps are safe integers). */
const LOWEST_STEP = Number.MIN_SAFE_INTEGER;

/**
 * The sk range of a chunk family's items (`MC#<key>#`, `MS#<key>#`, `MX#`) whose first step lies in
 * [from, to]; undefined: unbounded. Chunk keys sort by first step, so this is a key range.
 */
export function chunkKeyRange(
  prefix: string,
  from: number | undefined,
  to: number | undefined,
): [string, string] {
  return [
    from === undefined ? prefix : `${prefix}${sortableStep(Math.max(LOWEST_STEP, from))}`,
    to === undefined ? `${prefix}\uffff` : `${prefix}${sortableStep(to)}\uffff`,
  ];
}

/** The items of a run's partition in an sk range, eventually consistent unless `options` says otherwise. */
export function queryRunRange<Item>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  [from, to]: [string, string],
  options: {
    ProjectionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ConsistentRead?: boolean;
  } = {},
): Promise<Item[]> {
  if (from > to) return Promise.resolve([]);
  return queryAll<Item>(doc, {
    TableName: tableName,
    ...keyConditions.between(keys.run(runId).pk, from, to),
    ConsistentRead: false,
    ...options,
  });
}

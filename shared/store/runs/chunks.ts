/**
 * Packing a metric write's sealed points into chunk items (see entity.ts for their shape). Chunks are
 * addressed by their content, so a replayed write puts the very same items again: retries cannot
 * duplicate history.
 */
import { createHash } from 'node:crypto';
import { decodeChunk, encodeChunk, stepTimeRange } from '../../domain/runs/metric-codec.js';
import { groupByKey, type MetricWritePlan } from '../../domain/runs/metrics.js';
import type { KeyedPoint, MetricPoint } from '../../domain/runs/model.js';
import { fromStoredMap, storedKey } from '../items.js';
import { keys } from '../keys.js';
import type { LatestItem, MetricChunkItem, MixedChunkItem } from './entity.js';

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

/** The chunk items a write plan seals: one per own-chunk group, and the mixed group in as few as fit. */
export function chunkItems(
  runId: string,
  plan: Pick<MetricWritePlan, 'keyChunks' | 'mixedChunk'>,
): (MetricChunkItem | MixedChunkItem)[] {
  const items: (MetricChunkItem | MixedChunkItem)[] = [];
  for (const { key, points: group } of plan.keyChunks) {
    const bytes = encodeChunk(group);
    const range = stepTimeRange(group) as NonNullable<ReturnType<typeof stepTimeRange>>;
    items.push({
      ...keys.metricChunk(runId, key, range.first, contentId(bytes, key)),
      d: bytes,
      hi: range.last.step,
      ht: range.last.timestamp,
    });
  }
  if (plan.mixedChunk) items.push(...mixedChunkItems(runId, plan.mixedChunk));
  return items;
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

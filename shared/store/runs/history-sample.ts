/**
 * The reads behind get-history-bulk-interval, bounded by the request rather than by the series length.
 *
 * Phase one (`readHistoryHead`) reads a run's chunks overlapping the requested step range in key order,
 * up to a byte budget the request sets (a few KB per requested point). A series that fits is read whole
 * and sampled exactly as MLflow samples. A longer one leaves a *frontier*: the first step of the last
 * chunk read, per chunk family. Phase two (`readHistoryIntervals`) then splits the range above the
 * frontier into the request's sample intervals and reads, per interval, only the first chunk that starts
 * in it (`Limit: 1`), plus the chunk holding the last step: at most a couple of items per requested point,
 * however long the series. Why not always phase two: one Query page reads 1 MB for about 125 read units,
 * while each Limit-1 query costs at least half a unit; below a few thousand chunks reading everything is
 * cheaper, and exact.
 *
 * Chunks written out of step order can overlap; phase two picks from the chunks it reads, so a point at a
 * sampled step that sits in an older, overlapping chunk can be left out. That is sampling for charts;
 * get-history serves every point.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../concurrency.js';
import { decodeChunk, sortAndDedupe } from '../../domain/runs/metric-codec.js';
import type { HistoryHead, MetricPoint, StepInterval } from '../../domain/runs/model.js';
import { storedKey } from '../items.js';
import { keyConditions, keys, sortableStep } from '../keys.js';
import { type LatestItem, latestHeadProjection, mixedChunkProjection } from './entity.js';
import { readGroupedLatest } from './latest-groups.js';

const STEP_OFFSET = 2n ** 53n;
const SORTABLE_STEP_WIDTH = 17;
/** Queries in flight at once for one request: enough to hide latency, few enough not to queue sockets. */
const CONCURRENCY = 24;

export interface SampleContext {
  doc: DynamoDBDocumentClient;
  tableName: string;
  runId: string;
  key: string;
}

type Family = 'own' | 'mixed';

function prefixOf(family: Family, key: string): string {
  return family === 'own' ? keys.metricChunkPrefix(key) : keys.mixedChunkPrefix;
}

/** The first step of a chunk, from its sort key (`<prefix><sortable step>#…`). */
function firstStepOf(sk: string, prefix: string): number {
  return Number(BigInt(sk.slice(prefix.length, prefix.length + SORTABLE_STEP_WIDTH)) - STEP_OFFSET);
}

/** The key's points in a chunk item of either family (a mixed chunk holds many keys, maybe not this one). */
function pointsOf(item: Record<string, unknown>, family: Family, key: string): MetricPoint[] {
  if (family === 'own') return decodeChunk(item.d as Uint8Array);
  const bytes = (item.d as Record<string, Uint8Array> | undefined)?.[storedKey(key)];
  return bytes ? decodeChunk(bytes) : [];
}

function bytesOf(item: Record<string, unknown>, family: Family, key: string): number {
  if (family === 'own') return (item.d as Uint8Array).length;
  return (item.d as Record<string, Uint8Array> | undefined)?.[storedKey(key)]?.length ?? 0;
}

/**
 * One Query of a family's chunks. Mixed chunks are read strongly consistent, for the reason
 * history-pages.ts gives (a tail sealed into one must not vanish between the LATEST read and this one),
 * and only this key's part of them is fetched.
 */
function chunkQuery(
  ctx: SampleContext,
  family: Family,
  from: string,
  to: string,
  options: { limit?: number; backward?: boolean; startKey?: Record<string, unknown> } = {},
) {
  return new QueryCommand({
    TableName: ctx.tableName,
    ...keyConditions.between(keys.run(ctx.runId).pk, from, to),
    ...(family === 'mixed' ? { ...mixedChunkProjection(ctx.key), ConsistentRead: true } : {}),
    ...(options.limit ? { Limit: options.limit } : {}),
    ...(options.backward ? { ScanIndexForward: false } : {}),
    ...(options.startKey ? { ExclusiveStartKey: options.startKey } : {}),
  });
}

/**
 * The run's LATEST item, strongly consistent, with only what `projection` names, and the unsealed tail
 * points of `ctx.key` decoded: where every read of one key's points starts (history and envelopes).
 * Undefined when the run does not exist.
 */
export async function readLatestOfKey(
  ctx: SampleContext,
  projection: ReturnType<typeof latestHeadProjection>,
): Promise<{ latest: Partial<LatestItem>; stored: string; points: MetricPoint[] } | undefined> {
  const stored = storedKey(ctx.key);
  const { Item } = await ctx.doc.send(
    new GetCommand({
      TableName: ctx.tableName,
      Key: keys.runLatest(ctx.runId),
      ConsistentRead: true,
      ...projection,
    }),
  );
  if (!Item) return undefined;
  const latest = Item as Partial<LatestItem>;
  const tailBytes = latest.tail?.[stored];
  return { latest, stored, points: tailBytes ? decodeChunk(tailBytes) : [] };
}

/**
 * Phase one: the points of [start, end] (end undefined: no upper bound) from the LATEST tail, the last
 * chunk of each family starting before `start`, and chunks starting in the range until `byteBudget` bytes
 * of this key's chunk data have been read. Undefined when the run does not exist.
 */
export async function readHistoryHead(
  ctx: SampleContext,
  start: number,
  end: number | undefined,
  byteBudget: number,
): Promise<HistoryHead | undefined> {
  const head = await readLatestOfKey(ctx, latestHeadProjection(ctx.key));
  if (!head) return undefined;
  const { latest, stored, points } = head;
  // A spilled run keeps it in one of its groups (read beside the chunks): without it, an open-ended
  // sample would stop at the head.
  const grouped =
    latest.m?.[stored] === undefined && latest.lg
      ? readGroupedLatest(ctx.doc, ctx.tableName, { run_id: ctx.runId, lg: latest.lg }, ctx.key)
      : undefined;
  const frontier: HistoryHead['frontier'] = {};

  await Promise.all(
    (['own', 'mixed'] as const).map(async (family) => {
      const prefix = prefixOf(family, ctx.key);
      const rangeFrom = `${prefix}${sortableStep(start)}`;
      const rangeTo = end === undefined ? `${prefix}\uffff` : `${prefix}${sortableStep(end)}\uffff`;
      // The chunk starting last before the range may reach into it.
      const before = await ctx.doc.send(
        chunkQuery(ctx, family, prefix, rangeFrom, { limit: 1, backward: true }),
      );
      for (const item of before.Items ?? []) points.push(...pointsOf(item, family, ctx.key));
      let bytes = 0;
      let startKey: Record<string, unknown> | undefined;
      // A first page of 16 items, then as many as the rest of the budget should hold at the sizes seen
      // so far: a short series costs one call, and the budget is overshot by little (DynamoDB's own 1 MB
      // pages would read a whole medium series before any check).
      let limit = 16;
      let items = 0;
      do {
        const page = await ctx.doc.send(chunkQuery(ctx, family, rangeFrom, rangeTo, { startKey, limit }));
        for (const item of page.Items ?? []) {
          points.push(...pointsOf(item, family, ctx.key));
          bytes += bytesOf(item, family, ctx.key);
        }
        items += page.Items?.length ?? 0;
        const average = items > 0 && bytes > 0 ? bytes / items : 1024;
        limit = Math.min(1000, Math.max(16, Math.ceil((byteBudget - bytes) / average)));
        startKey = page.LastEvaluatedKey;
        const last = page.Items?.at(-1);
        if (startKey && bytes >= byteBudget && last) {
          frontier[family] = firstStepOf(last.sk as string, prefix);
          break;
        }
      } while (startKey);
    }),
  );

  const latestPoint = latest.m?.[stored] ?? (await grouped);
  const inRange = sortAndDedupe(points).filter(
    (point) => point.step >= start && (end === undefined || point.step <= end),
  );
  return {
    points: inRange,
    complete: frontier.own === undefined && frontier.mixed === undefined,
    ...(latestPoint ? { latestStep: latestPoint[0] } : {}),
    frontier,
  };
}

/**
 * Phase two for a run phase one could not read whole: per interval above a family's frontier, the first
 * chunk of that family starting in it, and the chunk holding the run's last step at or below `end`.
 * Returns the head's points with those chunks' points in [start, end] merged in, sorted and deduplicated.
 */
export async function readHistoryIntervals(
  ctx: SampleContext,
  head: HistoryHead,
  intervals: readonly StepInterval[],
  start: number,
  end: number,
): Promise<MetricPoint[]> {
  const queries: { family: Family; command: QueryCommand }[] = [];
  for (const family of ['own', 'mixed'] as const) {
    const frontier = head.frontier[family];
    if (frontier === undefined) continue;
    const prefix = prefixOf(family, ctx.key);
    for (const interval of intervals) {
      if (interval.to <= frontier) continue;
      const from = Math.max(interval.from, frontier + 1);
      queries.push({
        family,
        command: chunkQuery(
          ctx,
          family,
          `${prefix}${sortableStep(from)}`,
          `${prefix}${sortableStep(interval.to)}\uffff`,
          {
            limit: 1,
          },
        ),
      });
    }
    // The last step at or below `end` lives in the last chunk starting at or before it.
    const last = Math.min(end, head.latestStep ?? end);
    if (last > frontier) {
      queries.push({
        family,
        command: chunkQuery(
          ctx,
          family,
          `${prefix}${sortableStep(frontier + 1)}`,
          `${prefix}${sortableStep(last)}\uffff`,
          {
            limit: 1,
            backward: true,
          },
        ),
      });
    }
  }
  const points: MetricPoint[] = [...head.points];
  await mapWithLimit(queries, CONCURRENCY, async ({ family, command }) => {
    const page = await ctx.doc.send(command);
    for (const item of page.Items ?? []) {
      for (const point of pointsOf(item, family, ctx.key)) {
        if (point.step >= start && point.step <= end) points.push(point);
      }
    }
  });
  return sortAndDedupe(points);
}

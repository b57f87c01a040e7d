import { mapWithLimit } from '../../concurrency.js';
import { decodeSummary, type EnvelopeSources, type SummarizedChunk } from '../../domain/runs/envelope.js';
import { decodeChunk } from '../../domain/runs/metric-codec.js';
import type { MetricPoint } from '../../domain/runs/model.js';
import { keys } from '../keys.js';
import { chunkKeyRange, firstStepTimeOfSk, queryRunRange } from './chunks.js';
import { latestEnvelopeProjection, mixedChunkProjection } from './entity.js';
import { readLatestOfKey, type SampleContext } from './history-sample.js';

/** One run's one key, as history reads address it. */
export type EnvelopeContext = SampleContext;

/** Queries in flight at once for one run's straddling chunks. */
const CONCURRENCY = 16;

/** A range of the run's partition, as chunks.ts reads them. */
function query<Item>(
  ctx: EnvelopeContext,
  range: [string, string],
  options: Parameters<typeof queryRunRange>[4] = {},
): Promise<Item[]> {
  return queryRunRange<Item>(ctx.doc, ctx.tableName, ctx.runId, range, options);
}

export async function readEnvelopeSources(
  ctx: EnvelopeContext,
  start: number | undefined,
  end: number | undefined,
): Promise<EnvelopeSources | undefined> {
  const head = await readLatestOfKey(ctx, latestEnvelopeProjection(ctx.key));
  if (!head) return undefined;
  const { latest, stored, points } = head;
  const ownPrefix = keys.metricChunkPrefix(ctx.key);
  const summaryPrefix = keys.metricSummaryPrefix(ctx.key);
  const mixedPrefix = keys.mixedChunkPrefix;

  const summarized = latest.es === 1;
  const [reach, hullLo, hullHi] = latest.ev?.[stored] ?? [];
  // Without marks (an older run) nothing bounds how far back a chunk may start: read from the beginning.
  const ownFrom = start === undefined || !summarized ? undefined : start - (reach ?? 0);
  const mixedFrom = start === undefined || !summarized ? undefined : start - (latest.mr ?? 0);

  // Own chunks read raw: all of them for an older run, else those inside the unsummarized hull.
  let rawOwn: [string, string] | undefined;
  if (!summarized) rawOwn = chunkKeyRange(ownPrefix, undefined, end);
  else if (hullLo !== undefined && hullHi !== undefined) {
    const from = ownFrom === undefined ? hullLo : Math.max(hullLo, ownFrom);
    const to = end === undefined ? hullHi : Math.min(hullHi, end);
    if (from <= to) rawOwn = chunkKeyRange(ownPrefix, from, to);
  }

  const [summaryItems, ownItems, mixedItems] = await Promise.all([
    summarized
      ? query<{ sk: string; s: Uint8Array }>(ctx, chunkKeyRange(summaryPrefix, ownFrom, end), {
          ProjectionExpression: 'sk, s',
        })
      : Promise.resolve([]),
    rawOwn
      ? query<{ sk: string; d: Uint8Array }>(ctx, rawOwn, { ProjectionExpression: 'sk, d' })
      : Promise.resolve([]),
    query<{ d?: Record<string, Uint8Array> }>(ctx, chunkKeyRange(mixedPrefix, mixedFrom, end), {
      ...mixedChunkProjection(ctx.key),
      ConsistentRead: true,
    }),
  ]);

  const readRaw = new Set<string>();
  for (const item of ownItems) {
    points.push(...decodeChunk(item.d));
    readRaw.add(item.sk.slice(ownPrefix.length));
  }
  for (const item of mixedItems) {
    const bytes = item.d?.[stored];
    if (bytes) points.push(...decodeChunk(bytes));
  }
  const chunks: SummarizedChunk[] = [];
  for (const item of summaryItems) {
    const id = item.sk.slice(summaryPrefix.length);
    // A chunk inside the hull was read whole already; its summary would count it twice.
    if (readRaw.has(id)) continue;
    chunks.push({
      id,
      seq: chunks.length,
      summary: decodeSummary(item.s, firstStepTimeOfSk(item.sk, summaryPrefix)),
    });
  }
  return { chunks, points };
}

/**
 * Every point of the given summarized chunks: chunks adjacent in the sources' list (`seq`) are read by
 * one Query over their sk range (unsummarized chunks between them come along, harmlessly: points are
 * deduplicated), the rest by one Query each.
 */
export async function readEnvelopeChunks(
  ctx: EnvelopeContext,
  wanted: readonly SummarizedChunk[],
): Promise<MetricPoint[]> {
  const prefix = keys.metricChunkPrefix(ctx.key);
  const sorted = [...wanted].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const runs: [string, string][] = [];
  let run: [SummarizedChunk, SummarizedChunk] | undefined;
  for (const chunk of sorted) {
    if (run && chunk.seq !== undefined && run[1].seq !== undefined && chunk.seq === run[1].seq + 1) {
      run[1] = chunk;
      continue;
    }
    if (run) runs.push([run[0].id, run[1].id]);
    run = [chunk, chunk];
  }
  if (run) runs.push([run[0].id, run[1].id]);
  const points: MetricPoint[] = [];
  await mapWithLimit(runs, CONCURRENCY, async ([first, last]) => {
    const items = await query<{ d: Uint8Array }>(ctx, [`${prefix}${first}`, `${prefix}${last}`], {
      ProjectionExpression: 'd',
    });
    for (const item of items) points.push(...decodeChunk(item.d));
  });
  return points;
}

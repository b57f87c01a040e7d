/**
 * The reads behind metric envelopes (domain/runs/envelope.ts), in two steps.
 *
 * `readEnvelopeSources`: the LATEST item (this key's tail and envelope marks, strongly consistent), then
 * in parallel: the key's chunk summaries near the range (`MS#`, eventually consistent: a few dozen bytes
 * per chunk instead of the chunk), the own chunks without a summary inside the hull LATEST records, and
 * the mixed chunks near the range (strongly consistent, for the reason history-pages.ts gives). "Near"
 * is [start − reach, end]: a chunk that starts before the range but reaches into it starts no earlier
 * than that (LATEST records the widest chunk), so the range is found whole without reading from step 0.
 *
 * `readEnvelopeChunks`: the chunks a summary cannot stand for (across the range's edges, or wider than two
 * buckets), one Query per run of adjacent ones (a Query bills the summed size of what it reads, a
 * BatchGet rounds every item up to 4 KB).
 *
 * Runs created before summaries existed (no `es` on LATEST) are read raw: correct, as costly as reading
 * the history.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../concurrency.js';
import { decodeSummary, type EnvelopeSources, type SummarizedChunk } from '../../domain/runs/envelope.js';
import { decodeChunk } from '../../domain/runs/metric-codec.js';
import type { MetricPoint } from '../../domain/runs/model.js';
import { queryAll } from '../doc-commands.js';
import { storedKey } from '../items.js';
import { keyConditions, keys, sortableStep } from '../keys.js';
import { firstStepTimeOfSk } from './chunks.js';
import { type LatestItem, latestEnvelopeProjection, mixedChunkProjection } from './entity.js';

export interface EnvelopeContext {
  doc: DynamoDBDocumentClient;
  tableName: string;
  runId: string;
  key: string;
}

/** Queries in flight at once for one run's straddling chunks. */
const CONCURRENCY = 16;

const LOWEST = Number.MIN_SAFE_INTEGER;

/** The sk range of a family's items whose first step lies in [from, to] (undefined: unbounded). */
function skRange(prefix: string, from: number | undefined, to: number | undefined): [string, string] {
  return [
    from === undefined ? prefix : `${prefix}${sortableStep(Math.max(LOWEST, from))}`,
    to === undefined ? `${prefix}\uffff` : `${prefix}${sortableStep(to)}\uffff`,
  ];
}

function query<Item>(
  ctx: EnvelopeContext,
  [from, to]: [string, string],
  options: {
    ProjectionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ConsistentRead?: boolean;
  } = {},
): Promise<Item[]> {
  if (from > to) return Promise.resolve([]);
  return queryAll<Item>(ctx.doc, {
    TableName: ctx.tableName,
    ...keyConditions.between(keys.run(ctx.runId).pk, from, to),
    ConsistentRead: false,
    ...options,
  });
}

export async function readEnvelopeSources(
  ctx: EnvelopeContext,
  start: number | undefined,
  end: number | undefined,
): Promise<EnvelopeSources | undefined> {
  const stored = storedKey(ctx.key);
  const { Item } = await ctx.doc.send(
    new GetCommand({
      TableName: ctx.tableName,
      Key: keys.runLatest(ctx.runId),
      ConsistentRead: true,
      ...latestEnvelopeProjection(ctx.key),
    }),
  );
  if (!Item) return undefined;
  const latest = Item as Partial<LatestItem>;
  const tailBytes = latest.tail?.[stored];
  const points: MetricPoint[] = tailBytes ? decodeChunk(tailBytes) : [];
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
  if (!summarized) rawOwn = skRange(ownPrefix, undefined, end);
  else if (hullLo !== undefined && hullHi !== undefined) {
    const from = ownFrom === undefined ? hullLo : Math.max(hullLo, ownFrom);
    const to = end === undefined ? hullHi : Math.min(hullHi, end);
    if (from <= to) rawOwn = skRange(ownPrefix, from, to);
  }

  const [summaryItems, ownItems, mixedItems] = await Promise.all([
    summarized
      ? query<{ sk: string; s: Uint8Array }>(ctx, skRange(summaryPrefix, ownFrom, end), {
          ProjectionExpression: 'sk, s',
        })
      : Promise.resolve([]),
    rawOwn
      ? query<{ sk: string; d: Uint8Array }>(ctx, rawOwn, { ProjectionExpression: 'sk, d' })
      : Promise.resolve([]),
    query<{ d?: Record<string, Uint8Array> }>(ctx, skRange(mixedPrefix, mixedFrom, end), {
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

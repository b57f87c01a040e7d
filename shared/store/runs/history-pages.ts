/**
 * Reads one page of a metric's history in (step, timestamp, value) order while reading only the chunks
 * that page needs, so that paging through N points reads about N points' worth of items, not N per page.
 *
 * Chunks sort by their first step (sk = `<prefix><sortable min step>#<id>`) and record their last step
 * (`hi`). Reading chunks in that order, once the next unread chunk starts at step S every point with a
 * step below S is known: those points can be served. A page stops reading as soon as it can serve
 * `limit` points. The next page resumes, per stream, at the first chunk read whose `hi` reaches the
 * page's last step (only chunks overlapping the page boundary are read twice), so logs written in step
 * order (the usual case) cost one pass over the history.
 *
 * Two streams are merged: the key's own chunks (`MC#<key>#`) and the mixed chunks (`MX#`, which hold
 * small groups of many keys). The run's unsealed tail is added to every page.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  comparePoints,
  decodeChunk,
  isStrictlyOrdered,
  sortAndDedupe,
} from '../../domain/runs/metric-codec.js';
import type { MetricPoint } from '../../domain/runs/model.js';
import { storedKey } from '../items.js';
import { keyConditions } from '../keys.js';
import { mixedChunkRangeProjection } from './entity.js';

/** Where each stream resumes: the sk to start from (inclusive). */
export type StreamResume = Record<'own' | 'mixed', string>;

export interface HistoryPageResult {
  points: MetricPoint[];
  /** Present when more points may follow. */
  next?: { after: MetricPoint; resume: StreamResume };
}

interface StepTime {
  step: number;
  timestamp: number;
}

interface ChunkRef {
  sk: string;
  /** First and last (step, timestamp) of the chunk. */
  lo: StepTime;
  hi: StepTime;
  points: MetricPoint[];
}

const END: StepTime = { step: Number.POSITIVE_INFINITY, timestamp: Number.POSITIVE_INFINITY };

/** Orders (step, timestamp) pairs. */
function compareStepTime(a: StepTime, b: StepTime): number {
  if (a.step !== b.step) return a.step < b.step ? -1 : 1;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return 0;
}

/** Items per Query call: small enough not to read far past what a page needs. */
const QUERY_LIMIT = 16;
const SORTABLE_STEP_WIDTH = 17;
const STEP_OFFSET = 2n ** 53n;

class ChunkStream {
  private buffer: ChunkRef[] = [];
  private startKey: Record<string, unknown> | undefined;
  private exhausted = false;
  private lastSk: string | undefined;
  readonly read: ChunkRef[] = [];

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly pk: string,
    private readonly prefix: string,
    private readonly from: string,
    private readonly pointsOf: (item: Record<string, unknown>) => MetricPoint[],
    private readonly projection?: ReturnType<typeof mixedChunkRangeProjection>,
    private readonly consistent = false,
  ) {}

  /** The next unread chunk; `wanted` says roughly how many chunks the page may still need. */
  async peek(wanted = QUERY_LIMIT): Promise<ChunkRef | undefined> {
    while (this.buffer.length === 0 && !this.exhausted) await this.fetch(wanted);
    return this.buffer[0];
  }

  async next(): Promise<ChunkRef | undefined> {
    const head = await this.peek();
    if (head) {
      this.buffer.shift();
      this.read.push(head);
      this.lastSk = head.sk;
    }
    return head;
  }

  /** Where the next page starts in this stream (inclusive), given the last point the page served. */
  resumeAfter(last: StepTime): string {
    const overlapping = this.read.find((chunk) => compareStepTime(chunk.hi, last) >= 0);
    if (overlapping) return overlapping.sk;
    const head = this.buffer[0];
    if (head) return head.sk;
    // Past the last chunk read: "\u0000" makes the inclusive BETWEEN start just after it.
    return this.lastSk === undefined ? this.from : `${this.lastSk}\u0000`;
  }

  private async fetch(wanted: number): Promise<void> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        ...keyConditions.between(this.pk, this.from, `${this.prefix}\uffff`),
        ...this.projection,
        // Read ahead only as far as the page is likely to need: every item read is paid for.
        Limit: Math.max(1, Math.min(QUERY_LIMIT, wanted)),
        ConsistentRead: this.consistent,
        ExclusiveStartKey: this.startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const sk = item.sk as string;
      // sk = <prefix><sortable first step>#<sortable first timestamp>#<content id>
      const at = this.prefix.length;
      const lo = {
        step: Number(BigInt(sk.slice(at, at + SORTABLE_STEP_WIDTH)) - STEP_OFFSET),
        timestamp: Number(
          BigInt(sk.slice(at + SORTABLE_STEP_WIDTH + 1, at + 2 * SORTABLE_STEP_WIDTH + 1)) - STEP_OFFSET,
        ),
      };
      const hi = { step: item.hi as number, timestamp: item.ht as number };
      this.buffer.push({ sk, lo, hi, points: this.pointsOf(item) });
    }
    this.startKey = page.LastEvaluatedKey;
    if (!this.startKey) this.exhausted = true;
  }
}

export interface HistoryPageRequest {
  doc: DynamoDBDocumentClient;
  tableName: string;
  pk: string;
  ownPrefix: string;
  mixedPrefix: string;
  /** The metric key (mixed chunks hold it stored, prefixed). */
  key: string;
  tail: MetricPoint[];
  after?: MetricPoint;
  resume?: StreamResume;
  limit: number;
}

export async function readHistoryPage(request: HistoryPageRequest): Promise<HistoryPageResult> {
  const { doc, tableName, pk, after, limit } = request;
  const isAfter = (point: MetricPoint) => after === undefined || comparePoints(point, after) > 0;
  const streams = [
    new ChunkStream(doc, tableName, pk, request.ownPrefix, request.resume?.own ?? request.ownPrefix, (item) =>
      decodeChunk(item.d as Uint8Array),
    ),
    new ChunkStream(
      doc,
      tableName,
      pk,
      request.mixedPrefix,
      request.resume?.mixed ?? request.mixedPrefix,
      (item) => {
        const bytes = (item.d as Record<string, Uint8Array> | undefined)?.[storedKey(request.key)];
        return bytes ? decodeChunk(bytes) : [];
      },
      mixedChunkRangeProjection(request.key),
      // Strongly consistent: a reader that saw the LATEST item without the tail points it sealed must
      // see the mixed chunk holding them, or those points would vanish from its page.
      true,
    ),
  ] as const;

  const candidates: MetricPoint[] = request.tail.filter(isAfter);
  // Every point before the first unread chunk's first (step, timestamp) is known and can be served.
  let nextStart: StepTime = END;
  let chunksRead = 0;
  const beforeNext = (point: MetricPoint) => compareStepTime(point, nextStart) < 0;
  for (;;) {
    // Chunks still needed, estimated from the points per chunk seen so far (one at first).
    const perChunk = chunksRead > 0 ? Math.max(1, candidates.length / chunksRead) : limit;
    const wanted = Math.ceil(Math.max(0, limit - candidates.length) / perChunk) + 1;
    const heads = await Promise.all(streams.map((stream) => stream.peek(wanted)));
    const [own, mixed] = heads;
    nextStart = [own?.lo ?? END, mixed?.lo ?? END].sort(compareStepTime)[0] as StepTime;
    if (nextStart === END) break;
    let complete = 0;
    for (const point of candidates) if (beforeNext(point)) complete++;
    if (complete >= limit) break;
    const from = compareStepTime(own?.lo ?? END, mixed?.lo ?? END) <= 0 ? 0 : 1;
    const chunk = await streams[from].next();
    chunksRead++;
    for (const point of chunk?.points ?? []) if (isAfter(point)) candidates.push(point);
  }

  // Chunks read in order usually hold points in order already: one pass proves it, saving a sort.
  const ordered = isStrictlyOrdered(candidates) ? candidates : sortAndDedupe(candidates);
  const servable = nextStart === END ? ordered : ordered.filter(beforeNext);
  const page = servable.slice(0, limit);
  const last = page.at(-1);
  const more = servable.length > limit || nextStart !== END;
  if (!last || !more) return { points: page };
  return {
    points: page,
    next: {
      after: last,
      resume: { own: streams[0].resumeAfter(last), mixed: streams[1].resumeAfter(last) },
    },
  };
}

/**
 * Run listings in index order (keys.ts: start time, end time, name). One page of a search reads each
 * index partition of the order from the page's position on, merges them, and stops once the page has
 * what it wants: its cost follows the page, not the experiment (issue 13).
 *
 * An index key orders runs by one value (a "group"); runs whose groups are equal (the same start time,
 * two names sharing their key's 400-byte prefix, every unfinished run when the search orders by end time
 * and then by something other than start time) are read whole and sorted by the search's full order, so
 * the merge yields exactly the search's order. Only the first runs of each partition are read past the
 * page, and only those of a group that straddles the page's end.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../concurrency.js';
import type { Run, RunListingPlan } from '../../domain/runs/model.js';
import { batchGetAll } from '../doc-commands.js';
import { isConditionFailure } from '../items.js';
import {
  type IndexName,
  keyConditions,
  keys,
  lifecycleMark,
  NAME_END,
  NAME_KEY_BYTES,
  sortableName,
  sortableNumber,
} from '../keys.js';
import {
  LATEST_LISTING_PROJECTION,
  type LatestItem,
  latestMetrics,
  type RunItem,
  type RunOrderItem,
  runOrderItem,
  toRun,
} from './entity.js';
import { withLatestGroups } from './latest-groups.js';

/** Above every character an order key holds (hex, digits, `#`, `.`, `A`–`Z`): ends "to the end" ranges. */
const KEY_TOP = '~';

/** Items per Query after the first: doubling, so a selective filter reaches the end in few round trips. */
const MAX_READ = 1000;

/**
 * Queries in flight for one listing: a search over 100 experiments has 400 partitions per stage, which
 * must not become 400 concurrent requests from one function.
 */
const READS_IN_FLIGHT = 16;

/** Order entries that disagree with their runs (a rename, move or finish cut short between its writes). */
export class StaleRunIndexError extends Error {
  constructor(readonly runIds: string[]) {
    super(`${runIds.length} run order entries disagree with their runs`);
  }
}

/**
 * Puts a run's ORDER item unless the stored one is of the same or a later RUN version: writers that race
 * (a rename and a delete, two renames, a listing's repair and a rename) may land in any order, and the
 * entry must end as the latest version's. An entry from before versions (none) is replaced.
 */
export async function putRunOrder(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: RunOrderItem,
): Promise<void> {
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(ver) OR ver < :ver',
        ExpressionAttributeValues: { ':ver': item.ver },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** Puts the ORDER items of runs found stale right, from a strongly consistent read of each RUN item. */
export async function repairRunOrders(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runIds: readonly string[],
): Promise<void> {
  const items = await batchGetAll<RunItem>(
    doc,
    tableName,
    runIds.map((runId) => keys.run(runId)),
    { consistent: true },
  );
  await Promise.all(
    items.map((item) => putRunOrder(doc, tableName, runOrderItem(toRun(item, undefined), item.ver))),
  );
}

interface StreamSpec {
  index: IndexName;
  partition: string;
  /** Every key of the stream begins with it (the stage, and for end time whether there is one). */
  prefix: string;
  forward: boolean;
  /** The key to read from (inclusive), in the stream's direction; undefined for its beginning. */
  from?: string;
  /** What of a key its order is decided by; keys with equal groups are sorted by the full order. */
  group(sk: string): string;
  /** Its items are ORDER items, read with their RUN items; else RUN items. */
  orders: boolean;
  /** 1 for runs without an end time, read after every phase-0 stream (nulls sort last). */
  phase: 0 | 1;
}

const upToLast = (separator: string) => (sk: string) => sk.slice(0, sk.lastIndexOf(separator));

/** The streams of one experiment for a plan: per stage, per shard (and for end time: with and without). */
function streamsOf(experimentId: string, plan: RunListingPlan): StreamSpec[] {
  const partitions = keys.runOrderPartitions(experimentId, plan.order);
  const after = plan.after;
  return plan.lifecycles.flatMap((stage) => {
    const mark = lifecycleMark(stage);
    return partitions.flatMap((partition): StreamSpec[] => {
      if (plan.order === 'start_time') {
        const prefix = `${mark}#`;
        return [
          {
            index: 'gsi1',
            partition,
            prefix,
            forward: plan.ascending,
            ...(typeof after?.value === 'number' ? { from: prefix + sortableNumber(after.value) } : {}),
            group: upToLast('#'),
            orders: false,
            phase: 0,
          },
        ];
      }
      if (plan.order === 'run_name') {
        const prefix = `${mark}#`;
        // Within a name, keys go by start time descending (MLflow's tie-break): read forward with that
        // tie-break next, runs of one name need no buffering; otherwise a name is one group.
        const byStart = plan.ascending && plan.thenStartAscending === false;
        const whole = (sk: string) => sk.slice(0, sk.indexOf(NAME_END));
        const name = typeof after?.value === 'string' ? sortableName(after.value) : undefined;
        const full = (hex: string) => hex.length < NAME_KEY_BYTES * 2;
        let from: string | undefined;
        if (name !== undefined && !plan.ascending) from = prefix + name + NAME_END;
        else if (name !== undefined && byStart && full(name) && typeof after?.start === 'number') {
          from = `${prefix}${name}${NAME_END}${sortableNumber(-after.start)}`;
        } else if (name !== undefined) from = prefix + name;
        return [
          {
            index: 'gsi1',
            partition,
            prefix,
            forward: plan.ascending,
            ...(from === undefined ? {} : { from }),
            // A name cut to its key prefix is one group whatever the start times: its full name decides.
            group: byStart
              ? (sk) => (full(whole(sk).slice(prefix.length)) ? upToLast('#')(sk) : whole(sk))
              : whole,
            orders: true,
            phase: 0,
          },
        ];
      }
      // End time: runs with one, then (in both directions) runs without, by start time when it is next.
      const streams: StreamSpec[] = [];
      const ended = `${mark}#V#`;
      if (after === undefined || typeof after.value === 'number') {
        streams.push({
          index: 'gsi2',
          partition,
          prefix: ended,
          forward: plan.ascending,
          ...(typeof after?.value === 'number' ? { from: ended + sortableNumber(after.value) } : {}),
          group: upToLast('#'),
          orders: true,
          phase: 0,
        });
      }
      const open = `${mark}#N#`;
      const byStart = plan.thenStartAscending !== undefined;
      streams.push({
        index: 'gsi2',
        partition,
        prefix: open,
        forward: plan.thenStartAscending ?? true,
        ...(after?.value === null && byStart && typeof after.start === 'number'
          ? { from: open + sortableNumber(after.start) }
          : {}),
        group: byStart ? upToLast('#') : () => open,
        orders: true,
        phase: 1,
      });
      return streams;
    });
  });
}

/** One index partition's runs in the search's order, read a batch at a time. */
class RunStream {
  /** Runs in final order, ready to merge. */
  private ready: Run[] = [];
  /** Items read whose group may continue in the next batch. */
  private pending: { sk: string; item: Record<string, unknown> }[] = [];
  private startKey: Record<string, unknown> | undefined;
  private ended = false;

  constructor(
    private readonly spec: StreamSpec,
    private readonly source: IndexSource,
    private readonly compare: (left: Run, right: Run) => number,
    private limit: number,
  ) {}

  head(): Run | undefined {
    return this.ready[0];
  }

  shift(): void {
    this.ready.shift();
  }

  /** Nothing ready, but more to read. */
  get hungry(): boolean {
    return this.ready.length === 0 && !(this.ended && this.pending.length === 0);
  }

  async read(): Promise<void> {
    const { spec } = this;
    const sortKey = `${spec.index}sk`;
    if (!this.ended) {
      const [from, to] = spec.forward
        ? [spec.from ?? spec.prefix, spec.prefix + KEY_TOP]
        : [spec.prefix, (spec.from ?? spec.prefix) + KEY_TOP];
      const page = await this.source.doc.send(
        new QueryCommand({
          TableName: this.source.tableName,
          ...keyConditions.indexBetween(spec.index, spec.partition, from, to),
          ScanIndexForward: spec.forward,
          Limit: this.limit,
          ExclusiveStartKey: this.startKey,
        }),
      );
      for (const item of page.Items ?? []) this.pending.push({ sk: String(item[sortKey]), item });
      this.startKey = page.LastEvaluatedKey;
      this.ended = this.startKey === undefined;
      this.limit = Math.min(this.limit * 2, MAX_READ);
    }
    // Everything before the last group read is final; the last group may go on in the next batch.
    const last = this.pending.at(-1);
    let cut = this.pending.length;
    if (!this.ended && last) {
      const group = spec.group(last.sk);
      while (cut > 0 && spec.group(this.pending[cut - 1]?.sk ?? '') === group) cut--;
    }
    const released = this.pending.splice(0, cut).map(({ item }) => item);
    const runs = spec.orders
      ? await this.source.runsOfOrders(released as unknown as RunOrderItem[])
      : (released as unknown as RunItem[]).map((item) => toRun(item, undefined));
    this.ready.push(...runs.sort(this.compare));
  }
}

/** How a listing reads: items per partition in its first Query (default: a little over its share). */
export interface ListingReads {
  firstRead?: number;
  /** Below this many runs per partition on average, a full listing answers (repository.ts). */
  minRunsPerPartition?: number;
}

interface IndexSource {
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** The runs of ORDER items that agree with them; throws StaleRunIndexError for any that do not. */
  runsOfOrders(items: RunOrderItem[]): Promise<Run[]>;
}

/**
 * The candidates of one search page, in the search's order, with their latest metrics: the runs read that
 * pass `plan.accept`, until there are `plan.wanted` or the experiments' runs in that order run out. Only
 * they have their LATEST item read (a filter that skips most runs reads no metrics for them).
 */
export async function readListing(
  doc: DynamoDBDocumentClient,
  tableName: string,
  experimentIds: readonly string[],
  plan: RunListingPlan,
  reads: ListingReads = {},
): Promise<Run[]> {
  const source: IndexSource = {
    doc,
    tableName,
    runsOfOrders: (items) => runsOfOrders(doc, tableName, items),
  };
  const specs = experimentIds.flatMap((experimentId) => streamsOf(experimentId, plan));
  // Runs spread evenly over shards: a little over each one's share, so most pages take one read each.
  const first =
    reads.firstRead ?? Math.min(MAX_READ, Math.ceil((plan.wanted * 1.25) / Math.max(1, specs.length)) + 8);
  const streams = specs.map((spec) => new RunStream(spec, source, plan.compare, first));
  const candidates: Run[] = [];
  const seen = new Set<string>();
  // Runs without an end time follow every run with one, in both directions: their streams wait until
  // those are read out (an end-time page of finished runs never reads them).
  let phase = 0;
  while (candidates.length < plan.wanted) {
    const current = streams.filter((_, index) => specs[index]?.phase === phase);
    // A read may release nothing (its batch was one group that may go on): read until each has a head.
    for (let hungry = current.filter((stream) => stream.hungry); hungry.length > 0; ) {
      await mapWithLimit(hungry, READS_IN_FLIGHT, (stream) => stream.read());
      hungry = hungry.filter((stream) => stream.hungry);
    }
    if (phase === 0 && current.every((stream) => stream.head() === undefined)) {
      phase = 1;
      continue;
    }
    let best: RunStream | undefined;
    for (const stream of current) {
      const head = stream.head();
      if (!head) continue;
      const bestHead = best?.head();
      if (!bestHead || plan.compare(head, bestHead) < 0) best = stream;
    }
    const run = best?.head();
    if (!best || !run) break;
    best.shift();
    // A run moved between stages while the index caught up could show in two streams: serve it once.
    if (seen.has(run.runId)) continue;
    seen.add(run.runId);
    if (plan.accept(run)) candidates.push(run);
  }
  return withLatestMetrics(doc, tableName, candidates);
}

/** The runs of ORDER items, each checked against the name, stage and end time its entry was keyed from. */
async function runsOfOrders(
  doc: DynamoDBDocumentClient,
  tableName: string,
  entries: RunOrderItem[],
): Promise<Run[]> {
  const items = await batchGetAll<RunItem>(
    doc,
    tableName,
    entries.map((entry) => keys.run(entry.run_id)),
  );
  const byId = new Map(items.map((item) => [item.run_id, item]));
  const stale: string[] = [];
  const runs: Run[] = [];
  for (const entry of entries) {
    const item = byId.get(entry.run_id);
    // No RUN: a create that failed after writing its ORDER; no run to list.
    if (!item) continue;
    const run = toRun(item, undefined);
    if (
      item.run_name !== entry.run_name ||
      item.lifecycle_stage !== entry.lifecycle_stage ||
      item.end_time !== entry.end_time
    ) {
      stale.push(entry.run_id);
      continue;
    }
    runs.push(run);
  }
  if (stale.length > 0) throw new StaleRunIndexError(stale);
  return runs;
}

/** The runs with their latest metrics, read by key (one LATEST item per run, 100 per call). */
async function withLatestMetrics(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runs: Run[],
): Promise<Run[]> {
  const read = await batchGetAll<Pick<LatestItem, 'run_id' | 'm' | 'lg'>>(
    doc,
    tableName,
    runs.map((run) => keys.runLatest(run.runId)),
    { projection: LATEST_LISTING_PROJECTION },
  );
  const latest = await withLatestGroups(doc, tableName, read);
  const byRun = new Map(latest.map((item) => [item.run_id, item.m]));
  return runs.map((run) => ({ ...run, metrics: latestMetrics(byRun.get(run.runId)) }));
}

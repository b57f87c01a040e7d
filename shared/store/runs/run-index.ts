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
import type { Run, RunListingOrder, RunListingPlan } from '../../domain/runs/model.js';
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

/** One sorted source of runs: an index partition's range, or items already read (in their order). */
export interface StreamSpec {
  index: IndexName;
  partition: string;
  /** Every key of the stream begins with it (the stage, and for end time whether there is one). */
  prefix: string;
  forward: boolean;
  /** The key to read from (inclusive), in the stream's direction; undefined for its beginning. */
  from?: string;
  /** What of a key its order is decided by; keys with equal groups are sorted by the full order. */
  group(sk: string): string;
  /** The runs of a batch of its items (RUN items as they are; ORDER items or value entries read by key). */
  resolve(items: Record<string, unknown>[]): Promise<Run[]>;
  /** Streams of a phase are read out before the next phase's (nulls sort last, NaN before them). */
  phase: number;
  /** Items read already (open runs' LATEST items), with their keys in this stream's order: no Query. */
  items?: { sk: string; item: Record<string, unknown> }[];
  /**
   * Resolve at most about this many items at a time (whole groups), when resolving costs a read by key per
   * item and the stream's Query reads cheap items: only what the merge takes is resolved, not a whole batch.
   */
  resolveAtMost?: number;
}

export const upToLast = (separator: string) => (sk: string) => sk.slice(0, sk.lastIndexOf(separator));

/** The table a listing reads. */
export interface ListingSource {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/** The streams of one experiment for a plan: per stage, per shard (and for end time: with and without). */
function streamsOf(
  source: ListingSource,
  experimentId: string,
  plan: RunListingPlan & { order: RunListingOrder },
): StreamSpec[] {
  const partitions = keys.runOrderPartitions(experimentId, plan.order);
  const after = plan.after;
  const ofOrders = (items: Record<string, unknown>[]) =>
    runsOfOrders(source.doc, source.tableName, items as unknown as RunOrderItem[]);
  const ofRuns = async (items: Record<string, unknown>[]) =>
    (items as unknown as RunItem[]).map((item) => toRun(item, undefined));
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
            resolve: ofRuns,
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
            resolve: ofOrders,
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
          resolve: ofOrders,
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
        resolve: ofOrders,
        phase: 1,
      });
      return streams;
    });
  });
}

/** One stream's runs in the search's order, read a batch at a time. */
class RunStream {
  /** Runs in final order, ready to merge. */
  private ready: Run[] = [];
  /** Items read whose group may continue in the next batch. */
  private pending: { sk: string; item: Record<string, unknown> }[] = [];
  /** Whole groups read, waiting to be resolved (spec.resolveAtMost). */
  private unresolved: { sk: string; item: Record<string, unknown> }[] = [];
  private startKey: Record<string, unknown> | undefined;
  /** How many of `spec.items` were taken. */
  private taken = 0;
  private ended = false;

  constructor(
    private readonly spec: StreamSpec,
    private readonly source: ListingSource,
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
    return (
      this.ready.length === 0 && !(this.ended && this.pending.length === 0 && this.unresolved.length === 0)
    );
  }

  async read(): Promise<void> {
    const { spec } = this;
    const sortKey = `${spec.index}sk`;
    if (this.unresolved.length > 0) {
      await this.resolveSome();
      return;
    }
    if (!this.ended && spec.items) {
      // Items in memory are released a batch at a time too: each costs a read by key once released.
      const batch = spec.items.slice(this.taken, this.taken + this.limit);
      this.taken += batch.length;
      this.pending.push(...batch);
      this.ended = this.taken >= spec.items.length;
      this.limit = Math.min(this.limit * 2, MAX_READ);
    } else if (!this.ended) {
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
    this.unresolved.push(...this.pending.splice(0, cut));
    await this.resolveSome();
  }

  /** Resolves the next whole groups of `unresolved`, up to about spec.resolveAtMost items (all without it). */
  private async resolveSome(): Promise<void> {
    const { spec } = this;
    let take = Math.min(this.unresolved.length, spec.resolveAtMost ?? this.unresolved.length);
    const last = this.unresolved[take - 1];
    if (last) {
      const group = spec.group(last.sk);
      while (take < this.unresolved.length && spec.group(this.unresolved[take]?.sk ?? '') === group) take++;
    }
    const released = this.unresolved.splice(0, take).map(({ item }) => item);
    const runs = released.length > 0 ? await spec.resolve(released) : [];
    this.ready.push(...runs.sort(this.compare));
  }
}

/** How a listing reads: items per partition in its first Query (default: a little over its share). */
export interface ListingReads {
  firstRead?: number;
  /** Below this many runs per partition on average, a full listing answers (repository.ts). */
  minRunsPerPartition?: number;
  /** Value searches (value-search.ts): the most entries one clause is read for before it counts as broad. */
  clauseCap?: number;
  /** Value searches: read a filter's runs by key when they are at most this many (default: by cost). */
  byKeyAtMost?: number;
}

/** A listing gave up: it would read more runs by key than a full listing costs (value-search.ts). */
export class ReadBudgetError extends Error {}

/** Reads by key (RUN, LATEST items) a listing may still make. */
export class ReadBudget {
  constructor(private left: number) {}
  spend(reads: number): void {
    this.left -= reads;
    if (this.left < 0) throw new ReadBudgetError('the listing would read more than a full listing');
  }
}

/** How merged runs get their latest metrics, and which are passed over unread. */
export interface MergeOptions {
  /** Runs outside it are passed over before any read by key of theirs (a filter's value entries). */
  admit?: (runId: string) => boolean;
  /**
   * `after`: read for the accepted runs only (the filter and order need none); `before`: read in batches
   * before `accept` (a metric clause); `resolved`: the streams' runs carry them already.
   */
  metrics: 'after' | 'before' | 'resolved';
  budget?: ReadBudget;
  /** Give up (ReadBudgetError) once more runs than this were read from the streams (repository.ts). */
  passAtMost?: number;
}

/** What a merge found: the candidates, and whether every stream was read to its end. */
export interface MergedListing {
  runs: Run[];
  exhausted: boolean;
  seen: ReadonlySet<string>;
}

/**
 * The candidates of one search page, in the search's order, with their latest metrics: the runs read that
 * pass `plan.accept`, until there are `plan.wanted` or the experiments' runs in that order run out. Only
 * they have their LATEST item read (a filter that skips most runs reads no metrics for them), unless the
 * filter needs metrics (`options.metrics`).
 */
export async function readListing(
  doc: DynamoDBDocumentClient,
  tableName: string,
  experimentIds: readonly string[],
  plan: RunListingPlan & { order: RunListingOrder },
  reads: ListingReads = {},
  options: MergeOptions = { metrics: 'after' },
): Promise<Run[]> {
  const source: ListingSource = { doc, tableName };
  const specs = experimentIds.flatMap((experimentId) => streamsOf(source, experimentId, plan));
  return (await mergeStreams(source, specs, plan, reads, options)).runs;
}

/** Merges sorted streams into the search's order, phase by phase, keeping what `plan.accept` takes. */
export async function mergeStreams(
  source: ListingSource,
  specs: readonly StreamSpec[],
  plan: RunListingPlan,
  reads: ListingReads,
  options: MergeOptions,
): Promise<MergedListing> {
  // Runs spread evenly over shards: a little over each one's share, so most pages take one read each.
  const first =
    reads.firstRead ?? Math.min(MAX_READ, Math.ceil((plan.wanted * 1.25) / Math.max(1, specs.length)) + 8);
  const streams = specs.map((spec) => new RunStream(spec, source, plan.compare, first));
  const lastPhase = Math.max(0, ...specs.map((spec) => spec.phase));
  const candidates: Run[] = [];
  const seen = new Set<string>();
  // Runs waiting for their latest metrics before `accept` (options.metrics `before`), in order.
  let waiting: Run[] = [];
  let flushes = 0;
  const flush = async () => {
    if (waiting.length === 0) return;
    options.budget?.spend(waiting.length);
    const runs = await withLatestMetrics(source.doc, source.tableName, waiting);
    waiting = [];
    flushes++;
    for (const run of runs) if (plan.accept(run)) candidates.push(run);
  };
  let phase = 0;
  let exhausted = false;
  while (candidates.length < plan.wanted) {
    const current = streams.filter((_, index) => specs[index]?.phase === phase);
    // A read may release nothing (its batch was one group that may go on): read until each has a head.
    for (let hungry = current.filter((stream) => stream.hungry); hungry.length > 0; ) {
      await mapWithLimit(hungry, READS_IN_FLIGHT, (stream) => stream.read());
      hungry = hungry.filter((stream) => stream.hungry);
    }
    let best: RunStream | undefined;
    for (const stream of current) {
      const head = stream.head();
      if (!head) continue;
      const bestHead = best?.head();
      if (!bestHead || plan.compare(head, bestHead) < 0) best = stream;
    }
    const run = best?.head();
    if (!best || !run) {
      if (phase < lastPhase) {
        phase++;
        continue;
      }
      exhausted = true;
      break;
    }
    best.shift();
    // A run moved between stages while the index caught up could show in two streams: serve it once.
    if (seen.has(run.runId)) continue;
    seen.add(run.runId);
    if (options.passAtMost !== undefined && seen.size > options.passAtMost) {
      throw new ReadBudgetError('the listing would read more than the summaries');
    }
    if (options.admit && !options.admit(run.runId)) continue;
    if (options.metrics !== 'before') {
      if (plan.accept(run)) candidates.push(run);
      continue;
    }
    waiting.push(run);
    // Batches grow while few are accepted, so a rare match costs few round trips.
    const batch = Math.min(MAX_READ, Math.max(16, plan.wanted - candidates.length) * 2 ** flushes);
    if (waiting.length >= batch) await flush();
  }
  await flush();
  if (options.metrics === 'after') {
    options.budget?.spend(candidates.length);
    return { runs: await withLatestMetrics(source.doc, source.tableName, candidates), exhausted, seen };
  }
  return { runs: candidates, exhausted, seen };
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
export async function withLatestMetrics(
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

/**
 * Filtered and metric-ordered run searches from value entries (keys.ts: a metric's latest value per ended
 * run, a param's or a tag's value per run, open runs' LATEST items apart), for experiments marked `value_index`
 * (issue 13, item 2). Entries only narrow and order what is read: every run a page serves is read by key
 * (RUN and LATEST) and checked against the whole filter, the view and the cursor (`plan.accept`).
 *
 * - A filter clause entries can answer (RunListingPlan.valueClauses) is read as the run ids in its key
 *   ranges, up to a cap, so a clause that holds for most runs does not read them all. Open runs have no
 *   metric entries: a metric clause takes them from their LATEST items, read whole (they are few).
 * - The clauses read whole (under the cap) intersect into the runs that may match. Few of them: they are
 *   read by key and sorted in memory, whatever the order. Many: the order is streamed (a metric's value
 *   entries per shard and the open runs sorted in memory, or an order index, run-index.ts) and runs outside
 *   the set are passed over before any read by key.
 * - Clauses over the cap, and those entries cannot answer, are checked on the runs as read; a metric clause
 *   then needs each streamed run's LATEST item, which pays when it holds for most runs. Should a page read
 *   more by key than a full listing costs (ReadBudget), the search gives up and the full listing answers.
 *
 * Runs without the order's metric sort after every value and NaN in both directions; they have no entry.
 * A page that reaches them is answered from the filter's set when there is one, else by the full listing.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type {
  LatestMetric,
  Run,
  RunListingOrder,
  RunListingPlan,
  ValueClause,
} from '../../domain/runs/model.js';
import { batchGetAll, queryAll } from '../doc-commands.js';
import {
  keyConditions,
  keys,
  lifecycleMark,
  NAME_END,
  NAME_KEY_BYTES,
  RUN_SHARDS,
  sortableName,
  sortableNumber,
  TAG_VALUE_INDEX_VERSION,
} from '../keys.js';
import { LATEST_LISTING_PROJECTION, type LatestItem, latestMetrics, type RunItem, toRun } from './entity.js';
import { withLatestGroups } from './latest-groups.js';
import {
  type ListingReads,
  type ListingSource,
  mergeStreams,
  ReadBudget,
  ReadBudgetError,
  readListing,
  type StreamSpec,
  upToLast,
} from './run-index.js';

/** Above every character a value key holds (hex, digits, `#`, `.`, `A`–`Z`). */
const KEY_TOP = '~';

/** The most entries one clause is read for when it may prune reads by key (a metric order or clause). */
const CLAUSE_CAP = 16_000;

/** Items per Query of a clause's range: DynamoDB's 1 MB page holds about this many entries. */
const CLAUSE_PAGE = 4_000;

/**
 * What reads cost, in read units per item, as measured on DynamoDB Local (docs/benchmarks.md): by key
 * (BatchGet bills each item at least half a unit), a RUN item in an index Query, a value entry in one.
 */
const UNITS_BY_KEY = 0.5;
const UNITS_RUN_IN_QUERY = 0.1;
const UNITS_ENTRY_IN_QUERY = 0.03;
/** A full listing reads every RUN and LATEST item in Queries: ~0.113 units per run. */
const UNITS_FULL_LISTING_PER_RUN = 0.113;

const isIndexOrder = (order: RunListingPlan['order']): order is RunListingOrder =>
  order === 'start_time' || order === 'end_time' || order === 'run_name';

/** A clause's matching run ids as its entries (and open runs) name them; `complete` unless capped. */
interface ClauseSet {
  ids: Set<string>;
  complete: boolean;
}

/**
 * One search page's candidates (see RunListingPlan) from value entries and order indexes, or undefined
 * when this search is the full listing's: an experiment not marked `value_index`, an order no entry or
 * index keeps without a small filter set, a page past the order metric's entries, or a budget spent.
 * `runs` is how many runs the view holds (the experiments' counters): it prices the ways to read.
 */
export async function searchByValues(
  source: ListingSource,
  experimentIds: readonly string[],
  given: RunListingPlan,
  reads: ListingReads,
  runs: number,
): Promise<Run[] | undefined> {
  const marked = await markedVersion(source, experimentIds);
  if (marked === 0) {
    // Index orders need no entries: a filter that reads no metrics still pages by the order's keys.
    return isIndexOrder(given.order) && !given.needsMetrics
      ? readListing(source.doc, source.tableName, experimentIds, { ...given, order: given.order }, reads)
      : undefined;
  }
  // Experiments marked before tag entries: their tag clauses are checked on the runs as read.
  const plan =
    marked < TAG_VALUE_INDEX_VERSION
      ? { ...given, valueClauses: given.valueClauses.filter((clause) => clause.entity !== 'tag') }
      : given;
  const metricClauses = plan.valueClauses.some((clause) => clause.entity === 'metric');
  const open =
    plan.order === 'metric' || metricClauses ? await readOpenRuns(source, experimentIds) : new Map();
  const capOf = (clause: ValueClause) =>
    reads.clauseCap ??
    (plan.order === 'metric' || clause.entity === 'metric'
      ? CLAUSE_CAP
      : Math.min(CLAUSE_CAP, 2 * breakEven(plan, runs) + 100));
  const sets = await Promise.all(
    plan.valueClauses.map((clause) => readClause(source, experimentIds, plan, clause, capOf(clause), open)),
  );
  const allowed = intersect(sets.filter((set) => set.complete).map((set) => set.ids));
  const budget = new ReadBudget(
    Math.max(4 * plan.wanted + 400, (runs * UNITS_FULL_LISTING_PER_RUN) / UNITS_BY_KEY),
  );
  try {
    if (allowed && allowed.size <= (reads.byKeyAtMost ?? byKeyLimit(plan, runs, allowed.size))) {
      const read = await runsByKey(source, [...allowed], budget);
      return read.filter((run) => plan.accept(run)).sort(plan.compare);
    }
    const admit = allowed ? (runId: string) => allowed.has(runId) : undefined;
    if (plan.order === 'metric')
      return await metricOrder(source, experimentIds, plan, reads, open, allowed, budget);
    if (!isIndexOrder(plan.order)) return undefined;
    return await readListing(
      source.doc,
      source.tableName,
      experimentIds,
      { ...plan, order: plan.order },
      reads,
      {
        ...(admit ? { admit } : {}),
        metrics: plan.needsMetrics ? 'before' : 'after',
        budget,
      },
    );
  } catch (error) {
    if (error instanceof ReadBudgetError) return undefined;
    throw error;
  }
}

/**
 * The most runs a filter's set is read by key for: as many as streaming the order would cost in read units
 * (by key, a run costs its RUN and LATEST items, one unit), where streaming scans runs / |set| runs per run
 * it serves. An order no stream keeps has only the set or the full listing.
 */
function byKeyLimit(plan: RunListingPlan, runs: number, size: number): number {
  const density = Math.min(1, Math.max(size, 1) / Math.max(runs, 1));
  const scanned = Math.min(runs, plan.wanted / density);
  switch (plan.order) {
    case 'metric':
      return scanned * UNITS_ENTRY_IN_QUERY + plan.wanted * 2 * UNITS_BY_KEY;
    case 'start_time':
      return scanned * UNITS_RUN_IN_QUERY + plan.wanted * UNITS_BY_KEY;
    case 'end_time':
    case 'run_name':
      // ORDER entries in the Query, then each one's RUN item by key.
      return scanned * (UNITS_RUN_IN_QUERY + UNITS_BY_KEY) + plan.wanted * UNITS_BY_KEY;
    default:
      return runs * UNITS_FULL_LISTING_PER_RUN + 200;
  }
}

/**
 * The largest set worth reading by key (byKeyLimit falls as the set grows): a param clause read past twice
 * this is read only to learn that the order's stream answers, which reads those runs' RUN items anyway.
 */
function breakEven(plan: RunListingPlan, runs: number): number {
  let [low, high] = [0, Math.max(1, runs)];
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (middle <= byKeyLimit(plan, runs, middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The lowest `value_index` of the experiments (0 when one is unmarked or missing). */
async function markedVersion(source: ListingSource, experimentIds: readonly string[]): Promise<number> {
  const items = await batchGetAll<{ experiment_id: string; value_index?: number }>(
    source.doc,
    source.tableName,
    experimentIds.map((experimentId) => keys.experiment(experimentId)),
    { projection: 'experiment_id, value_index' },
  );
  const marks = new Map(items.map((item) => [item.experiment_id, item.value_index ?? 0]));
  return Math.min(...experimentIds.map((experimentId) => marks.get(experimentId) ?? 0));
}

/** The open runs' latest metrics (their LATEST items, in `EXPOPEN#…`), by run id. */
async function readOpenRuns(
  source: ListingSource,
  experimentIds: readonly string[],
): Promise<Map<string, Record<string, LatestMetric>>> {
  const partitions = experimentIds.flatMap((experimentId) => keys.runOpenLatestPartitions(experimentId));
  const pages = await Promise.all(
    partitions.map((partition) =>
      queryAll<Pick<LatestItem, 'run_id' | 'm' | 'lg'>>(source.doc, {
        TableName: source.tableName,
        ...keyConditions.indexPartition('gsi2', partition),
        ProjectionExpression: LATEST_LISTING_PROJECTION,
      }),
    ),
  );
  const latest = await withLatestGroups(source.doc, source.tableName, pages.flat());
  return new Map(latest.map((item) => [item.run_id, latestMetrics(item.m)]));
}

function ownMetric(metrics: Record<string, LatestMetric>, key: string): LatestMetric | undefined {
  return Object.hasOwn(metrics, key) ? metrics[key] : undefined;
}

/** The sort-key ranges (inclusive) of a clause's entries in one lifecycle stage. */
function clauseRanges(clause: ValueClause, mark: string): [string, string][] {
  if (clause.entity === 'metric') {
    const prefix = `${mark}#V#`;
    const at = `${prefix}${sortableNumber(clause.value)}#`;
    const end = prefix + KEY_TOP;
    switch (clause.comparator) {
      case '=':
        return [[at, at + KEY_TOP]];
      case '<':
        return [[prefix, at]];
      case '<=':
        return [[prefix, at + KEY_TOP]];
      case '>':
        return [[at + KEY_TOP, end]];
      default:
        return [[at, end]];
    }
  }
  const prefix = `${mark}#`;
  if ('exact' in clause.range) {
    const value = clause.range.exact;
    const hex = sortableName(value);
    // A value longer than the key's prefix shares its key with others: the entries' values tell them apart.
    const whole = Buffer.byteLength(value, 'utf8') < NAME_KEY_BYTES;
    return [
      whole
        ? [prefix + hex + NAME_END, prefix + hex + NAME_END + KEY_TOP]
        : [prefix + hex, prefix + hex + KEY_TOP],
    ];
  }
  const hex = sortableName(clause.range.prefix);
  return [[prefix + hex, prefix + hex + KEY_TOP]];
}

/** The run ids a clause's entries (and, for a metric, the open runs) name, reading at most `cap` entries. */
async function readClause(
  source: ListingSource,
  experimentIds: readonly string[],
  plan: RunListingPlan,
  clause: ValueClause,
  cap: number,
  open: Map<string, Record<string, LatestMetric>>,
): Promise<ClauseSet> {
  const reads = experimentIds.flatMap((experimentId) =>
    keys
      .valuePartitions(experimentId, clause.entity, clause.key)
      .flatMap((partition) =>
        plan.lifecycles.flatMap((stage) =>
          clauseRanges(clause, lifecycleMark(stage)).map(([from, to]) => ({ partition, from, to })),
        ),
      ),
  );
  const share = Math.max(1, Math.ceil(cap / Math.max(1, reads.length)));
  const ids = new Set<string>();
  let complete = true;
  await Promise.all(
    reads.map(async ({ partition, from, to }) => {
      let startKey: Record<string, unknown> | undefined;
      let read = 0;
      do {
        const page = await source.doc.send(
          new QueryCommand({
            TableName: source.tableName,
            ...keyConditions.indexBetween('gsi1', partition, from, to),
            ProjectionExpression: 'run_id, #v',
            ExpressionAttributeNames: { '#v': 'value' },
            Limit: Math.min(CLAUSE_PAGE, share - read),
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of (page.Items ?? []) as { run_id: string; value?: string }[]) {
          // A param range may hold other values (a long value's key prefix, a LIKE's literal prefix).
          // A tag's entry without its value (a long one, TAG_ENTRY_VALUE_BYTES) names a candidate only.
          if (clause.entity === 'param' && !(typeof item.value === 'string' && clause.matches(item.value)))
            continue;
          if (clause.entity === 'tag' && typeof item.value === 'string' && !clause.matches(item.value))
            continue;
          ids.add(item.run_id);
        }
        read += page.Items?.length ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey && read < share);
      if (startKey) complete = false;
    }),
  );
  if (clause.entity === 'metric') {
    for (const [runId, metrics] of open) {
      const metric = ownMetric(metrics, clause.key);
      if (metric && clause.matches(metric.value)) ids.add(runId);
    }
  }
  return { ids, complete };
}

function intersect(sets: Set<string>[]): Set<string> | undefined {
  if (sets.length === 0) return undefined;
  const [smallest, ...others] = [...sets].sort((left, right) => left.size - right.size);
  return new Set([...(smallest as Set<string>)].filter((id) => others.every((set) => set.has(id))));
}

/** Runs by id with their latest metrics (RUN and LATEST items by key); ids with no RUN item are left out. */
async function runsByKey(
  source: ListingSource,
  runIds: readonly string[],
  budget: ReadBudget,
): Promise<Run[]> {
  if (runIds.length === 0) return [];
  budget.spend(runIds.length * 2);
  const [runItems, latestItems] = await Promise.all([
    batchGetAll<RunItem>(
      source.doc,
      source.tableName,
      runIds.map((runId) => keys.run(runId)),
    ),
    batchGetAll<Pick<LatestItem, 'run_id' | 'm' | 'lg'>>(
      source.doc,
      source.tableName,
      runIds.map((runId) => keys.runLatest(runId)),
      { projection: LATEST_LISTING_PROJECTION },
    ),
  ]);
  const completed = await withLatestGroups(source.doc, source.tableName, latestItems);
  const latest = new Map(completed.map((item) => [item.run_id, item]));
  return runItems.map((item) => toRun(item, latest.get(item.run_id)));
}

/**
 * A page in a metric's order: per experiment, stage and shard, the key's entries from the cursor's value
 * (then its NaN entries), and the open runs that have the key, sorted here; runs read in value groups and
 * sorted by the search's full order within a group (run-index.ts), so ties go as the full order says.
 */
async function metricOrder(
  source: ListingSource,
  experimentIds: readonly string[],
  plan: RunListingPlan,
  reads: ListingReads,
  open: Map<string, Record<string, LatestMetric>>,
  allowed: Set<string> | undefined,
  budget: ReadBudget,
): Promise<Run[] | undefined> {
  const key = plan.metricKey as string;
  const after = plan.after?.value;
  const resolve = (items: Record<string, unknown>[]) =>
    runsByKey(
      source,
      items.map((item) => String(item.run_id)).filter((runId) => !allowed || allowed.has(runId)),
      budget,
    );
  const specs: StreamSpec[] = [];
  // Each entry resolved costs its RUN and LATEST by key: resolve a little over a stream's share at a time.
  const resolveAtMost =
    Math.ceil((plan.wanted * 1.25) / (experimentIds.length * RUN_SHARDS * plan.lifecycles.length + 1)) + 4;
  // Cursor past every value and NaN: the runs without the key, which no entry names.
  if (after !== null) {
    const nanOnly = typeof after === 'number' && Number.isNaN(after);
    for (const experimentId of experimentIds) {
      for (const partition of keys.valuePartitions(experimentId, 'metric', key)) {
        for (const stage of plan.lifecycles) {
          const mark = lifecycleMark(stage);
          if (!nanOnly) {
            const prefix = `${mark}#V#`;
            specs.push({
              index: 'gsi1',
              partition,
              prefix,
              forward: plan.ascending,
              ...(typeof after === 'number' ? { from: prefix + sortableNumber(after) } : {}),
              group: upToLast('#'),
              resolve,
              resolveAtMost,
              phase: 0,
            });
          }
          const nan = `${mark}#X#`;
          specs.push({
            index: 'gsi1',
            partition,
            prefix: nan,
            forward: true,
            group: () => nan,
            resolve,
            phase: 1,
          });
        }
      }
    }
    const values: { sk: string; item: Record<string, unknown> }[] = [];
    const nans: { sk: string; item: Record<string, unknown> }[] = [];
    for (const [runId, metrics] of open) {
      const metric = ownMetric(metrics, key);
      if (!metric || (allowed && !allowed.has(runId))) continue;
      const value = metric.value;
      if (Number.isNaN(value)) nans.push({ sk: `X#${runId}`, item: { run_id: runId } });
      else if (
        !nanOnly &&
        (typeof after !== 'number' || (plan.ascending ? value >= after : value <= after))
      ) {
        values.push({ sk: `V#${sortableNumber(value)}#${runId}`, item: { run_id: runId } });
      }
    }
    values.sort(
      (left, right) => (left.sk < right.sk ? -1 : left.sk > right.sk ? 1 : 0) * (plan.ascending ? 1 : -1),
    );
    const memory = {
      index: 'gsi2' as const,
      partition: 'open',
      forward: plan.ascending,
      resolve,
      resolveAtMost,
    };
    specs.push({ ...memory, prefix: 'V#', group: upToLast('#'), phase: 0, items: values });
    specs.push({ ...memory, prefix: 'X#', group: () => 'X', phase: 1, items: nans });
  }
  const merged = await mergeStreams(source, specs, plan, reads, { metrics: 'resolved', budget });
  if (merged.runs.length >= plan.wanted) return merged.runs;
  // Read out: what is left are runs without the key (or entries not yet written), all in the set if any.
  if (!allowed) return undefined;
  const rest = [...allowed].filter((runId) => !merged.seen.has(runId));
  const more = (await runsByKey(source, rest, budget)).filter((run) => plan.accept(run));
  return [...merged.runs, ...more].sort(plan.compare);
}

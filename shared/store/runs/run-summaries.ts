/**
 * Run summaries (issue 13, item 2): every run of an experiment as one compact row (id, name, status, times,
 * user, stage, artifact URI, params, tags, dataset inputs' names, digests and contexts), many rows to an
 * item, brotli-compressed. A filter that neither an order index nor value entries answer (`!=`, `IS NULL`, a
 * LIKE that starts with a wildcard, the UI's run-name search box, status, time and dataset filters), or an
 * order by a param, tag or other attribute, reads the experiment's summaries (a few bytes per run) instead
 * of its RUN items (~600 bytes each), filters and sorts them in memory, and reads by key only the runs the
 * page serves. Those are checked against the whole filter as read: a summary only narrows, as value entries
 * do.
 *
 * Kept in step with writes without a shared item on any write path, so that many writers creating runs in
 * one experiment never contend: a write that changes what a row holds puts a **mark**
 * (`EXPSUMMARK#<experiment>#<shard>`, one small item per write, keyed by the run and the write's own token,
 * so no write's mark ever replaces another's), stamped with the RUN version the write produces. Creates and
 * param and tag writes put theirs in the BatchWrite of their value entries (no call of their own), dataset
 * inputs, moves and purges before their RUN write; a status, end or name change puts it beside what follows
 * its update (no round trip of its own). A fold reads the RUN item after the mark, so either order leaves the row right;
 * the second only lets a search see the old row until the mark lands. An update whose call fails, and which
 * may have landed, puts its mark before the error is returned; should the process die between the two, or
 * the mark's Put fail after the update, the row waits for the run's next write, the client's retry, or
 * `cairn migrate --all`, as an end's entries do.
 *
 * A reader reads the marks (strongly consistent), then the segments, and takes marked runs from their RUN
 * items, so a row is never trusted for a run written since it was made. (A search reads segments eventually
 * consistent, at half the cost: for about a second after a fold it may still see a row the fold replaced,
 * as every index read in this table may lag a write.) When marks pile up, the reader folds them into the
 * segments (`compact`): it writes the rows of the marked runs as they stand (each segment under its
 * generation number: two folds never both write one), then deletes each mark only if the RUN item read is
 * at or past its version. Why that is enough: a write whose update has not landed yet has its own mark, of a
 * later version, which stays; a write after the fold puts a new mark. A mark stamped above a version its run
 * never reached (a write that died before its update) is dropped once it is older than any write can be in
 * flight.
 *
 * A mark whose run has no RUN item is a create's (or an import's) whose RUN Put has not landed (kept), or a
 * purge's, which marks with PURGE_MARK before it deletes the RUN item: the fold that follows drops the row,
 * and the run's marks up to the purge's.
 */

import { randomBytes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../concurrency.js';
import type { LifecycleStage } from '../../domain/experiments/model.js';
import type { KeysRead, Run, RunListingPlan, RunStatus } from '../../domain/runs/model.js';
import { batchGetAll, putBatch, queryAll, sendIfCondition } from '../doc-commands.js';
import { fromStoredMap } from '../items.js';
import { keyConditions, keys, RUN_SUMMARIES_VERSION } from '../keys.js';
import { type RunItem, toRun } from './entity.js';
import { withLatestMetrics } from './run-index.js';

/**
 * Rows per segment, and the most a row's params and tags may take (JSON characters) before they are left out
 * of it: together they keep a segment's JSON, compressed or not, well under DynamoDB's 400 KB item (a typical
 * segment compresses to ~20 KB, so a compaction that adds a run rewrites about that).
 */
export const SEGMENT_ROWS = 150;
const ROW_CHARS = 800;

/**
 * A param or tag value longer than this (a model's history tag) is left out of its row and its key listed in
 * the row's `c`, so a filter or order on that key reads the run instead of trusting the row.
 */
const VALUE_CHARS = 200;

/** `c` of a row whose params and tags are all left out (they would take more than ROW_CHARS). */
const ALL_CUT = '*';

/**
 * A run name or user longer than this, or an artifact URI longer than twice it, is left out of its row too
 * (`c` holds `:`): the row then cannot tell any filter or order, and its run is read.
 */
const ATTRIBUTE_CHARS = 250;
const ATTRIBUTE_CUT = ':';

/**
 * A run's dataset inputs (name, digest, context) past this many JSON characters are left out of its row
 * (`c` holds `d`): a dataset filter then reads the run.
 */
const DATASET_CHARS = 400;
const DATASET_CUT = 'd';

/** The dataset input tag that holds its context (as search.ts reads it). */
const DATASET_CONTEXT_TAG = 'mlflow.data.context';

/** The version a purge marks its run with: no writer's mark replaces it (putSummaryMark). */
export const PURGE_MARK = Number.MAX_SAFE_INTEGER;

/**
 * An index-ordered search reads at most 1 run in this many of the order index before it turns to the
 * summaries: a run there is ~600 bytes (its RUN item), in a summary ~33, so the try costs at most about half
 * what the summaries do, and a filter that passes more than ~3 % of 100,000 runs fills its page within it.
 */
export const LISTED_PER_SUMMARY = 32;

/** Marks an experiment may hold before a search folds them into its summaries. */
const COMPACT_AT = 64;

/** Marks one search folds at most (a migration folds them all, this many at a time). */
const COMPACT_MAX = 1000;

/**
 * Marks beyond which a search does not read the marked runs (each by key): it folds COMPACT_MAX of them and
 * leaves the page to the order index or the full listing. Only writers that outrun every summary search
 * for long (a bulk import) leave this many.
 */
const MARKS_AT_MOST = 1000;

/** Longer than any write can be in flight (as migrate-index.ts's): a mark this old above its run's version is a dead write's. */
const WRITE_IN_FLIGHT_MS = 15 * 60_000;

/** Experiments a search reads the summaries of at once (it may name 100). */
const EXPERIMENTS_IN_FLIGHT = 4;

/** Segment writes in flight during one compaction. */
const WRITES_IN_FLIGHT = 8;

/** One run as a summary holds it; short names keep the stored JSON small before it is compressed. */
export interface SummaryRow {
  /** run id */
  i: string;
  /** run name */
  n: string;
  s: RunStatus;
  /** start time, end time (ms) */
  b: number;
  e?: number;
  /** user id */
  u: string;
  /** lifecycle stage */
  l: LifecycleStage;
  /** artifact URI */
  a: string;
  /** params and tags as [key, value] pairs (never objects: keys are user data) */
  p: [string, string][];
  t: [string, string][];
  /** dataset inputs as [name, digest, context or null] */
  d?: [string, string, string | null][];
  /** keys whose value was cut (`p:<key>`, `t:<key>`), or what was left out whole (`*`, `:`, `d`) */
  c?: string[];
  /** the RUN version the row was made from */
  v: number;
}

export interface SummarySegmentItem {
  pk: string;
  sk: string;
  type: 'run-summary';
  /** Bumped by every write: a compaction writes a segment only under the generation it read. */
  gen: number;
  rows: number;
  data: Uint8Array;
}

export interface SummaryMarkItem {
  pk: string;
  sk: string;
  type: 'run-summary-mark';
  run_id: string;
  /** The RUN version the marking write produces (or the version the run had, for a purge or migration). */
  ver: number;
  at: number;
}

interface Store {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

function kept(kind: 'p' | 't', map: Record<string, string>, cuts: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(map)) {
    if (value.length <= VALUE_CHARS) pairs.push([key, value]);
    else cuts.push(`${kind}:${key}`);
  }
  return pairs;
}

/** A run's row, from its RUN item. */
export function summaryRow(item: RunItem): SummaryRow {
  const cuts: string[] = [];
  let p = kept('p', fromStoredMap(item.params), cuts);
  let t = kept('t', fromStoredMap(item.tags), cuts);
  if (JSON.stringify([p, t, cuts]).length > ROW_CHARS) {
    p = [];
    t = [];
    cuts.splice(0, cuts.length, ALL_CUT);
  }
  const long =
    item.run_name.length > ATTRIBUTE_CHARS ||
    item.user_id.length > ATTRIBUTE_CHARS ||
    item.artifact_uri.length > 2 * ATTRIBUTE_CHARS;
  if (long) cuts.push(ATTRIBUTE_CUT);
  const datasets = (item.datasets ?? []).map((dataset): [string, string, string | null] => [
    dataset.name,
    dataset.digest,
    Object.hasOwn(dataset.tags, DATASET_CONTEXT_TAG) ? (dataset.tags[DATASET_CONTEXT_TAG] ?? null) : null,
  ]);
  const d = JSON.stringify(datasets).length > DATASET_CHARS ? undefined : datasets;
  if (!d) cuts.push(DATASET_CUT);
  return {
    i: item.run_id,
    n: long ? '' : item.run_name,
    s: item.status,
    b: item.start_time,
    ...(item.end_time === undefined ? {} : { e: item.end_time }),
    u: long ? '' : item.user_id,
    l: item.lifecycle_stage,
    a: long ? '' : item.artifact_uri,
    p,
    t,
    ...(d && d.length > 0 ? { d } : {}),
    ...(cuts.length > 0 ? { c: cuts } : {}),
    v: item.ver,
  };
}

/** The attributes a row may leave out (ATTRIBUTE_CHARS). */
const CUT_ATTRIBUTES = new Set(['run_name', 'user_id', 'artifact_uri']);

/** Whether a row left out a value of one of these keys (what a filter or an order reads). */
export function rowLacks(row: SummaryRow, reads: KeysRead): boolean {
  if (!row.c) return false;
  if (row.c.includes(ATTRIBUTE_CUT) && reads.attributes.some((key) => CUT_ATTRIBUTES.has(key))) return true;
  if (row.c.includes(DATASET_CUT) && reads.datasets.length > 0) return true;
  if (row.c.includes(ALL_CUT)) return reads.params.length + reads.tags.length > 0;
  return (
    reads.params.some((key) => row.c?.includes(`p:${key}`)) ||
    reads.tags.some((key) => row.c?.includes(`t:${key}`))
  );
}

/**
 * A segment as stored: its rows by column (each field's values together, params and tags by key, start times
 * as differences, end times as durations, the run id cut out of its artifact URI), which brotli packs to
 * about a third of the same rows as objects: ~33 bytes a run for a sweep's runs, most of it the run id.
 */
interface Columns {
  i: string[];
  n: string[];
  s: RunStatus[];
  b: number[];
  e: (number | null)[];
  u: string[];
  l: LifecycleStage[];
  /** The artifact URI without the run id, and where the id was cut from (-1: it held none). */
  a: string[];
  at: number[];
  p: Column[];
  t: Column[];
  d: ([string, string, string | null][] | null)[];
  c: (string[] | null)[];
  v: number[];
}

/**
 * One param's or tag's values in a segment: by row (null where a row lacks it) when most rows have it, else
 * as [row, value] pairs, so that runs with keys of their own do not make a segment rows × keys long.
 */
type Column = [string, (string | null)[]] | [string, null, [number, string][]];

function byKey(rows: readonly SummaryRow[], pairs: (row: SummaryRow) => [string, string][]): Column[] {
  const columns = new Map<string, [number, string][]>();
  rows.forEach((row, index) => {
    for (const [key, value] of pairs(row)) {
      let column = columns.get(key);
      if (!column) {
        column = [];
        columns.set(key, column);
      }
      column.push([index, value]);
    }
  });
  return [...columns].map(([key, values]): Column => {
    if (values.length * 2 < rows.length) return [key, null, values];
    const dense = new Array<string | null>(rows.length).fill(null);
    for (const [index, value] of values) dense[index] = value;
    return [key, dense];
  });
}

/** Each row's [key, value] pairs of a segment's columns. */
function pairsByRow(columns: readonly Column[], rows: number): [string, string][][] {
  const byRow = Array.from({ length: rows }, (): [string, string][] => []);
  for (const [key, dense, sparse] of columns) {
    if (dense) {
      dense.forEach((value, index) => {
        if (value !== null) byRow[index]?.push([key, value]);
      });
    } else {
      for (const [index, value] of sparse ?? []) byRow[index]?.push([key, value]);
    }
  }
  return byRow;
}

export function encodeRows(rows: readonly SummaryRow[]): Uint8Array {
  const at = rows.map((row) => row.a.indexOf(row.i));
  const columns: Columns = {
    i: rows.map((row) => row.i),
    n: rows.map((row) => row.n),
    s: rows.map((row) => row.s),
    b: rows.map((row, index) => row.b - (index > 0 ? (rows[index - 1]?.b ?? 0) : 0)),
    e: rows.map((row) => (row.e === undefined ? null : row.e - row.b)),
    u: rows.map((row) => row.u),
    l: rows.map((row) => row.l),
    a: rows.map((row, index) => {
      const cut = at[index] ?? -1;
      return cut < 0 ? row.a : row.a.slice(0, cut) + row.a.slice(cut + row.i.length);
    }),
    at,
    p: byKey(rows, (row) => row.p),
    t: byKey(rows, (row) => row.t),
    d: rows.map((row) => row.d ?? null),
    c: rows.map((row) => row.c ?? null),
    v: rows.map((row) => row.v),
  };
  return brotliCompressSync(Buffer.from(JSON.stringify(columns)), {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 },
  });
}

/**
 * The most a segment's data may take: DynamoDB items are at most 400 KB, and row limits count characters,
 * which UTF-8 may take three bytes each for (a segment of long non-Latin names, users and values).
 */
const SEGMENT_BYTES = 350_000;

/** A row that keeps only what no limit cuts (id, status, times, stage): its run is read for anything else. */
function skeleton(row: SummaryRow): SummaryRow {
  return {
    ...row,
    n: '',
    u: '',
    a: '',
    p: [],
    t: [],
    d: undefined,
    c: [ATTRIBUTE_CUT, ALL_CUT, DATASET_CUT],
  };
}

/** A segment's data, its largest rows cut to skeletons should the whole exceed SEGMENT_BYTES. */
export function encodeSegment(rows: readonly SummaryRow[]): Uint8Array {
  const data = encodeRows(rows);
  if (data.length <= SEGMENT_BYTES) return data;
  const sizes = rows.map((row) => JSON.stringify(row).length).sort((left, right) => left - right);
  // Rows above the median first, then every row: the second always fits (~100 bytes a row).
  const median = sizes[Math.floor(sizes.length / 2)] ?? 0;
  const halved = encodeRows(rows.map((row) => (JSON.stringify(row).length > median ? skeleton(row) : row)));
  return halved.length <= SEGMENT_BYTES ? halved : encodeRows(rows.map(skeleton));
}

export function decodeRows(data: Uint8Array): SummaryRow[] {
  const columns = JSON.parse(brotliDecompressSync(data).toString('utf8')) as Columns;
  const params = pairsByRow(columns.p, columns.i.length);
  const tags = pairsByRow(columns.t, columns.i.length);
  let start = 0;
  return columns.i.map((id, index): SummaryRow => {
    start += columns.b[index] ?? 0;
    const end = columns.e[index];
    const cut = columns.at[index] ?? -1;
    const uri = columns.a[index] ?? '';
    const cuts = columns.c[index];
    const datasets = columns.d[index];
    return {
      i: id,
      n: columns.n[index] ?? '',
      s: columns.s[index] ?? 'RUNNING',
      b: start,
      ...(end === null || end === undefined ? {} : { e: start + end }),
      u: columns.u[index] ?? '',
      l: columns.l[index] ?? 'active',
      a: cut < 0 ? uri : uri.slice(0, cut) + id + uri.slice(cut),
      p: params[index] ?? [],
      t: tags[index] ?? [],
      ...(datasets ? { d: datasets } : {}),
      ...(cuts ? { c: cuts } : {}),
      v: columns.v[index] ?? 0,
    };
  });
}

/** The run a row describes, as far as a row can: no metrics or model links, and of each dataset input what a filter reads. */
export function rowRun(row: SummaryRow, experimentId: string): Run {
  return {
    runId: row.i,
    experimentId,
    runName: row.n,
    userId: row.u,
    status: row.s,
    startTime: row.b,
    ...(row.e === undefined ? {} : { endTime: row.e }),
    artifactUri: row.a,
    lifecycleStage: row.l,
    params: Object.fromEntries(row.p),
    tags: Object.fromEntries(row.t),
    metrics: {},
    // As much of each input as a dataset filter reads.
    datasets: (row.d ?? []).map(([name, digest, context]) => ({
      name,
      digest,
      sourceType: '',
      source: '',
      tags: context === null ? {} : ({ [DATASET_CONTEXT_TAG]: context } as Record<string, string>),
    })),
    modelOutputs: [],
    modelInputs: [],
  };
}

/** The mark a write puts before it changes what `runId`'s row holds; `ver` the RUN version it will produce. */
export function summaryMark(experimentId: string, runId: string, ver: number): SummaryMarkItem {
  return {
    ...keys.runSummaryMark(experimentId, runId, randomBytes(9).toString('base64url')),
    type: 'run-summary-mark',
    run_id: runId,
    ver,
    at: Date.now(),
  };
}

/** Puts a write's mark on its own (a write with no BatchWrite to put it in). */
export async function putSummaryMark(
  store: Store,
  experimentId: string,
  runId: string,
  ver: number,
): Promise<void> {
  await store.doc.send(
    new PutCommand({ TableName: store.tableName, Item: summaryMark(experimentId, runId, ver) }),
  );
}

/** One experiment's summaries as read: the current row of every run, and the segments they came from. */
interface SummaryState {
  experimentId: string;
  marks: SummaryMarkItem[];
  segments: { shard: number; number: number; gen: number; rows: Map<string, SummaryRow> }[];
  /** The marked runs' RUN items as read (strongly consistent for a fold), by run id; absent when gone. */
  marked: Map<string, RunItem>;
}

/** Marks, then segments, then the marked runs: a mark deleted before the marks' read was folded before it. */
async function readState(
  store: Store,
  experimentId: string,
  consistent: boolean,
  /** More marks than this: undefined, nothing else read. */
  marksAtMost = Number.POSITIVE_INFINITY,
  /** Keep only the first this many marks (a fold reads only the runs it folds). */
  keep = Number.POSITIVE_INFINITY,
): Promise<SummaryState | undefined> {
  const marks = await readMarks(store, experimentId, Math.min(marksAtMost, keep));
  if (marks.length > marksAtMost) return undefined;
  marks.splice(keep);
  const [segmentItems, markedItems] = await Promise.all([
    Promise.all(
      keys.runSummaryPartitions(experimentId).map((partition) =>
        queryAll<SummarySegmentItem>(store.doc, {
          TableName: store.tableName,
          ...keyConditions.partition(partition),
          ConsistentRead: consistent,
        }),
      ),
    ),
    batchGetAll<RunItem>(
      store.doc,
      store.tableName,
      // A run written several times since its row has a mark per write: read once.
      [...new Set(marks.map((mark) => mark.run_id))].map((runId) => keys.run(runId)),
      { consistent },
    ),
  ]);
  const segments = segmentItems.flatMap((items, shard) =>
    items.map((item) => ({
      shard,
      number: Number(item.sk.slice('SEG#'.length)),
      gen: item.gen,
      rows: new Map(decodeRows(item.data).map((row) => [row.i, row])),
    })),
  );
  const marked = new Map(
    markedItems.filter((item) => item.experiment_id === experimentId).map((item) => [item.run_id, item]),
  );
  return { experimentId, marks, segments, marked };
}

/**
 * An experiment's marks, strongly consistent; reading stops once more than `atMost` are read (a search
 * facing a bulk writer's thousands of marks reads a bounded number).
 */
async function readMarks(store: Store, experimentId: string, atMost: number): Promise<SummaryMarkItem[]> {
  const marks: SummaryMarkItem[] = [];
  await Promise.all(
    keys.runSummaryMarkPartitions(experimentId).map(async (partition) => {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await store.doc.send(
          new QueryCommand({
            TableName: store.tableName,
            ...keyConditions.partition(partition),
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
            ...(Number.isFinite(atMost) ? { Limit: atMost + 1 } : {}),
          }),
        );
        marks.push(...((page.Items ?? []) as SummaryMarkItem[]));
        startKey = page.LastEvaluatedKey;
      } while (startKey && marks.length <= atMost);
    }),
  );
  return marks;
}

/** The current row of every run of the experiment: marked runs as read whole, the rest from segments. */
function currentRows(state: SummaryState): SummaryRow[] {
  const markedIds = new Set(state.marks.map((mark) => mark.run_id));
  const rows = new Map<string, SummaryRow>();
  for (const segment of state.segments) {
    for (const row of segment.rows.values()) {
      if (markedIds.has(row.i)) continue;
      // A row in two segments (never written so, but cheap to survive): the later version's.
      const other = rows.get(row.i);
      if (!other || other.v < row.v) rows.set(row.i, row);
    }
  }
  for (const item of state.marked.values()) rows.set(item.run_id, summaryRow(item));
  return [...rows.values()];
}

type Segment = SummaryState['segments'][number];

/**
 * Folds up to `limit` marks into the segments: each marked run's row written where it is (a new run's in its
 * shard's last segment, or a new one when that is full), then the marks whose rows landed deleted (see the
 * header for when). Returns how many marks were deleted. Changes `state`'s segments.
 */
async function compact(store: Store, state: SummaryState, limit: number, now = Date.now()): Promise<number> {
  const segmentOf = new Map<string, Segment>();
  const tails = new Map<number, Segment>();
  for (const segment of state.segments) {
    for (const id of segment.rows.keys()) segmentOf.set(id, segment);
    const tail = tails.get(segment.shard);
    if (!tail || tail.number < segment.number) tails.set(segment.shard, segment);
  }
  const fresh = new Set<Segment>();
  const changed = new Map<Segment, SummaryMarkItem[]>();
  // Marks of runs with no row and no RUN item (a create that failed, a purge of a run never folded).
  const landed: SummaryMarkItem[] = [];
  for (const mark of state.marks.slice(0, limit)) {
    const item = state.marked.get(mark.run_id);
    let segment = segmentOf.get(mark.run_id);
    if (!segment && !item) {
      landed.push(mark);
      continue;
    }
    if (!segment) {
      const shard = keys.runShard(mark.run_id);
      let tail = tails.get(shard);
      if (!tail || tail.rows.size >= SEGMENT_ROWS) {
        tail = { shard, number: tail ? tail.number + 1 : 0, gen: 0, rows: new Map() };
        tails.set(shard, tail);
        fresh.add(tail);
      }
      segment = tail;
      segmentOf.set(mark.run_id, segment);
    }
    if (item) {
      const row = summaryRow(item);
      const before = segment.rows.get(row.i);
      if (!before || before.v <= row.v) segment.rows.set(row.i, row);
    } else {
      segment.rows.delete(mark.run_id);
    }
    changed.set(segment, [...(changed.get(segment) ?? []), mark]);
  }
  await mapWithLimit([...changed], WRITES_IN_FLIGHT, async ([segment, folded]) => {
    const isNew = fresh.has(segment);
    const written = await sendIfCondition(
      store.doc,
      new PutCommand({
        TableName: store.tableName,
        Item: {
          ...keys.runSummarySegment(state.experimentId, segment.shard, segment.number),
          type: 'run-summary',
          gen: segment.gen + 1,
          rows: segment.rows.size,
          data: encodeSegment([...segment.rows.values()]),
        } satisfies SummarySegmentItem,
        ConditionExpression: isNew ? 'attribute_not_exists(pk)' : 'gen = :gen',
        ...(isNew ? {} : { ExpressionAttributeValues: { ':gen': segment.gen } }),
      }),
    );
    // Another compaction wrote it since it was read: its marks stay for the next one.
    if (written) landed.push(...folded);
  });
  // When each run without a RUN item was purged: its marks from before then go with the purge's. (Times are
  // the writers' clocks, as for the 15 minutes above: an import of a purged run from a machine whose clock is
  // behind the purge's may have its mark taken for an older one, and its run shows again with its next write.)
  const purgedAt = new Map<string, number>();
  for (const mark of landed) {
    if (mark.ver === PURGE_MARK) purgedAt.set(mark.run_id, Math.max(mark.at, purgedAt.get(mark.run_id) ?? 0));
  }
  const deletable = landed.filter((mark) => {
    const item = state.marked.get(mark.run_id);
    if (now - mark.at > WRITE_IN_FLIGHT_MS) return true;
    // No RUN item: purged (its row is gone, and its marks up to the purge's with it), or a create, or an
    // import of a run purged before, whose RUN Put has not landed yet (kept).
    if (!item) return mark.at <= (purgedAt.get(mark.run_id) ?? Number.NEGATIVE_INFINITY);
    return item.ver >= mark.ver;
  });
  // Each mark is its own write's: deleted as read (a later write has a mark of its own).
  const batches: SummaryMarkItem[][] = [];
  for (let i = 0; i < deletable.length; i += 25) batches.push(deletable.slice(i, i + 25));
  await mapWithLimit(batches, WRITES_IN_FLIGHT, (batch) =>
    putBatch(
      store.doc,
      store.tableName,
      [],
      batch.map((mark) => ({ pk: mark.pk, sk: mark.sk })),
    ),
  );
  return deletable.length;
}

/**
 * One search page's candidates from the experiments' summaries: the rows that pass the plan (or whose row
 * cannot tell), in the plan's order, read by key a batch at a time until `wanted` pass as read. Undefined
 * when an order key was left out of a row (the full listing answers). Folds marks when many have piled up.
 */
export async function searchBySummaries(
  store: Store,
  experimentIds: readonly string[],
  plan: RunListingPlan,
): Promise<Run[] | undefined> {
  const read = await mapWithLimit(experimentIds, EXPERIMENTS_IN_FLIGHT, (id) =>
    readState(store, id, false, MARKS_AT_MOST),
  );
  const states = read.filter((state) => state !== undefined);
  if (states.length < read.length) {
    // Too many marks to read their runs: fold some (each such search gets further), answer another way.
    await Promise.all(experimentIds.map((id, index) => (read[index] ? undefined : foldQuietly(store, id))));
    return undefined;
  }
  const candidates: { run: Run; unsure: boolean }[] = [];
  for (const state of states) {
    for (const row of currentRows(state)) {
      if (!plan.lifecycles.includes(row.l)) continue;
      if (rowLacks(row, plan.summary.orderReads)) {
        await foldPiledUp(store, states);
        return undefined;
      }
      const run = rowRun(row, state.experimentId);
      const unsure = rowLacks(row, plan.summary.reads);
      if (unsure || plan.accept(run)) candidates.push({ run, unsure });
    }
  }
  await foldPiledUp(store, states);
  candidates.sort((left, right) => plan.compare(left.run, right.run));
  const served: Run[] = [];
  let next = 0;
  for (let batch = plan.wanted; next < candidates.length && served.length < plan.wanted; batch *= 2) {
    const slice = candidates.slice(next, next + batch);
    next += slice.length;
    const items = await batchGetAll<RunItem>(
      store.doc,
      store.tableName,
      slice.map(({ run }) => keys.run(run.runId)),
    );
    const byId = new Map(items.map((item) => [item.run_id, item]));
    for (const { run } of slice) {
      const item = byId.get(run.runId);
      if (!item) continue;
      const whole = toRun(item, undefined);
      if (plan.accept(whole)) served.push(whole);
    }
  }
  return withLatestMetrics(store.doc, store.tableName, served);
}

/** Whether every one of the experiments has summaries (`run_summaries`: created since, or migrated). */
export async function summarized(store: Store, experimentIds: readonly string[]): Promise<boolean> {
  const items = await batchGetAll<{ run_summaries?: number }>(
    store.doc,
    store.tableName,
    experimentIds.map((experimentId) => keys.experiment(experimentId)),
    { projection: 'experiment_id, run_summaries' },
  );
  return (
    items.length === experimentIds.length &&
    items.every((item) => item.run_summaries === RUN_SUMMARIES_VERSION)
  );
}

/**
 * Folds the marks of experiments where they have piled up, best effort: a search answers from what it read,
 * and a fold that fails (throttled, say) leaves its marks to the next.
 */
async function foldPiledUp(store: Store, states: readonly SummaryState[]): Promise<void> {
  await Promise.all(
    states.map((state) =>
      state.marks.length >= COMPACT_AT ? foldQuietly(store, state.experimentId) : undefined,
    ),
  );
}

async function foldQuietly(store: Store, experimentId: string): Promise<void> {
  try {
    await foldSome(store, experimentId, COMPACT_MAX);
  } catch (error) {
    console.warn(`folding run summary marks of experiment ${experimentId}: ${String(error)}`);
  }
}

/**
 * Folds every mark of an experiment (`cairn migrate` after marking its runs, tests): compactions until none
 * is left or a round folds none (another process is folding; its marks are left to it).
 */
export async function compactAll(store: Store, experimentId: string): Promise<void> {
  for (;;) {
    const { left, folded } = await foldSome(store, experimentId, COMPACT_MAX);
    if (left === 0 || folded === 0) return;
  }
}

/**
 * Folds up to `limit` of an experiment's marks, from a strongly consistent read of the marks, the segments
 * and those marks' runs (a segment read a moment stale would place a row twice). Returns how many marks it
 * found and how many it deleted.
 */
async function foldSome(
  store: Store,
  experimentId: string,
  limit: number,
): Promise<{ left: number; folded: number }> {
  const state = await readState(store, experimentId, true, Number.POSITIVE_INFINITY, limit);
  if (!state || state.marks.length === 0) return { left: 0, folded: 0 };
  return { left: state.marks.length, folded: await compact(store, state, limit) };
}

/** Marks every listed run (ver as listed: the compaction reads each RUN item again), for a migration. */
export async function markRuns(
  store: Store,
  experimentId: string,
  runs: readonly Pick<RunItem, 'run_id' | 'ver'>[],
): Promise<void> {
  const marks = runs.map((run) => summaryMark(experimentId, run.run_id, run.ver));
  const batches: SummaryMarkItem[][] = [];
  for (let i = 0; i < marks.length; i += 25) batches.push(marks.slice(i, i + 25));
  await mapWithLimit(batches, WRITES_IN_FLIGHT, (batch) =>
    putBatch(store.doc, store.tableName, batch as unknown as Record<string, unknown>[]),
  );
}

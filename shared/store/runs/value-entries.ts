/**
 * Value entries (keys.ts `MV#<key>`, `PV#<key>`), kept in step with every run write without transactions.
 *
 * The layout every write maintains: an ended run (one with an end time) has one metric entry per latest
 * key and its LATEST item in `EXPRUNS#…`; an open run has no metric entries and its LATEST in `EXPOPEN#…`;
 * every run has one param entry per param. Entries carry the run's lifecycle stage in their index key.
 *
 * Most entries are written after the item they are derived from (RUN for the stage, LATEST for metric values
 * and whether the run is laid out as ended), with BatchWrite, which takes no condition: two writers' batches
 * may land in either order. So such a writer verifies after writing: one strongly consistent read of what
 * its entries were derived from (the RUN item's stage, the LATEST item's version). If either moved, the
 * entries are derived again from a fresh read and written again. Why that suffices: a change whose read
 * comes after a writer's verify is a write that lands after that writer's batch, and every such change
 * writes its own entries after it (a value change its keys, a move or an end all of the run's), so the last
 * batch to land for any entry is always one derived from the item as it last stood. A writer that dies
 * before verifying leaves its entries as the next write to the run (or `cairn migrate --all`) finds them.
 *
 * Two writes verify with the write that follows their batch instead of a read (repository.ts): a param
 * write puts its entries before its RUN update, which is conditional on the version they were derived from;
 * an end puts its metric entries before LATEST's move, conditional on the LATEST version they were derived
 * from. Either condition holding proves the source stood until after the batch landed, and a change after it
 * writes its own entries after it; failing, the entries are written again (and verified) as above.
 */

import { randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { allSettled, mapWithLimit } from '../../concurrency.js';
import { putBatch, sendIfCondition } from '../doc-commands.js';
import { ConcurrentWritesError, contendedWriteBackoff, fromStoredMap, isConditionFailure } from '../items.js';
import { keys } from '../keys.js';
import {
  isOpenLatest,
  type LatestItem,
  latestOf,
  metricValueEntry,
  paramValueEntry,
  type RunItem,
  type RunOrderItem,
  tagValueEntry,
  type ValueEntryItem,
} from './entity.js';
import { withLatestGroups } from './latest-groups.js';
import { readRunItems } from './run-get.js';
import { repairRunOrders } from './run-index.js';
import type { SummaryMarkItem } from './run-summaries.js';

/** Rounds of write-and-verify before a write gives up with a retryable 503. */
const MAX_ROUNDS = 10;

/** BatchWrites of one run's entries in flight at once (a wide run's end writes one entry per key). */
const BATCHES_IN_FLIGHT = 4;

export interface EntryStore {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/** What of a RUN item entries are derived from; a metric write knows only its RunState, not the params. */
export type EntryRun = Pick<RunItem, 'run_id' | 'experiment_id' | 'lifecycle_stage' | 'params' | 'ver'> & {
  end_time?: number | undefined;
  tags?: RunItem['tags'];
};

/** Which entries a write touched: 'all' of a kind, or these keys (no tags when left out). */
export interface EntryScope {
  metrics: 'all' | readonly string[];
  params: 'all' | readonly string[];
  tags?: 'all' | readonly string[];
}

const tagsIn = (scope: EntryScope): boolean =>
  scope.tags === 'all' || (scope.tags !== undefined && scope.tags.length > 0);

/** Whether a run is laid out as ended: it has an end time and its LATEST item has left the open partition. */
function endedLayout(run: EntryRun, latest: Pick<LatestItem, 'gsi2pk' | 'gsi2sk'>): boolean {
  return run.end_time !== undefined && !isOpenLatest(latest, run.experiment_id);
}

/** The entries `scope` covers as the run and its LATEST item stand (keys the run lacks are left out). */
export function entriesOf(
  run: EntryRun,
  latest: LatestItem | undefined,
  scope: EntryScope,
): ValueEntryItem[] {
  const where = { runId: run.run_id, experimentId: run.experiment_id, lifecycleStage: run.lifecycle_stage };
  const entries: ValueEntryItem[] = [];
  const params = fromStoredMap(run.params);
  for (const key of scope.params === 'all' ? Object.keys(params) : scope.params) {
    const value = params[key];
    if (value !== undefined && Object.hasOwn(params, key)) {
      entries.push(paramValueEntry(where, key, value, run.ver));
    }
  }
  const tags = fromStoredMap(run.tags ?? {});
  for (const key of scope.tags === 'all' ? Object.keys(tags) : (scope.tags ?? [])) {
    const value = tags[key];
    if (value !== undefined && Object.hasOwn(tags, key))
      entries.push(tagValueEntry(where, key, value, run.ver));
  }
  if (latest && endedLayout(run, latest)) {
    const metrics = latestOf(latest);
    for (const key of scope.metrics === 'all' ? Object.keys(metrics) : scope.metrics) {
      const stored = metrics[key];
      if (stored !== undefined && Object.hasOwn(metrics, key)) {
        entries.push(metricValueEntry(where, key, stored[2], latest.ver));
      }
    }
  }
  return entries;
}

/**
 * The tag entries in `scope` the run no longer calls for: those of the listed keys it holds no tag of (a
 * deleted tag). Under 'all' nothing is known to be gone; an entry left by a delete cut short only names its
 * run as a candidate, which the search drops once it reads the run.
 */
export function goneTagEntries(run: EntryRun, scope: EntryScope) {
  if (scope.tags === undefined || scope.tags === 'all') return [];
  const tags = fromStoredMap(run.tags ?? {});
  return scope.tags
    .filter((key) => !Object.hasOwn(tags, key))
    .map((key) => keys.runTagValue(run.run_id, key));
}

/**
 * Puts entries (and `others`: items that may ride along) and deletes `gone` (entry keys), 25 to a
 * BatchWrite, a few BatchWrites at once.
 */
export async function putEntries(
  store: EntryStore,
  entries: readonly ValueEntryItem[],
  others: readonly (RunOrderItem | SummaryMarkItem)[] = [],
  gone: readonly { pk: string; sk: string }[] = [],
): Promise<void> {
  const items = [...others, ...entries] as unknown as Record<string, unknown>[];
  const writes = [
    ...items.map((item) => ({ put: item })),
    ...gone.map((key) => ({ delete: key as Record<string, unknown> })),
  ];
  const batches: (typeof writes)[] = [];
  for (let i = 0; i < writes.length; i += 25) batches.push(writes.slice(i, i + 25));
  // Every batch settled before a failure is thrown: a caller that puts things right after one (mutate's
  // giveUp, a resync) must not be overtaken by a sibling batch still in flight.
  let failed: { error: unknown } | undefined;
  await mapWithLimit(batches, BATCHES_IN_FLIGHT, async (batch) => {
    if (failed) return;
    try {
      await putBatch(
        store.doc,
        store.tableName,
        batch.flatMap((write) => ('put' in write ? [write.put] : [])),
        batch.flatMap((write) => ('delete' in write ? [write.delete] : [])),
      );
    } catch (error) {
      failed ??= { error };
    }
  });
  if (failed) throw failed.error;
}

/**
 * Moves an ended run's LATEST item to the ended partition, bumping its version: a metric writer that read it
 * (or kept it in `recentWrites`) before fails its conditional Put and reads the run again, seeing it ended.
 * With `fromVer`, only if LATEST is still at that version. Returns the item as it now stands; undefined when
 * the run has no LATEST item (or it is no longer at `fromVer`).
 */
export async function endLatest(
  store: EntryStore,
  runId: string,
  experimentId: string,
  fromVer?: number,
): Promise<LatestItem | undefined> {
  return updateLatest(
    store,
    runId,
    'SET ver = ver + :one, gsi2pk = :ended',
    { ':one': 1, ':ended': keys.runLatestListing(experimentId, runId).gsi2pk },
    fromVer,
  );
}

/** One update of a LATEST item that exists, returning it as it then stands (undefined when it does not). */
async function updateLatest(
  store: EntryStore,
  runId: string,
  update: string,
  values: Record<string, unknown>,
  fromVer?: number,
): Promise<LatestItem | undefined> {
  try {
    const { Attributes } = await store.doc.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: keys.runLatest(runId),
        UpdateExpression: update,
        // LATEST is written before RUN and never removed; the condition keeps a lone `ver` from appearing.
        ConditionExpression: fromVer === undefined ? 'attribute_exists(pk)' : 'ver = :from',
        ExpressionAttributeValues: fromVer === undefined ? values : { ...values, ':from': fromVer },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes as LatestItem;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * Bumps LATEST's version (a move: see the repository's setLifecycle) and returns the item as it now stands;
 * undefined when the run has no LATEST item.
 */
export async function bumpLatest(store: EntryStore, runId: string): Promise<LatestItem | undefined> {
  return updateLatest(store, runId, 'SET ver = ver + :one', { ':one': 1 });
}

/** The RUN item's stage and version, strongly consistent (billed as the whole item: reads are by size). */
async function readRunStage(store: EntryStore, runId: string): Promise<RunItem | undefined> {
  const { Item } = await store.doc.send(
    new GetCommand({
      TableName: store.tableName,
      Key: keys.run(runId),
      ConsistentRead: true,
      ProjectionExpression: 'ver, lifecycle_stage',
    }),
  );
  return Item as RunItem | undefined;
}

/** RUN and LATEST, strongly consistent. */
export async function readRunAndLatest(
  store: EntryStore,
  runId: string,
  projection?: string,
): Promise<{ run?: RunItem; latest?: LatestItem }> {
  return readRunItems(store.doc, store.tableName, runId, projection);
}

/**
 * Writes the entries `scope` covers, derived from `from` (the items as the caller just wrote or read them)
 * or else from a fresh read, then verifies and redoes from a fresh read until what they were derived from
 * still stands. Tags, unlike params, change and go: with tags in scope the RUN item's version must hold
 * (not only its stage), and a tag the run lost after a round put its entry has that entry deleted (if still
 * this call's). A run with an end time whose LATEST is still in the open partition (an end cut short, or
 * one racing this write) has its end completed here first, and then all its metric entries written.
 *
 * `order`, the run's ORDER item as of `from.run`, rides in the first BatchWrite without its condition (a
 * call saved per end or move): the verifying read, which comes after it landed, sees the RUN item still at
 * its version, or else the ORDER item is put again, conditionally, from a fresh read. A later ORDER that the
 * unconditional put could have replaced was put after its RUN update, so that read sees a later version.
 */
export async function syncEntries(
  store: EntryStore,
  runId: string,
  scope: EntryScope,
  from?: { run: EntryRun; latest: LatestItem | undefined },
  order?: RunOrderItem,
): Promise<void> {
  let source = from;
  let wanted = scope;
  let orderUnsure = order !== undefined;
  /**
   * Tags this call put entries of, marked as its own: one the run has lost since may have had its entry put
   * back by a round, and is deleted only while it is still this call's (a writer setting the tag again puts
   * its entry before its RUN update, which may land after this call's last verifying read).
   */
  const tagsPut = new Set<string>();
  const writer = randomBytes(9).toString('base64url');
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (!source) {
        await contendedWriteBackoff(round);
        const read = await readRunAndLatest(store, runId);
        // No RUN item: a create still in flight writes its own entries before its RUN item.
        if (!read.run) return;
        source = { run: read.run, latest: read.latest };
      }
      let { run, latest } = source;
      const metricsWanted = wanted.metrics === 'all' || wanted.metrics.length > 0;
      if (metricsWanted && latest && run.end_time !== undefined && isOpenLatest(latest, run.experiment_id)) {
        latest = await endLatest(store, runId, run.experiment_id);
        wanted = { ...wanted, metrics: 'all' };
      }
      // A wide run's latest values are in its group items (latest-groups.ts), not in LATEST's `m`.
      if (metricsWanted && latest?.lg) {
        [latest] = await withLatestGroups(store.doc, store.tableName, [latest], { consistent: true });
      }
      const withOrder = round === 0 && order !== undefined;
      const entries = entriesOfWriter(entriesOf(run, latest, wanted), writer);
      const held = fromStoredMap(run.tags ?? {});
      const gone = [...tagsPut].filter((key) => !Object.hasOwn(held, key));
      await allSettled([
        putVerifiedEntries(store, entries, withOrder ? [order] : []),
        deleteOwnEntries(
          store,
          gone.map((key) => keys.runTagValue(runId, key)),
          writer,
        ),
      ]);
      for (const entry of entries) if (entry.type === 'tag-value') tagsPut.add(entry.key);
      // Reads are billed by item size, not by what is projected: a params-only write leaves LATEST unread.
      const now = metricsWanted
        ? await readRunAndLatest(store, runId, 'sk, ver, lifecycle_stage')
        : { run: await readRunStage(store, runId), latest: undefined };
      if (withOrder) orderUnsure = now.run?.ver !== order.ver;
      const stageHeld =
        now.run?.lifecycle_stage === run.lifecycle_stage && (!tagsIn(wanted) || now.run?.ver === run.ver);
      const latestHeld = !metricsWanted || now.latest?.ver === latest?.ver;
      if (stageHeld && latestHeld) return;
      source = undefined;
    }
    throw new ConcurrentWritesError(`run ${runId}`);
  } finally {
    // Also when the run moved on before the batch could carry it (a failed round, a missing RUN item).
    if (orderUnsure) await repairRunOrders(store.doc, store.tableName, [runId]);
  }
}

/** The attribute a param or tag write marks its early entries with (`entriesOfWriter`). */
export const WRITER = 'w';

/**
 * How a verify-after writer (a sync, a resync) puts entries: params' and metrics' in BatchWrites with
 * `others`, tags' one conditional Put each (putTagEntriesIfNewer; `own`: also over that writer's entries).
 */
async function putVerifiedEntries(
  store: EntryStore,
  entries: readonly ValueEntryItem[],
  others: readonly RunOrderItem[],
  own?: string,
): Promise<void> {
  await allSettled([
    putEntries(
      store,
      entries.filter((entry) => entry.type !== 'tag-value'),
      others,
    ),
    putTagEntriesIfNewer(store, entries, own),
  ]);
}

/**
 * Puts the tag entries among `entries`, each only over an entry derived from the same RUN version or an
 * older one (or none). A tag write puts its entry, stamped with the version its update will give the run,
 * before that update: an entry derived here from the version before it, landing after that put and
 * verified before that update lands, would otherwise leave the old value in the index for good. (Params
 * never change value, and a stage is the same in both: their entries ride in BatchWrites.)
 */
async function putTagEntriesIfNewer(
  store: EntryStore,
  entries: readonly ValueEntryItem[],
  /** Also over this writer's own entries, whatever their version (a resync: see resyncEntries). */
  own?: string,
): Promise<void> {
  const tags = entries.filter((entry) => entry.type === 'tag-value');
  await mapWithLimit(tags, 8, (entry) =>
    sendIfCondition(
      store.doc,
      new PutCommand({
        TableName: store.tableName,
        Item: entry,
        ConditionExpression: `attribute_not_exists(pk) OR ver <= :ver${own ? ' OR #writer = :writer' : ''}`,
        ...(own ? { ExpressionAttributeNames: { '#writer': WRITER } } : {}),
        ExpressionAttributeValues: { ':ver': entry.ver, ...(own ? { ':writer': own } : {}) },
      }),
    ),
  );
}

/**
 * After a tag delete's RUN update landed at version `ver`: deletes the tags' entries derived from an earlier
 * version. The delete removed them before its update, but a sync reading the run before that update (a move,
 * a migration) may have put one back since; one derived from `ver` or later is a newer write's, and stays.
 */
export async function dropTagEntriesBefore(
  store: EntryStore,
  runId: string,
  tagKeys: readonly string[],
  ver: number,
): Promise<void> {
  await Promise.all(
    tagKeys.map((key) =>
      sendIfCondition(
        store.doc,
        new DeleteCommand({
          TableName: store.tableName,
          Key: keys.runTagValue(runId, key),
          ConditionExpression: 'ver < :ver',
          ExpressionAttributeValues: { ':ver': ver },
        }),
      ),
    ),
  );
}

/**
 * Deletes the entries at `entryKeys` that are still `writer`'s. Another writer's entry of the same key (or
 * none) is left: that writer puts it right itself, after its RUN update or by its own resync.
 */
async function deleteOwnEntries(
  store: EntryStore,
  entryKeys: readonly { pk: string; sk: string }[],
  writer: string,
): Promise<void> {
  await Promise.all(
    entryKeys.map((key) =>
      sendIfCondition(
        store.doc,
        new DeleteCommand({
          TableName: store.tableName,
          Key: key,
          ConditionExpression: '#writer = :writer',
          ExpressionAttributeNames: { '#writer': WRITER },
          ExpressionAttributeValues: { ':writer': writer },
        }),
      ),
    ),
  );
}

/** The param and tag keys a run write set (or, tags, deleted). */
export interface WrittenKeys {
  params: readonly string[];
  tags: readonly string[];
}

/**
 * Entries as a param or tag write puts them before its RUN update, marked as that write's: if the update
 * never lands, resyncEntries deletes only entries still bearing the mark. Another writer of the same key
 * may stamp the same `ver` (it read the same RUN version, and a throttled update leaves RUN there), so the
 * version alone could not tell its entry from this one.
 */
export function entriesOfWriter(entries: readonly ValueEntryItem[], writer: string): ValueEntryItem[] {
  // `at`: a write that died before its update is told from one in flight by its age (cairn migrate).
  const at = Date.now();
  return entries.map((entry) => ({ ...entry, [WRITER]: writer, at }));
}

/**
 * Puts right the param and tag entries of `written` after a write (`writer`, see entriesOfWriter) whose
 * entries went before an update that failed (repository mutate): each is written again from the RUN item
 * as it now stands, or, when the run has no such param or tag, deleted if it is still the one that write put
 * (another writer's entry of the same key may have landed since, before its own RUN update: deleting it
 * would leave that key without an entry for good). A tag entry the failed write deleted is put back here
 * when the run still has the tag. Redone until the RUN item's version held across the write (a param or
 * tag set, or a move, landing meanwhile writes its own entries after its update).
 */
export async function resyncEntries(
  store: EntryStore,
  runId: string,
  written: WrittenKeys,
  writer: string,
): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await contendedWriteBackoff(round);
    const { Item } = await store.doc.send(
      new GetCommand({ TableName: store.tableName, Key: keys.run(runId), ConsistentRead: true }),
    );
    const run = Item as RunItem | undefined;
    const params = run ? fromStoredMap(run.params) : {};
    const tags = run ? fromStoredMap(run.tags) : {};
    const absent = [
      ...written.params
        .filter((key) => !Object.hasOwn(params, key))
        .map((key) => keys.runParamValue(runId, key)),
      ...written.tags.filter((key) => !Object.hasOwn(tags, key)).map((key) => keys.runTagValue(runId, key)),
    ];
    // Marked too: should the run lose one of these tags before the next round, that round deletes its entry.
    if (run) {
      const entries = entriesOfWriter(entriesOf(run, undefined, { metrics: [], ...written }), writer);
      // Over its own early entry too: an update refused by a throttle (not a condition) left the run at the
      // version read, one below that entry's stamp.
      await putVerifiedEntries(store, entries, [], writer);
    }
    await deleteOwnEntries(store, absent, writer);
    const now = await readRunStage(store, runId);
    if (now?.ver === run?.ver) return;
  }
  throw new ConcurrentWritesError(`run ${runId}`);
}

/**
 * Runs and their metric history in DynamoDB, without transactions.
 *
 * - The RUN item holds the run's info, params, tags and dataset inputs, with a version number `ver`.
 *   Param and tag writes are read-modify-write under `ver = :read` (a conditional put), so a write-once
 *   param check and the write it guards cannot interleave with another writer's.
 * - The LATEST item holds the latest value per metric key and the *tail*: recent points of keys that
 *   arrived in small groups, at most TAIL_MAX_POINTS of them. Every metric write rewrites it under its
 *   own version number, after writing any sealed chunks (see planMetricWrite for why that order is safe).
 * - A run past ~8 KB of latest values keeps them in group items instead of LATEST's `m` (latest-groups.ts):
 *   a write then rewrites LATEST and the groups its keys fall in, not every key the run has.
 * - Chunk items hold sealed, compact history (metric-codec), addressed by their content, so a replayed
 *   write puts the very same items again: retries cannot duplicate history.
 * - A metric write to a run this process wrote last starts from the LATEST item it wrote, not from a
 *   read: one conditional Put instead of a BatchGet and a Put (see `recentWrites`).
 * - Value entries (value-entries.ts) follow param writes, ends, moves and metric writes to ended runs; a
 *   metric write to an open run writes none (its LATEST item is in the open partition, read whole).
 */
import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LRUCache } from 'lru-cache';
import { allSettled } from '../../concurrency.js';
import type { LifecycleStage } from '../../domain/experiments/model.js';
import type { EnvelopeSources, SummarizedChunk } from '../../domain/runs/envelope.js';
import { decodeChunk, sortAndDedupe } from '../../domain/runs/metric-codec.js';
import { type KeyedPoint, latestChanges, planMetricWrite } from '../../domain/runs/metrics.js';
import type {
  HistoryCursor,
  HistoryHead,
  MetricPoint,
  Run,
  RunChange,
  RunListingOrder,
  RunListingPlan,
  RunMutation,
  RunRepository,
  RunState,
  StepInterval,
} from '../../domain/runs/model.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import { putBatch, queryAll, updateIfCondition } from '../doc-commands.js';
import { readRunStats, recordRunCreated, recordRunMove } from '../experiments/run-stats.js';
import {
  approximateItemBytes,
  ConcurrentWritesError,
  contendedWriteBackoff,
  ITEM_BYTES_BUDGET,
  isConditionFailure,
  storedKey,
} from '../items.js';
import { keyConditions, keys, RUN_SHARDS } from '../keys.js';
import {
  chunkItems,
  chunkKeyRange,
  encodeTail,
  envelopeMarks,
  isSummaryItem,
  queryRunRange,
  tailPoints,
} from './chunks.js';
import {
  isOpenLatest,
  itemsOfNewRun,
  LATEST_LISTING_PROJECTION,
  type LatestGroupItem,
  type LatestItem,
  latestMetrics,
  latestTailProjection,
  type MetricChunkItem,
  type MetricSummaryItem,
  type MixedChunkItem,
  mixedChunkProjection,
  type RunItem,
  runIndexKeys,
  runOrderItem,
  runState,
  type StoredLatest,
  storedLatest,
  toRun,
} from './entity.js';
import { readEnvelopeChunks, readEnvelopeSources } from './envelope-read.js';
import { readHistoryPage } from './history-pages.js';
import { readHistoryHead, readHistoryIntervals } from './history-sample.js';
import { commitLatest, type LatestWrite, prepareLatest, withLatestGroups } from './latest-groups.js';
import { readRun, readRunItems } from './run-get.js';
import {
  type ListingReads,
  putRunOrder,
  ReadBudgetError,
  readListing,
  repairRunOrders,
  StaleRunIndexError,
} from './run-index.js';
import {
  LISTED_PER_SUMMARY,
  putSummaryMark,
  searchBySummaries,
  summarized,
  summaryMark,
} from './run-summaries.js';
import { projectedRunItem, runUpdate } from './run-update.js';
import {
  bumpLatest,
  dropTagEntriesBefore,
  type EntryRun,
  type EntryStore,
  endLatest,
  entriesOf,
  entriesOfWriter,
  goneTagEntries,
  putEntries,
  resyncEntries,
  syncEntries,
  type WrittenKeys,
} from './value-entries.js';
import { searchByValues } from './value-search.js';

/**
 * Runs per index partition a listing must average to read pages: below it, a search over many small
 * experiments reads fewer items and makes half the Queries by listing every run (the counters decide;
 * a count that drifted changes only which path answers, never the answer).
 */
const MIN_RUNS_PER_PARTITION = 4;

/** Optimistic-concurrency attempts per write before giving up with a retryable 503. */
const MAX_ATTEMPTS = 30;

/** What `recentWrites` may hold, in approximate item bytes: a few hundred busy runs, a sliver of 1 GB. */
const RECENT_WRITES_BYTES = 32 * 1024 * 1024;

/**
 * How long a kept LATEST item may be used without a read. Correctness does not rest on it (the
 * conditional Put does); it bounds how long a missed version bump could go unnoticed.
 */
const RECENT_WRITES_TTL_MS = 60_000;

/**
 * A run as this process last wrote its metrics: what the write checked of it, the LATEST it put, and for
 * a spilled run the groups of its `lg` as last read or put (latest-groups.ts; each put is conditional on
 * its own version, so a stale one is caught).
 */
interface RecentWrite {
  state: RunState;
  latest: LatestItem;
  groups?: Map<string, LatestGroupItem>;
}

export class DynamoRunRepository implements RunRepository {
  /**
   * The LATEST item this process last put, per run. A training loop logs to one run, one write at a
   * time, so the next write can start from here and skip the read: its Put is conditional on LATEST's
   * version all the same, so a write by another process (another Lambda instance) fails it, and the
   * write is redone from a fresh read. The run's lifecycle, which a metric write checks, lives in the
   * RUN item, so `setLifecycle` bumps LATEST's version too: a run deleted elsewhere fails the Put just
   * the same, and the re-read sees it deleted.
   */
  private readonly recentWrites = new LRUCache<string, RecentWrite>({
    maxSize: RECENT_WRITES_BYTES,
    ttl: RECENT_WRITES_TTL_MS,
  });

  /**
   * The RUN item as this process last wrote it (create, or an update's ALL_NEW), per run: a sweep's
   * create → log-batch → end of one run then reads it once, not per request. Every update is conditional
   * on the version it was decided from, so a kept item another process moved on fails it and is read again.
   */
  private readonly recentRuns = new LRUCache<string, RunItem>({
    maxSize: RECENT_WRITES_BYTES,
    ttl: RECENT_WRITES_TTL_MS,
  });

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** How listings read (run-index.ts); tests shrink the first read to walk ties across batches. */
    private readonly listing: ListingReads = {},
  ) {}

  /** Where value entries are written (value-entries.ts). */
  private get entryStore(): EntryStore {
    return { doc: this.doc, tableName: this.tableName };
  }

  async create(run: Run): Promise<void> {
    const { run: item, latest, order, values } = itemsOfNewRun(run);
    // LATEST, ORDER and value entries first: a RUN item is only ever visible with its LATEST item, order
    // entry and value entries in place. An ORDER left by a create that failed before its RUN is skipped by
    // listings (and value entries, by searches that join them to RUN items).
    await Promise.all([
      // The summary mark rides with the entries: the run has no row until a search folds it in.
      putEntries(this.entryStore, values, [summaryMark(run.experimentId, run.runId, item.ver)]),
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: latest,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
      putRunOrder(this.doc, this.tableName, order),
    ]);
    // The count goes with the RUN Put, not after it: LATEST's condition above already refused a replayed
    // create, so nothing counts twice; a RUN Put failing on its own (an outage between the two calls)
    // leaves one run counted that never shows, until `cairn migrate` recounts.
    await Promise.all([
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
      recordRunCreated(this.doc, this.tableName, run),
    ]);
    // As written: the run's next writes in this process start from these (mutate, appendMetrics).
    this.recentRuns.set(run.runId, item, { size: approximateItemBytes(item) });
    this.recentWrites.set(
      run.runId,
      { state: runState(item), latest },
      { size: approximateItemBytes(latest) },
    );
  }

  async get(runId: string): Promise<Run | undefined> {
    return readRun(this.doc, this.tableName, runId);
  }

  /**
   * Applies `mutate` to the current run under optimistic concurrency; `mutate` may throw to refuse
   * (e.g. a changed param) or return null for a no-op. Returns the run as read, or undefined if missing.
   *
   * New params' and set tags' value entries are put (a deleted tag's deleted) *before* the conditional RUN
   * update, derived from the item it is conditional on: an update that lands proves that item stood until
   * after the entries landed, and a later change to the same key or a move writes its own entries after this
   * update (moves write every entry again after theirs). So a param or tag write needs no verifying read.
   * Entries of an attempt whose update failed are written again from the run as it then stands, once the
   * write is decided (resyncEntries).
   */
  async mutate(runId: string, mutate: RunMutation): Promise<Run | undefined> {
    let kept = this.recentRuns.get(runId);
    // Decided on a kept item's say, a refusal, a no-op or a size refusal is read again first: only a
    // conditional update may rest on it (a run moved elsewhere fails the condition: moves bump `ver`).
    const readAgain = () => {
      this.recentRuns.delete(runId);
      kept = undefined;
    };
    /** Param and tag keys whose entries a failed attempt wrote, marked as this write's (entriesOfWriter). */
    const strays = { params: new Set<string>(), tags: new Set<string>() };
    const writer = randomBytes(9).toString('base64url');
    const addStrays = (written: WrittenKeys) => {
      for (const key of written.params) strays.params.add(key);
      for (const key of written.tags) strays.tags.add(key);
    };
    const settleStrays = async (written: WrittenKeys = { params: [], tags: [] }) => {
      for (const key of written.params) strays.params.delete(key);
      for (const key of written.tags) strays.tags.delete(key);
      if (strays.params.size + strays.tags.size > 0) {
        await resyncEntries(
          this.entryStore,
          runId,
          { params: [...strays.params], tags: [...strays.tags] },
          writer,
        );
      }
    };
    /** Gives up with `error`, the entries of attempts whose update never landed put right first. */
    const giveUp = async (error: unknown): Promise<never> => {
      try {
        await settleStrays();
      } catch {
        // The write's own error says more. What a failed resync can leave: an extra entry (searches recheck
        // the run as read and drop it) or, after a tag delete's early delete, a missing one until that tag is
        // written again, the run moves or `cairn migrate --all` runs (docs/deploy.md).
      }
      throw error;
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let item: RunItem;
      if (kept) {
        item = kept;
      } else {
        await contendedWriteBackoff(attempt);
        const { Item } = await this.doc.send(
          new GetCommand({ TableName: this.tableName, Key: keys.run(runId), ConsistentRead: true }),
        );
        if (!Item) {
          await settleStrays();
          return undefined;
        }
        item = Item as RunItem;
      }
      const run = toRun(item, undefined);
      let change: RunChange | null;
      try {
        change = mutate(run);
      } catch (error) {
        if (!kept) {
          await settleStrays();
          throw error;
        }
        readAgain();
        attempt--;
        continue;
      }
      if (change === null && kept) {
        readAgain();
        attempt--;
        continue;
      }
      if (change === null) {
        await settleStrays();
        return run;
      }
      const projected = projectedRunItem(item, change);
      const size = approximateItemBytes(projected);
      if (size > ITEM_BYTES_BUDGET && kept) {
        readAgain();
        attempt--;
        continue;
      }
      if (size > ITEM_BYTES_BUDGET) {
        await settleStrays();
        throw new InvalidParameterValueError(
          `Run ${runId} cannot hold this: its params, tags and inputs would take about ${size} bytes, beyond the ${ITEM_BYTES_BUDGET}-byte storage limit of a run.`,
        );
      }
      // Captured before the update, for an end (endRun): the LATEST it rests on must predate the update.
      const latestKept = this.recentWrites.get(runId)?.latest;
      const written: WrittenKeys = {
        params: Object.keys(change.params ?? {}),
        tags: [...Object.keys(change.tags ?? {}), ...(change.deleteTags ?? [])],
      };
      // What a summary row holds changes: the write marks its run (run-summaries.ts). With params or tags, in
      // their entries' BatchWrite, before the update; with dataset inputs, on its own before the update (a
      // retried log-inputs finds its inputs there and writes nothing, so it must not depend on a later mark);
      // else (a status, an end, a name) beside what follows the update, so that the end of a run waits for no
      // extra round trip. A process that dies between such an update and its mark leaves the row as it was
      // until the run's next write, the client's retry or `cairn migrate --all`, as it leaves an end's entries.
      const early = written.params.length + written.tags.length > 0;
      const markedFirst = !early && change.datasets !== undefined;
      const markedAfter = changesSummary(change) && !early && !markedFirst;
      if (markedFirst) {
        try {
          await putSummaryMark(this.entryStore, item.experiment_id, runId, item.ver + 1);
        } catch (error) {
          readAgain();
          return giveUp(error);
        }
      }
      if (early) {
        const tags = { ...projected.tags };
        for (const key of change.deleteTags ?? []) delete tags[storedKey(key)];
        const next: EntryRun = { ...item, params: projected.params, tags, ver: item.ver + 1 };
        const scope = { metrics: [], ...written };
        try {
          await putEntries(
            this.entryStore,
            entriesOfWriter(entriesOf(next, undefined, scope), writer),
            [summaryMark(item.experiment_id, runId, item.ver + 1)],
            goneTagEntries(next, scope),
          );
        } catch (error) {
          // Part of the batch may have landed (a throttled BatchWrite's other items): a tag's entry may then
          // say a value, or an absence, its RUN item never got. Put right as after a failed update.
          readAgain();
          addStrays(written);
          return giveUp(error);
        }
      }
      let updated: RunItem;
      try {
        // ALL_NEW costs no read units: the item as written is what an end's entries are derived from, and
        // the next write of this run in this process starts from it instead of a read.
        const { Attributes } = await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.run(runId),
            ...runUpdate(change, item.ver),
            ReturnValues: 'ALL_NEW',
          }),
        );
        updated = Attributes as RunItem;
      } catch (error) {
        readAgain();
        addStrays(written);
        // Whether an update that failed otherwise landed is unknown: the resync reads the run to tell.
        if (!isConditionFailure(error)) {
          // It may have landed all the same (a timeout after the write): a status, end or name change, whose
          // mark follows its update, marks its run now, so that no landed change goes unmarked.
          if (markedAfter) {
            await putSummaryMark(this.entryStore, item.experiment_id, runId, item.ver + 1).catch(
              () => undefined,
            );
          }
          return giveUp(error);
        }
        continue;
      }
      this.recentRuns.set(runId, updated, { size: approximateItemBytes(updated) });
      const after = async () => {
        await Promise.all([
          settleStrays(written),
          change.deleteTags?.length
            ? dropTagEntriesBefore(this.entryStore, runId, change.deleteTags, updated.ver)
            : undefined,
        ]);
        await this.syncChangeEntries(runId, updated, change, latestKept);
      };
      try {
        await allSettled([
          after(),
          markedAfter
            ? putSummaryMark(this.entryStore, updated.experiment_id, runId, updated.ver)
            : Promise.resolve(),
        ]);
      } catch (error) {
        readAgain();
        throw error;
      }
      return run;
    }
    return giveUp(new ConcurrentWritesError(`run ${runId}`));
  }

  /**
   * Moves `from` → `to`; false when the run is missing or in another stage. Bumps LATEST's version after
   * RUN's, so that a metric write starting from a LATEST read before the move fails its conditional Put
   * and reads the run again (`recentWrites`). A write that read the run just before the move may still
   * land between the two updates, as it could land just before a one-item move. The bump is made on a
   * refused move too: a retry of a move whose bump failed (a timeout between the two) completes it.
   */
  async setLifecycle(runId: string, from: LifecycleStage, to: LifecycleStage): Promise<boolean> {
    this.recentWrites.delete(runId);
    this.recentRuns.delete(runId);
    const moved = await this.moveRun(runId, from, to);
    if (moved === undefined) return false;
    const latest = await bumpLatest(this.entryStore, runId);
    // Last, and on a refused move too, like the bump: a retried move puts an entry its first try missed.
    // The counters move only with the RUN item, so a retry never counts twice. Value entries carry the stage
    // too: all of them are written again from the RUN and LATEST as they stand (verified, value-entries.ts).
    await Promise.all([
      moved.moved ? recordRunMove(this.doc, this.tableName, moved.item.experiment_id, runId, to) : undefined,
      syncEntries(
        this.entryStore,
        runId,
        { metrics: 'all', params: 'all', tags: 'all' },
        { run: moved.item, latest },
        runOrderItem(toRun(moved.item, undefined), moved.item.ver),
      ),
    ]);
    return moved.moved;
  }

  /**
   * The RUN half of a move: the stage and the start-time key that carries it change in one conditional update,
   * under the version read. Undefined when the run is missing; `moved` false when it is in another stage.
   */
  private async moveRun(
    runId: string,
    from: LifecycleStage,
    to: LifecycleStage,
  ): Promise<{ moved: boolean; item: RunItem } | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await contendedWriteBackoff(attempt);
      const { Item } = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: keys.run(runId), ConsistentRead: true }),
      );
      if (!Item) return undefined;
      const item = Item as RunItem;
      if (item.lifecycle_stage !== from) return { moved: false, item };
      if (to === 'active' && 'purging' in item) {
        throw new InvalidParameterValueError(
          `Run ${runId} is being purged (cairn gc or the daily purge) and cannot be restored.`,
        );
      }
      const next: RunItem = { ...item, lifecycle_stage: to, ver: item.ver + 1 };
      const { gsi1sk } = runIndexKeys(next);
      await putSummaryMark(this.entryStore, item.experiment_id, runId, next.ver);
      // When the run was deleted (MLflow's deleted_time): what `cairn gc` measures its threshold from.
      const deleting = to === 'deleted';
      const updated = await updateIfCondition(this.doc, {
        TableName: this.tableName,
        Key: keys.run(runId),
        UpdateExpression: `SET lifecycle_stage = :to, gsi1sk = :gsi1sk, ver = ver + :one${deleting ? ', deleted_time = :now' : ''}${deleting ? '' : ' REMOVE deleted_time'}`,
        // A purge marks the run before it deletes any of its items: restoring it then would lose data.
        ConditionExpression: `ver = :read${to === 'active' ? ' AND attribute_not_exists(purging)' : ''}`,
        ExpressionAttributeValues: {
          ':to': to,
          ':gsi1sk': gsi1sk,
          ':one': 1,
          ':read': item.ver,
          ...(deleting ? { ':now': Date.now() } : {}),
        },
      });
      if (updated) return { moved: true, item: next };
    }
    throw new ConcurrentWritesError(`run ${runId}`);
  }

  /**
   * Appends metric points. `check` sees the run as read and may throw (missing, deleted). Calls for a
   * write of N keys: one BatchGet (RUN + LATEST), BatchWrites of the chunks (25 per call; none for a
   * write that only fills the tail), one conditional Put of LATEST; for a spilled run, also a BatchGet of
   * the groups its keys fall in (none when this process holds them) and a conditional Put per changed group.
   * To an ended run, then the value entries of the keys written (a BatchWrite per 25) and one BatchGet to
   * verify them (value-entries.ts).
   *
   * The BatchGet is left out when this process put the run's LATEST last (`recentWrites`) and the write
   * only fills the tail: `check` then sees the run's state as of that write, whose lifecycle is current
   * unless the Put fails (a move bumps LATEST's version). A write that would seal chunks or be refused
   * for size reads first, so that nothing is stored or refused on the strength of a kept item.
   */
  async appendMetrics(
    runId: string,
    points: readonly KeyedPoint[],
    check: (run: RunState | undefined) => RunState,
  ): Promise<void> {
    const written = new Set<string>();
    let recent = this.recentWrites.get(runId);
    // Kept across re-reads of LATEST: a group's put is conditional on its own version, so a stale one is caught.
    let groupsKept = recent?.groups;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let state: RunState;
      let latest: LatestItem | undefined;
      if (recent) {
        ({ latest } = recent);
        state = check(recent.state);
      } else {
        await contendedWriteBackoff(attempt);
        const read = await readRunItems(this.doc, this.tableName, runId);
        latest = read.latest;
        state = check(read.run ? runState(read.run) : undefined);
      }
      // Written before RUN at create and deleted first by a purge: a purge cut short left the run half gone.
      if (!latest) {
        throw new ResourceDoesNotExistError(
          `Run with id=${runId} not found: it is being purged (its metrics are already gone)`,
        );
      }
      const plan = planMetricWrite(points, tailPoints(latest.tail));
      // A run from before summaries is read raw whatever it holds: summaries would be paid for unread.
      const chunks = chunkItems(runId, plan, latest.es === 1);
      if (recent && chunks.length > 0) {
        // Sealing on a kept item's say: read first (`attempt` is not spent on it).
        this.recentWrites.delete(runId);
        recent = undefined;
        attempt--;
        continue;
      }
      // A spilled run's latest points are in its groups: each key's best point here is merged there.
      const changes = storedLatestMap(latestChanges(latest.lg ? {} : latestMetrics(latest.m), points));
      let latestWrite: LatestWrite;
      try {
        latestWrite = await prepareLatest(this.doc, this.tableName, latest, changes, groupsKept);
      } catch (error) {
        if (!(recent && error instanceof InvalidParameterValueError)) throw error;
        // Refusing on a kept item's say: read first.
        this.recentWrites.delete(runId);
        recent = undefined;
        attempt--;
        continue;
      }
      const tail = encodeTail(plan.tail);
      const { lg: _spilled, ...unspilled } = latest;
      const next: LatestItem = {
        ...unspilled,
        ...keys.runLatestListing(state.experimentId, runId, state.endTime === undefined),
        ver: latest.ver + 1,
        ch: (latest.ch ?? 0) + chunks.filter((item) => !isSummaryItem(item)).length,
        m: latestWrite.m,
        ...(latestWrite.lg ? { lg: latestWrite.lg } : {}),
        tail,
        // Only runs whose every large own chunk has a summary keep envelope marks (see entity.ts `es`).
        ...(latest.es ? envelopeMarks(latest, plan, chunks) : {}),
      };
      const size = approximateItemBytes(next);
      if (recent && size > ITEM_BYTES_BUDGET) {
        // Refusing on a kept item's say: read first.
        this.recentWrites.delete(runId);
        recent = undefined;
        attempt--;
        continue;
      }
      if (size > ITEM_BYTES_BUDGET) {
        throw new InvalidParameterValueError(
          `Run ${runId} logs too many distinct metric keys: their latest values would take about ${size} bytes, beyond the ${ITEM_BYTES_BUDGET}-byte storage limit.`,
        );
      }
      // Chunks before LATEST: a crash in between duplicates storage, never loses a point. Checked first,
      // so a refused write stores nothing.
      await this.putChunks(chunks.filter((item) => !written.has(item.sk)));
      for (const item of chunks) written.add(item.sk);
      // Groups after chunks, like LATEST: a latest value is never visible before its point's history.
      groupsKept = keptGroups(groupsKept, await commitLatest(this.doc, this.tableName, latestWrite), next);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: next,
            ConditionExpression: 'ver = :read',
            ExpressionAttributeValues: { ':read': latest.ver },
          }),
        );
        this.recentWrites.set(
          runId,
          { state, latest: next, ...(groupsKept ? { groups: groupsKept } : {}) },
          { size: size + (groupsKept ? approximateItemBytes([...groupsKept.values()]) : 0) },
        );
        // An open run's write ends here: its latest values are read whole from the open partition.
        if (state.endTime !== undefined) await this.syncEndedMetricEntries(state, latest, next, points);
        return;
      } catch (error) {
        // Whether the Put landed is unknown after any other error, so no LATEST is kept either way.
        this.recentWrites.delete(runId);
        recent = undefined;
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new ConcurrentWritesError(`run ${runId}`);
  }

  /**
   * What follows a run write (mutate) as of `updated`, the RUN item it left: on a rename, LATEST's version
   * bumped and then the order entry put (see endRun for why the bump); on an end (or a retried one, which
   * completes one cut short), the order entry, LATEST moved to the ended partition with its version bumped,
   * and an entry per latest key (endRun). Params' and tags' entries went before the update (mutate).
   */
  private async syncChangeEntries(
    runId: string,
    updated: RunItem,
    change: RunChange,
    latestKept: LatestItem | undefined,
  ): Promise<void> {
    if (change.endTime !== undefined) {
      await this.endRun(runId, updated, latestKept);
      return;
    }
    if (change.runName === undefined) return;
    this.recentWrites.delete(runId);
    await bumpLatest(this.entryStore, runId);
    await putRunOrder(this.doc, this.tableName, runOrderItem(toRun(updated, undefined), updated.ver));
  }

  /**
   * An end's order entry, metric entries and LATEST move, from `updated` (the RUN item the end left) and the
   * LATEST item this process last put (`recentWrites`, as it stood before the RUN update): one BatchWrite of the order entry and an
   * entry per latest key derived from LATEST as the move will leave it, then the move itself, conditional on
   * the version the entries were derived from. A move that lands proves LATEST unchanged since (no metric
   * write, no move's or rename's bump), so the entries need no verifying read; and every later change that
   * could make them or the order entry stale (a metric write, a move, a rename, another end) either lands
   * before the move, failing it, or writes its own after. Otherwise, or with no LATEST kept (or a wide
   * run's, or more entries than one BatchWrite takes), the move is made unconditionally and the entries
   * verified (value-entries.ts syncEntries).
   */
  private async endRun(runId: string, updated: RunItem, kept: LatestItem | undefined): Promise<void> {
    const order = runOrderItem(toRun(updated, undefined), updated.ver);
    this.recentWrites.delete(runId);
    // Only when the order entry and every metric entry fit one BatchWrite: a refused move costs them all
    // written again by the fallback, which a wide run would pay in many calls.
    const entries =
      kept && !kept.lg && isOpenLatest(kept, updated.experiment_id)
        ? entriesOf(
            updated,
            { ...kept, ...keys.runLatestListing(updated.experiment_id, runId, false), ver: kept.ver + 1 },
            { metrics: 'all', params: [] },
          )
        : undefined;
    if (kept && entries && entries.length + 1 <= 25) {
      await putEntries(this.entryStore, entries, [order]);
      if (await endLatest(this.entryStore, runId, updated.experiment_id, kept.ver)) return;
    }
    // The refusal's item (ReturnValuesOnConditionCheckFailure) would save no call: this path reads nothing
    // (the move's ALL_NEW is LATEST as it stands), and the move is due even when LATEST has already left the
    // open partition: its bump refuses a metric write that read RUN as open, which would put LATEST back.
    const latest = await endLatest(this.entryStore, runId, updated.experiment_id);
    await syncEntries(
      this.entryStore,
      runId,
      { metrics: 'all', params: [] },
      { run: updated, latest },
      order,
    );
  }

  /**
   * After a metric write to an ended run: entries for the keys it wrote (whether or not their latest value
   * changed, so that a retried write completes one whose entries were cut short), or for every key when the
   * write found LATEST still in the open partition (it completes an end cut short).
   */
  private async syncEndedMetricEntries(
    state: RunState,
    read: LatestItem,
    written: LatestItem,
    points: readonly KeyedPoint[],
  ): Promise<void> {
    const run: EntryRun = {
      run_id: state.runId,
      experiment_id: state.experimentId,
      lifecycle_stage: state.lifecycleStage,
      end_time: state.endTime,
      params: {},
      ver: 0,
    };
    const metrics = isOpenLatest(read, state.experimentId)
      ? 'all'
      : [...new Set(points.map((point) => point.key))];
    await syncEntries(this.entryStore, state.runId, { metrics, params: [] }, { run, latest: written });
  }

  private async putChunks(
    items: readonly (MetricChunkItem | MixedChunkItem | MetricSummaryItem)[],
  ): Promise<void> {
    // 25 items per BatchWrite, a summary always in the same call as the chunk before it.
    const batches: (typeof items)[number][][] = [];
    for (const item of items) {
      const current = batches.at(-1);
      if (current && current.length < 25) current.push(item);
      else if (current && isSummaryItem(item)) batches.push([current.pop() as (typeof items)[number], item]);
      else batches.push([item]);
    }
    for (const batch of batches)
      await putBatch(this.doc, this.tableName, batch as unknown as Record<string, unknown>[]);
  }

  readHistoryHead(
    runId: string,
    key: string,
    start: number,
    end: number | undefined,
    byteBudget: number,
  ): Promise<HistoryHead | undefined> {
    return readHistoryHead({ doc: this.doc, tableName: this.tableName, runId, key }, start, end, byteBudget);
  }

  readHistoryIntervals(
    runId: string,
    key: string,
    head: HistoryHead,
    intervals: readonly StepInterval[],
    start: number,
    end: number,
  ): Promise<MetricPoint[]> {
    return readHistoryIntervals(
      { doc: this.doc, tableName: this.tableName, runId, key },
      head,
      intervals,
      start,
      end,
    );
  }

  readEnvelopeSources(
    runId: string,
    key: string,
    start: number | undefined,
    end: number | undefined,
  ): Promise<EnvelopeSources | undefined> {
    return readEnvelopeSources({ doc: this.doc, tableName: this.tableName, runId, key }, start, end);
  }

  readEnvelopeChunks(runId: string, key: string, chunks: readonly SummarizedChunk[]): Promise<MetricPoint[]> {
    return readEnvelopeChunks({ doc: this.doc, tableName: this.tableName, runId, key }, chunks);
  }

  /** One page of a key's history (see history-pages.ts); undefined when the run does not exist. */
  async readHistoryPage(
    runId: string,
    key: string,
    cursor: HistoryCursor | undefined,
    limit: number,
  ): Promise<{ points: MetricPoint[]; next?: HistoryCursor } | undefined> {
    const latest = await this.readTail(runId, key);
    if (!latest) return undefined;
    const chunks = String(latest.chunks);
    const ownPrefix = keys.metricChunkPrefix(key);
    const mixedPrefix = keys.mixedChunkPrefix;
    const resume = cursor?.resume;
    if (resume) {
      // Positions come back from a client: they must stay inside this key's own key ranges.
      const inside = (position: string | undefined, prefix: string) =>
        typeof position === 'string' && position.startsWith(prefix) && position <= `${prefix}\uffff`;
      if (!inside(resume.own, ownPrefix) || !inside(resume.mixed, mixedPrefix)) {
        throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
      }
    }
    const page = await readHistoryPage({
      doc: this.doc,
      tableName: this.tableName,
      pk: keys.run(runId).pk,
      ownPrefix,
      mixedPrefix,
      key,
      tail: latest.tail,
      ...(cursor ? { after: cursor.after } : {}),
      // Chunks written since the last page may sort before its resume positions: then read from the start.
      ...(resume && resume.ch === chunks
        ? { resume: { own: resume.own as string, mixed: resume.mixed as string } }
        : {}),
      limit,
    });
    return page.next
      ? { points: page.points, next: { after: page.next.after, resume: { ...page.next.resume, ch: chunks } } }
      : { points: page.points };
  }

  /**
   * Every point of one key, sorted by (step, timestamp, value) and deduplicated, or undefined when the
   * run does not exist; with `upToStep`, only chunks starting at or before that step are read (and
   * points after it dropped).
   */
  async readHistory(runId: string, key: string, upToStep?: number): Promise<MetricPoint[] | undefined> {
    const latest = await this.readTail(runId, key);
    if (!latest) return undefined;
    const points: MetricPoint[] = [...latest.tail];
    const own = await this.queryChunks<MetricChunkItem>(runId, keys.metricChunkPrefix(key), upToStep);
    for (const item of own) points.push(...decodeChunk(item.d));
    // Consistent for the reason history-pages.ts gives: a sealed tail must not vanish between reads.
    const mixed = await this.queryChunks<Partial<MixedChunkItem>>(runId, keys.mixedChunkPrefix, upToStep, {
      ...mixedChunkProjection(key),
      ConsistentRead: true,
    });
    for (const item of mixed) {
      const bytes = item.d?.[storedKey(key)];
      if (bytes) points.push(...decodeChunk(bytes));
    }
    const sorted = sortAndDedupe(points);
    return upToStep === undefined ? sorted : sorted.filter((point) => point.step <= upToStep);
  }

  /**
   * The LATEST item's unsealed points of one key and its chunk-write count, strongly consistent; undefined
   * when the run does not exist (LATEST is written before RUN and never removed).
   */
  private async readTail(
    runId: string,
    key: string,
  ): Promise<{ tail: MetricPoint[]; chunks: number } | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.runLatest(runId),
        ConsistentRead: true,
        ...latestTailProjection(key),
      }),
    );
    if (!Item) return undefined;
    const latest = Item as Partial<LatestItem>;
    const bytes = latest.tail?.[storedKey(key)];
    return { tail: bytes ? decodeChunk(bytes) : [], chunks: latest.ch ?? 0 };
  }

  private async queryChunks<Item>(
    runId: string,
    skPrefix: string,
    upToStep?: number,
    options: {
      ProjectionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ConsistentRead?: boolean;
    } = {},
  ): Promise<Item[]> {
    // Chunk keys sort by first step, so "starts at or before upToStep" is a key range.
    return queryRunRange<Item>(
      this.doc,
      this.tableName,
      runId,
      chunkKeyRange(skPrefix, undefined, upToStep),
      options,
    );
  }

  /**
   * One search page's candidates read in index order (run-index.ts), or undefined when the order keys
   * cannot answer: an experiment not marked `run_index` (runs stored before the keys, until `cairn
   * migrate`), or a name-order entry found stale, which is put right here so the next search can use it.
   */
  async listIndexed(experimentIds: readonly string[], plan: RunListingPlan): Promise<Run[] | undefined> {
    // The experiments' counters, read only for marked (`run_index`) experiments: counts for all means all
    // are keyed. They also say whether reading pages pays: experiments of a few runs each cost a Query per
    // shard and stage either way, and a full listing reads them in half as many.
    const stats = await readRunStats(this.doc, this.tableName, experimentIds);
    if (stats.some((one) => one.activeRuns === undefined)) return undefined;
    const runs = stats.reduce(
      (sum, one) =>
        sum +
        (plan.lifecycles.includes('active') ? (one.activeRuns ?? 0) : 0) +
        (plan.lifecycles.includes('deleted') ? (one.deletedRuns ?? 0) : 0),
      0,
    );
    const partitions =
      experimentIds.length * RUN_SHARDS * plan.lifecycles.length * (plan.order === 'end_time' ? 2 : 1);
    if (runs < partitions * (this.listing.minRunsPerPartition ?? MIN_RUNS_PER_PARTITION)) return undefined;
    try {
      const plain = plan.valueClauses.length === 0 && !plan.needsMetrics;
      // A filter no entry answers, or an order no index keeps: the experiments' summaries (run-summaries.ts).
      const bySummaries =
        plan.summary.usable &&
        plan.valueClauses.length === 0 &&
        (plan.filtered || !isIndexOrder(plan.order)) &&
        (await summarized(this.entryStore, experimentIds));
      if (plain && isIndexOrder(plan.order)) {
        const indexPlan = { ...plan, order: plan.order };
        const listing = () => readListing(this.doc, this.tableName, experimentIds, indexPlan, this.listing);
        if (!bySummaries) return await listing();
        // A filter most runs pass fills its page from the order index in a read or two: tried first, for
        // up to about half what the summaries cost (LISTED_PER_SUMMARY).
        try {
          return await readListing(this.doc, this.tableName, experimentIds, indexPlan, this.listing, {
            metrics: 'after',
            passAtMost: Math.max(2 * plan.wanted, Math.ceil(runs / LISTED_PER_SUMMARY)),
          });
        } catch (error) {
          if (!(error instanceof ReadBudgetError)) throw error;
        }
        return (await searchBySummaries(this.entryStore, experimentIds, plan)) ?? (await listing());
      }
      if (bySummaries) {
        const found = await searchBySummaries(this.entryStore, experimentIds, plan);
        if (found) return found;
      }
      return await searchByValues(
        { doc: this.doc, tableName: this.tableName },
        experimentIds,
        plan,
        this.listing,
        runs,
      );
    } catch (error) {
      if (!(error instanceof StaleRunIndexError)) throw error;
      await repairRunOrders(this.doc, this.tableName, error.runIds);
      return undefined;
    }
  }

  /** Every run of an experiment with its latest metrics: RUN_SHARDS partitions of each index, in parallel. */
  async listByExperiment(experimentId: string): Promise<Run[]> {
    const partitions = keys.experimentRunsPartitions(experimentId);
    // Open runs' LATEST items are in their own partitions (keys.runLatestListing).
    const latestPartitions = [...partitions, ...keys.runOpenLatestPartitions(experimentId)];
    const [runPages, latestPages] = await Promise.all([
      Promise.all(partitions.map((partition) => this.queryIndex<RunItem>('gsi1', partition))),
      Promise.all(
        latestPartitions.map((partition) =>
          this.queryIndex<Pick<LatestItem, 'run_id' | 'm' | 'lg'>>(
            'gsi2',
            partition,
            LATEST_LISTING_PROJECTION,
          ),
        ),
      ),
    ]);
    const latest = await withLatestGroups(this.doc, this.tableName, latestPages.flat());
    const latestByRun = new Map(latest.map((item) => [item.run_id, item]));
    return runPages.flat().map((item) => toRun(item, latestByRun.get(item.run_id)));
  }

  private async queryIndex<Item>(
    index: 'gsi1' | 'gsi2',
    partition: string,
    projection?: string,
  ): Promise<Item[]> {
    return queryAll<Item>(this.doc, {
      TableName: this.tableName,
      ...keyConditions.indexPartition(index, partition),
      ...(projection ? { ProjectionExpression: projection } : {}),
    });
  }
}

/** Whether a change touches what a run's summary row holds (run-summaries.ts): not model links. */
function changesSummary(change: RunChange): boolean {
  return (
    change.params !== undefined ||
    change.tags !== undefined ||
    (change.deleteTags?.length ?? 0) > 0 ||
    change.runName !== undefined ||
    change.status !== undefined ||
    change.endTime !== undefined ||
    change.datasets !== undefined
  );
}

/** The orders an index keeps (run-index.ts); a metric or any other order goes to value-search.ts. */
function isIndexOrder(order: RunListingPlan['order']): order is RunListingOrder {
  return order === 'start_time' || order === 'end_time' || order === 'run_name';
}

/** Stored latest points by stored key, as LATEST's `m` and group items hold them. */
function storedLatestMap(points: Record<string, MetricPoint>): Record<string, StoredLatest> {
  const stored: Record<string, StoredLatest> = {};
  // Stored map keys carry the prefix, so plain assignment is safe for any metric key.
  for (const [key, point] of Object.entries(points)) stored[storedKey(key)] = storedLatest(point);
  return stored;
}

/** The groups to keep with a run's LATEST after a write: those of its current `lg`, as last read or put. */
function keptGroups(
  before: ReadonlyMap<string, LatestGroupItem> | undefined,
  written: readonly LatestGroupItem[],
  latest: LatestItem,
): Map<string, LatestGroupItem> | undefined {
  if (!latest.lg) return undefined;
  const prefix = keys.runLatestGroup(latest.run_id, latest.lg, 0).sk.replace(/\d+$/, '');
  const kept = new Map([...(before ?? [])].filter(([sk]) => sk.startsWith(prefix)));
  for (const item of written) kept.set(item.sk, item);
  return kept;
}

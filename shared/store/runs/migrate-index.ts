/**
 * `cairn migrate`: gives the runs of experiments created before order keys existed (keys.ts) their
 * start-time key and ORDER item (name and end-time order), sets the experiment's run counters from the
 * same listing, then marks it `run_index`: from then on its searches read pages instead of every run.
 * Idempotent and resumable: marked experiments are skipped, runs already keyed are left alone, and an
 * experiment is marked only after all its runs are keyed, so an interrupted migration is finished by
 * running it again. Runs' data is not rewritten: only their key is set, under the version read (a run
 * changed meanwhile is re-read and keyed as it then stands).
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../concurrency.js';
import { queryAll, sendIfCondition, updateIfCondition } from '../doc-commands.js';
import { recountRunStats } from '../experiments/run-stats.js';
import { fromStoredMap } from '../items.js';
import {
  keyConditions,
  keys,
  RUN_INDEX_VERSION,
  RUN_SUMMARIES_VERSION,
  VALUE_INDEX_VERSION,
} from '../keys.js';
import {
  isOpenLatest,
  type LatestItem,
  type RunItem,
  runIndexKeys,
  runOrderItem,
  toRun,
  type ValueEntryItem,
} from './entity.js';
import { withLatestGroups } from './latest-groups.js';
import { putRunOrder } from './run-index.js';
import { compactAll, markRuns } from './run-summaries.js';
import { endLatest, entriesOf, readRunAndLatest, syncEntries, WRITER } from './value-entries.js';

/** Every entry a run calls for. */
const ALL_ENTRIES = { metrics: 'all', params: 'all', tags: 'all' } as const;

/** Runs keyed at once: enough to keep a local table busy, few enough for a small table's capacity. */
const RUNS_IN_FLIGHT = 16;

export interface RunIndexMigration {
  dryRun: boolean;
  /** Experiments unmarked (and marked, unless a dry run), or with runs that needed keys (`all`). */
  experiments: string[];
  /** Runs whose keys were (or would be) set. */
  runs: number;
}

export async function migrateRunIndex(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: MigrationOptions = {},
): Promise<RunIndexMigration> {
  return migrateExperiments(doc, tableName, options, {
    mark: 'run_index',
    version: RUN_INDEX_VERSION,
    migrateRun: (run, dryRun) => keyRun(doc, tableName, run, dryRun),
    // Counters (experiments page) from a listing read now, after the keying: a run written meanwhile is
    // either in it or counted by its own write after the counters are set; only one written between this
    // listing and the counters' Put is missed (run `cairn migrate --all` again to recount).
    beforeMark: async (experimentId) => {
      const now = await listRuns(doc, tableName, experimentId);
      await recountRunStats(
        doc,
        tableName,
        experimentId,
        now.map((run) => toRun(run, undefined)),
      );
    },
  });
}

export interface MigrationOptions {
  dryRun?: boolean;
  /** Experiments already marked too: after a rollback to a build that wrote runs without the layout. */
  all?: boolean;
  progress?: (experimentId: string, runs: number) => void;
}

/**
 * One migration step over every experiment not marked `mark = version` (all with `all`): each run through
 * `migrateRun` (true when it changed or would), then, unless a dry run, `beforeMark` and the mark, last, so
 * that an interrupted step is resumed by running it again.
 */
async function migrateExperiments(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: MigrationOptions,
  step: {
    mark: 'run_index' | 'value_index' | 'run_summaries';
    version: number;
    migrateRun: (run: RunItem, dryRun: boolean) => Promise<boolean>;
    beforeMark?: (experimentId: string) => Promise<void>;
  },
): Promise<{ dryRun: boolean; experiments: string[]; runs: number }> {
  const dryRun = options.dryRun ?? false;
  const experiments = await queryAll<{ experiment_id: string } & Partial<Record<typeof step.mark, number>>>(
    doc,
    {
      TableName: tableName,
      ...keyConditions.indexPartition('gsi1', keys.allExperimentsPartition),
      ProjectionExpression: `experiment_id, ${step.mark}`,
    },
  );
  const report = { dryRun, experiments: [] as string[], runs: 0 };
  for (const experiment of experiments) {
    const experimentId = experiment.experiment_id;
    const marked = experiment[step.mark] === step.version;
    if (marked && !options.all) continue;
    const runs = await listRuns(doc, tableName, experimentId);
    const migrated = await mapWithLimit(runs, RUNS_IN_FLIGHT, (run) => step.migrateRun(run, dryRun));
    const changed = migrated.filter(Boolean).length;
    if (changed > 0 || !marked) report.experiments.push(experimentId);
    report.runs += changed;
    options.progress?.(experimentId, changed);
    if (!dryRun) {
      await step.beforeMark?.(experimentId);
      await updateIfCondition(doc, {
        TableName: tableName,
        Key: keys.experiment(experimentId),
        UpdateExpression: `SET ${step.mark} = :version`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':version': step.version },
      });
    }
  }
  return report;
}

/** Every RUN item of an experiment, from its full-listing partitions. */
async function listRuns(doc: DynamoDBDocumentClient, tableName: string, experimentId: string) {
  const pages = await Promise.all(
    keys
      .experimentRunsPartitions(experimentId)
      .map((partition) =>
        queryAll<RunItem>(doc, { TableName: tableName, ...keyConditions.indexPartition('gsi1', partition) }),
      ),
  );
  return pages.flat();
}

/**
 * Sets one run's start-time key and ORDER item if it lacks them; true when it did (or would). Reads the
 * RUN item strongly consistent (the listing is an index copy) and bumps its version with the key, so that
 * the ORDER put, conditional on versions, never replaces an entry a concurrent rename or move wrote.
 */
async function keyRun(
  doc: DynamoDBDocumentClient,
  tableName: string,
  listed: RunItem,
  dryRun: boolean,
): Promise<boolean> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: keys.run(listed.run_id), ConsistentRead: true }),
    );
    if (!Item) return false;
    const item = Item as RunItem;
    const wanted = runIndexKeys(item);
    const order = runOrderItem(toRun(item, undefined), item.ver);
    const { Item: stored } = await doc.send(
      new GetCommand({ TableName: tableName, Key: keys.runOrder(item.run_id), ConsistentRead: true }),
    );
    const keyed = item.gsi1sk === wanted.gsi1sk;
    const ordered = stored?.gsi1sk === order.gsi1sk && stored?.gsi2sk === order.gsi2sk;
    if (keyed && ordered) return false;
    if (dryRun) return true;
    if (keyed) {
      await putRunOrder(doc, tableName, order);
      return true;
    }
    const updated = await updateIfCondition(doc, {
      TableName: tableName,
      Key: keys.run(item.run_id),
      UpdateExpression: 'SET gsi1sk = :gsi1sk, ver = ver + :one',
      ConditionExpression: 'ver = :read',
      ExpressionAttributeValues: { ':gsi1sk': wanted.gsi1sk, ':read': item.ver, ':one': 1 },
    });
    if (updated) {
      await putRunOrder(doc, tableName, { ...order, ver: item.ver + 1 });
      return true;
    }
    // Changed since it was read: key it as it now stands.
  }
  throw new Error(`run ${listed.run_id} kept changing while it was being keyed`);
}

/**
 * `cairn migrate`, third step: gives the runs of experiments not marked `run_summaries` their summary rows
 * (run-summaries.ts): a mark for every run listed, every mark folded, then the experiment marked. A run
 * written meanwhile marks itself (every build that runs this does), so it is folded as it then stands.
 * Idempotent and resumable like the other steps: the experiment's mark comes last.
 */
export async function migrateRunSummaries(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: MigrationOptions = {},
): Promise<ValueIndexMigration> {
  const store = { doc, tableName };
  return migrateExperiments(doc, tableName, options, {
    mark: 'run_summaries',
    version: RUN_SUMMARIES_VERSION,
    // Every run is summarized again: a row costs a few bytes, and comparing would read them all anyway.
    migrateRun: async () => true,
    beforeMark: async (experimentId) => {
      await markRuns(store, experimentId, await listRuns(doc, tableName, experimentId));
      await compactAll(store, experimentId);
    },
  });
}

export interface ValueIndexMigration {
  dryRun: boolean;
  /** Experiments unmarked (and marked, unless a dry run), or with runs out of the layout (`all`). */
  experiments: string[];
  /** Runs whose LATEST item was moved or whose value entries were written (or would be). */
  runs: number;
}

/**
 * `cairn migrate`, second step: puts the runs of experiments not marked `value_index` into the value-entry
 * layout (keys.ts, value-entries.ts): open runs' LATEST items into the open partition, an entry per latest
 * metric of each ended run and per param and tag of each run; then marks the experiment (experiments marked
 * 1, from before tag entries, are laid out again: their runs gain tag entries). Idempotent and resumable
 * as the first step: runs already in the layout are left alone, and the mark comes last. Writes made
 * meanwhile keep the layout themselves (every build that runs this does), so a run written during the
 * migration is either found in it or put right by the same verified write path the writers use.
 */
export async function migrateValueIndex(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: MigrationOptions = {},
): Promise<ValueIndexMigration> {
  return migrateExperiments(doc, tableName, options, {
    mark: 'value_index',
    version: VALUE_INDEX_VERSION,
    migrateRun: (run, dryRun) => layOutRun({ doc, tableName }, run.run_id, dryRun),
  });
}

/**
 * Puts one run into the value-entry layout if it is not; true when it was not. Compares the run's stored
 * entries (one Query of its partition's `MV#`…`PV#` range) with what its RUN and LATEST items say.
 */
async function layOutRun(
  store: { doc: DynamoDBDocumentClient; tableName: string },
  runId: string,
  dryRun: boolean,
): Promise<boolean> {
  const { run, latest: read } = await readRunAndLatest(store, runId);
  if (!run || !read) return false;
  // A wide run's latest values are in its group items (latest-groups.ts), not in LATEST's `m`.
  const [latest] = await withLatestGroups(store.doc, store.tableName, [read], { consistent: true });
  if (!latest) return false;
  const open = run.end_time === undefined;
  const misplaced = open !== isOpenLatest(latest, run.experiment_id);
  // The entries of the run as laid out: an ended run's LATEST as it will be keyed once its end is complete.
  const laidOut: LatestItem = { ...latest, ...keys.runLatestListing(run.experiment_id, runId, open) };
  const wanted = entriesOf(run, laidOut, ALL_ENTRIES);
  const pk = keys.run(runId).pk;
  const { metric, param, tag } = keys.runValuePrefixes;
  const stored = await Promise.all([
    queryAll<ValueEntryItem>(store.doc, {
      TableName: store.tableName,
      ...keyConditions.between(pk, metric, `${param}\uffff`),
    }),
    queryAll<ValueEntryItem>(store.doc, { TableName: store.tableName, ...keyConditions.prefix(pk, tag) }),
  ]);
  const bySk = new Map(
    stored
      .flat()
      .filter((item) => ['metric-value', 'param-value', 'tag-value'].includes(item.type))
      .map((item) => [item.sk, item]),
  );
  const missing = wanted.filter((entry) => {
    const found = bySk.get(entry.sk);
    return (
      !found || found.gsi1pk !== entry.gsi1pk || found.gsi1sk !== entry.gsi1sk || found.value !== entry.value
    );
  });
  const strays = strayTagEntries(run, [...bySk.values()], Date.now());
  if (!misplaced && missing.length === 0 && strays.length === 0) return false;
  if (dryRun) return true;
  if (misplaced && !open) await endLatest(store, runId, run.experiment_id);
  if (misplaced && open) await openLatest(store, runId, run.experiment_id);
  await Promise.all(strays.map((entry) => dropStray(store, entry)));
  await syncEntries(store, runId, ALL_ENTRIES);
  return true;
}

/**
 * Longer than any write can still be in flight: an API function's timeout (29 s behind API Gateway) and a
 * local server request are well under it. An early entry older than this whose update never landed is a
 * dead write's.
 */
const WRITE_IN_FLIGHT_MS = 15 * 60_000;

/**
 * Tag entries no write will put right: one of a tag the run does not hold, derived from its version or an
 * earlier one (a delete raced by a sync), and one stamped above the run's version by a write that died
 * between its early entry and its RUN update. Every later write derives from a later version, so both are
 * told apart from a live writer's entry by their stamp (and, above the run's version, by their age).
 */
function strayTagEntries(run: RunItem, stored: readonly ValueEntryItem[], now: number): ValueEntryItem[] {
  const tags = fromStoredMap(run.tags);
  return stored.filter((entry) => {
    if (entry.type !== 'tag-value') return false;
    const dead = entry.ver > run.ver && now - (entry.at ?? 0) > WRITE_IN_FLIGHT_MS;
    return dead || (entry.ver <= run.ver && !Object.hasOwn(tags, entry.key));
  });
}

/** Deletes a stray tag entry if it is still the one read (the sync that follows puts the run's own back). */
async function dropStray(
  store: { doc: DynamoDBDocumentClient; tableName: string },
  entry: ValueEntryItem,
): Promise<void> {
  await sendIfCondition(
    store.doc,
    new DeleteCommand({
      TableName: store.tableName,
      Key: { pk: entry.pk, sk: entry.sk },
      ConditionExpression:
        entry.w === undefined ? 'ver = :ver AND attribute_not_exists(#w)' : 'ver = :ver AND #w = :w',
      ExpressionAttributeNames: { '#w': WRITER },
      ExpressionAttributeValues: { ':ver': entry.ver, ...(entry.w === undefined ? {} : { ':w': entry.w }) },
    }),
  );
}

/**
 * Moves an open run's LATEST item into the open partition, bumping its version so that a writer holding it
 * (`recentWrites`) reads it again; a run that ended meanwhile is left to its end, which keys LATEST itself.
 */
async function openLatest(
  store: { doc: DynamoDBDocumentClient; tableName: string },
  runId: string,
  experimentId: string,
): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const { run, latest } = await readRunAndLatest(store, runId);
    if (!run || !latest || run.end_time !== undefined || isOpenLatest(latest, experimentId)) return;
    const moved = await updateIfCondition(store.doc, {
      TableName: store.tableName,
      Key: keys.runLatest(runId),
      UpdateExpression: 'SET gsi2pk = :open, ver = ver + :one',
      ConditionExpression: 'ver = :read',
      ExpressionAttributeValues: {
        ':open': keys.runLatestListing(experimentId, runId, true).gsi2pk,
        ':one': 1,
        ':read': latest.ver,
      },
    });
    if (moved) return;
  }
  throw new Error(`run ${runId} kept changing while its LATEST item was being moved`);
}

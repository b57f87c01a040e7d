/**
 * `cairn migrate`: gives the runs of experiments created before order keys existed (keys.ts) their
 * start-time key and ORDER item (name and end-time order), sets the experiment's run counters from the
 * same listing, then marks it `run_index`: from then on its searches read pages instead of every run.
 * Idempotent and resumable: marked experiments are skipped, runs already keyed are left alone, and an
 * experiment is marked only after all its runs are keyed, so an interrupted migration is finished by
 * running it again. Runs' data is not rewritten: only their key is set, under the version read (a run
 * changed meanwhile is re-read and keyed as it then stands).
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../concurrency.js';
import { queryAll, updateIfCondition } from '../doc-commands.js';
import { recountRunStats } from '../experiments/run-stats.js';
import { keyConditions, keys, RUN_INDEX_VERSION } from '../keys.js';
import { type RunItem, runIndexKeys, runOrderItem, toRun } from './entity.js';
import { putRunOrder } from './run-index.js';

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
  options: {
    dryRun?: boolean;
    /** Experiments already marked too: after a rollback to a build that wrote runs without keys. */
    all?: boolean;
    progress?: (experimentId: string, runs: number) => void;
  } = {},
): Promise<RunIndexMigration> {
  const dryRun = options.dryRun ?? false;
  const experiments = await queryAll<{ experiment_id: string; run_index?: number }>(doc, {
    TableName: tableName,
    ...keyConditions.indexPartition('gsi1', keys.allExperimentsPartition),
    ProjectionExpression: 'experiment_id, run_index',
  });
  const report: RunIndexMigration = { dryRun, experiments: [], runs: 0 };
  for (const { experiment_id: experimentId, run_index } of experiments) {
    if (run_index === RUN_INDEX_VERSION && !options.all) continue;
    const runs = await listRuns(doc, tableName, experimentId);
    const keyed = await mapWithLimit(runs, RUNS_IN_FLIGHT, (run) => keyRun(doc, tableName, run, dryRun));
    const changed = keyed.filter(Boolean).length;
    if (changed > 0 || run_index !== RUN_INDEX_VERSION) report.experiments.push(experimentId);
    report.runs += changed;
    options.progress?.(experimentId, changed);
    if (!dryRun) {
      // Counters (experiments page) from a listing read now, after the keying: a run written meanwhile
      // is either in it or counted by its own write after the counters are set; only one written between
      // this listing and the counters' Put is missed (run `cairn migrate --all` again to recount).
      const now = await listRuns(doc, tableName, experimentId);
      await recountRunStats(
        doc,
        tableName,
        experimentId,
        now.map((run) => toRun(run, undefined)),
      );
      await updateIfCondition(doc, {
        TableName: tableName,
        Key: keys.experiment(experimentId),
        UpdateExpression: 'SET run_index = :version',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':version': RUN_INDEX_VERSION },
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

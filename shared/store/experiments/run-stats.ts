/**
 * Per-experiment run counters (active runs, deleted runs, last activity) kept in step with the writes, so
 * that the experiments page answers from RUN_SHARDS small items per experiment instead of listing runs.
 *
 * Each experiment has one counter item per run-index shard (`keys.experimentRunStats`); a run only ever
 * touches its own shard's item. Writers add deltas with UpdateItem `ADD` (commutative, so concurrent
 * writers need no read and no retry loop), and a reader sums the shards.
 *
 * Idempotence rests on the callers: a create records +1 only after its conditional LATEST Put succeeded
 * (a replayed create fails that condition first), a lifecycle move only when its conditional update moved
 * the run. What is not covered: a process dying between the run write and the counter write (the run is
 * not counted), and an SDK retry of a counter write whose first attempt landed unseen (counted twice).
 * Both are rare and leave a bounded drift that `recountRunStats` (`cairn migrate`) repairs.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ExperimentRunStats, LifecycleStage } from '../../domain/experiments/model.js';
import type { Run } from '../../domain/runs/model.js';
import { batchGetAll, putBatch, updateIfCondition } from '../doc-commands.js';
import { type ItemKey, keys, RUN_INDEX_VERSION, RUN_SHARDS } from '../keys.js';

export interface RunStatsItem extends ItemKey {
  type: 'run-stats';
  experiment_id: string;
  active?: number;
  deleted?: number;
  last_activity?: number;
}

export interface RunStatsChange {
  experimentId: string;
  runId: string;
  /** Deltas: +1, −1 or 0. */
  active: number;
  deleted: number;
  /** Epoch ms of the activity; the shard keeps the largest it was given. */
  at: number;
}

/**
 * How far back a write may set `last_activity`: concurrent writers to one shard land in any order, and
 * start times come from the clients' clocks, so the newest write is often a few milliseconds (or a skewed
 * clock's seconds) behind the value stored. Letting those through keeps the usual case at one write, and
 * the column ("last activity", shown to the second) a minute's error at worst.
 */
export const LAST_ACTIVITY_SLACK_MS = 60_000;

/**
 * One UpdateItem in the usual case. `SET` is last-writer-wins, so the update is conditional on not moving
 * `last_activity` back by more than LAST_ACTIVITY_SLACK_MS: a run imported with an old `start_time` must
 * not make a busy experiment look idle. When the condition refuses, the deltas are applied alone in a
 * second write (deltas of 0 need none). A shard's `last_activity` is thus within the slack of the
 * largest time it was ever given, and the maximum over the shards within the slack of the experiment's.
 */
export async function recordRunStats(
  doc: DynamoDBDocumentClient,
  tableName: string,
  change: RunStatsChange,
): Promise<void> {
  const Key = keys.experimentRunStatsOfRun(change.experimentId, change.runId);
  // A client's start time may lie in the future (or be any safe integer): recorded as activity, it would
  // hold last_activity there and refuse every later write's time.
  const at = Math.min(change.at, Date.now() + LAST_ACTIVITY_SLACK_MS);
  // Every attribute by placeholder: `type` is a reserved word, and the others should not become one.
  const names = {
    '#a': 'active',
    '#d': 'deleted',
    '#l': 'last_activity',
    '#e': 'experiment_id',
    '#t': 'type',
  };
  const values = { ':a': change.active, ':d': change.deleted, ':e': change.experimentId, ':t': 'run-stats' };
  const forward = await updateIfCondition(doc, {
    TableName: tableName,
    Key,
    UpdateExpression: 'ADD #a :a, #d :d SET #l = :at, #e = :e, #t = :t',
    ConditionExpression: 'attribute_not_exists(#l) OR #l <= :floor',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: {
      ...values,
      ':at': at,
      ':floor': at + LAST_ACTIVITY_SLACK_MS,
    },
  });
  if (forward || (change.active === 0 && change.deleted === 0)) return;
  const { '#l': _unused, ...deltaNames } = names;
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key,
      UpdateExpression: 'ADD #a :a, #d :d SET #e = :e, #t = :t',
      ExpressionAttributeNames: deltaNames,
      ExpressionAttributeValues: values,
    }),
  );
}

/** A new run: called only after its conditional RUN Put succeeded, so a replayed create never gets here. */
export function recordRunCreated(
  doc: DynamoDBDocumentClient,
  tableName: string,
  run: Pick<Run, 'experimentId' | 'runId' | 'startTime'>,
): Promise<void> {
  const at = run.startTime || Date.now();
  return recordRunStats(doc, tableName, {
    experimentId: run.experimentId,
    runId: run.runId,
    active: 1,
    deleted: 0,
    at,
  });
}

/** A run moved between lifecycle stages (counted once: only when its RUN item moved). */
export async function recordRunMove(
  doc: DynamoDBDocumentClient,
  tableName: string,
  experimentId: string,
  runId: string,
  to: LifecycleStage,
  at: number = Date.now(),
): Promise<void> {
  const delta = to === 'deleted' ? 1 : -1;
  await recordRunStats(doc, tableName, { experimentId, runId, active: -delta, deleted: delta, at });
}

/**
 * The counters of each experiment, in the order given, summed over their shards: one BatchGet per 100
 * items (25 experiments), eventually consistent (the page it feeds is a glance, not a check). An
 * experiment without counter items answers zeros and no last activity. A sum below zero (a move recorded
 * for a run created before counters existed, until `cairn migrate` recounts) reads as zero.
 */
export async function readRunStats(
  doc: DynamoDBDocumentClient,
  tableName: string,
  experimentIds: readonly string[],
): Promise<ExperimentRunStats[]> {
  const wanted = experimentIds.flatMap((experimentId) =>
    Array.from({ length: RUN_SHARDS }, (_, shard) => keys.experimentRunStats(experimentId, shard)),
  );
  // batchGetAll asks again for keys left unprocessed: a missing shard must not read as "no runs". The
  // experiments' marks come in the same calls: an experiment from before counters is not counted yet.
  const items = await batchGetAll<RunStatsItem | { experiment_id: string; run_index?: number; sk: string }>(
    doc,
    tableName,
    [...wanted, ...experimentIds.map((experimentId) => keys.experiment(experimentId))],
  );
  const counted = new Set<string>();
  const sums = new Map<string, { active: number; deleted: number; last?: number }>();
  for (const item of items) {
    if (!('type' in item) || item.type !== 'run-stats') {
      if ('run_index' in item && item.run_index === RUN_INDEX_VERSION) counted.add(item.experiment_id);
      continue;
    }
    const sum = sums.get(item.experiment_id) ?? { active: 0, deleted: 0 };
    sum.active += item.active ?? 0;
    sum.deleted += item.deleted ?? 0;
    if (item.last_activity !== undefined) sum.last = Math.max(sum.last ?? 0, item.last_activity);
    sums.set(item.experiment_id, sum);
  }
  return experimentIds.map((experimentId) => {
    const sum = sums.get(experimentId);
    return {
      experimentId,
      ...(counted.has(experimentId)
        ? {
            activeRuns: Math.max(0, sum?.active ?? 0),
            deletedRuns: Math.max(0, sum?.deleted ?? 0),
          }
        : {}),
      ...(sum?.last !== undefined ? { lastActivity: sum.last } : {}),
    };
  });
}

/** What a recount needs of each run. */
export type CountedRun = Pick<Run, 'runId' | 'lifecycleStage' | 'startTime' | 'endTime'>;

/**
 * Sets an experiment's counter items outright from a full listing of its runs (`cairn migrate`: counters
 * for runs written before they existed, or to repair drift). Last activity is the latest start or end
 * time among the runs: the moves the write path records leave no trace to recount, and an end time is
 * the best evidence left of activity after a start. The Puts overwrite deltas added meanwhile, so run it
 * while the experiment is quiet, or run it again.
 */
export async function recountRunStats(
  doc: DynamoDBDocumentClient,
  tableName: string,
  experimentId: string,
  runs: readonly CountedRun[],
): Promise<void> {
  const shards = Array.from({ length: RUN_SHARDS }, (_, shard) => ({
    ...keys.experimentRunStats(experimentId, shard),
    type: 'run-stats' as const,
    experiment_id: experimentId,
    active: 0,
    deleted: 0,
    last_activity: undefined as number | undefined,
  }));
  const shardOfKey = new Map(shards.map((item) => [item.pk, item]));
  for (const run of runs) {
    const item = shardOfKey.get(keys.experimentRunStatsOfRun(experimentId, run.runId).pk);
    if (!item) continue;
    if (run.lifecycleStage === 'deleted') item.deleted++;
    else item.active++;
    const at = Math.max(run.startTime || 0, run.endTime ?? 0);
    if (at > 0) item.last_activity = Math.max(item.last_activity ?? 0, at);
  }
  await putBatch(doc, tableName, shards);
}

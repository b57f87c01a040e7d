/**
 * One run with its latest metrics, strongly consistent: what `runs/get` answers and the promotion guard
 * checks. A module of its own so that a function that only reads runs (registry) leaves the run write and
 * search paths out of its bundle (design.md: bundles under 1 MB).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Run } from '../../domain/runs/model.js';
import { batchGetAll } from '../doc-commands.js';
import { keys } from '../keys.js';
import { isLatestItem, isRunItem, type LatestItem, type RunItem, toRun } from './entity.js';
import { withLatestGroups } from './latest-groups.js';

/** RUN and LATEST in one call, strongly consistent (only `projection` of them, when given). */
export async function readRunItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  projection?: string,
): Promise<{ run?: RunItem; latest?: LatestItem }> {
  const items = await batchGetAll(doc, tableName, [keys.run(runId), keys.runLatest(runId)], {
    consistent: true,
    ...(projection ? { projection } : {}),
  });
  return {
    run: items.find((item) => isRunItem(item, runId)) as RunItem | undefined,
    latest: items.find((item) => isLatestItem(item, runId)) as LatestItem | undefined,
  };
}

export async function readRun(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
): Promise<Run | undefined> {
  const { run, latest } = await readRunItems(doc, tableName, runId);
  if (!run) return undefined;
  // A wide run's latest values are in its group items (latest-groups.ts).
  const [complete] = latest ? await withLatestGroups(doc, tableName, [latest], { consistent: true }) : [];
  return toRun(run, complete);
}

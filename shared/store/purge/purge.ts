/**
 * Purge: removes for good the runs deleted longer ago than a threshold and the experiments deleted longer
 * ago (with everything keyed to them), items and artifact objects alike. `cairn gc` and the daily purge
 * function (functions/purge) both call `purgeDeleted`; nothing here is on a request path.
 *
 * When a thing was deleted: a run's `deleted_time` (set by every delete since it was kept); an
 * experiment's `last_update_time` (a delete sets it, and a deleted experiment cannot be renamed or
 * tagged). A deleted run without `deleted_time` (deleted by an earlier build) is stamped with the time
 * of the first purge that sees it and reported: it goes one threshold later, never earlier than asked.
 *
 * What a run is: every item of its partition `RUN#<run_id>` (RUN, LATEST, LG#, ORDER, MC#/MX#/MS#
 * chunks, MV#/PV#/TV# value entries, SEAL#), plus one count in its experiment's run counters (EXPSTATS#…,
 * decremented here), plus the objects under `<key prefix><experiment>/<run>/`. Its index copies
 * (EXPRUNS#, EXPRUNN#, EXPRUNE#, EXPOPEN#, EXPMV#, EXPPV#, EXPTV#) live on those items and go with them. An
 * experiment adds its item `EXP#<id>`, its name claim (only while it still names this id), its counter
 * items, its logged models (`LMODEL#<id>`, objects under `<experiment>/models/<id>/`), its traces
 * (`TRACE#<id>`, span objects under `traces/<trace_id>/`), the grants on it (`PERM#<principal>`
 * `experiment#<id>`, issue 16: a deleted experiment keeps them for a restore, a purged one has no use for
 * them) and whatever else is under `<experiment>/`.
 *
 * Kept: a run a registered model version names (its `run_id`, or its source under the run) and a
 * logged model a version names; an experiment holding either stays (deleted) with what was kept.
 *
 * Order, so that an interrupted purge is finished by the next one and nothing in between breaks a read:
 * first a mark (`purging`), by a conditional update on the item itself (an experiment: only while still
 * deleted and past the threshold; a run alone: likewise), then objects, then the run's other items, its
 * RUN item last. Restore refuses a marked experiment or run (INVALID_PARAMETER_VALUE, "being purged"), so
 * nothing restored ever loses data under a purge; a restore that lands before the mark makes the mark's
 * condition fail and the purge leaves it. A purge that finds a mark (one cut short) finishes the job
 * whatever its threshold. Until the RUN item goes the run is still found (deleted, perhaps with fewer
 * metrics or files) by get_run, by the deleted and all views of a search and by the next purge; after it,
 * get_run answers RESOURCE_DOES_NOT_EXIST and no listing shows it. An experiment's item goes after
 * everything keyed to it, then its name claim, so its name stays taken while the item stands.
 */
import {
  DeleteObjectsCommand,
  type DeleteObjectsCommandOutput,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { invalidateGrants } from '../../auth/permission-cache.js';
import { mapWithLimit } from '../../concurrency.js';
import { queryAll, updateIfCondition } from '../doc-commands.js';
import { isConditionFailure } from '../items.js';
import { type ItemKey, keyConditions, keys, RUN_SHARDS, TRACES_KEY_PREFIX } from '../keys.js';
import { DynamoPermissionRepository, permissionKey } from '../permissions/repository.js';
import { PURGE_MARK, putSummaryMark } from '../runs/run-summaries.js';

export const DAY_MS = 86_400_000;

/**
 * A threshold as written on the command line: `30d`, `12h` or `90m` (a bare number is days, as
 * `cairn:purgeDeletedAfterDays`). Undefined when it is none of these.
 */
export function parseAge(text: string): number | undefined {
  const match = /^(\d{1,6})([dhm]?)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = match[2] === 'h' ? 3_600_000 : match[2] === 'm' ? 60_000 : DAY_MS;
  return Number(match[1]) * unit;
}

/** The Default experiment exists always (design decision 11): never purged, even if marked deleted. */
const DEFAULT_EXPERIMENT_ID = '0';

/** Runs purged at once: a few partitions' writes in flight, far under a small table's capacity. */
const RUNS_IN_FLIGHT = 8;

/** BatchWriteItem's limit, and DeleteObjects'. */
const BATCH_WRITE_ITEMS = 25;
const DELETE_OBJECTS_KEYS = 1000;

export interface PurgeTarget {
  doc: DynamoDBDocumentClient;
  tableName: string;
  s3: S3Client;
  bucket: string;
  /** The deployment's artifact key prefix ('' or ending in '/'). */
  keyPrefix: string;
}

export interface PurgeOptions {
  /** Things deleted at or before `now - olderThanMs` go. */
  olderThanMs: number;
  /** The clock (epoch ms); tests pass their own. */
  now?: number;
  /** Only these experiments (their deleted runs, and themselves if deleted). */
  experimentIds?: readonly string[];
  dryRun?: boolean;
  /** Epoch ms after which no new run, model or trace is started (the function stops before its timeout). */
  deadline?: number;
  /** Told of each thing purged (or that would be), kept or stamped, as it happens. */
  progress?: (event: PurgeEvent) => void;
}

export type PurgeEvent =
  | { kind: 'run'; runId: string; experimentId: string; items: number; objects: number; bytes: number }
  | { kind: 'experiment'; experimentId: string; name: string }
  | { kind: 'kept'; what: 'run' | 'logged model' | 'experiment'; id: string; reason: string }
  | { kind: 'stamped'; runId: string; experimentId: string };

export interface PurgeReport {
  dryRun: boolean;
  /** Deleted at or before this (epoch ms) is purged. */
  cutoff: number;
  runs: number;
  experiments: number;
  loggedModels: number;
  traces: number;
  /** Table items and artifact objects removed (or that would be), and the objects' bytes. */
  items: number;
  objects: number;
  bytes: number;
  kept: { what: 'run' | 'logged model' | 'experiment'; id: string; reason: string }[];
  /** Deleted runs without a deleted time, given one now (or that would be): they go one threshold later. */
  stamped: string[];
  /** False when the deadline stopped it: the next purge continues. */
  complete: boolean;
  /** Of `experimentIds`, those no experiment has (never created, or purged already). */
  unknownExperiments: string[];
}

interface RunListing {
  run_id: string;
  experiment_id: string;
  lifecycle_stage: string;
  deleted_time?: number;
  /** Set by a purge before it deletes any of the run's items: restore refuses from then on. */
  purging?: number;
}

interface ExperimentListing {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
  last_update_time: number;
  /** Set by a purge before it touches any of the experiment's runs: restore refuses from then on. */
  purging?: number;
}

/** What registered model versions point at: these runs and logged models are kept. */
interface References {
  runs: Map<string, string>;
  loggedModels: Map<string, string>;
}

class DeadlineReached extends Error {}

export async function purgeDeleted(target: PurgeTarget, options: PurgeOptions): Promise<PurgeReport> {
  const now = options.now ?? Date.now();
  const report: PurgeReport = {
    dryRun: options.dryRun ?? false,
    cutoff: now - options.olderThanMs,
    runs: 0,
    experiments: 0,
    loggedModels: 0,
    traces: 0,
    items: 0,
    objects: 0,
    bytes: 0,
    kept: [],
    stamped: [],
    complete: true,
    unknownExperiments: [],
  };
  const purge = new Purge(target, options, report, now, await readReferences(target));
  try {
    for (const experiment of await purge.experiments()) await purge.experiment(experiment);
  } catch (error) {
    if (!(error instanceof DeadlineReached)) throw error;
    report.complete = false;
  }
  return report;
}

/** Every registered version's run and logged model, from the version listing (gsi2). */
async function readReferences(target: PurgeTarget): Promise<References> {
  const versions = await queryAll<{
    model_id: string;
    version: number;
    source?: string;
    storage_location?: string;
    run_id?: string;
    logged_model_id?: string;
  }>(target.doc, {
    TableName: target.tableName,
    ...keyConditions.indexPartition('gsi2', keys.allModelVersionsPartition),
    ProjectionExpression: 'model_id, version, #source, storage_location, run_id, logged_model_id',
    ExpressionAttributeNames: { '#source': 'source' },
  });
  const references: References = { runs: new Map(), loggedModels: new Map() };
  for (const version of versions) {
    const why = `source of registered model ${version.model_id} version ${version.version}`;
    // A copied version (source `models:/<name>/<n>`) has its files where the version it copies had them:
    // that is its storage_location, which then names the run or logged model the copy lives on.
    const source = `${version.source ?? ''} ${version.storage_location ?? ''}`;
    // Every run id and logged model id the version names, in its fields or anywhere in its source or
    // storage location (`runs:/<id>/…`, `<root>/<experiment>/<id>/artifacts/…`, `models:/m-…`): reading
    // more than they strictly name can only keep more.
    const runIds = [version.run_id, ...(source.match(/(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/g) ?? [])];
    const modelIds = [version.logged_model_id, ...(source.match(/m-[0-9a-f]{32}/g) ?? [])];
    for (const id of runIds) if (id && !references.runs.has(id)) references.runs.set(id, why);
    for (const id of modelIds)
      if (id && !references.loggedModels.has(id)) references.loggedModels.set(id, why);
  }
  return references;
}

class Purge {
  /** Prefixes whose objects a dry run has counted already (see objects). */
  private readonly counted = new Set<string>();
  private readonly grants: DynamoPermissionRepository;

  constructor(
    private readonly target: PurgeTarget,
    private readonly options: PurgeOptions,
    private readonly report: PurgeReport,
    private readonly now: number,
    private readonly references: References,
  ) {
    this.grants = new DynamoPermissionRepository(target.doc, target.tableName);
  }

  private get dryRun() {
    return this.report.dryRun;
  }

  private checkDeadline(): void {
    if (this.options.deadline !== undefined && Date.now() >= this.options.deadline)
      throw new DeadlineReached();
  }

  async experiments(): Promise<ExperimentListing[]> {
    const all = await queryAll<ExperimentListing>(this.target.doc, {
      TableName: this.target.tableName,
      ...keyConditions.indexPartition('gsi1', keys.allExperimentsPartition),
      ProjectionExpression: 'experiment_id, #name, lifecycle_stage, last_update_time, purging',
      ExpressionAttributeNames: { '#name': 'name' },
    });
    const wanted = this.options.experimentIds ? new Set(this.options.experimentIds) : undefined;
    if (!wanted) return all;
    const found = new Set(all.map((experiment) => experiment.experiment_id));
    this.report.unknownExperiments.push(...[...wanted].filter((id) => !found.has(id)));
    return all.filter((experiment) => wanted.has(experiment.experiment_id));
  }

  async experiment(experiment: ExperimentListing): Promise<void> {
    const experimentId = experiment.experiment_id;
    // An experiment an earlier purge marked is finished whatever this purge's threshold: it can no longer
    // be restored, and may have lost runs already.
    let purgeWhole =
      experiment.lifecycle_stage === 'deleted' &&
      experimentId !== DEFAULT_EXPERIMENT_ID &&
      (experiment.last_update_time <= this.report.cutoff || experiment.purging !== undefined);
    // The listing is an index copy read once: the mark, conditional on the item itself, is what decides.
    // From the mark on, restore refuses, so no run of the experiment becomes active again under the purge.
    if (purgeWhole && !this.dryRun && !(await this.markExperiment(experimentId))) {
      this.keep('experiment', experimentId, 'restored before its purge began');
      purgeWhole = false;
    }
    const runs = await this.listRuns(experimentId);
    const outcomes = await mapWithLimit(runs, RUNS_IN_FLIGHT, async (run) => {
      if (purgeWhole) return this.run(run, 'experiment');
      if (run.lifecycle_stage !== 'deleted') return 'left';
      // Marked by a purge cut short: it cannot be restored, so it is finished whatever the threshold.
      if (run.purging !== undefined) return this.run(run, 'run');
      if (run.deleted_time === undefined) {
        await this.stamp(run);
        return 'left';
      }
      return run.deleted_time <= this.report.cutoff ? this.run(run, 'run') : 'left';
    });
    if (!purgeWhole) return;
    let kept = outcomes.includes('kept');
    for (const model of await this.listLoggedModels(experimentId)) {
      if (!(await this.loggedModel(experimentId, model))) kept = true;
    }
    for (const traceId of await this.listTraces(experimentId)) await this.trace(traceId);
    if (kept) {
      this.keep('experiment', experimentId, 'it holds runs or logged models that registered versions use');
      return;
    }
    this.checkDeadline();
    // Whatever else is under the experiment's prefix (objects of runs purged before, of runs never listed).
    await this.objects(`${this.target.keyPrefix}${experimentId}/`);
    const ownItems = await this.partitionKeys(keys.experiment(experimentId).pk);
    const stats = Array.from({ length: RUN_SHARDS }, (_, shard) =>
      keys.experimentRunStats(experimentId, shard),
    );
    const claim = keys.experimentName(experiment.name);
    const summaries = (
      await Promise.all(
        [...keys.runSummaryPartitions(experimentId), ...keys.runSummaryMarkPartitions(experimentId)].map(
          (partition) => this.partitionKeys(partition),
        ),
      )
    ).flat();
    const others = [...ownItems.filter((key) => key.sk !== 'EXP'), ...stats, ...summaries];
    const grants = await this.grants.grantsOn('experiment', experimentId);
    if (this.dryRun) {
      this.report.items += ownItems.length + 1 + grants.length;
    } else {
      await this.deleteItems(others);
      // Before the item: a purge cut short here is finished by the next one, which lists them again.
      await this.deleteItems(
        grants.map((grant) => permissionKey(grant.principal, 'experiment', grant.resource)),
      );
      for (const grant of grants) invalidateGrants(grant.principal);
      this.report.items += grants.length;
      // The item before its name claim: while the item stands, its name stays taken. A purge cut short
      // between the two leaves a claim whose owner is missing, which readers ignore and a create takes over.
      const gone = await this.deleteIf(keys.experiment(experimentId), 'attribute_exists(purging)', undefined);
      if (!gone) return; // another purge finished it
      // The name claim only while it names this experiment: a new experiment may have taken the name.
      await this.deleteIf(claim, 'experiment_id = :id', { ':id': experimentId });
      this.report.items += ownItems.length + 1;
    }
    this.report.experiments++;
    this.options.progress?.({ kind: 'experiment', experimentId, name: experiment.name });
  }

  /** Marks a deleted experiment as being purged; false when it was restored (or is no longer due). */
  private async markExperiment(experimentId: string): Promise<boolean> {
    return updateIfCondition(this.target.doc, {
      TableName: this.target.tableName,
      Key: keys.experiment(experimentId),
      UpdateExpression: 'SET purging = if_not_exists(purging, :now)',
      ConditionExpression:
        'lifecycle_stage = :deleted AND (last_update_time <= :cutoff OR attribute_exists(purging))',
      ExpressionAttributeValues: { ':now': this.now, ':deleted': 'deleted', ':cutoff': this.report.cutoff },
    });
  }

  private async listRuns(experimentId: string): Promise<RunListing[]> {
    const pages = await Promise.all(
      keys.experimentRunsPartitions(experimentId).map((partition) =>
        queryAll<RunListing>(this.target.doc, {
          TableName: this.target.tableName,
          ...keyConditions.indexPartition('gsi1', partition),
          ProjectionExpression: 'run_id, experiment_id, lifecycle_stage, deleted_time, purging',
        }),
      ),
    );
    return pages.flat();
  }

  /** A deleted run from before `deleted_time` was kept: its clock starts now. */
  private async stamp(run: RunListing): Promise<void> {
    if (!this.dryRun) {
      const stamped = await updateIfCondition(this.target.doc, {
        TableName: this.target.tableName,
        Key: keys.run(run.run_id),
        UpdateExpression: 'SET deleted_time = :now',
        ConditionExpression: 'lifecycle_stage = :deleted AND attribute_not_exists(deleted_time)',
        ExpressionAttributeValues: { ':now': this.now, ':deleted': 'deleted' },
      });
      if (!stamped) return;
    }
    this.report.stamped.push(run.run_id);
    this.options.progress?.({ kind: 'stamped', runId: run.run_id, experimentId: run.experiment_id });
  }

  /**
   * One run, whole: 'purged', 'kept' (a version uses it) or 'left' (gone, restored or no longer due).
   * `why` 'run': a deleted run past the threshold (re-checked on the RUN item itself, strongly consistent:
   * the listing is an index copy); 'experiment': any run of an experiment being purged.
   */
  private async run(listed: RunListing, why: 'run' | 'experiment'): Promise<'purged' | 'kept' | 'left'> {
    this.checkDeadline();
    const runId = listed.run_id;
    const reference = this.references.runs.get(runId);
    if (reference) {
      this.keep('run', runId, reference);
      return 'kept';
    }
    const { Item } = await this.target.doc.send(
      new GetCommand({ TableName: this.target.tableName, Key: keys.run(runId), ConsistentRead: true }),
    );
    const run = Item as RunListing | undefined;
    if (!run) return 'left';
    if (
      why === 'run' &&
      run.purging === undefined &&
      !(run.lifecycle_stage === 'deleted' && (run.deleted_time ?? Infinity) <= this.report.cutoff)
    ) {
      return 'left';
    }
    // The mark before any of its items goes: from it on, restore refuses, so a restored run is never left
    // without its data. Alone, only while still deleted (or marked by a purge cut short); of an experiment
    // being purged, whatever its stage (the experiment's mark already stops its restore).
    if (!this.dryRun) {
      const marked = await updateIfCondition(this.target.doc, {
        TableName: this.target.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET purging = if_not_exists(purging, :now)',
        ConditionExpression:
          why === 'experiment'
            ? 'attribute_exists(pk)'
            : 'attribute_exists(purging) OR (lifecycle_stage = :deleted AND deleted_time <= :cutoff)',
        ExpressionAttributeValues: {
          ':now': this.now,
          ...(why === 'experiment' ? {} : { ':deleted': 'deleted', ':cutoff': this.report.cutoff }),
        },
      });
      if (!marked) return 'left';
    }
    const experimentId = run.experiment_id;
    const { objects, bytes } = await this.objects(`${this.target.keyPrefix}${experimentId}/${runId}/`);
    const items = await this.partitionKeys(keys.run(runId).pk);
    if (!this.dryRun) {
      // Its summary row goes with the next compaction (run-summaries.ts): the mark outlives the run's partition.
      await putSummaryMark(this.target, experimentId, runId, PURGE_MARK);
      await this.deleteItems(items.filter((key) => key.sk !== 'RUN'));
      // Marked, it cannot have been restored: false only when another purge deleted it meanwhile.
      const gone = await this.deleteIf(keys.run(runId), 'attribute_exists(purging)', undefined);
      if (!gone) return 'left';
      // A purged run is no longer counted among the experiment's deleted runs (an experiment purged whole
      // loses its counter items instead).
      if (why === 'run') {
        await this.target.doc
          .send(
            new UpdateCommand({
              TableName: this.target.tableName,
              Key: keys.experimentRunStatsOfRun(experimentId, runId),
              UpdateExpression: 'ADD #d :minus',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#d': 'deleted' },
              ExpressionAttributeValues: { ':minus': -1 },
            }),
          )
          .catch((error: unknown) => {
            if (!isConditionFailure(error)) throw error;
          });
      }
    }
    this.report.runs++;
    this.report.items += items.length;
    this.options.progress?.({ kind: 'run', runId, experimentId, items: items.length, objects, bytes });
    return 'purged';
  }

  private async listLoggedModels(experimentId: string): Promise<string[]> {
    const models = await queryAll<{ model_id: string }>(this.target.doc, {
      TableName: this.target.tableName,
      ...keyConditions.indexPartition('gsi1', keys.experimentLoggedModelsPartition(experimentId)),
      ProjectionExpression: 'model_id',
    });
    return models.map((model) => model.model_id);
  }

  /** One logged model of an experiment being purged; false when a version uses it (kept). */
  private async loggedModel(experimentId: string, modelId: string): Promise<boolean> {
    this.checkDeadline();
    const reference = this.references.loggedModels.get(modelId);
    if (reference) {
      this.keep('logged model', modelId, reference);
      return false;
    }
    await this.objects(`${this.target.keyPrefix}${experimentId}/models/${modelId}/`);
    const items = await this.partitionKeys(keys.loggedModel(modelId).pk);
    // Its own item last, as a run's: a re-run finds the model by it and finishes.
    if (!this.dryRun) {
      await this.deleteItems(items.filter((key) => key.sk !== 'LMODEL'));
      await this.deleteItems(items.filter((key) => key.sk === 'LMODEL'));
    }
    this.report.items += items.length;
    this.report.loggedModels++;
    return true;
  }

  private async listTraces(experimentId: string): Promise<string[]> {
    const traces = await queryAll<{ trace_id: string }>(this.target.doc, {
      TableName: this.target.tableName,
      ...keyConditions.indexPartition('gsi1', keys.experimentTracesPartition(experimentId)),
      ProjectionExpression: 'trace_id',
    });
    return traces.map((trace) => trace.trace_id);
  }

  private async trace(traceId: string): Promise<void> {
    this.checkDeadline();
    await this.objects(`${this.target.keyPrefix}${TRACES_KEY_PREFIX}${traceId}/`);
    const items = await this.partitionKeys(keys.trace(traceId).pk);
    if (!this.dryRun) await this.deleteItems(items);
    this.report.items += items.length;
    this.report.traces++;
  }

  private keep(what: 'run' | 'logged model' | 'experiment', id: string, reason: string): void {
    this.report.kept.push({ what, id, reason });
    this.options.progress?.({ kind: 'kept', what, id, reason });
  }

  private async partitionKeys(pk: string): Promise<ItemKey[]> {
    return queryAll<ItemKey>(this.target.doc, {
      TableName: this.target.tableName,
      ...keyConditions.partition(pk),
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
  }

  /**
   * Whether a key lies under a prefix already counted: a run's `<exp>/<run>/` or a logged model's
   * `<exp>/models/<id>/` (the prefixes objects() is called with), looked up, not scanned.
   */
  private countedAlready(key: string): boolean {
    const [experiment, second, third] = key.slice(this.target.keyPrefix.length).split('/');
    const run = `${this.target.keyPrefix}${experiment}/${second}/`;
    return this.counted.has(run) || this.counted.has(`${run}${third}/`);
  }

  /** Deletes (unless a dry run) every object under `prefix`, a listing page (≤ 1,000 keys) per call. */
  private async objects(prefix: string): Promise<{ objects: number; bytes: number }> {
    const { s3, bucket } = this.target;
    let objects = 0;
    let bytes = 0;
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          MaxKeys: DELETE_OBJECTS_KEYS,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      // A dry run deletes nothing, so an experiment's listing would count again the objects its runs and
      // logged models were counted for: those prefixes are left out of the count.
      const listed = (page.Contents ?? []).filter(
        (object) => object.Key && !(this.dryRun && this.countedAlready(object.Key)),
      );
      objects += listed.length;
      bytes += listed.reduce((sum, object) => sum + (object.Size ?? 0), 0);
      if (!this.dryRun && listed.length > 0) {
        const answer: DeleteObjectsCommandOutput = await s3.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: listed.map((object) => ({ Key: object.Key as string })), Quiet: true },
          }),
        );
        if (answer.Errors && answer.Errors.length > 0) {
          const first = answer.Errors[0];
          throw new Error(
            `S3 refused to delete ${answer.Errors.length} objects under ${prefix} (${first?.Code}: ${first?.Message})`,
          );
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    this.counted.add(prefix);
    this.report.objects += objects;
    this.report.bytes += bytes;
    return { objects, bytes };
  }

  /** BatchWriteItem deletes, 25 per call, asking again with backoff for what DynamoDB leaves unprocessed. */
  private async deleteItems(items: readonly ItemKey[]): Promise<void> {
    for (let start = 0; start < items.length; start += BATCH_WRITE_ITEMS) {
      let requests = items
        .slice(start, start + BATCH_WRITE_ITEMS)
        .map((key) => ({ DeleteRequest: { Key: { pk: key.pk, sk: key.sk } } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 8)
          throw new Error(`DynamoDB left ${requests.length} deletes unprocessed after 8 retries`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
        const { UnprocessedItems } = await this.target.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.target.tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[this.target.tableName] ?? []) as typeof requests;
      }
    }
  }

  /** A conditional DeleteItem: false when the condition refused it (or the item is gone). */
  private async deleteIf(
    key: ItemKey,
    condition: string | undefined,
    values: Record<string, unknown> | undefined,
  ): Promise<boolean> {
    try {
      await this.target.doc.send(
        new DeleteCommand({
          TableName: this.target.tableName,
          Key: key,
          ...(condition ? { ConditionExpression: condition } : {}),
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

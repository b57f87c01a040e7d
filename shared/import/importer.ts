/**
 * `cairn import`: copies experiments, runs (full histories, artifacts) and the model registry from any
 * MLflow tracking server into a Cairn table and bucket. Idempotent: what is already there is compared and
 * left alone (a run is whole once its RUN item exists, target.ts); resumable: a run an earlier import cut
 * short is cleared and copied again. A run whose reads keep failing is reported and skipped, and leaves
 * nothing behind.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mapWithLimit } from '../concurrency.js';
import { artifactLocationFor } from '../domain/experiments/service.js';
import type { ModelVersion, Stage } from '../domain/registry/model.js';
import {
  locateSource,
  readingOnce,
  resolveVersionSource,
  validateSource,
} from '../domain/registry/sources.js';
import type { KeyedPoint } from '../domain/runs/model.js';
import { StoredVersionFiles } from '../store/artifacts/version-files.js';
import { DynamoExperimentRepository } from '../store/experiments/repository.js';
import { DynamoLoggedModelRepository } from '../store/logged-models/repository.js';
import { DynamoRegistryRepository } from '../store/registry/repository.js';
import { DynamoRunReader } from '../store/runs/run-reader.js';
import {
  artifactDownloadPath,
  emptyCounts,
  encodePath,
  type ImportCounts,
  int64,
  lifecycle,
  metricPoint,
  proxiedPath,
  rewriteVersionSource,
  type Skipped,
  type SourceExperiment,
  type SourceFileInfo,
  type SourceLoggedModel,
  type SourceMetric,
  type SourceModelVersion,
  type SourceRegisteredModel,
  type SourceRun,
  tagMap,
  toLoggedModel,
  toRun,
} from './convert.js';
import { type MlflowSource, query, SourceError } from './source.js';
import { ArtifactWriter, RunWriter, type TargetStore } from './target.js';

export interface ImportOptions {
  source: MlflowSource;
  target: TargetStore;
  /** The raw client of the target table (the run reader the registry checks sources with takes one). */
  client: DynamoDBClient;
  /** Experiment names to copy; all when empty. */
  experiments: readonly string[];
  dryRun: boolean;
  /** The target's artifact root, as the server's CAIRN_ARTIFACT_ROOT (default `mlflow-artifacts:/`). */
  artifactRoot?: string;
  /** Runs copied at once. */
  concurrency?: number;
  progress?: (state: ImportProgress) => void;
}

export interface ImportProgress {
  counts: ImportCounts;
  runsSeen: number;
  runsTotal: number;
  phase: string;
}

export interface ImportReport {
  counts: ImportCounts;
  skipped: Skipped[];
  notes: string[];
  seconds: number;
}

const HISTORY_PAGE = 25_000;

export async function runImport(options: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const { source, target, dryRun } = options;
  const artifactRoot = options.artifactRoot ?? 'mlflow-artifacts:/';
  const counts = emptyCounts();
  const skipped: Skipped[] = [];
  const notes: string[] = [];
  const experimentsRepo = new DynamoExperimentRepository(target.doc, target.tableName);
  const runWriter = new RunWriter(target);
  const artifactWriter = new ArtifactWriter(target);
  const loggedModels = new DynamoLoggedModelRepository(target.doc, target.tableName);
  /** Source run id → its artifact location there and here (for version sources). */
  const copiedRuns = new Map<string, { from: string | undefined; to: string }>();
  const progressState: ImportProgress = { counts, runsSeen: 0, runsTotal: 0, phase: 'experiments' };
  const tick = () => options.progress?.(progressState);

  // Experiments: all of them (deleted ones too), or those named.
  const all = await source.paged<SourceExperiment>(async (token) => {
    const page = await source.json<{ experiments?: SourceExperiment[]; next_page_token?: string }>(
      '/api/2.0/mlflow/experiments/search',
      {
        method: 'POST',
        body: { max_results: 1000, view_type: 'ALL', ...(token ? { page_token: token } : {}) },
      },
    );
    return { items: page.experiments, next: page.next_page_token };
  });
  const wanted =
    options.experiments.length === 0 ? all : all.filter((e) => options.experiments.includes(e.name));
  for (const name of options.experiments) {
    if (!all.some((e) => e.name === name))
      skipped.push({ what: `experiment '${name}'`, why: 'not found in the source' });
  }

  // The target's Default experiment ("0"), as its server makes it on first use: a source's Default is
  // kept there, with the source's creation time when the target has none yet.
  if (!dryRun) {
    const sourceDefault = all.find((e) => e.experiment_id === '0');
    await experimentsRepo.ensureDefault(
      artifactLocationFor(artifactRoot, '0'),
      int64(sourceDefault?.creation_time) ?? Date.now(),
    );
  }

  const plans: { experiment: SourceExperiment; targetId: string; location: string; runs: SourceRun[] }[] = [];
  for (const experiment of wanted) {
    try {
      const placed = await placeExperiment(experiment);
      if (!placed) continue;
      const runs = await source.paged<SourceRun>(async (token) => {
        const page = await source.json<{ runs?: SourceRun[]; next_page_token?: string }>(
          '/api/2.0/mlflow/runs/search',
          {
            method: 'POST',
            body: {
              experiment_ids: [experiment.experiment_id],
              run_view_type: 'ALL',
              max_results: 1000,
              ...(token ? { page_token: token } : {}),
            },
          },
        );
        return { items: page.runs, next: page.next_page_token };
      });
      plans.push({ experiment, ...placed, runs });
      progressState.runsTotal += runs.length;
      tick();
    } catch (error) {
      skipped.push({
        what: `experiment '${experiment.name}' (${experiment.experiment_id})`,
        why: reason(error),
      });
    }
  }

  progressState.phase = 'runs';
  const queue = plans.flatMap((plan) => plan.runs.map((run) => ({ plan, run })));
  await mapWithLimit(queue, options.concurrency ?? 4, async ({ plan, run }) => {
    await copyRun(run, plan.targetId, plan.location);
    progressState.runsSeen++;
    tick();
  });

  progressState.phase = 'logged models';
  tick();
  for (const plan of plans) {
    try {
      await copyLoggedModels(plan.experiment.experiment_id, plan.targetId, plan.location);
    } catch (error) {
      skipped.push({ what: `logged models of experiment '${plan.experiment.name}'`, why: reason(error) });
    }
  }

  if (options.experiments.length === 0 || copiedRuns.size > 0) {
    progressState.phase = 'registry';
    tick();
    try {
      await copyRegistry();
    } catch (error) {
      skipped.push({ what: 'model registry', why: reason(error) });
    }
  }
  return { counts, skipped, notes, seconds: (performance.now() - started) / 1000 };

  /** The target experiment of a source one: the same name (kept), else created, under its id when free. */
  async function placeExperiment(
    experiment: SourceExperiment,
  ): Promise<{ targetId: string; location: string } | undefined> {
    const existing = await experimentsRepo.getByName(experiment.name);
    const tags = tagMap(experiment.tags);
    if (existing) {
      if (existing.experimentId !== experiment.experiment_id) {
        notes.push(
          `experiment '${experiment.name}' is ${existing.experimentId} here (${experiment.experiment_id} in the source)`,
        );
      }
      if (!dryRun && existing.lifecycleStage === 'active') {
        for (const [key, value] of Object.entries(tags)) {
          if (existing.tags[key] !== value) await experimentsRepo.setTag(existing.experimentId, key, value);
        }
      }
      return { targetId: existing.experimentId, location: existing.artifactLocation };
    }
    counts.experiments++;
    if (dryRun)
      return {
        targetId: experiment.experiment_id,
        location: artifactLocationFor(artifactRoot, experiment.experiment_id),
      };
    const now = Date.now();
    const created = await experimentsRepo.createImported(
      {
        name: experiment.name,
        lifecycleStage: lifecycle(experiment.lifecycle_stage),
        creationTime: int64(experiment.creation_time) ?? now,
        lastUpdateTime: int64(experiment.last_update_time) ?? int64(experiment.creation_time) ?? now,
        tags,
      },
      experiment.experiment_id,
      (id) => artifactLocationFor(artifactRoot, id),
    );
    if (created.experimentId !== experiment.experiment_id) {
      notes.push(
        `experiment '${experiment.name}' is ${created.experimentId} here: id ${experiment.experiment_id} was taken or too long`,
      );
    }
    return { targetId: created.experimentId, location: created.artifactLocation };
  }

  async function copyRun(listed: SourceRun, experimentId: string, location: string): Promise<void> {
    const runId = listed.info.run_id;
    const artifactUri = `${location}/${runId}/artifacts`;
    const what = `run ${runId} (${listed.info.run_name ?? ''})`;
    try {
      const presence = await runWriter.presence(runId);
      if (presence === 'whole') {
        counts.runsUnchanged++;
        copiedRuns.set(runId, { from: listed.info.artifact_uri, to: artifactUri });
        return;
      }
      // runs/get: a listing may leave out inputs on some servers; the run itself has everything.
      const { run } = await source.json<{ run: SourceRun }>(
        `/api/2.0/mlflow/runs/get?${query({ run_id: runId })}`,
      );
      const points = await readHistories(run);
      const files = await listArtifacts(runId, '');
      if (dryRun) {
        counts.runs++;
        counts.points += points.length;
        counts.artifacts += files.length;
        counts.bytes += files.reduce((sum, file) => sum + (int64(file.file_size) ?? 0), 0);
        return;
      }
      const owner = { kind: 'run' as const, experimentId, runId };
      if (presence === 'partial') await runWriter.clearPartial(runId);
      await artifactWriter.clear(owner);
      let bytes = 0;
      try {
        for (const file of files) {
          const response = await source.request(artifactDownloadPath(run, file.path));
          bytes += await artifactWriter.put(
            owner,
            file.path,
            response.body,
            response.headers.get('content-type') ?? undefined,
          );
        }
        await runWriter.write(toRun(run, experimentId, artifactUri), points);
      } catch (error) {
        // Nothing of a skipped run stays: no reader sees its items without a RUN item, but they would
        // still take room until the next import clears them.
        await artifactWriter.clear(owner).catch(() => undefined);
        await runWriter.clearPartial(runId).catch(() => undefined);
        throw error;
      }
      counts.runs++;
      counts.points += points.length;
      counts.artifacts += files.length;
      counts.bytes += bytes;
      copiedRuns.set(runId, { from: run.info.artifact_uri, to: artifactUri });
    } catch (error) {
      skipped.push({ what, why: reason(error) });
    }
  }

  /**
   * MLflow 3's logged models of one experiment, ids kept: their files first (under the model's root), then
   * the model item, which marks it whole, as the RUN item marks a run. Only proxied locations are read.
   */
  async function copyLoggedModels(sourceExperimentId: string, experimentId: string, location: string) {
    const models = await source.paged<SourceLoggedModel>(async (token) => {
      const page = await source.json<{ models?: SourceLoggedModel[]; next_page_token?: string }>(
        '/api/2.0/mlflow/logged-models/search',
        {
          method: 'POST',
          body: {
            experiment_ids: [sourceExperimentId],
            max_results: 50,
            ...(token ? { page_token: token } : {}),
          },
        },
      );
      return { items: page.models, next: page.next_page_token };
    });
    for (const model of models) {
      const modelId = model.info.model_id;
      try {
        if (await loggedModels.get(modelId)) continue;
        const root = proxiedPath(model.info.artifact_uri);
        if (root === undefined)
          throw new Error(`its artifacts are at ${model.info.artifact_uri}, not proxied by the source`);
        const files = await listProxied(root, '');
        counts.loggedModels++;
        if (dryRun) continue;
        const owner = { kind: 'model' as const, experimentId, modelId };
        await artifactWriter.clear(owner);
        for (const file of files) {
          const response = await source.request(
            `/api/2.0/mlflow-artifacts/artifacts/${encodePath(`${root}/${file}`)}`,
          );
          counts.bytes += await artifactWriter.put(
            owner,
            file,
            response.body,
            response.headers.get('content-type') ?? undefined,
          );
          counts.artifacts++;
        }
        await loggedModels.create(
          toLoggedModel(model, experimentId, `${location}/models/${modelId}/artifacts`),
        );
      } catch (error) {
        skipped.push({ what: `logged model ${modelId}`, why: reason(error) });
      }
    }
  }

  /** Files under a proxied location, relative to `root`, walking directories (the listing names basenames). */
  async function listProxied(root: string, path: string): Promise<string[]> {
    const full = path ? `${root}/${path}` : root;
    const { files } = await source.json<{ files?: SourceFileInfo[] }>(
      `/api/2.0/mlflow-artifacts/artifacts?${query({ path: full })}`,
    );
    const out: string[] = [];
    for (const entry of files ?? []) {
      const name = entry.path.split('/').at(-1) as string;
      const relative = path ? `${path}/${name}` : name;
      if (entry.is_dir) out.push(...(await listProxied(root, relative)));
      else out.push(relative);
    }
    return out;
  }

  /** Every point of every key the run has logged, page by page. */
  async function readHistories(run: SourceRun): Promise<KeyedPoint[]> {
    const points: KeyedPoint[] = [];
    for (const { key } of run.data?.metrics ?? []) {
      const history = await source.paged<SourceMetric>(async (token) => {
        const page = await source.json<{ metrics?: SourceMetric[]; next_page_token?: string }>(
          `/api/2.0/mlflow/metrics/get-history?${query({
            run_id: run.info.run_id,
            metric_key: key,
            max_results: HISTORY_PAGE,
            page_token: token,
          })}`,
        );
        return { items: page.metrics, next: page.next_page_token };
      });
      for (const metric of history) points.push(metricPoint({ ...metric, key }));
    }
    return points;
  }

  /** The run's files (not directories), paths relative to its artifact root, walking directories. */
  async function listArtifacts(runId: string, path: string): Promise<SourceFileInfo[]> {
    const entries = await source.paged<SourceFileInfo>(async (token) => {
      const page = await source.json<{ files?: SourceFileInfo[]; next_page_token?: string }>(
        `/api/2.0/mlflow/artifacts/list?${query({ run_id: runId, path: path || undefined, page_token: token })}`,
      );
      return { items: page.files, next: page.next_page_token };
    });
    const files: SourceFileInfo[] = [];
    for (const entry of entries) {
      if (entry.is_dir) files.push(...(await listArtifacts(runId, entry.path)));
      else files.push(entry);
    }
    return files;
  }

  async function copyRegistry(): Promise<void> {
    const registry = new DynamoRegistryRepository(target.doc, target.tableName);
    const lookup = readingOnce(new DynamoRunReader(options.client, target.tableName));
    const files = new StoredVersionFiles(target.doc, target.tableName, undefined);
    const models = await source.paged<SourceRegisteredModel>(async (token) => {
      const page = await source.json<{
        registered_models?: SourceRegisteredModel[];
        next_page_token?: string;
      }>(`/api/2.0/mlflow/registered-models/search?${query({ max_results: 1000, page_token: token })}`);
      return { items: page.registered_models, next: page.next_page_token };
    });
    for (const model of models) {
      try {
        const versions = await source.paged<SourceModelVersion>(async (token) => {
          const page = await source.json<{ model_versions?: SourceModelVersion[]; next_page_token?: string }>(
            `/api/2.0/mlflow/model-versions/search?${query({
              filter: `name = '${model.name.replaceAll("'", "\\'")}'`,
              max_results: 1000,
              page_token: token,
            })}`,
          );
          return { items: page.model_versions, next: page.next_page_token };
        });
        // With --experiment, only models with a version from a copied run come along.
        if (options.experiments.length > 0 && !versions.some((v) => v.run_id && copiedRuns.has(v.run_id)))
          continue;
        await copyModel(model, versions);
      } catch (error) {
        skipped.push({ what: `registered model '${model.name}'`, why: reason(error) });
      }
    }

    async function copyModel(model: SourceRegisteredModel, versions: SourceModelVersion[]): Promise<void> {
      const aliases: Record<string, number> = {};
      for (const { alias, version } of model.aliases ?? []) aliases[alias] = Number(version);
      const highest = Math.max(0, ...versions.map((v) => Number(v.version)));
      let existing = await registry.getModelByName(model.name);
      if (!existing) {
        counts.models++;
        if (dryRun) {
          counts.versions += versions.length;
          return;
        }
        const created = int64(model.creation_timestamp) ?? Date.now();
        existing = await registry.createImported(
          {
            name: model.name,
            ...(model.description ? { description: model.description } : {}),
            creationTimestamp: created,
            lastUpdatedTimestamp: int64(model.last_updated_timestamp) ?? created,
            ...(model.user_id ? { userId: model.user_id } : {}),
            tags: tagMap(model.tags),
            aliases,
          },
          highest,
        );
      } else if (!dryRun) {
        const now = Date.now();
        if ((model.description ?? '') !== (existing.description ?? '')) {
          await registry.updateModel(existing.modelId, model.description ?? '', now);
        }
        for (const [key, value] of Object.entries(tagMap(model.tags))) {
          if (existing.tags[key] !== value) await registry.setModelTag(existing.modelId, key, value);
        }
      }
      const modelId = existing.modelId;
      for (const version of versions) {
        const number = Number(version.version);
        if (await registry.getVersion(modelId, number)) continue;
        if (version.status && version.status !== 'READY') {
          skipped.push({
            what: `model version ${model.name}/${version.version}`,
            why: `its status is ${version.status}`,
          });
          continue;
        }
        counts.versions++;
        if (dryRun) continue;
        await putVersion(modelId, version);
      }
      if (!dryRun) {
        // Aliases after their versions (a fresh model carries them already; readers hide one whose
        // version is not there yet).
        const current = await registry.getModel(modelId);
        for (const [alias, number] of Object.entries(aliases)) {
          if (current?.aliases[alias] !== number) await registry.setAlias(modelId, alias, number, Date.now());
        }
      }
    }

    async function putVersion(modelId: string, version: SourceModelVersion): Promise<void> {
      const source = rewriteVersionSource(version.source ?? '', copiedRuns, version.run_id);
      const kind = validateSource(source, artifactRoot);
      const input = {
        name: version.name,
        source,
        ...(version.run_id ? { runId: version.run_id } : {}),
        ...(version.model_id ? { loggedModelId: version.model_id } : {}),
        tags: [],
      };
      const resolved = await resolveVersionSource(input, kind, lookup, artifactRoot).catch(
        (error: unknown) =>
          ({ unverified: reason(error) }) as Awaited<ReturnType<typeof resolveVersionSource>>,
      );
      const location = await locateSource(source, artifactRoot, lookup);
      const number = Number(version.version);
      if (location) await files.seal(location, { modelId, version: number });
      const created = int64(version.creation_timestamp) ?? Date.now();
      const stage = (['None', 'Staging', 'Production', 'Archived'] as const).includes(
        version.current_stage as Stage,
      )
        ? (version.current_stage as Stage)
        : 'None';
      const item: ModelVersion = {
        modelId,
        version: number,
        creationTimestamp: created,
        lastUpdatedTimestamp: int64(version.last_updated_timestamp) ?? created,
        ...(version.user_id ? { userId: version.user_id } : {}),
        currentStage: stage,
        source,
        ...(resolved.runId ? { runId: resolved.runId } : version.run_id ? { runId: version.run_id } : {}),
        ...(resolved.storageLocation ? { storageLocation: resolved.storageLocation } : {}),
        ...(resolved.unverified ? { unverified: resolved.unverified } : {}),
        ...(version.run_link ? { runLink: version.run_link } : {}),
        ...(version.description ? { description: version.description } : {}),
        ...(version.model_id ? { loggedModelId: version.model_id } : {}),
        status: 'READY',
        tags: tagMap(version.tags),
      };
      await registry.putVersion(item);
    }
  }
}

function reason(error: unknown): string {
  if (error instanceof SourceError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

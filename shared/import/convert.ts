/**
 * The pure half of `cairn import`: MLflow's JSON shapes as a source server answers them, and how they
 * become Cairn's domain objects; where a source keeps a run's artifact bytes; how a registered version's
 * source follows its run's artifacts; retry delays; the summary's wording. No I/O here.
 */
import type { LoggedModel, LoggedModelStatus } from '../domain/logged-models/model.js';
import type { DatasetInput, KeyedPoint, Run, RunStatus } from '../domain/runs/model.js';

export interface SourceTag {
  key: string;
  value?: string;
}

export interface SourceExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: number | string;
  last_update_time?: number | string;
  tags?: SourceTag[];
}

export interface SourceMetric {
  key: string;
  value: number | string;
  timestamp?: number | string;
  step?: number | string;
}

export interface SourceRun {
  info: {
    run_id: string;
    run_name?: string;
    experiment_id: string;
    user_id?: string;
    status?: string;
    start_time?: number | string;
    end_time?: number | string;
    artifact_uri?: string;
    lifecycle_stage?: string;
  };
  data?: { metrics?: SourceMetric[]; params?: SourceTag[]; tags?: SourceTag[] };
  inputs?: {
    dataset_inputs?: {
      tags?: SourceTag[];
      dataset: {
        name: string;
        digest: string;
        source_type: string;
        source: string;
        schema?: string;
        profile?: string;
      };
    }[];
    model_inputs?: { model_id: string }[];
  };
  outputs?: { model_outputs?: { model_id: string; step?: number | string }[] };
}

export interface SourceFileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

export interface SourceRegisteredModel {
  name: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  user_id?: string;
  description?: string;
  tags?: SourceTag[];
  aliases?: { alias: string; version: string }[];
}

export interface SourceModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  status?: string;
  tags?: SourceTag[];
  model_id?: string;
}

const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

/** int64 fields arrive as JSON numbers from MLflow and as strings from strict proto3 JSON encoders. */
export function int64(value: number | string | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** A metric value as it travels: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (protobuf JSON). */
export function metricValue(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number(value);
}

export function metricPoint(metric: SourceMetric): KeyedPoint {
  return {
    key: metric.key,
    value: metricValue(metric.value),
    timestamp: int64(metric.timestamp) ?? 0,
    step: int64(metric.step) ?? 0,
  };
}

export function tagMap(tags: readonly SourceTag[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) map[tag.key] = tag.value ?? '';
  return map;
}

export function lifecycle(stage: string | undefined): 'active' | 'deleted' {
  return stage === 'deleted' ? 'deleted' : 'active';
}

/**
 * The run as Cairn stores it, without metrics (the histories are appended after, which sets the latest
 * values exactly as logging them would): in the target experiment, its artifacts under the target's root.
 */
export function toRun(source: SourceRun, experimentId: string, artifactUri: string): Run {
  const { info } = source;
  const status = RUN_STATUSES.includes(info.status as RunStatus) ? (info.status as RunStatus) : 'FINISHED';
  const endTime = int64(info.end_time);
  const datasets: DatasetInput[] = (source.inputs?.dataset_inputs ?? []).map(({ dataset, tags }) => ({
    name: dataset.name,
    digest: dataset.digest,
    sourceType: dataset.source_type,
    source: dataset.source,
    ...(dataset.schema ? { schema: dataset.schema } : {}),
    ...(dataset.profile ? { profile: dataset.profile } : {}),
    tags: tagMap(tags),
  }));
  return {
    runId: info.run_id,
    experimentId,
    runName: info.run_name ?? tagMap(source.data?.tags)['mlflow.runName'] ?? '',
    userId: info.user_id ?? '',
    status,
    startTime: int64(info.start_time) ?? 0,
    ...(endTime === undefined ? {} : { endTime }),
    artifactUri,
    lifecycleStage: lifecycle(info.lifecycle_stage),
    params: tagMap(source.data?.params),
    tags: tagMap(source.data?.tags),
    metrics: {},
    datasets,
    modelOutputs: (source.outputs?.model_outputs ?? []).map((output) => ({
      modelId: output.model_id,
      step: int64(output.step) ?? 0,
    })),
    modelInputs: (source.inputs?.model_inputs ?? []).map((input) => input.model_id),
  };
}

/**
 * The path of a proxied artifact location (`mlflow-artifacts:/1/<run>/artifacts`, or with the server's
 * authority, `mlflow-artifacts://host:port/1/<run>/artifacts`) below the artifact service, without
 * slashes at either end; undefined for a location the source does not proxy (s3://, a local path...).
 */
export function proxiedPath(artifactUri: string | undefined): string | undefined {
  if (!artifactUri) return undefined;
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
  return match ? (match[1] as string).replace(/\/+$/, '') : undefined;
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * Where the source serves one file of a run: the artifact service for a proxied location, else the
 * tracking server's `get-artifact`, which reads any location the server itself can reach.
 */
export function artifactDownloadPath(run: SourceRun, relative: string): string {
  const proxied = proxiedPath(run.info.artifact_uri);
  if (proxied !== undefined) {
    return `/api/2.0/mlflow-artifacts/artifacts/${encodePath(proxied ? `${proxied}/${relative}` : relative)}`;
  }
  return `/get-artifact?${new URLSearchParams({ path: relative, run_uuid: run.info.run_id }).toString()}`;
}

/**
 * A version's source in the target: under a copied run's artifact location in the source, it moves with
 * the bytes to the run's location in the target; `runs:/` and `models:/` URIs name ids the import keeps;
 * anything else (an external s3:// the source never held) is kept as it was.
 */
export function rewriteVersionSource(
  source: string,
  runs: ReadonlyMap<string, { from: string | undefined; to: string }>,
  runId: string | undefined,
): string {
  const candidates = runId ? [runs.get(runId)] : [...runs.values()];
  const normalized = (uri: string) => {
    const proxied = proxiedPath(uri);
    return proxied === undefined ? uri.replace(/\/+$/, '') : `mlflow-artifacts:/${proxied}`;
  };
  const given = normalized(source);
  for (const run of candidates) {
    if (!run?.from) continue;
    const from = normalized(run.from);
    if (given === from) return run.to;
    if (given.startsWith(`${from}/`)) return `${run.to}${given.slice(from.length)}`;
  }
  return source;
}

export interface SourceLoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    artifact_uri?: string;
    creation_timestamp_ms?: number | string;
    last_updated_timestamp_ms?: number | string;
    status?: string;
    status_message?: string;
    model_type?: string;
    source_run_id?: string;
    tags?: SourceTag[];
  };
  data?: {
    params?: SourceTag[];
    metrics?: (SourceMetric & { run_id?: string; dataset_name?: string; dataset_digest?: string })[];
  };
}

/** A logged model as Cairn stores it, in the target experiment, its files under the target's root. */
export function toLoggedModel(
  source: SourceLoggedModel,
  experimentId: string,
  artifactUri: string,
): LoggedModel {
  const { info } = source;
  const created = int64(info.creation_timestamp_ms) ?? 0;
  return {
    modelId: info.model_id,
    experimentId,
    name: info.name,
    artifactUri,
    creationTimestamp: created,
    lastUpdatedTimestamp: int64(info.last_updated_timestamp_ms) ?? created,
    status: (info.status ?? 'LOGGED_MODEL_READY') as LoggedModelStatus,
    lifecycleStage: 'active',
    ...(info.model_type ? { modelType: info.model_type } : {}),
    ...(info.source_run_id ? { sourceRunId: info.source_run_id } : {}),
    ...(info.status_message ? { statusMessage: info.status_message } : {}),
    tags: tagMap(info.tags),
    params: tagMap(source.data?.params),
    metrics: (source.data?.metrics ?? []).map((metric) => ({
      ...metricPoint(metric),
      ...(metric.run_id ? { runId: metric.run_id } : {}),
      ...(metric.dataset_name ? { datasetName: metric.dataset_name } : {}),
      ...(metric.dataset_digest ? { datasetDigest: metric.dataset_digest } : {}),
    })),
  };
}

/** Exponential backoff, capped: 1×, 2×, 4×... the base, never beyond 10 s. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 10_000);
}

/** Splits a long history into appends of at most `size` points, in the order given. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

export interface ImportCounts {
  experiments: number;
  runs: number;
  runsUnchanged: number;
  points: number;
  artifacts: number;
  bytes: number;
  models: number;
  versions: number;
  loggedModels: number;
}

export interface Skipped {
  what: string;
  why: string;
}

export function emptyCounts(): ImportCounts {
  return {
    experiments: 0,
    runs: 0,
    runsUnchanged: 0,
    points: 0,
    artifacts: 0,
    bytes: 0,
    models: 0,
    versions: 0,
    loggedModels: 0,
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The end-of-import summary: what was copied, what was already there, what was skipped and why. */
export function formatSummary(
  counts: ImportCounts,
  skipped: readonly Skipped[],
  notes: readonly string[],
  seconds: number,
  dryRun: boolean,
): string {
  const verb = dryRun ? 'Would import' : 'Imported';
  const lines = [
    `${verb} ${counts.experiments} experiments, ${counts.runs} runs (${counts.runsUnchanged} already there, left as they are), ` +
      `${counts.points} metric points, ${counts.artifacts} artifact files (${formatBytes(counts.bytes)}), ` +
      `${counts.models} registered models, ${counts.versions} model versions, ${counts.loggedModels} logged models ` +
      `in ${seconds.toFixed(1)} s.`,
  ];
  for (const note of notes) lines.push(`  note: ${note}`);
  if (skipped.length > 0) {
    lines.push(`Skipped ${skipped.length}:`);
    for (const one of skipped) lines.push(`  ${one.what}: ${one.why}`);
  }
  return lines.join('\n');
}

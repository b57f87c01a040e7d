/**
 * What the run page shows, derived from MLflow's run JSON. Pure: no DOM, unit-tested. The types here are
 * structural subsets of lib/api.ts's, so these functions take the API's objects as they are.
 */

export interface Pair {
  key: string;
  value: string;
}

interface RunLike {
  info: { user_id?: string; run_name?: string; run_id: string };
  data: { tags?: readonly Pair[]; metrics?: readonly { key: string }[] };
  inputs?: {
    dataset_inputs?: readonly {
      dataset: { name: string; digest: string; source_type?: string };
      tags?: readonly Pair[];
    }[];
    model_inputs?: readonly { model_id: string }[];
  };
  outputs?: { model_outputs?: readonly { model_id: string; step?: number | string }[] };
}

export const TAG = {
  parentRunId: 'mlflow.parentRunId',
  note: 'mlflow.note.content',
  user: 'mlflow.user',
  runName: 'mlflow.runName',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  gitCommit: 'mlflow.source.git.commit',
  datasetContext: 'mlflow.data.context',
} as const;

const byKey = (a: Pair, b: Pair) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * User tags first and `mlflow.*` system tags apart (shown collapsed), each sorted by key. The description
 * (`mlflow.note.content`) is shown on its own and counted with the system tags.
 */
export function splitTags(tags: readonly Pair[] | undefined): { user: Pair[]; system: Pair[] } {
  const user: Pair[] = [];
  const system: Pair[] = [];
  for (const tag of tags ?? []) (tag.key.startsWith('mlflow.') ? system : user).push(tag);
  return { user: user.sort(byKey), system: system.sort(byKey) };
}

export function tagValue(tags: readonly Pair[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.key === key)?.value;
}

/** The facts the overview lists, each undefined when the run does not say. */
export function runFacts(run: RunLike) {
  const tags = run.data.tags;
  const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  return {
    user: nonEmpty(run.info.user_id) ?? nonEmpty(tagValue(tags, TAG.user)),
    sourceName: nonEmpty(tagValue(tags, TAG.sourceName)),
    sourceType: nonEmpty(tagValue(tags, TAG.sourceType)),
    gitCommit: nonEmpty(tagValue(tags, TAG.gitCommit)),
    description: nonEmpty(tagValue(tags, TAG.note)),
    parentRunId: nonEmpty(tagValue(tags, TAG.parentRunId)),
  };
}

/** A run's display name: its name, else the `mlflow.runName` tag, else its id. */
export function runLabel(run: RunLike): string {
  return run.info.run_name || tagValue(run.data.tags, TAG.runName) || run.info.run_id;
}

/** Case-insensitive match on key or value; an empty query keeps everything. */
export function filterPairs<T extends { key: string; value?: unknown }>(
  items: readonly T[],
  query: string,
): T[] {
  const needle = query.trim().toLowerCase();
  if (needle === '') return [...items];
  return items.filter(
    (item) =>
      item.key.toLowerCase().includes(needle) ||
      (item.value !== undefined && String(item.value).toLowerCase().includes(needle)),
  );
}

/** Metric keys of the run, sorted: one chart each. */
export function metricKeys(run: RunLike): string[] {
  return [...new Set((run.data.metrics ?? []).map((metric) => metric.key))].sort();
}

/** Keys containing every space-separated word of `query` (case-insensitive). */
export function filterKeys(keys: readonly string[], query: string): string[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return keys.filter((key) => words.every((word) => key.toLowerCase().includes(word)));
}

export interface DatasetRow {
  name: string;
  digest: string;
  sourceType: string;
  context: string;
}

export function datasetRows(run: RunLike): DatasetRow[] {
  return (run.inputs?.dataset_inputs ?? []).map((input) => ({
    name: input.dataset.name,
    digest: input.dataset.digest,
    sourceType: input.dataset.source_type ?? '',
    context: tagValue(input.tags, TAG.datasetContext) ?? '',
  }));
}

export interface ModelLink {
  modelId: string;
  /** 'output': logged by this run; 'input': used by it. */
  role: 'output' | 'input';
  step?: string;
}

/** The logged models a run produced and used, each once (an output wins over an input). */
export function modelLinks(run: RunLike): ModelLink[] {
  const links = new Map<string, ModelLink>();
  for (const output of run.outputs?.model_outputs ?? []) {
    if (!links.has(output.model_id)) {
      links.set(output.model_id, {
        modelId: output.model_id,
        role: 'output',
        ...(output.step === undefined ? {} : { step: String(output.step) }),
      });
    }
  }
  for (const input of run.inputs?.model_inputs ?? []) {
    if (!links.has(input.model_id)) links.set(input.model_id, { modelId: input.model_id, role: 'input' });
  }
  return [...links.values()];
}

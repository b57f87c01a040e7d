/**
 * The runs table's column model: a run flattened into a row, the param/metric/tag keys seen in loaded
 * runs, the default choice of key columns, and the `order_by` text a header click sends. Pure: no DOM.
 */

/**
 * The part of an MLflow Run (lib/api.ts's `Run`) the table reads, restated here because lib/api.ts
 * touches the DOM and this module is typechecked without it.
 */
export interface RunLike {
  info: {
    run_id: string;
    run_uuid?: string;
    run_name?: string;
    user_id?: string;
    status: string;
    start_time?: number | string;
    end_time?: number | string;
    lifecycle_stage: string;
  };
  data: {
    params?: { key: string; value: string }[];
    metrics?: { key: string; value: number | string }[];
    tags?: { key: string; value: string }[];
  };
}

/** order_by entities as search-runs spells them (shared/domain/search/filter.ts). */
export type Entity = 'attributes' | 'params' | 'metrics' | 'tags';
export type KeyKind = 'param' | 'metric' | 'tag';

export interface SortSpec {
  entity: Entity;
  key: string;
  ascending: boolean;
}

/** MLflow's own default: newest runs first. */
export const DEFAULT_SORT: SortSpec = { entity: 'attributes', key: 'start_time', ascending: false };

export const PARENT_TAG = 'mlflow.parentRunId';
export const USER_TAG = 'mlflow.user';
export const SOURCE_TAG = 'mlflow.source.name';

export interface RunRow {
  id: string;
  name: string;
  status: string;
  start: number | undefined;
  end: number | undefined;
  user: string;
  source: string;
  parentId: string | undefined;
  deleted: boolean;
  params: Map<string, string>;
  metrics: Map<string, number | string>;
  tags: Map<string, string>;
}

function millis(value: number | string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? number : undefined;
}

/** `/home/me/train.py` → `train.py`; Windows paths and URLs too. */
export function basename(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return cut === -1 ? trimmed : trimmed.slice(cut + 1);
}

/** One run as the table reads it: maps built once per page instead of scanning arrays per cell. */
export function toRow(run: RunLike): RunRow {
  const tags = new Map((run.data.tags ?? []).map((tag) => [tag.key, tag.value] as const));
  const params = new Map((run.data.params ?? []).map((param) => [param.key, param.value] as const));
  const metrics = new Map((run.data.metrics ?? []).map((metric) => [metric.key, metric.value] as const));
  const id = run.info.run_id ?? run.info.run_uuid ?? '';
  return {
    id,
    name: run.info.run_name || tags.get('mlflow.runName') || id,
    status: run.info.status,
    start: millis(run.info.start_time),
    end: millis(run.info.end_time),
    user: tags.get(USER_TAG) || run.info.user_id || '',
    source: basename(tags.get(SOURCE_TAG) ?? ''),
    parentId: tags.get(PARENT_TAG) || undefined,
    deleted: run.info.lifecycle_stage === 'deleted',
    params,
    metrics,
    tags,
  };
}

/** Every key seen so far, by kind; grown page by page as runs load. */
export interface SeenKeys {
  params: Set<string>;
  metrics: Set<string>;
  tags: Set<string>;
}

export function emptyKeys(): SeenKeys {
  return { params: new Set(), metrics: new Set(), tags: new Set() };
}

/** Adds the keys of `rows` to `seen` (in place); true when a key was new. */
export function addKeys(seen: SeenKeys, rows: readonly RunRow[]): boolean {
  let grew = false;
  const add = (set: Set<string>, keys: Iterable<string>) => {
    for (const key of keys) {
      if (!set.has(key)) {
        set.add(key);
        grew = true;
      }
    }
  };
  for (const row of rows) {
    add(seen.params, row.params.keys());
    add(seen.metrics, row.metrics.keys());
    add(seen.tags, row.tags.keys());
  }
  return grew;
}

/**
 * Keys in the order the chooser lists them: alphabetical, but the client's own `mlflow.*` bookkeeping
 * tags after the user's, since those are rarely what a person wants as a column.
 */
export function sortedKeys(keys: Iterable<string>): string[] {
  const system = (key: string) => (key.startsWith('mlflow.') ? 1 : 0);
  return [...keys].sort((a, b) => system(a) - system(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export interface KeyColumn {
  kind: KeyKind;
  key: string;
}

export function columnId(column: KeyColumn): string {
  return `${column.kind}:${column.key}`;
}

/** Until a person chooses: the first few params, then the first few metrics; no tags. */
export function defaultColumns(seen: SeenKeys, perKind = 3): KeyColumn[] {
  return [
    ...sortedKeys(seen.params)
      .slice(0, perKind)
      .map((key): KeyColumn => ({ kind: 'param', key })),
    ...sortedKeys(seen.metrics)
      .slice(0, perKind)
      .map((key): KeyColumn => ({ kind: 'metric', key })),
  ];
}

/** Adds the column if absent (at the end), removes it if present. */
export function toggleColumn(columns: readonly KeyColumn[], column: KeyColumn): KeyColumn[] {
  const id = columnId(column);
  return columns.some((candidate) => columnId(candidate) === id)
    ? columns.filter((candidate) => columnId(candidate) !== id)
    : [...columns, column];
}

const ENTITY_OF: Record<KeyKind, Entity> = { param: 'params', metric: 'metrics', tag: 'tags' };

export function entityOf(kind: KeyKind): Entity {
  return ENTITY_OF[kind];
}

/**
 * A key in backticks, a backtick inside doubled (the filter tokenizer's escape): any key a run can
 * have — spaces, dots, quotes — is then one identifier.
 */
export function quoteKey(key: string): string {
  return `\`${key.replaceAll('`', '``')}\``;
}

/** One `order_by` entry: `attributes.start_time DESC`, `metrics.\`loss\` ASC`. */
export function orderByClause(sort: SortSpec): string {
  const key = sort.entity === 'attributes' ? sort.key : quoteKey(sort.key);
  return `${sort.entity}.${key} ${sort.ascending ? 'ASC' : 'DESC'}`;
}

export function sameColumn(sort: SortSpec, entity: Entity, key: string): boolean {
  return sort.entity === entity && sort.key === key;
}

/**
 * A header click: the same column flips direction; a new column starts descending for times and
 * metrics (newest, largest first) and ascending for names and strings.
 */
export function nextSort(current: SortSpec, entity: Entity, key: string): SortSpec {
  if (sameColumn(current, entity, key)) return { entity, key, ascending: !current.ascending };
  const descending = entity === 'metrics' || (entity === 'attributes' && key.endsWith('_time'));
  return { entity, key, ascending: !descending };
}

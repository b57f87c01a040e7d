/**
 * search-logged-models (MLflow's `search_logged_models`): the filter grammar (filter.ts) over a logged
 * model's attributes, metrics, params and tags, optional dataset scoping, structured `order_by`
 * (`{field_name, ascending, dataset_name, dataset_digest}`), and keyset page tokens (page-token.ts).
 *
 * MLflow's rules, kept: clauses are joined by AND; a bare identifier is an attribute (`creation_time`
 * and `creation_timestamp` mean `creation_timestamp_ms`, `last_updated_timestamp` means
 * `last_updated_timestamp_ms`); timestamps and metrics compare as numbers (`<`, `<=`, `>`, `>=`, `=`,
 * `!=`), everything else as strings (`=`, `!=`, `LIKE`, `ILIKE`, `IN`, `NOT IN`); a metric, param or
 * tag clause only matches models that have that key; order_by names an attribute or `metrics.<key>`
 * (nulls last in both directions) and ends with `creation_timestamp_ms DESC` unless it names it.
 * Cairn keeps the latest value per (metric, dataset) rather than every point, so metric clauses and
 * metric ordering look at latest values; a NaN metric counts as missing, as it does in MLflow's SQL.
 */
import { InvalidParameterValueError } from '../../errors.js';
import {
  type Clause,
  compareNumbers,
  invalidClause,
  keyValuePredicate,
  LIST_COMPARATORS,
  NUMERIC_COMPARATORS,
  parseFilter,
  STRING_COMPARATORS,
  stringMatcher,
} from '../search/filter.js';
import type { SortCell } from '../search/order.js';
import { queryFingerprint } from '../search/page-token.js';
import { type CellKind, pairCodec, searchPage } from '../search/pipeline.js';
import type { LoggedModel, LoggedModelMetric } from './model.js';

export interface DatasetScope {
  datasetName: string;
  datasetDigest?: string;
}

export interface LoggedModelOrder {
  fieldName: string;
  ascending: boolean;
  datasetName?: string;
  datasetDigest?: string;
}

export interface LoggedModelSearch {
  experimentIds: readonly string[];
  filter?: string;
  datasets: readonly DatasetScope[];
  orderBy: readonly LoggedModelOrder[];
  maxResults: number;
  pageToken?: string;
  /** Stop a page early once the models' estimated JSON passes this many bytes (Lambda's 6 MB). */
  byteBudget?: number;
  sizeOf?: (model: LoggedModel) => number;
}

export interface LoggedModelPage {
  models: LoggedModel[];
  nextPageToken?: string;
}

type Attribute =
  | { kind: 'string'; get: (model: LoggedModel) => string | undefined }
  | {
      kind: 'number';
      get: (model: LoggedModel) => number;
    };

const ATTRIBUTES: Record<string, Attribute> = {
  model_id: { kind: 'string', get: (model) => model.modelId },
  experiment_id: { kind: 'string', get: (model) => model.experimentId },
  name: { kind: 'string', get: (model) => model.name },
  status: { kind: 'string', get: (model) => model.status },
  model_type: { kind: 'string', get: (model) => model.modelType },
  source_run_id: { kind: 'string', get: (model) => model.sourceRunId },
  status_message: { kind: 'string', get: (model) => model.statusMessage },
  artifact_location: { kind: 'string', get: (model) => model.artifactUri },
  creation_timestamp_ms: { kind: 'number', get: (model) => model.creationTimestamp },
  last_updated_timestamp_ms: { kind: 'number', get: (model) => model.lastUpdatedTimestamp },
};

const ALIASES: Record<string, string> = {
  creation_time: 'creation_timestamp_ms',
  creation_timestamp: 'creation_timestamp_ms',
  last_updated_timestamp: 'last_updated_timestamp_ms',
  artifact_uri: 'artifact_location',
};

// Listed in this order in error messages.
const STRING_OR_LIST_COMPARATORS = [...STRING_COMPARATORS, ...LIST_COMPARATORS];
const NUMERIC_ORDER = ['<', '<=', '>', '>=', '=', '!='];

function attributeNamed(name: string): { name: string; attribute: Attribute } | undefined {
  const canonical = ALIASES[name] ?? name;
  const attribute = ATTRIBUTES[canonical];
  return attribute ? { name: canonical, attribute } : undefined;
}

/** Statuses may be written `READY` or `LOGGED_MODEL_READY`. */
function statusValue(value: string): string {
  const upper = value.toUpperCase();
  return upper.startsWith('LOGGED_MODEL_') ? upper : `LOGGED_MODEL_${upper}`;
}

function onDatasets(metric: LoggedModelMetric, datasets: readonly DatasetScope[]): boolean {
  return (
    datasets.length === 0 ||
    datasets.some(
      (dataset) =>
        metric.datasetName === dataset.datasetName &&
        (dataset.datasetDigest === undefined || metric.datasetDigest === dataset.datasetDigest),
    )
  );
}

type Predicate = (model: LoggedModel) => boolean;

function numberValue(filter: string, clause: Clause): number {
  const { value } = clause;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || Number.isNaN(number)) {
    invalidClause(filter, clause, `expected a number for '${clause.key}', got ${JSON.stringify(value)}`);
  }
  return number;
}

function stringTest(filter: string, clause: Clause): (candidate: string) => boolean {
  const { comparator, value } = clause;
  if (!STRING_OR_LIST_COMPARATORS.includes(comparator)) {
    invalidClause(
      filter,
      clause,
      `invalid comparator '${comparator}' for '${clause.key}' (one of ${STRING_OR_LIST_COMPARATORS.join(', ')})`,
    );
  }
  if (LIST_COMPARATORS.has(comparator)) {
    if (!Array.isArray(value))
      invalidClause(filter, clause, `expected a list of strings for '${clause.key}'`);
  } else if (typeof value !== 'string') {
    invalidClause(filter, clause, `expected a quoted string for '${clause.key}', got ${String(value)}`);
  }
  return stringMatcher(comparator, value as string | string[]);
}

function numericComparator(filter: string, clause: Clause): void {
  if (!NUMERIC_COMPARATORS.has(clause.comparator)) {
    invalidClause(
      filter,
      clause,
      `invalid comparator '${clause.comparator}' for '${clause.key}' (one of ${NUMERIC_ORDER.join(', ')})`,
    );
  }
}

function compileClause(filter: string, clause: Clause, datasets: readonly DatasetScope[]): Predicate {
  switch (clause.entity) {
    case 'metric': {
      numericComparator(filter, clause);
      const threshold = numberValue(filter, clause);
      return (model) =>
        model.metrics.some(
          (metric) =>
            metric.key === clause.key &&
            !Number.isNaN(metric.value) &&
            onDatasets(metric, datasets) &&
            compareNumbers(clause.comparator, metric.value, threshold),
        );
    }
    case 'param': {
      const test = keyValuePredicate(clause.key, stringTest(filter, clause));
      return (model) => test(model.params);
    }
    case 'tag': {
      const test = keyValuePredicate(clause.key, stringTest(filter, clause));
      return (model) => test(model.tags);
    }
    case 'attribute': {
      const found = attributeNamed(clause.key);
      if (!found) {
        invalidClause(
          filter,
          clause,
          `invalid attribute '${clause.key}' (valid: ${Object.keys(ATTRIBUTES).join(', ')})`,
        );
      }
      const { attribute, name } = found;
      if (attribute.kind === 'number') {
        numericComparator(filter, clause);
        const threshold = numberValue(filter, clause);
        return (model) => compareNumbers(clause.comparator, attribute.get(model), threshold);
      }
      const test =
        name === 'status'
          ? stringTest(filter, {
              ...clause,
              value: Array.isArray(clause.value)
                ? clause.value.map(statusValue)
                : typeof clause.value === 'string'
                  ? statusValue(clause.value)
                  : clause.value,
            })
          : stringTest(filter, clause);
      return (model) => {
        const value = attribute.get(model);
        return value !== undefined && test(value);
      };
    }
    default:
      return invalidClause(
        filter,
        clause,
        `invalid entity '${clause.entity}' (valid: attributes, metrics, params, tags)`,
      );
  }
}

/** A compiled order: one sort term per field, null (no value) last in both directions. */
interface CompiledOrder {
  terms: { ascending: boolean }[];
  kinds: CellKind[];
  values: (model: LoggedModel) => SortCell[];
  names: string[];
}

function latestMetric(model: LoggedModel, order: LoggedModelOrder, key: string): number | null {
  let latest: LoggedModelMetric | undefined;
  for (const metric of model.metrics) {
    if (metric.key !== key || Number.isNaN(metric.value)) continue;
    if (order.datasetName !== undefined && metric.datasetName !== order.datasetName) continue;
    if (order.datasetDigest !== undefined && metric.datasetDigest !== order.datasetDigest) continue;
    if (
      !latest ||
      metric.timestamp > latest.timestamp ||
      (metric.timestamp === latest.timestamp && metric.step > latest.step)
    )
      latest = metric;
  }
  return latest ? latest.value : null;
}

function compileOrder(orderBy: readonly LoggedModelOrder[]): CompiledOrder {
  const getters: ((model: LoggedModel) => SortCell)[] = [];
  const terms: { ascending: boolean }[] = [];
  const kinds: CellKind[] = [];
  const names: string[] = [];
  const push = (name: string, ascending: boolean, kind: CellKind, get: (model: LoggedModel) => SortCell) => {
    names.push(name);
    terms.push({ ascending });
    kinds.push(kind);
    getters.push(get);
  };
  for (const order of orderBy) {
    const field = order.fieldName;
    if (field === '') throw new InvalidParameterValueError("Missing value for 'order_by[].field_name'.");
    const dot = field.indexOf('.');
    if (dot === -1) {
      const found = attributeNamed(field);
      if (!found) throw new InvalidParameterValueError(`Invalid order by field name: ${field}`);
      push(found.name, order.ascending, found.attribute.kind, (model) => found.attribute.get(model) ?? null);
      continue;
    }
    if (field.slice(0, dot) !== 'metrics') {
      throw new InvalidParameterValueError(
        `Invalid order by field name: ${field}. Only metrics are supported.`,
      );
    }
    const key = field.slice(dot + 1).replace(/^`(.*)`$/, '$1');
    push(`metrics.${key}`, order.ascending, 'number', (model) => latestMetric(model, order, key));
  }
  if (!names.includes('creation_timestamp_ms')) {
    push('creation_timestamp_ms', false, 'number', (model) => model.creationTimestamp);
  }
  // The id ends every order, so that it is total and page boundaries are exact.
  push('model_id', true, 'string', (model) => model.modelId);
  return { terms, kinds, values: (model) => getters.map((get) => get(model)), names };
}

export function validateDatasets(datasets: readonly DatasetScope[]): void {
  if (datasets.some((dataset) => dataset.datasetName === '')) {
    throw new InvalidParameterValueError('`dataset_name` in the `datasets` clause must be specified.');
  }
}

/** Filters, orders and pages `all` (the models of the searched experiments, any lifecycle stage). */
export function searchLoggedModels(all: readonly LoggedModel[], search: LoggedModelSearch): LoggedModelPage {
  validateDatasets(search.datasets);
  const filter = search.filter ?? '';
  const clauses = parseFilter(filter);
  const predicates = clauses.map((clause) => compileClause(filter, clause, search.datasets));
  if (search.datasets.length > 0 && !clauses.some((clause) => clause.entity === 'metric')) {
    // Datasets without a metric clause: models with any metric on one of them (MLflow's rule).
    predicates.push((model) => model.metrics.some((metric) => onDatasets(metric, search.datasets)));
  }
  const order = compileOrder(search.orderBy);
  const experiments = new Set(search.experimentIds);
  const { items, nextPageToken } = searchPage(
    all,
    {
      // The token layout of earlier releases: tokens issued by them still read.
      fingerprint: queryFingerprint({
        e: [...experiments].sort(),
        f: filter,
        d: search.datasets,
        o: search.orderBy,
        s: 'logged-models',
      }),
      view: (model) => model.lifecycleStage === 'active' && experiments.has(model.experimentId),
      predicate: (model) => predicates.every((predicate) => predicate(model)),
      terms: order.terms,
      sortKey: order.values,
      // Each field was once two token values, a null flag and the value (0 when null): kept.
      codec: pairCodec(order.kinds, [1, 0]),
    },
    search,
  );
  return { models: items, ...(nextPageToken ? { nextPageToken } : {}) };
}

/**
 * search-runs semantics (MLflow's SearchUtils in mlflow/utils/search_utils.py; contract 3.5).
 *
 * Filter: `metrics.<key>` (latest value; `= != < <= > >=`, numbers only), `params.<key>` and
 * `tags.<key>` (`= != LIKE ILIKE IS NULL IS NOT NULL`), the string attributes `run_id`, `run_name`
 * (aliases `run name`, `Run name`, `Run Name`), `status`, `user_id`, `artifact_uri` (`= != LIKE
 * ILIKE`, and `IN`/`NOT IN` with a list for `run_id` only), the numeric attributes `start_time`
 * (aliases `created`, `Created`) and `end_time` (`= != < <= > >=`), and `datasets.name|digest|context`
 * (`= != LIKE ILIKE IN NOT IN`, true when any dataset input of the run matches). Every comparison
 * needs its left-hand side present (`_does_run_match_clause`): a run without the metric, param, tag or
 * end_time never matches, not even `!=`; only `IS NULL` matches an absent key.
 *
 * Order: the `order_by` terms; per term, runs with a value first, then NaN metric values, then runs
 * without the key, in both directions (`_get_value_for_sort`); then `start_time DESC` unless
 * start_time was ordered on; then `run_id ASC` (`sort`, and the SQL store's `_get_orderby_clauses`).
 */

import { InvalidParameterValueError } from '../../errors.js';
import type { LifecycleStage } from '../experiments/model.js';
import {
  type Clause,
  compareNumbers,
  invalidClause,
  keyValuePredicate,
  LIST_COMPARATORS,
  NULL_COMPARATORS,
  NUMERIC_COMPARATORS,
  ownValue,
  parseFilter,
  STRING_COMPARATORS,
  stringMatcher,
} from '../search/filter.js';
import { parseOrderTerms, type SortCell } from '../search/order.js';
import { queryFingerprint } from '../search/page-token.js';
import {
  decodeAfter,
  lifecycleView,
  pairCodec,
  type SearchPlan,
  searchPage,
  sortKeyOrder,
  type ViewType,
} from '../search/pipeline.js';
import type { DatasetInput, KeysRead, Run, RunListingPlan, ValueClause } from './model.js';

/** The dataset input tag that holds a dataset's context (`mlflow.data.context`, e.g. `training`). */
const DATASET_CONTEXT_TAG = 'mlflow.data.context';

const STRING_ATTRIBUTES = ['run_id', 'run_name', 'status', 'user_id', 'artifact_uri'] as const;
const NUMERIC_ATTRIBUTES = ['start_time', 'end_time'] as const;
type StringAttribute = (typeof STRING_ATTRIBUTES)[number];
type NumericAttribute = (typeof NUMERIC_ATTRIBUTES)[number];
type Attribute = StringAttribute | NumericAttribute;

/** Filter-only aliases (`translate_key_alias`). `run name` & co. are not valid in order_by. */
const ATTRIBUTE_ALIASES: Record<string, Attribute> = {
  created: 'start_time',
  Created: 'start_time',
  'run name': 'run_name',
  'Run name': 'run_name',
  'Run Name': 'run_name',
};
const ORDER_BY_ALIASES: Record<string, Attribute> = { created: 'start_time', Created: 'start_time' };
const DATASET_KEYS = ['name', 'digest', 'context'] as const;
const ENTITY_PREFIXES = { attribute: 'attributes', metric: 'metrics', param: 'params', tag: 'tags' } as const;

// Listed in this order in error messages.
const KEY_VALUE_COMPARATORS = new Set([...STRING_COMPARATORS, ...NULL_COMPARATORS]);
const STRING_ATTRIBUTE_COMPARATORS = new Set([...STRING_COMPARATORS, ...LIST_COMPARATORS]);
const DATASET_COMPARATORS = STRING_ATTRIBUTE_COMPARATORS;

type Predicate = (run: Run) => boolean;

function describeValue(value: Clause['value']): string {
  if (Array.isArray(value)) return `a list (${value.map((item) => `'${item}'`).join(', ')})`;
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** Own-property lookup: a key such as `constructor` must not find Object.prototype's members. */
function alias(aliases: Record<string, Attribute>, key: string): string {
  return Object.hasOwn(aliases, key) ? (aliases[key] as Attribute) : key;
}

function refuseNullTest(filter: string, clause: Clause, what: string): void {
  if (NULL_COMPARATORS.has(clause.comparator)) {
    invalidClause(
      filter,
      clause,
      `IS NULL / IS NOT NULL is only supported for tags and params, not for ${what}`,
    );
  }
}

function requireComparator(filter: string, clause: Clause, allowed: ReadonlySet<string>, what: string): void {
  if (!allowed.has(clause.comparator)) {
    invalidClause(
      filter,
      clause,
      `invalid comparator '${clause.comparator}' for ${what} (one of ${[...allowed].join(', ')})`,
    );
  }
}

/** A quoted string, or a list of them for IN / NOT IN (the parser only builds lists for those). */
function requireString(filter: string, clause: Clause, what: string): string | string[] {
  const { value } = clause;
  if (typeof value === 'string' || Array.isArray(value)) return value;
  return invalidClause(
    filter,
    clause,
    `expected a quoted string value for ${what} (e.g. 'my-value'), found ${describeValue(value)}`,
  );
}

function requireNumber(filter: string, clause: Clause, what: string): number {
  if (typeof clause.value === 'number') return clause.value;
  return invalidClause(
    filter,
    clause,
    `expected a numeric value for ${what}, found ${describeValue(clause.value)} (numbers are not quoted)`,
  );
}

function compileKeyValueClause(filter: string, clause: Clause): Predicate {
  const { key, comparator } = clause;
  const what = `${clause.entity} '${key}'`;
  const field = clause.entity === 'param' ? 'params' : 'tags';
  requireComparator(filter, clause, KEY_VALUE_COMPARATORS, what);
  if (comparator === 'IS NULL') return (run) => !Object.hasOwn(run[field], key);
  if (comparator === 'IS NOT NULL') return (run) => Object.hasOwn(run[field], key);
  const matches = keyValuePredicate(key, stringMatcher(comparator, requireString(filter, clause, what)));
  return (run) => matches(run[field]);
}

function compileMetricClause(filter: string, clause: Clause): Predicate {
  const { key, comparator } = clause;
  const what = `metric '${key}'`;
  refuseNullTest(filter, clause, what);
  requireComparator(filter, clause, NUMERIC_COMPARATORS, what);
  const value = requireNumber(filter, clause, what);
  return (run) => {
    const metric = Object.hasOwn(run.metrics, key) ? run.metrics[key] : undefined;
    return metric !== undefined && compareNumbers(comparator, metric.value, value);
  };
}

function compileDatasetClause(filter: string, clause: Clause): Predicate {
  const { key, comparator } = clause;
  if (!(DATASET_KEYS as readonly string[]).includes(key)) {
    invalidClause(filter, clause, `invalid dataset key '${key}' (valid keys: ${DATASET_KEYS.join(', ')})`);
  }
  const what = `dataset '${key}'`;
  refuseNullTest(filter, clause, what);
  requireComparator(filter, clause, DATASET_COMPARATORS, what);
  const matches = stringMatcher(comparator, requireString(filter, clause, what));
  const field = (dataset: DatasetInput): string | undefined => {
    if (key === 'name') return dataset.name;
    if (key === 'digest') return dataset.digest;
    return ownValue(dataset.tags, DATASET_CONTEXT_TAG);
  };
  // Any dataset input of the run; for `context` only inputs that carry the context tag take part.
  return (run) =>
    run.datasets.some((dataset) => {
      const candidate = field(dataset);
      return candidate !== undefined && matches(candidate);
    });
}

function stringAttribute(run: Run, key: StringAttribute): string {
  switch (key) {
    case 'run_id':
      return run.runId;
    case 'run_name':
      return run.runName;
    case 'status':
      return run.status;
    case 'user_id':
      return run.userId;
    default:
      return run.artifactUri;
  }
}

function numericAttribute(run: Run, key: NumericAttribute): number | undefined {
  return key === 'start_time' ? run.startTime : run.endTime;
}

function compileAttributeClause(filter: string, clause: Clause): Predicate {
  const key = alias(ATTRIBUTE_ALIASES, clause.key);
  const { comparator } = clause;
  const what = `attribute '${clause.key}'`;
  if ((STRING_ATTRIBUTES as readonly string[]).includes(key)) {
    refuseNullTest(filter, clause, what);
    requireComparator(filter, clause, STRING_ATTRIBUTE_COMPARATORS, what);
    const value = requireString(filter, clause, what);
    if (Array.isArray(value) && key !== 'run_id') {
      invalidClause(
        filter,
        clause,
        `only the 'run_id' attribute supports ${comparator} with a list, not ${what}`,
      );
    }
    const matches = stringMatcher(comparator, value);
    return (run) => matches(stringAttribute(run, key as StringAttribute));
  }
  if ((NUMERIC_ATTRIBUTES as readonly string[]).includes(key)) {
    refuseNullTest(filter, clause, what);
    requireComparator(filter, clause, NUMERIC_COMPARATORS, what);
    const value = requireNumber(filter, clause, `numeric ${what}`);
    return (run) => {
      // A run that has not ended has no end_time: like any absent value it never matches.
      const actual = numericAttribute(run, key as NumericAttribute);
      return actual !== undefined && compareNumbers(comparator, actual, value);
    };
  }
  const hint =
    key === 'lifecycle_stage' ? '; select deleted runs with run_view_type instead of a filter' : '';
  return invalidClause(
    filter,
    clause,
    `invalid attribute key '${clause.key}' (valid keys: ${[...STRING_ATTRIBUTES, ...NUMERIC_ATTRIBUTES, ...Object.keys(ATTRIBUTE_ALIASES)].join(', ')})${hint}`,
  );
}

function compileClause(filter: string, clause: Clause): Predicate {
  switch (clause.entity) {
    case 'metric':
      return compileMetricClause(filter, clause);
    case 'param':
    case 'tag':
      return compileKeyValueClause(filter, clause);
    case 'dataset':
      return compileDatasetClause(filter, clause);
    case 'attribute':
      return compileAttributeClause(filter, clause);
    default:
      return invalidClause(filter, clause, `invalid entity type for '${clause.key}'`);
  }
}

/** Compiles a runs filter into a predicate; a bad filter is a 400 naming the key and the problem. */
export function compileRunFilter(filter: string | undefined): Predicate {
  const predicates = parseFilter(filter).map((clause) => compileClause(filter ?? '', clause));
  return (run) => predicates.every((predicate) => predicate(run));
}

/** One clause of a compiled filter, for callers that report which clauses a run fails. */
export interface CompiledRunClause {
  /** The clause as written in the filter. */
  text: string;
  entity: Clause['entity'];
  matches: Predicate;
  /** The run's value the clause reads (dataset values joined by ', '); undefined when it has none. */
  actual(run: Run): string | number | undefined;
}

/** Like compileRunFilter, one entry per clause, with the same validation and semantics. */
export function compileRunFilterClauses(filter: string): CompiledRunClause[] {
  const clauses = parseFilter(filter);
  return clauses.map((clause, index) => {
    const end = clauses[index + 1]?.offset ?? filter.length;
    const text = filter
      .slice(clause.offset, end)
      .trim()
      .replace(/\s+AND$/i, '');
    return {
      text,
      entity: clause.entity,
      matches: compileClause(filter, clause),
      actual: (run) => clauseActual(run, clause),
    };
  });
}

function clauseActual(run: Run, clause: Clause): string | number | undefined {
  const { key } = clause;
  switch (clause.entity) {
    case 'metric':
      return Object.hasOwn(run.metrics, key) ? run.metrics[key]?.value : undefined;
    case 'param':
    case 'tag': {
      const values = clause.entity === 'param' ? run.params : run.tags;
      return Object.hasOwn(values, key) ? values[key] : undefined;
    }
    case 'dataset': {
      const found = run.datasets.flatMap((dataset) => {
        if (key === 'name') return [dataset.name];
        if (key === 'digest') return [dataset.digest];
        const context = dataset.tags[DATASET_CONTEXT_TAG];
        return Object.hasOwn(dataset.tags, DATASET_CONTEXT_TAG) && context !== undefined ? [context] : [];
      });
      return found.length > 0 ? found.join(', ') : undefined;
    }
    default: {
      const attribute = alias(ATTRIBUTE_ALIASES, key);
      if (attribute === 'start_time' || attribute === 'end_time') return numericAttribute(run, attribute);
      return stringAttribute(run, attribute as StringAttribute);
    }
  }
}

export type RunSortTerm =
  | { entity: 'metric' | 'param' | 'tag'; key: string; ascending: boolean }
  | { entity: 'attribute'; key: Attribute; ascending: boolean };

/**
 * Parses `order_by` and appends MLflow's implicit order: `start_time DESC` unless start_time (or
 * `created`) is listed, then `run_id ASC` unless run_id is listed (after it nothing could matter).
 */
export function parseRunOrderBy(orderBy: readonly string[]): RunSortTerm[] {
  return parseOrderTerms(orderBy, {
    resolve: (term, text): RunSortTerm => {
      if (term.entity === 'metric' || term.entity === 'param' || term.entity === 'tag') {
        return { entity: term.entity, key: term.key, ascending: term.ascending };
      }
      if (term.entity !== 'attribute') {
        // filter.ts looks prefixes up with `[]`, so `constructor.x` arrives with a non-string entity.
        const entity = typeof term.entity === 'string' ? term.entity : text.split('.')[0];
        throw new InvalidParameterValueError(
          `Invalid order_by entity '${entity}' (in '${text}'): runs order by metrics, params, tags or attributes.`,
        );
      }
      const key = alias(ORDER_BY_ALIASES, term.key);
      if (
        !(STRING_ATTRIBUTES as readonly string[]).includes(key) &&
        !(NUMERIC_ATTRIBUTES as readonly string[]).includes(key)
      ) {
        throw new InvalidParameterValueError(
          `Invalid order_by attribute key '${term.key}' in '${text}'. Valid keys are ${[...STRING_ATTRIBUTES, ...NUMERIC_ATTRIBUTES, ...Object.keys(ORDER_BY_ALIASES)].join(', ')}.`,
        );
      }
      return { entity: 'attribute', key: key as Attribute, ascending: term.ascending };
    },
    // As a request spells it (`params.lr`), whichever alias it used (`param.lr`).
    id: (term) => `${ENTITY_PREFIXES[term.entity]}.${term.key}`,
    duplicate: (id) => `order_by lists '${id}' more than once: ${JSON.stringify(orderBy)}.`,
    tieBreakers: [
      { entity: 'attribute', key: 'start_time', ascending: false },
      { entity: 'attribute', key: 'run_id', ascending: true },
    ],
  });
}

/**
 * One term's sort cell: the value; NaN for a NaN metric value; null for no value (missing
 * metric/param/tag, no end_time). order.ts sorts NaN and then null after the values in both directions.
 */
function sortCell(run: Run, term: RunSortTerm): SortCell {
  switch (term.entity) {
    case 'metric': {
      const metric = Object.hasOwn(run.metrics, term.key) ? run.metrics[term.key] : undefined;
      return metric === undefined ? null : metric.value;
    }
    case 'param':
    case 'tag':
      return ownValue(term.entity === 'param' ? run.params : run.tags, term.key) ?? null;
    default: {
      if (term.key === 'start_time' || term.key === 'end_time')
        return numericAttribute(run, term.key) ?? null;
      return stringAttribute(run, term.key);
    }
  }
}

function isNumericTerm(term: RunSortTerm): boolean {
  return term.entity === 'metric' || term.key === 'start_time' || term.key === 'end_time';
}

export interface RunSearch {
  filter?: string;
  orderBy: readonly string[];
  viewType: ViewType;
  maxResults: number;
  pageToken?: string;
  /** What else defines the result set (the experiment ids): bound into page tokens. */
  scope?: unknown;
  /** Stop a page early once the runs' measured size passes this many bytes (Lambda's 6 MB). */
  byteBudget?: number;
  sizeOf?: (run: Run) => number;
}

export interface RunPage {
  runs: Run[];
  nextPageToken?: string;
}

/** The search pipeline's plan for a run search (searchRuns, and the listing plan below). */
function runSearchPlan(search: RunSearch, predicate: Predicate, terms: RunSortTerm[]): SearchPlan<Run> {
  return {
    // The token layout of earlier releases: tokens issued by them still read.
    fingerprint: queryFingerprint({
      s: 'runs',
      f: search.filter ?? '',
      o: terms,
      v: search.viewType,
      ...(search.scope === undefined ? {} : { scope: search.scope }),
    }),
    view: lifecycleView(search.viewType),
    predicate,
    terms,
    sortKey: (run) => terms.map((term) => sortCell(run, term)),
    strings: 'code-point',
    codec: pairCodec(
      terms.map((term) => (isNumericTerm(term) ? 'number' : 'string')),
      [2, null],
    ),
  };
}

/**
 * Filters, orders and pages runs already read from the store (the caller selects the experiments).
 * Page tokens are keyset tokens: the sort key of the last run served, so runs added or removed
 * between pages never make the next page skip or repeat a run that stays in the result.
 */
export function searchRuns(all: readonly Run[], search: RunSearch): RunPage {
  const plan = runSearchPlan(search, compileRunFilter(search.filter), parseRunOrderBy(search.orderBy));
  const { items, nextPageToken } = searchPage(all, plan, search);
  return { runs: items, ...(nextPageToken === undefined ? {} : { nextPageToken }) };
}

const VIEW_STAGES: Record<ViewType, readonly LifecycleStage[]> = {
  ACTIVE_ONLY: ['active'],
  DELETED_ONLY: ['deleted'],
  ALL: ['active', 'deleted'],
};

/**
 * The listing plan of a search a store can answer from its keys: its first term orders by start time, end
 * time or run name (the order indexes; no later term on metrics, which those orders' tie groups could not
 * sort unread), or by a metric (its value entries), or the filter has clauses value entries can answer
 * (valueClauses). Undefined for any other search, which reads every run. A store may still decline a plan
 * (returning no candidates) and leave the search to the full listing.
 */
export function planRunListing(search: RunSearch): RunListingPlan | undefined {
  const clauses = parseFilter(search.filter);
  const terms = parseRunOrderBy(search.orderBy);
  const first = terms[0];
  const laterMetric = terms.slice(1).some((term) => term.entity === 'metric');
  const valueClauses = clauses.flatMap((clause) => valueClause(search.filter ?? '', clause));
  let order: RunListingPlan['order'];
  if (
    first?.entity === 'attribute' &&
    (first.key === 'start_time' || first.key === 'end_time' || first.key === 'run_name') &&
    !laterMetric
  ) {
    order = first.key;
  } else if (first?.entity === 'metric') {
    order = 'metric';
  } else if (valueClauses.length > 0 || summaryUsable(clauses, terms)) {
    order = 'other';
  } else {
    return undefined;
  }
  if (!first) return undefined;
  const predicate = compileRunFilter(search.filter);
  const plan = runSearchPlan(search, predicate, terms);
  const compare = sortKeyOrder(plan);
  const view = lifecycleView(search.viewType);
  const cursor = search.pageToken === undefined ? undefined : decodeAfter(plan, search.pageToken);
  const second = terms[1];
  const thenStart = second?.entity === 'attribute' && second.key === 'start_time' ? second : undefined;
  return {
    order,
    ...(first.entity === 'metric' ? { metricKey: first.key } : {}),
    ascending: first.ascending,
    ...(thenStart ? { thenStartAscending: thenStart.ascending } : {}),
    lifecycles: VIEW_STAGES[search.viewType],
    ...(cursor === undefined
      ? {}
      : { after: { value: cursor[0] ?? null, ...(thenStart ? { start: cursor[1] ?? null } : {}) } }),
    compare: (left, right) => compare(plan.sortKey(left), plan.sortKey(right)),
    accept: (run) =>
      view(run) && predicate(run) && (cursor === undefined || compare(plan.sortKey(run), cursor) > 0),
    needsMetrics:
      clauses.some((clause) => clause.entity === 'metric') || terms.some((term) => term.entity === 'metric'),
    valueClauses,
    wanted: search.maxResults + 1,
    filtered: clauses.length > 0,
    summary: {
      usable: summaryUsable(clauses, terms),
      reads: keysRead([...clauses, ...terms]),
      orderReads: keysRead(terms),
    },
  };
}

/** Whether run summaries can answer: they hold no metrics. */
function summaryUsable(clauses: readonly Clause[], terms: readonly RunSortTerm[]): boolean {
  return (
    clauses.every((clause) => clause.entity !== 'metric') && terms.every((term) => term.entity !== 'metric')
  );
}

function keysRead(read: readonly { entity: string; key: string }[]): KeysRead {
  const of = (entity: string) => [
    ...new Set(
      read
        .filter((one) => one.entity === entity)
        .map((one) => (entity === 'attribute' ? alias(ATTRIBUTE_ALIASES, one.key) : one.key)),
    ),
  ];
  return { params: of('param'), tags: of('tag'), attributes: of('attribute'), datasets: of('dataset') };
}

/** ASCII characters with no case: a LIKE prefix of them is the same prefix under ILIKE. */
const CASELESS_PREFIX = /^[ -@[-`{-~]*$/;

/**
 * The clause as value entries answer it, or nothing: metric comparisons but `!=` (which holds for nearly
 * every run, NaN included), param and tag `=` and LIKE with a literal prefix (ILIKE only when that prefix
 * has no letters; `tags.mlflow.parentRunId = '…'`, a nested run's children, is the common one). `!=`, patterns starting with a wildcard and IS [NOT] NULL read no better from entries.
 */
function valueClause(filter: string, clause: Clause): ValueClause[] {
  // Compiled first: a bad clause is the 400 compileRunFilter gives, whichever reads it first.
  compileClause(filter, clause);
  const { key, comparator, value } = clause;
  if (clause.entity === 'metric' && typeof value === 'number' && comparator !== '!=') {
    if (!['=', '<', '<=', '>', '>='].includes(comparator)) return [];
    return [
      {
        entity: 'metric',
        key,
        comparator: comparator as '=' | '<' | '<=' | '>' | '>=',
        value,
        matches: (actual) => compareNumbers(comparator, actual, value),
      },
    ];
  }
  const entity = clause.entity;
  if ((entity !== 'param' && entity !== 'tag') || typeof value !== 'string') return [];
  const matches = stringMatcher(comparator, value);
  if (comparator === '=') return [{ entity, key, range: { exact: value }, matches }];
  if (comparator !== 'LIKE' && comparator !== 'ILIKE') return [];
  const prefix = /^[^%_]*/u.exec(value)?.[0] ?? '';
  if (prefix === '' || (comparator === 'ILIKE' && !CASELESS_PREFIX.test(prefix))) return [];
  return [{ entity, key, range: { prefix }, matches }];
}

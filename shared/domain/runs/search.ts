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

import type { ViewType } from '../../api/schema.js';
import { InvalidParameterValueError } from '../../errors.js';
import {
  type Clause,
  compareNumbers,
  invalidClause,
  parseFilter,
  parseOrderBy,
  stringMatcher,
} from '../search/filter.js';
import { decodePageToken, encodePageToken, queryFingerprint, type SortValue } from '../search/page-token.js';
import type { DatasetInput, Run } from './model.js';

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

const NUMERIC_COMPARATORS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const KEY_VALUE_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE', 'IS NULL', 'IS NOT NULL']);
const STRING_ATTRIBUTE_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']);
const DATASET_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']);

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
  if (clause.comparator === 'IS NULL' || clause.comparator === 'IS NOT NULL') {
    invalidClause(
      filter,
      clause,
      `IS NULL / IS NOT NULL is only supported for tags and params, not for ${what}`,
    );
  }
}

function requireComparator(filter: string, clause: Clause, allowed: Set<string>, what: string): void {
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
  const matches = stringMatcher(comparator, requireString(filter, clause, what));
  return (run) => Object.hasOwn(run[field], key) && matches(run[field][key] as string);
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
    return Object.hasOwn(dataset.tags, DATASET_CONTEXT_TAG) ? dataset.tags[DATASET_CONTEXT_TAG] : undefined;
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
  const terms = orderBy.map((text): RunSortTerm => {
    const term = parseOrderBy(text);
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
  });
  const seen = new Set<string>();
  for (const term of terms) {
    const id = `${term.entity}.${term.key}`;
    if (seen.has(id)) {
      throw new InvalidParameterValueError(
        `order_by lists '${id}' more than once: ${JSON.stringify(orderBy)}.`,
      );
    }
    seen.add(id);
  }
  if (!seen.has('attribute.start_time'))
    terms.push({ entity: 'attribute', key: 'start_time', ascending: false });
  if (!seen.has('attribute.run_id')) terms.push({ entity: 'attribute', key: 'run_id', ascending: true });
  return terms;
}

/**
 * One term's sort key. `rank` places the value classes and is never reversed: 0 a value, 1 a NaN
 * metric value, 2 no value (missing metric/param/tag, no end_time). `value` is set for rank 0 only.
 */
interface SortKey {
  rank: 0 | 1 | 2;
  value?: string | number;
}

const MISSING: SortKey = { rank: 2 };

function sortKey(run: Run, term: RunSortTerm): SortKey {
  switch (term.entity) {
    case 'metric': {
      const metric = Object.hasOwn(run.metrics, term.key) ? run.metrics[term.key] : undefined;
      if (metric === undefined) return MISSING;
      return Number.isNaN(metric.value) ? { rank: 1 } : { rank: 0, value: metric.value };
    }
    case 'param':
    case 'tag': {
      const values = term.entity === 'param' ? run.params : run.tags;
      return Object.hasOwn(values, term.key) ? { rank: 0, value: values[term.key] as string } : MISSING;
    }
    default: {
      if (term.key === 'start_time' || term.key === 'end_time') {
        const value = numericAttribute(run, term.key);
        return value === undefined ? MISSING : { rank: 0, value };
      }
      return { rank: 0, value: stringAttribute(run, term.key) };
    }
  }
}

/** Strings compare by code point, as Python's do (UTF-16 `<` differs above U+FFFF). */
function compareStrings(left: string, right: string): number {
  if (left === right) return 0;
  const a = left[Symbol.iterator]();
  const b = right[Symbol.iterator]();
  for (;;) {
    const x = a.next();
    const y = b.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const difference = (x.value.codePointAt(0) as number) - (y.value.codePointAt(0) as number);
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
}

function compareKeys(term: RunSortTerm, left: SortKey, right: SortKey): number {
  if (left.rank !== right.rank) return left.rank < right.rank ? -1 : 1;
  if (left.rank !== 0) return 0;
  const a = left.value as string | number;
  const b = right.value as string | number;
  let order: number;
  if (typeof a === 'string' && typeof b === 'string') order = compareStrings(a, b);
  else order = a === b ? 0 : a < b ? -1 : 1; // -0 and 0 are equal
  return term.ascending ? order : -order;
}

function compareTuples(terms: RunSortTerm[], left: SortKey[], right: SortKey[]): number {
  for (const [index, term] of terms.entries()) {
    const order = compareKeys(term, left[index] ?? MISSING, right[index] ?? MISSING);
    if (order !== 0) return order;
  }
  return 0;
}

function isNumericTerm(term: RunSortTerm): boolean {
  return term.entity === 'metric' || term.key === 'start_time' || term.key === 'end_time';
}

/** Two token entries per term, `[rank, value]`; ±Infinity travel as strings (JSON has no Infinity). */
function encodeTuple(tuple: SortKey[]): SortValue[] {
  return tuple.flatMap((key): SortValue[] => {
    const value = key.value;
    if (value === undefined) return [key.rank, null];
    return [key.rank, typeof value === 'number' && !Number.isFinite(value) ? String(value) : value];
  });
}

function decodeTuple(terms: RunSortTerm[], after: SortValue[]): SortKey[] {
  const fail = (): never => {
    throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
  };
  if (after.length !== terms.length * 2) fail();
  return terms.map((term, index): SortKey => {
    const rank = after[index * 2];
    const value = after[index * 2 + 1];
    if (rank === 1 || rank === 2) return value === null ? { rank } : fail();
    if (rank !== 0) return fail();
    if (isNumericTerm(term)) {
      if (typeof value === 'number') return { rank, value };
      if (value === 'Infinity' || value === '-Infinity') return { rank, value: Number(value) };
      return fail();
    }
    return typeof value === 'string' ? { rank, value } : fail();
  });
}

export interface RunSearch {
  filter?: string;
  orderBy: readonly string[];
  viewType: ViewType;
  maxResults: number;
  pageToken?: string;
  /** What else defines the result set (the experiment ids): bound into page tokens. */
  scope?: unknown;
}

export interface RunPage {
  runs: Run[];
  nextPageToken?: string;
  /** A token for the page that starts after the first `count` runs of this one (for size-capped answers). */
  tokenAfter(count: number): string;
}

/**
 * Filters, orders and pages runs already read from the store (the caller selects the experiments).
 * Page tokens are keyset tokens: the sort tuple of the last run served, so runs added or removed
 * between pages never make the next page skip or repeat a run that stays in the result.
 */
export function searchRuns(all: readonly Run[], search: RunSearch): RunPage {
  const predicate = compileRunFilter(search.filter);
  const terms = parseRunOrderBy(search.orderBy);
  const fingerprint = queryFingerprint({
    s: 'runs',
    f: search.filter ?? '',
    o: terms,
    v: search.viewType,
    ...(search.scope === undefined ? {} : { scope: search.scope }),
  });
  const after = search.pageToken
    ? decodeTuple(terms, decodePageToken(search.pageToken, fingerprint))
    : undefined;

  const rows = all
    .filter(
      (run) =>
        search.viewType === 'ALL' ||
        (search.viewType === 'ACTIVE_ONLY') === (run.lifecycleStage === 'active'),
    )
    .filter(predicate)
    .map((run) => ({ run, tuple: terms.map((term) => sortKey(run, term)) }))
    .filter((row) => after === undefined || compareTuples(terms, row.tuple, after) > 0)
    .sort((left, right) => compareTuples(terms, left.tuple, right.tuple));

  const page = rows.slice(0, search.maxResults);
  const last = page.at(-1);
  return {
    runs: page.map((row) => row.run),
    nextPageToken:
      rows.length > search.maxResults && last
        ? encodePageToken(fingerprint, encodeTuple(last.tuple))
        : undefined,
    tokenAfter: (count) => {
      const row = page[count - 1];
      if (!row) throw new RangeError(`tokenAfter(${count}) outside a page of ${page.length} runs`);
      return encodePageToken(fingerprint, encodeTuple(row.tuple));
    },
  };
}

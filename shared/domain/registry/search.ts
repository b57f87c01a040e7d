/**
 * search-registered-models and search-model-versions: MLflow's filter grammar (filter.ts) with the
 * registry's identifiers, in-memory ordering and keyset page tokens (page-token.ts).
 *
 * Models: `name` (=, !=, LIKE, ILIKE), `tags.<key>` (=, !=, LIKE, ILIKE); order by `name`,
 * `creation_timestamp`, `last_updated_timestamp` (`timestamp` is an alias), default `name ASC`.
 * Versions: `name`, `run_id`, `source` (=, !=, LIKE, ILIKE, IN, NOT IN), `version_number` (numeric),
 * `tags.<key>`; order by those plus the timestamps, default `name ASC, version_number DESC`.
 *
 * A `tags.<key> != 'v'` clause matches models that lack the tag: the stock client adds
 * `tags.mlflow.prompt.is_prompt != 'true'` to every model search and expects every non-prompt model back.
 */
import { InvalidParameterValueError } from '../../errors.js';
import {
  type Clause,
  compareNumbers,
  invalidClause,
  parseFilter,
  parseOrderBy,
  stringMatcher,
} from '../search/filter.js';
import {
  compareSortTuples,
  decodePageToken,
  encodePageToken,
  queryFingerprint,
  type SortValue,
} from '../search/page-token.js';
import type { ModelVersion, RegisteredModel } from './model.js';

export interface RegistrySearch {
  filter?: string;
  orderBy: readonly string[];
  maxResults?: number;
  pageToken?: string;
}

export interface ModelPage {
  models: RegisteredModel[];
  nextPageToken?: string;
}

export interface VersionPage {
  versions: ModelVersion[];
  nextPageToken?: string;
  /** Set when the filter pins one model by exact name (the store then reads that model only). */
  exactName?: string;
}

const STRING_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE']);
const LIST_COMPARATORS = new Set(['IN', 'NOT IN']);
const NUMERIC_COMPARATORS = new Set(['=', '!=', '<', '<=', '>', '>=']);

function tagPredicate(filter: string, clause: Clause): (tags: Record<string, string>) => boolean {
  const { key, comparator, value } = clause;
  if (!STRING_COMPARATORS.has(comparator))
    invalidClause(filter, clause, `invalid comparator for tag: ${comparator} (one of =, !=, LIKE, ILIKE)`);
  if (typeof value !== 'string')
    invalidClause(filter, clause, `expected a quoted string value for tag, got ${String(value)}`);
  const matches = stringMatcher(comparator, value);
  if (comparator === '!=') return (tags) => !Object.hasOwn(tags, key) || matches(tags[key] as string);
  return (tags) => Object.hasOwn(tags, key) && matches(tags[key] as string);
}

function stringPredicate(
  filter: string,
  clause: Clause,
  allowLists: boolean,
): (candidate: string) => boolean {
  const { key, comparator, value } = clause;
  if (allowLists && LIST_COMPARATORS.has(comparator)) {
    if (!Array.isArray(value)) invalidClause(filter, clause, `expected a list of strings for '${key}'`);
    return stringMatcher(comparator, value);
  }
  if (!STRING_COMPARATORS.has(comparator)) {
    invalidClause(
      filter,
      clause,
      `invalid comparator '${comparator}' for '${key}' (one of =, !=, LIKE, ILIKE${allowLists ? ', IN, NOT IN' : ''})`,
    );
  }
  if (typeof value !== 'string')
    invalidClause(filter, clause, `expected a quoted string value for '${key}', got ${String(value)}`);
  return stringMatcher(comparator, value);
}

type ModelPredicate = (model: RegisteredModel) => boolean;

function compileModelClause(filter: string, clause: Clause): ModelPredicate {
  if (clause.entity === 'tag') {
    const predicate = tagPredicate(filter, clause);
    return (model) => predicate(model.tags);
  }
  if (clause.entity !== 'attribute' || clause.key !== 'name') {
    invalidClause(filter, clause, `invalid identifier '${clause.key}' (valid: name, tags.<key>)`);
  }
  const predicate = stringPredicate(filter, clause, false);
  return (model) => predicate(model.name);
}

type VersionPredicate = (version: ModelVersion, model: RegisteredModel) => boolean;

function compileVersionClause(filter: string, clause: Clause): VersionPredicate {
  if (clause.entity === 'tag') {
    const predicate = tagPredicate(filter, clause);
    return (version) => predicate(version.tags);
  }
  if (clause.entity !== 'attribute') {
    invalidClause(filter, clause, `invalid entity '${clause.entity}' (valid: attributes and tags)`);
  }
  switch (clause.key) {
    case 'name': {
      const predicate = stringPredicate(filter, clause, true);
      return (_version, model) => predicate(model.name);
    }
    case 'run_id': {
      const predicate = stringPredicate(filter, clause, true);
      return (version) => predicate(version.runId ?? '');
    }
    case 'source':
    case 'source_path': {
      const predicate = stringPredicate(filter, clause, true);
      return (version) => predicate(version.source);
    }
    case 'version_number': {
      const { comparator, value } = clause;
      if (!NUMERIC_COMPARATORS.has(comparator))
        invalidClause(filter, clause, `invalid comparator '${comparator}' for 'version_number'`);
      const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      if (typeof number !== 'number')
        invalidClause(filter, clause, `expected a number for 'version_number', got ${JSON.stringify(value)}`);
      return (version) => compareNumbers(comparator, version.version, number);
    }
    default:
      return invalidClause(
        filter,
        clause,
        `invalid attribute '${clause.key}' (valid: name, run_id, source, version_number, tags.<key>)`,
      );
  }
}

type SortKey = 'name' | 'creation_timestamp' | 'last_updated_timestamp' | 'version_number';
interface SortTerm {
  key: SortKey;
  ascending: boolean;
}

function parseTerms(
  orderBy: readonly string[],
  allowed: readonly SortKey[],
  defaults: SortTerm[],
): SortTerm[] {
  const terms = orderBy.map((text): SortTerm => {
    const term = parseOrderBy(text);
    const key = term.key === 'timestamp' ? 'last_updated_timestamp' : term.key;
    if (term.entity !== 'attribute' || !(allowed as readonly string[]).includes(key)) {
      throw new InvalidParameterValueError(
        `Invalid order_by clause '${text}'. Valid keys are ${allowed.join(', ')}.`,
      );
    }
    return { key: key as SortKey, ascending: term.ascending };
  });
  const seen = new Set(terms.map((term) => term.key));
  if (seen.size !== terms.length)
    throw new InvalidParameterValueError('order_by lists a key more than once.');
  // Defaults end the order as tie-breakers, so that the order is total (page tokens need that).
  for (const term of defaults) if (!seen.has(term.key)) terms.push(term);
  return terms;
}

function paginate<T>(
  rows: { item: T; tuple: SortValue[] }[],
  terms: SortTerm[],
  fingerprint: string,
  maxResults: number,
  pageToken: string | undefined,
): { items: T[]; nextPageToken?: string } {
  const after = pageToken ? decodePageToken(pageToken, fingerprint) : undefined;
  const remaining = rows
    .filter((row) => after === undefined || compareSortTuples(terms, row.tuple, after) > 0)
    .sort((left, right) => compareSortTuples(terms, left.tuple, right.tuple));
  const page = remaining.slice(0, maxResults);
  const last = page.at(-1);
  return {
    items: page.map((row) => row.item),
    ...(remaining.length > maxResults && last
      ? { nextPageToken: encodePageToken(fingerprint, last.tuple) }
      : {}),
  };
}

const MODEL_ORDER_KEYS: readonly SortKey[] = ['name', 'creation_timestamp', 'last_updated_timestamp'];

export function searchModels(
  all: readonly RegisteredModel[],
  search: RegistrySearch & { maxResults: number },
): ModelPage {
  const filter = search.filter ?? '';
  const predicates = parseFilter(filter).map((clause) => compileModelClause(filter, clause));
  const terms = parseTerms(search.orderBy, MODEL_ORDER_KEYS, [{ key: 'name', ascending: true }]);
  const fingerprint = queryFingerprint({ f: filter, o: terms, s: 'models' });
  const rows = all
    .filter((model) => predicates.every((predicate) => predicate(model)))
    .map((model) => ({
      item: model,
      tuple: terms.map((term): SortValue => {
        if (term.key === 'name') return model.name;
        if (term.key === 'creation_timestamp') return model.creationTimestamp;
        return model.lastUpdatedTimestamp;
      }),
    }));
  const { items, nextPageToken } = paginate(rows, terms, fingerprint, search.maxResults, search.pageToken);
  return { models: items, ...(nextPageToken ? { nextPageToken } : {}) };
}

const VERSION_ORDER_KEYS: readonly SortKey[] = [
  'name',
  'version_number',
  'creation_timestamp',
  'last_updated_timestamp',
];

/** Versions whose model is not in `models` (left behind by a half-done model delete) are ignored. */
export function searchVersions(
  all: readonly ModelVersion[],
  models: ReadonlyMap<string, RegisteredModel>,
  search: RegistrySearch & { maxResults: number },
): VersionPage {
  const filter = search.filter ?? '';
  const clauses = parseFilter(filter);
  const predicates = clauses.map((clause) => compileVersionClause(filter, clause));
  const exact = clauses.find(
    (clause) =>
      clause.entity === 'attribute' &&
      clause.key === 'name' &&
      clause.comparator === '=' &&
      typeof clause.value === 'string',
  );
  const terms = parseTerms(search.orderBy, VERSION_ORDER_KEYS, [
    { key: 'name', ascending: true },
    { key: 'version_number', ascending: false },
  ]);
  const fingerprint = queryFingerprint({ f: filter, o: terms, s: 'versions' });
  const rows = all.flatMap((version) => {
    const model = models.get(version.modelId);
    if (!model || !predicates.every((predicate) => predicate(version, model))) return [];
    const tuple = terms.map((term): SortValue => {
      if (term.key === 'name') return model.name;
      if (term.key === 'version_number') return version.version;
      if (term.key === 'creation_timestamp') return version.creationTimestamp;
      return version.lastUpdatedTimestamp;
    });
    return [{ item: version, tuple }];
  });
  const { items, nextPageToken } = paginate(rows, terms, fingerprint, search.maxResults, search.pageToken);
  return {
    versions: items,
    ...(nextPageToken ? { nextPageToken } : {}),
    ...(exact ? { exactName: exact.value as string } : {}),
  };
}

/**
 * search-registered-models and search-model-versions: MLflow's filter grammar (filter.ts) with the
 * registry's identifiers, in-memory ordering and keyset page tokens (page-token.ts).
 *
 * Models: `name` (=, !=, LIKE, ILIKE), `tags.<key>` (=, !=, LIKE, ILIKE); order by `name`,
 * `creation_timestamp`, `last_updated_timestamp` (`timestamp` is an alias), default `name ASC`.
 * Versions: `name`, `run_id`, `source` (=, !=, LIKE, ILIKE, IN, NOT IN), `version_number` (numeric),
 * `tags.<key>`; order by those plus the timestamps, default MLflow's `last_updated_timestamp DESC, name ASC,
 * version_number DESC`. Releases before it defaulted to `name ASC, version_number DESC`; their tokens
 * (that order's fingerprint) page on in that order.
 *
 * A `tags.<key> != 'v'` clause matches models that lack the tag: the stock client adds
 * `tags.mlflow.prompt.is_prompt != 'true'` to every model search and expects every non-prompt model back.
 */
import { InvalidParameterValueError } from '../../errors.js';
import {
  type Clause,
  compareNumbers,
  invalidClause,
  LIST_COMPARATORS,
  NUMERIC_COMPARATORS,
  ownValue,
  parseFilter,
  STRING_COMPARATORS,
  stringMatcher,
} from '../search/filter.js';
import { parseOrderTerms, type SortCell } from '../search/order.js';
import { queryFingerprint } from '../search/page-token.js';
import { type CellKind, plainCodec, type SearchPlan, searchPage } from '../search/pipeline.js';
import type { ModelVersion, RegisteredModel } from './model.js';

export interface RegistrySearch {
  filter?: string;
  orderBy: readonly string[];
  maxResults?: number;
  pageToken?: string;
  /**
   * Registered model names the caller may not read (issue 16): their models, and their versions, are left
   * out before paging, as if they did not exist.
   */
  hidden?: ReadonlySet<string>;
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

function tagPredicate(filter: string, clause: Clause): (tags: Record<string, string>) => boolean {
  const { key, comparator, value } = clause;
  if (!STRING_COMPARATORS.has(comparator))
    invalidClause(filter, clause, `invalid comparator for tag: ${comparator} (one of =, !=, LIKE, ILIKE)`);
  if (typeof value !== 'string')
    invalidClause(filter, clause, `expected a quoted string value for tag, got ${String(value)}`);
  const matches = stringMatcher(comparator, value);
  if (comparator === '!=') {
    return (tags) => {
      const tag = ownValue(tags, key);
      return tag === undefined || matches(tag);
    };
  }
  return (tags) => {
    const tag = ownValue(tags, key);
    return tag !== undefined && matches(tag);
  };
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
  return parseOrderTerms(orderBy, {
    resolve: (term, text): SortTerm => {
      const key = term.key === 'timestamp' ? 'last_updated_timestamp' : term.key;
      if (term.entity !== 'attribute' || !(allowed as readonly string[]).includes(key)) {
        throw new InvalidParameterValueError(
          `Invalid order_by clause '${text}'. Valid keys are ${allowed.join(', ')}.`,
        );
      }
      return { key: key as SortKey, ascending: term.ascending };
    },
    id: (term) => term.key,
    duplicate: () => 'order_by lists a key more than once.',
    // Defaults end the order as tie-breakers, so that the order is total (page tokens need that).
    tieBreakers: defaults,
  });
}

const kinds = (terms: readonly SortTerm[]): CellKind[] =>
  terms.map((term) => (term.key === 'name' ? 'string' : 'number'));

const MODEL_ORDER_KEYS: readonly SortKey[] = ['name', 'creation_timestamp', 'last_updated_timestamp'];

export function searchModels(
  all: readonly RegisteredModel[],
  search: RegistrySearch & { maxResults: number },
): ModelPage {
  const filter = search.filter ?? '';
  const predicates = parseFilter(filter).map((clause) => compileModelClause(filter, clause));
  const terms = parseTerms(search.orderBy, MODEL_ORDER_KEYS, [{ key: 'name', ascending: true }]);
  const hidden = search.hidden;
  const plan: SearchPlan<RegisteredModel> = {
    // The token layout of earlier releases: tokens issued by them still read.
    fingerprint: queryFingerprint({ f: filter, o: terms, s: 'models' }),
    ...(hidden === undefined ? {} : { view: (model: RegisteredModel) => !hidden.has(model.name) }),
    predicate: (model) => predicates.every((predicate) => predicate(model)),
    terms,
    sortKey: (model) =>
      terms.map((term): SortCell => {
        if (term.key === 'name') return model.name;
        if (term.key === 'creation_timestamp') return model.creationTimestamp;
        return model.lastUpdatedTimestamp;
      }),
    codec: plainCodec(kinds(terms)),
  };
  const { items, nextPageToken } = searchPage(all, plan, search);
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
  const tieBreakers: SortTerm[] = [
    { key: 'name', ascending: true },
    { key: 'version_number', ascending: false },
  ];
  // MLflow's default order (its SQL store's): the stock client lists the most recently changed first.
  // The fingerprint covers the terms, so a token of this order and one of the old default never mix up.
  const terms =
    search.orderBy.length === 0
      ? [{ key: 'last_updated_timestamp' as const, ascending: false }, ...tieBreakers]
      : parseTerms(search.orderBy, VERSION_ORDER_KEYS, tieBreakers);
  // A version is searched with its model; versions whose model is gone are left out.
  const rows = all.flatMap((version) => {
    const model = models.get(version.modelId);
    return model ? [{ version, model }] : [];
  });
  const hidden = search.hidden;
  const planFor = (
    order: readonly SortTerm[],
  ): SearchPlan<{ version: ModelVersion; model: RegisteredModel }> => ({
    // The token layout of earlier releases: tokens issued by them still read.
    fingerprint: queryFingerprint({ f: filter, o: order, s: 'versions' }),
    ...(hidden === undefined
      ? {}
      : { view: ({ model }: { model: RegisteredModel }) => !hidden.has(model.name) }),
    predicate: ({ version, model }) => predicates.every((predicate) => predicate(version, model)),
    terms: order,
    sortKey: ({ version, model }) =>
      order.map((term): SortCell => {
        if (term.key === 'name') return model.name;
        if (term.key === 'version_number') return version.version;
        if (term.key === 'creation_timestamp') return version.creationTimestamp;
        return version.lastUpdatedTimestamp;
      }),
    codec: plainCodec(kinds(order)),
  });
  const plan = {
    ...planFor(terms),
    // Earlier releases' default order, for the tokens they issued without an order_by.
    ...(search.orderBy.length === 0 ? { earlier: [planFor(tieBreakers)] } : {}),
  };
  const { items, nextPageToken } = searchPage(rows, plan, search);
  return {
    versions: items.map((row) => row.version),
    ...(nextPageToken ? { nextPageToken } : {}),
    ...(exact ? { exactName: exact.value as string } : {}),
  };
}

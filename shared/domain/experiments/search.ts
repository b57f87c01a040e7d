/**
 * search-experiments semantics (MLflow's SearchExperimentsUtils): filter on `name`, `creation_time`,
 * `last_update_time` (optionally `attribute.`-prefixed) and `tags.<key>`; order by `name`,
 * `experiment_id`, `creation_time`, `last_update_time`. Default order `creation_time DESC,
 * experiment_id ASC`; with an explicit order MLflow appends `experiment_id DESC` as the tie-breaker.
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
import {
  compareSortTuples,
  decodePageToken,
  encodePageToken,
  queryFingerprint,
} from '../search/page-token.js';
import type { Experiment } from './model.js';

const STRING_ATTRIBUTES = ['name'] as const;
const NUMERIC_ATTRIBUTES = ['creation_time', 'last_update_time'] as const;
const ORDER_KEYS = ['name', 'experiment_id', 'creation_time', 'last_update_time'] as const;
type OrderKey = (typeof ORDER_KEYS)[number];

const STRING_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE']);
const NUMERIC_COMPARATORS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const TAG_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE', 'IS NULL', 'IS NOT NULL']);

type Predicate = (experiment: Experiment) => boolean;

function compileClause(filter: string, clause: Clause): Predicate {
  const { entity, key, comparator, value } = clause;
  if (entity === 'tag') {
    if (!TAG_COMPARATORS.has(comparator))
      invalidClause(filter, clause, `invalid comparator for tag: ${comparator}`);
    if (comparator === 'IS NULL') return (experiment) => !Object.hasOwn(experiment.tags, key);
    if (comparator === 'IS NOT NULL') return (experiment) => Object.hasOwn(experiment.tags, key);
    if (typeof value !== 'string') {
      invalidClause(
        filter,
        clause,
        `expected a quoted string value for tag (e.g. 'my-value'), got ${String(value)}`,
      );
    }
    const matches = stringMatcher(comparator, value);
    // MLflow joins on the tag table: an experiment without the tag never matches, not even `!=`.
    return (experiment) => Object.hasOwn(experiment.tags, key) && matches(experiment.tags[key] as string);
  }
  if (entity !== 'attribute') {
    invalidClause(filter, clause, `invalid entity type '${entity}' (valid: attribute, tag, tags)`);
  }
  if ((STRING_ATTRIBUTES as readonly string[]).includes(key)) {
    if (comparator === 'IS NULL' || comparator === 'IS NOT NULL') {
      invalidClause(
        filter,
        clause,
        `IS NULL / IS NOT NULL is only supported for tags, not for attribute '${key}'`,
      );
    }
    if (!STRING_COMPARATORS.has(comparator)) {
      invalidClause(
        filter,
        clause,
        `invalid comparator '${comparator}' for '${key}' (one of =, !=, LIKE, ILIKE)`,
      );
    }
    if (typeof value !== 'string') {
      invalidClause(filter, clause, `expected a quoted string value for '${key}', got ${String(value)}`);
    }
    const matches = stringMatcher(comparator, value);
    return (experiment) => matches(experiment.name);
  }
  if ((NUMERIC_ATTRIBUTES as readonly string[]).includes(key)) {
    if (!NUMERIC_COMPARATORS.has(comparator)) {
      invalidClause(
        filter,
        clause,
        `invalid comparator '${comparator}' for '${key}' (one of =, !=, <, <=, >, >=)`,
      );
    }
    if (typeof value !== 'number') {
      invalidClause(
        filter,
        clause,
        `expected a numeric value for numeric attribute '${key}', found ${JSON.stringify(value)}`,
      );
    }
    const field = key === 'creation_time' ? 'creationTime' : 'lastUpdateTime';
    return (experiment) => compareNumbers(comparator, experiment[field], value);
  }
  invalidClause(
    filter,
    clause,
    `invalid attribute key '${key}' (valid keys: ${[...STRING_ATTRIBUTES, ...NUMERIC_ATTRIBUTES].join(', ')})`,
  );
}

export function compileExperimentFilter(filter: string | undefined): Predicate {
  const predicates = parseFilter(filter).map((clause) => compileClause(filter ?? '', clause));
  return (experiment) => predicates.every((predicate) => predicate(experiment));
}

interface SortTerm {
  key: OrderKey;
  ascending: boolean;
}

export function parseExperimentOrderBy(orderBy: readonly string[]): SortTerm[] {
  if (orderBy.length === 0) {
    return [
      { key: 'creation_time', ascending: false },
      { key: 'experiment_id', ascending: true },
    ];
  }
  const terms = orderBy.map((text): SortTerm => {
    const term = parseOrderBy(text);
    if (term.entity !== 'attribute') {
      throw new InvalidParameterValueError(`Invalid order_by entity: ${term.entity} (in '${text}')`);
    }
    if (!(ORDER_KEYS as readonly string[]).includes(term.key)) {
      throw new InvalidParameterValueError(
        `Invalid order_by key '${term.key}' in '${text}'. Valid keys are ${ORDER_KEYS.join(', ')}.`,
      );
    }
    return { key: term.key as OrderKey, ascending: term.ascending };
  });
  const seen = new Set<string>();
  for (const term of terms) {
    if (seen.has(term.key))
      throw new InvalidParameterValueError(`order_by lists '${term.key}' more than once.`);
    seen.add(term.key);
  }
  if (!seen.has('experiment_id')) terms.push({ key: 'experiment_id', ascending: false });
  return terms;
}

function sortValue(experiment: Experiment, key: OrderKey): string | number {
  switch (key) {
    case 'name':
      return experiment.name;
    case 'experiment_id':
      return Number(experiment.experimentId);
    case 'creation_time':
      return experiment.creationTime;
    default:
      return experiment.lastUpdateTime;
  }
}

export interface ExperimentSearch {
  filter?: string;
  orderBy: readonly string[];
  viewType: ViewType;
  maxResults: number;
  pageToken?: string;
}

export interface ExperimentPage {
  experiments: Experiment[];
  nextPageToken?: string;
}

/** Filters, orders and pages experiments already read from the store. */
export function searchExperiments(all: readonly Experiment[], search: ExperimentSearch): ExperimentPage {
  const predicate = compileExperimentFilter(search.filter);
  const terms = parseExperimentOrderBy(search.orderBy);
  const fingerprint = queryFingerprint({ f: search.filter ?? '', o: terms, v: search.viewType });
  const after = search.pageToken ? decodePageToken(search.pageToken, fingerprint) : undefined;

  const rows = all
    .filter(
      (experiment) =>
        search.viewType === 'ALL' ||
        (search.viewType === 'ACTIVE_ONLY') === (experiment.lifecycleStage === 'active'),
    )
    .filter(predicate)
    .map((experiment) => ({ experiment, tuple: terms.map((term) => sortValue(experiment, term.key)) }))
    .filter((row) => after === undefined || compareSortTuples(terms, row.tuple, after) > 0)
    .sort((left, right) => compareSortTuples(terms, left.tuple, right.tuple));

  const page = rows.slice(0, search.maxResults);
  const last = page.at(-1);
  return {
    experiments: page.map((row) => row.experiment),
    nextPageToken:
      rows.length > search.maxResults && last ? encodePageToken(fingerprint, last.tuple) : undefined,
  };
}

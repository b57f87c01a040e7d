/**
 * search-experiments semantics (MLflow's SearchExperimentsUtils): filter on `name`, `creation_time`,
 * `last_update_time` (optionally `attribute.`-prefixed) and `tags.<key>`; order by `name`,
 * `experiment_id`, `creation_time`, `last_update_time`. Default order `creation_time DESC,
 * experiment_id ASC`; with an explicit order MLflow appends `experiment_id DESC` as the tie-breaker.
 */

import { InvalidParameterValueError } from '../../errors.js';
import {
  type Clause,
  compareNumbers,
  invalidClause,
  keyValuePredicate,
  NULL_COMPARATORS,
  NUMERIC_COMPARATORS,
  parseFilter,
  STRING_COMPARATORS,
  stringMatcher,
} from '../search/filter.js';
import { parseOrderTerms } from '../search/order.js';
import { queryFingerprint } from '../search/page-token.js';
import { lifecycleView, plainCodec, searchPage, type ViewType } from '../search/pipeline.js';
import type { Experiment } from './model.js';

const STRING_ATTRIBUTES = ['name'] as const;
const NUMERIC_ATTRIBUTES = ['creation_time', 'last_update_time'] as const;
const ORDER_KEYS = ['name', 'experiment_id', 'creation_time', 'last_update_time'] as const;
type OrderKey = (typeof ORDER_KEYS)[number];

type Predicate = (experiment: Experiment) => boolean;

function compileClause(filter: string, clause: Clause): Predicate {
  const { entity, key, comparator, value } = clause;
  if (entity === 'tag') {
    if (!STRING_COMPARATORS.has(comparator) && !NULL_COMPARATORS.has(comparator))
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
    const matches = keyValuePredicate(key, stringMatcher(comparator, value));
    return (experiment) => matches(experiment.tags);
  }
  if (entity !== 'attribute') {
    invalidClause(filter, clause, `invalid entity type '${entity}' (valid: attribute, tag, tags)`);
  }
  if ((STRING_ATTRIBUTES as readonly string[]).includes(key)) {
    if (NULL_COMPARATORS.has(comparator)) {
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
  return parseOrderTerms(orderBy, {
    resolve: (term, text): SortTerm => {
      if (term.entity !== 'attribute') {
        throw new InvalidParameterValueError(`Invalid order_by entity: ${term.entity} (in '${text}')`);
      }
      if (!(ORDER_KEYS as readonly string[]).includes(term.key)) {
        throw new InvalidParameterValueError(
          `Invalid order_by key '${term.key}' in '${text}'. Valid keys are ${ORDER_KEYS.join(', ')}.`,
        );
      }
      return { key: term.key as OrderKey, ascending: term.ascending };
    },
    id: (term) => term.key,
    duplicate: (key) => `order_by lists '${key}' more than once.`,
    // With an explicit order MLflow breaks ties by experiment_id DESC.
    tieBreakers: [{ key: 'experiment_id', ascending: false }],
  });
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
  /** Experiment ids the caller may not read (issue 16): left out before paging, as if they did not exist. */
  hidden?: ReadonlySet<string>;
}

export interface ExperimentPage {
  experiments: Experiment[];
  nextPageToken?: string;
}

/** Filters, orders and pages experiments already read from the store. */
export function searchExperiments(all: readonly Experiment[], search: ExperimentSearch): ExperimentPage {
  const predicate = compileExperimentFilter(search.filter);
  const terms = parseExperimentOrderBy(search.orderBy);
  const lifecycle = lifecycleView(search.viewType);
  const hidden = search.hidden;
  const { items, nextPageToken } = searchPage(
    all,
    {
      // The token layout of earlier releases: tokens issued by them still read.
      fingerprint: queryFingerprint({ f: search.filter ?? '', o: terms, v: search.viewType }),
      // Hidden experiments go with the view, before the page is cut: the page's token then names the last
      // experiment served, never one the caller may not see, and a page is short only at the end.
      view:
        hidden === undefined
          ? lifecycle
          : (experiment) => lifecycle(experiment) && !hidden.has(experiment.experimentId),
      predicate,
      terms,
      sortKey: (experiment) => terms.map((term) => sortValue(experiment, term.key)),
      codec: plainCodec(terms.map((term) => (term.key === 'name' ? 'string' : 'number'))),
    },
    search,
  );
  return { experiments: items, ...(nextPageToken === undefined ? {} : { nextPageToken }) };
}

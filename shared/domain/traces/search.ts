/**
 * `search_traces` filters and orders (MLflow's SearchTraceUtils): `trace.`/`attribute.` attributes
 * (status, name, timestamp_ms, execution_time_ms, end_time_ms, run_id, request_id, client_request_id),
 * `tag.<key>` and `metadata.<key>` / `request_metadata.<key>` clauses joined by AND. Span, assessment and
 * full-text filters are refused with a 400 that says so. Clauses are evaluated on trace info; the store
 * reads traces in time order, so the default order reads O(page) items (see service.ts).
 */
import { InvalidParameterValueError } from '../../errors.js';
import {
  type Clause,
  compareNumbers,
  type EntityType,
  type FilterPrefixes,
  invalidClause,
  keyValuePredicate,
  LIST_COMPARATORS,
  NULL_COMPARATORS,
  NUMERIC_COMPARATORS,
  ownValue,
  parseFilter,
  parseOrderBy,
  STRING_COMPARATORS,
  stringMatcher,
} from '../search/filter.js';
import { SOURCE_RUN_METADATA, TRACE_NAME_TAG, type TraceInfo, visibleTags } from './model.js';

/**
 * Traces have no params: request metadata clauses are parsed under the `param` entity of the shared
 * grammar and mean `trace_metadata` here.
 */
const METADATA: EntityType = 'param';

export const TRACE_FILTER_PREFIXES: FilterPrefixes = {
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  trace: 'attribute',
  metadata: METADATA,
  request_metadata: METADATA,
};

type Attribute =
  | 'status'
  | 'name'
  | 'timestamp'
  | 'execution_time'
  | 'end_time'
  | 'run_id'
  | 'request_id'
  | 'client_request_id'
  | 'experiment_id';

const ATTRIBUTE_ALIASES: Record<string, Attribute> = {
  status: 'status',
  state: 'status',
  name: 'name',
  timestamp: 'timestamp',
  timestamp_ms: 'timestamp',
  execution_time: 'execution_time',
  execution_time_ms: 'execution_time',
  end_time: 'end_time',
  end_time_ms: 'end_time',
  run_id: 'run_id',
  request_id: 'request_id',
  trace_id: 'request_id',
  client_request_id: 'client_request_id',
  experiment_id: 'experiment_id',
};

const NUMERIC: ReadonlySet<Attribute> = new Set(['timestamp', 'execution_time', 'end_time']);

function attributeValue(info: TraceInfo, attribute: Attribute): string | number | undefined {
  switch (attribute) {
    case 'status':
      return info.state;
    case 'name':
      return ownValue(info.tags, TRACE_NAME_TAG) ?? info.rootSpanName;
    case 'timestamp':
      return info.requestTime;
    case 'execution_time':
      return info.durationMs;
    case 'end_time':
      return info.durationMs === undefined ? undefined : info.requestTime + info.durationMs;
    case 'run_id':
      return ownValue(info.metadata, SOURCE_RUN_METADATA);
    case 'request_id':
      return info.traceId;
    case 'client_request_id':
      return info.clientRequestId;
    case 'experiment_id':
      return info.experimentId;
  }
}

export type TracePredicate = (info: TraceInfo) => boolean;

function clausePredicate(filter: string, clause: Clause): TracePredicate {
  const { comparator, value } = clause;
  if (clause.entity === 'tag' || clause.entity === METADATA) {
    const pick = (info: TraceInfo) => (clause.entity === 'tag' ? visibleTags(info) : info.metadata);
    if (NULL_COMPARATORS.has(comparator)) {
      const wantNull = comparator === 'IS NULL';
      return (info) => (ownValue(pick(info), clause.key) === undefined) === wantNull;
    }
    if (!STRING_COMPARATORS.has(comparator) || typeof value !== 'string') {
      invalidClause(
        filter,
        clause,
        `'${comparator}' with this value is not supported for ${clause.entity === 'tag' ? 'tags' : 'metadata'} (use =, !=, LIKE, ILIKE, IS NULL or IS NOT NULL with a quoted string)`,
      );
    }
    const predicate = keyValuePredicate(clause.key, stringMatcher(comparator, value));
    return (info) => predicate(pick(info));
  }
  if (clause.entity !== 'attribute') {
    invalidClause(filter, clause, `'${clause.entity}' clauses do not apply to traces`);
  }
  const attribute = Object.hasOwn(ATTRIBUTE_ALIASES, clause.key) ? ATTRIBUTE_ALIASES[clause.key] : undefined;
  if (attribute === undefined || attribute === 'experiment_id') {
    invalidClause(
      filter,
      clause,
      `'${clause.key}' is not a searchable trace attribute here (status, name, timestamp_ms, execution_time_ms, end_time_ms, run_id, request_id, client_request_id); span, assessment and text filters are not supported by Cairn`,
    );
  }
  if (NUMERIC.has(attribute)) {
    if (!NUMERIC_COMPARATORS.has(comparator) || typeof value !== 'number') {
      invalidClause(filter, clause, `'${clause.key}' compares with =, !=, <, <=, >, >= and a number`);
    }
    return (info) => {
      const actual = attributeValue(info, attribute);
      return typeof actual === 'number' && compareNumbers(comparator, actual, value);
    };
  }
  if (
    !(STRING_COMPARATORS.has(comparator) && typeof value === 'string') &&
    !(LIST_COMPARATORS.has(comparator) && Array.isArray(value))
  ) {
    invalidClause(
      filter,
      clause,
      `'${clause.key}' compares with =, !=, LIKE, ILIKE, IN or NOT IN and quoted strings`,
    );
  }
  const matches = stringMatcher(comparator, value as string | string[]);
  return (info) => {
    const actual = attributeValue(info, attribute);
    return typeof actual === 'string' && matches(actual);
  };
}

/** What a trace filter looks like, said after any filter error. */
export const TRACE_FILTER_HINT =
  "Trace filters look like `trace.status = 'OK'`, `trace.timestamp_ms > 1700000000000` or `tag.team = 'ml'` joined by AND.";

/**
 * The shared grammar's errors end with a hint about run filters (`metrics.loss < 0.5`), which names no
 * trace field; a trace search gets its own hint instead.
 */
function withTraceHint(error: unknown): unknown {
  if (!(error instanceof InvalidParameterValueError)) return error;
  const at = error.message.indexOf(' Clauses look like ');
  const message = `${at === -1 ? error.message : error.message.slice(0, at)} ${TRACE_FILTER_HINT}`;
  return new InvalidParameterValueError(message, { cause: error });
}

export function compileTraceFilter(filter: string | undefined): TracePredicate {
  let predicates: TracePredicate[];
  try {
    predicates = parseFilter(filter, TRACE_FILTER_PREFIXES).map((clause) =>
      clausePredicate(filter as string, clause),
    );
  } catch (error) {
    throw withTraceHint(error);
  }
  return (info) => predicates.every((predicate) => predicate(info));
}

/** One `order_by` term: an attribute, or a tag's or request metadata's value (strings, nulls last). */
export type TraceOrderTerm =
  | { kind: 'attribute'; attribute: Attribute; ascending: boolean }
  | { kind: 'tag' | 'metadata'; key: string; ascending: boolean };

const TIME_TERM: TraceOrderTerm = { kind: 'attribute', attribute: 'timestamp', ascending: false };
const ID_TERM: TraceOrderTerm = { kind: 'attribute', attribute: 'request_id', ascending: true };

/** MLflow's default: newest first, then trace id. */
export const DEFAULT_TRACE_ORDER: readonly TraceOrderTerm[] = [TIME_TERM, ID_TERM];

const isAttribute = (term: TraceOrderTerm, attribute: Attribute): boolean =>
  term.kind === 'attribute' && term.attribute === attribute;

/**
 * MLflow's `search_traces` orders (sqlalchemy_store `_get_orderby_clauses_for_search_traces`): attributes,
 * `tag.<key>` and `request_metadata.<key>` (or `metadata.<key>`), each with nulls last; a field named twice
 * is refused; then newest first and trace id break ties, unless already named.
 */
export function parseTraceOrder(orderBy: readonly string[]): TraceOrderTerm[] {
  const seen = new Set<string>();
  const terms = orderBy.map((text): TraceOrderTerm => {
    const term = parseOrderBy(text, TRACE_FILTER_PREFIXES);
    let parsed: TraceOrderTerm | undefined;
    if (term.entity === 'tag') parsed = { kind: 'tag', key: term.key, ascending: term.ascending };
    else if (term.entity === METADATA)
      parsed = { kind: 'metadata', key: term.key, ascending: term.ascending };
    else if (term.entity === 'attribute' && Object.hasOwn(ATTRIBUTE_ALIASES, term.key)) {
      parsed = {
        kind: 'attribute',
        attribute: ATTRIBUTE_ALIASES[term.key] as Attribute,
        ascending: term.ascending,
      };
    }
    if (parsed === undefined) {
      throw new InvalidParameterValueError(
        `Invalid order_by clause '${text}': traces order by timestamp_ms, execution_time_ms, end_time_ms, status, name, run_id, request_id, experiment_id, tag.<key> or request_metadata.<key>.`,
      );
    }
    const field =
      parsed.kind === 'attribute' ? `attribute.${parsed.attribute}` : `${parsed.kind}.${parsed.key}`;
    if (seen.has(field)) {
      throw new InvalidParameterValueError(
        `\`order_by\` contains duplicate fields: ${JSON.stringify(orderBy)}`,
      );
    }
    seen.add(field);
    return parsed;
  });
  if (!terms.some((term) => isAttribute(term, 'timestamp'))) terms.push(TIME_TERM);
  if (!terms.some((term) => isAttribute(term, 'request_id'))) terms.push(ID_TERM);
  return terms;
}

/** True when the order is the index's: by request time (then id), so pages are read O(page). */
export function isTimeOrder(terms: readonly TraceOrderTerm[]): boolean {
  return (
    isAttribute(terms[0] as TraceOrderTerm, 'timestamp') &&
    terms.slice(1).every((term) => isAttribute(term, 'request_id'))
  );
}

function termValue(info: TraceInfo, term: TraceOrderTerm): string | number | undefined {
  if (term.kind === 'attribute') return attributeValue(info, term.attribute);
  return ownValue(term.kind === 'tag' ? visibleTags(info) : info.metadata, term.key);
}

/** Compares two traces by the order's terms; missing values sort last, as SQL NULLs in MLflow's store. */
export function compareTraces(
  terms: readonly TraceOrderTerm[],
): (left: TraceInfo, right: TraceInfo) => number {
  return (left, right) => {
    for (const term of terms) {
      const a = termValue(left, term);
      const b = termValue(right, term);
      if (a === b) continue;
      if (a === undefined) return 1;
      if (b === undefined) return -1;
      const order = a < b ? -1 : 1;
      return term.ascending ? order : -order;
    }
    return 0;
  };
}

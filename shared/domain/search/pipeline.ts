/**
 * The one search pipeline every search runs, on items already read from the store:
 * view filter → compiled predicate → sort key → keyset cursor → page (max_results, and an optional
 * response byte budget). Each search supplies only what is its own: which items its view selects,
 * its filter's predicate, its sort terms and key, and how its keys travel in a page token.
 *
 * The page is sized here, not at the HTTP edge, so that the token always names the last item served:
 * the caller passes `sizeOf` (its own measure of an item in the response) and the byte budget, and the
 * page stops before the item that would pass the budget (the first item is always served, so that
 * paging always advances). MLflow's clients follow tokens and accept pages shorter than max_results.
 */
import { InvalidParameterValueError } from '../../errors.js';
import { compareSortKeys, type SortCell, type SortDirection, type StringOrder } from './order.js';
import { decodePageToken, encodePageToken, pageTokenFingerprint, type SortValue } from './page-token.js';

/** How a search's sort keys are written in its page tokens (each search keeps its historic layout). */
export interface SortKeyCodec {
  encode(key: readonly SortCell[]): SortValue[];
  /** The key a token carries, or undefined when the values are not a key of this query (a forged token). */
  decode(values: readonly SortValue[]): SortCell[] | undefined;
}

export interface SearchPlan<T> {
  /** queryFingerprint of everything that defines the result's membership and order. */
  fingerprint: string;
  /** The view type or lifecycle selection; applied before the predicate. */
  view?: (item: T) => boolean;
  predicate: (item: T) => boolean;
  terms: readonly SortDirection[];
  /** One cell per term; the last terms must identify the item, so that the order is total. */
  sortKey: (item: T) => SortCell[];
  strings?: StringOrder;
  codec: SortKeyCodec;
  /**
   * The plans this query ran as in earlier releases, when its order has changed since: a token issued
   * for one of them (its fingerprint says which) pages on in that plan's order and layout, so that a
   * client half-way through a listing neither skips nor repeats an item.
   */
  earlier?: readonly SearchPlan<T>[];
}

export interface PageRequest<T> {
  maxResults: number;
  pageToken?: string;
  /** Stop the page once the items' measured size would pass this many bytes. */
  byteBudget?: number;
  sizeOf?: (item: T) => number;
}

export interface SearchResult<T> {
  items: T[];
  nextPageToken?: string;
}

/**
 * Runs a search. The token is decoded before anything else, so that a call on no items validates a
 * request (filter, order and token) before the store is read.
 */
export function searchPage<T>(
  all: readonly T[],
  plan: SearchPlan<T>,
  request: PageRequest<T>,
): SearchResult<T> {
  if (request.pageToken !== undefined && plan.earlier !== undefined) {
    const fingerprint = pageTokenFingerprint(request.pageToken);
    const earlier = plan.earlier.find((candidate) => candidate.fingerprint === fingerprint);
    if (earlier !== undefined && fingerprint !== plan.fingerprint) return searchPage(all, earlier, request);
  }
  const after = request.pageToken === undefined ? undefined : decodeAfter(plan, request.pageToken);
  const compare = sortKeyOrder(plan);
  const rows = all
    .filter((item) => (plan.view === undefined || plan.view(item)) && plan.predicate(item))
    .map((item) => ({ item, key: plan.sortKey(item) }))
    .filter((row) => after === undefined || compare(row.key, after) > 0)
    .sort((left, right) => compare(left.key, right.key));

  const page: typeof rows = [];
  let bytes = 0;
  for (const row of rows) {
    if (page.length >= request.maxResults) break;
    if (request.byteBudget !== undefined && request.sizeOf !== undefined) {
      const size = request.sizeOf(row.item);
      if (page.length > 0 && bytes + size > request.byteBudget) break;
      bytes += size;
    }
    page.push(row);
  }
  const last = page.at(-1);
  return {
    items: page.map((row) => row.item),
    ...(page.length < rows.length && last
      ? { nextPageToken: encodePageToken(plan.fingerprint, plan.codec.encode(last.key)) }
      : {}),
  };
}

/** How a plan orders two sort keys. */
export function sortKeyOrder<T>(plan: SearchPlan<T>) {
  const strings = plan.strings ?? 'code-unit';
  return (left: readonly SortCell[], right: readonly SortCell[]) =>
    compareSortKeys(plan.terms, left, right, strings);
}

/** The sort key a page token resumes after; a 400 for a token of another query or not of this server. */
export function decodeAfter<T>(plan: SearchPlan<T>, token: string): SortCell[] {
  const key = plan.codec.decode(decodePageToken(token, plan.fingerprint));
  if (key === undefined) {
    throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
  }
  return key;
}

/** MLflow's ViewType: which lifecycle stages a search of experiments or runs covers. */
export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export function lifecycleView(viewType: ViewType): (item: { lifecycleStage: string }) => boolean {
  if (viewType === 'ALL') return () => true;
  const active = viewType === 'ACTIVE_ONLY';
  return (item) => (item.lifecycleStage === 'active') === active;
}

export type CellKind = 'string' | 'number';

/**
 * The sort key as is, one token value per term: for orders whose every term always has a value.
 * A token whose values do not have the terms' kinds is refused.
 */
export function plainCodec(kinds: readonly CellKind[]): SortKeyCodec {
  return {
    encode: (key) => [...key],
    decode: (values) =>
      values.length === kinds.length && values.every((value, index) => typeof value === kinds[index])
        ? [...values]
        : undefined,
  };
}

/**
 * Two token values per term, `[class, value]`: `[0, value]` for a value (±Infinity as a string, JSON
 * has none), `[1, null]` for NaN, and `missing` for no value. Runs write `[2, null]` for no value,
 * logged models `[1, 0]`; both layouts are kept so that tokens issued earlier still read.
 */
export function pairCodec(kinds: readonly CellKind[], missing: readonly [number, SortValue]): SortKeyCodec {
  const [missingClass, missingValue] = missing;
  return {
    encode: (key) =>
      key.flatMap((cell): SortValue[] => {
        if (cell === null) return [missingClass, missingValue];
        if (typeof cell === 'number' && Number.isNaN(cell)) return [1, null];
        return [0, typeof cell === 'number' && !Number.isFinite(cell) ? String(cell) : cell];
      }),
    decode: (values) => {
      if (values.length !== kinds.length * 2) return undefined;
      const key: SortCell[] = [];
      for (const [index, kind] of kinds.entries()) {
        const cellClass = values[index * 2];
        const value = values[index * 2 + 1] as SortValue;
        if (cellClass === missingClass && value === missingValue) key.push(null);
        else if (cellClass === 1 && value === null) key.push(Number.NaN);
        else if (cellClass !== 0) return undefined;
        else if (typeof value === kind) key.push(value);
        else if (kind === 'number' && (value === 'Infinity' || value === '-Infinity'))
          key.push(Number(value));
        else return undefined;
      }
      return key;
    },
  };
}

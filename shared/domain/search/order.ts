/**
 * What every search's ordering shares: how `order_by` lists become sort terms (duplicates refused,
 * tie-breakers appended so that the order is total) and how two sort keys compare, nulls included.
 */
import { InvalidParameterValueError } from '../../errors.js';
import { type OrderTerm, parseOrderBy } from './filter.js';

/**
 * One term's value in a sort key. `null` (no value: a missing metric, param, tag or end time) and NaN
 * are not values but classes that sort after every value whatever the direction, NaN before null: MLflow
 * puts runs without a value last in both directions (`_get_value_for_sort`).
 */
export type SortCell = string | number | null;

/**
 * How strings order: by code point, as Python's do (runs), or by UTF-16 code unit, JavaScript's `<`,
 * which the other searches have always used. The two differ only between a character above U+FFFF and
 * one in U+E000–U+FFFF; each search keeps its own so that no answer changes.
 */
export type StringOrder = 'code-point' | 'code-unit';

export interface SortDirection {
  ascending: boolean;
}

/** Strings by code point, as Python compares them (UTF-16 `<` differs above U+FFFF). */
export function compareCodePoints(left: string, right: string): number {
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

/** 0 a value, 1 NaN, 2 no value: the classes' order, never reversed. */
function rank(cell: SortCell): 0 | 1 | 2 {
  if (cell === null) return 2;
  return typeof cell === 'number' && Number.isNaN(cell) ? 1 : 0;
}

function compareCells(left: SortCell, right: SortCell, ascending: boolean, strings: StringOrder): number {
  const leftRank = rank(left);
  const rightRank = rank(right);
  if (leftRank !== rightRank) return leftRank < rightRank ? -1 : 1;
  if (leftRank !== 0) return 0;
  const a = left as string | number;
  const b = right as string | number;
  let order: number;
  if (strings === 'code-point' && typeof a === 'string' && typeof b === 'string') {
    order = compareCodePoints(a, b);
  } else {
    order = a === b ? 0 : a < b ? -1 : 1; // -0 and 0 are equal
  }
  return ascending ? order : -order;
}

/** Orders two sort keys term by term. */
export function compareSortKeys(
  terms: readonly SortDirection[],
  left: readonly SortCell[],
  right: readonly SortCell[],
  strings: StringOrder = 'code-unit',
): number {
  for (const [index, term] of terms.entries()) {
    const order = compareCells(left[index] ?? null, right[index] ?? null, term.ascending, strings);
    if (order !== 0) return order;
  }
  return 0;
}

export interface OrderTermsSpec<T> {
  /** Turns one parsed entry into the search's term; throws the search's 400 for what it does not order by. */
  resolve: (term: OrderTerm, text: string) => T;
  /** What makes two terms the same sort key. */
  id: (term: T) => string;
  /** The 400 message for a key listed twice. */
  duplicate: (id: string) => string;
  /** Appended, in order, unless already listed: they make the order total (page tokens need that). */
  tieBreakers: readonly T[];
}

/** Parses `order_by` entries (`<identifier> [ASC|DESC]`) into a search's sort terms. */
export function parseOrderTerms<T>(orderBy: readonly string[], spec: OrderTermsSpec<T>): T[] {
  const terms = orderBy.map((text) => spec.resolve(parseOrderBy(text), text));
  const seen = new Set<string>();
  for (const term of terms) {
    const id = spec.id(term);
    if (seen.has(id)) throw new InvalidParameterValueError(spec.duplicate(id));
    seen.add(id);
  }
  for (const term of spec.tieBreakers) {
    if (!seen.has(spec.id(term))) terms.push(term);
  }
  return terms;
}

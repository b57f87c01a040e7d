/**
 * MLflow's search filter grammar (contract 3.5), shared by every search: a conjunction of
 * `<identifier> <comparator> <value>` clauses joined by AND (no OR, no parentheses around clauses).
 * This module only tokenizes and parses; each search decides which identifiers and comparators it
 * allows (`validate` callbacks) and how clauses are evaluated.
 *
 * Errors are 400 INVALID_PARAMETER_VALUE naming what is wrong and where (character offset).
 */
import { InvalidParameterValueError } from '../../errors.js';
import { compileLike } from './like.js';

export type Comparator =
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'LIKE'
  | 'ILIKE'
  | 'IN'
  | 'NOT IN'
  | 'IS NULL'
  | 'IS NOT NULL';

/** Where a clause's identifier points. A bare identifier (no prefix) is an attribute. */
export type EntityType = 'attribute' | 'metric' | 'param' | 'tag' | 'dataset';

export type FilterValue = string | number | string[] | null;

export interface Clause {
  entity: EntityType;
  key: string;
  comparator: Comparator;
  value: FilterValue;
  /** Character offset of the clause in the filter string, for error messages. */
  offset: number;
}

/** Identifier prefixes (lowercase) and the entity each names; a search may pass its own (traces do). */
export type FilterPrefixes = Readonly<Record<string, EntityType>>;

const PREFIXES: FilterPrefixes = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

type Token =
  | { kind: 'word'; text: string; offset: number }
  | { kind: 'quoted'; text: string; quote: '"' | "'" | '`'; offset: number }
  | { kind: 'number'; value: number; text: string; offset: number }
  | { kind: 'op'; text: string; offset: number }
  | { kind: 'punct'; text: '(' | ')' | ','; offset: number };

function invalid(filter: string, offset: number, what: string): never {
  throw new InvalidParameterValueError(
    `Invalid filter '${filter}': ${what} at position ${offset}. Clauses look like \`metrics.loss < 0.5\` or \`tags.team = 'ml'\` joined by AND.`,
  );
}

const WORD_CHAR = /[\p{L}\p{N}_.\-:/]/u;
const NUMBER_PREFIX = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/;

export function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"' || ch === '`') {
      let text = '';
      i++;
      for (;;) {
        if (i >= filter.length) invalid(filter, start, `unterminated quoted string starting with ${ch}`);
        const c = filter[i] as string;
        // A doubled quote inside a quoted string stands for the quote itself (SQL style).
        if (c === ch && filter[i + 1] === ch) {
          text += ch;
          i += 2;
          continue;
        }
        if (c === ch) {
          i++;
          break;
        }
        text += c;
        i++;
      }
      tokens.push({ kind: 'quoted', text, quote: ch, offset: start });
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: 'punct', text: ch, offset: start });
      i++;
      continue;
    }
    const op = /^(!=|<>|<=|>=|=|<|>)/.exec(filter.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[1] === '<>' ? '!=' : (op[1] as string), offset: start });
      i += (op[1] as string).length;
      continue;
    }
    // A number, exponent sign included (`1e+21`), when it is a whole token and not the start of a key.
    const number = NUMBER_PREFIX.exec(filter.slice(i));
    if (number && !WORD_CHAR.test(filter[i + (number[0] as string).length] ?? ' ')) {
      const text = number[0] as string;
      tokens.push({ kind: 'number', value: Number(text), text, offset: start });
      i += text.length;
      continue;
    }
    if (WORD_CHAR.test(ch)) {
      let text = '';
      while (
        i < filter.length &&
        (WORD_CHAR.test(filter[i] as string) || (i === start && filter[i] === '+'))
      ) {
        // A quoted key may follow a prefix directly: tags."my key", metrics.`a b`.
        if (filter[i] === '.' && /['"`]/.test(filter[i + 1] ?? '')) {
          text += '.';
          i++;
          break;
        }
        text += filter[i];
        i++;
      }
      tokens.push({ kind: 'word', text, offset: start });
      continue;
    }
    invalid(filter, start, `unexpected character '${ch}'`);
  }
  return tokens;
}

class Cursor {
  private index = 0;
  constructor(
    private readonly tokens: Token[],
    readonly filter: string,
  ) {}
  peek(ahead = 0): Token | undefined {
    return this.tokens[this.index + ahead];
  }
  next(): Token | undefined {
    return this.tokens[this.index++];
  }
  get offset(): number {
    return this.peek()?.offset ?? this.filter.length;
  }
  done(): boolean {
    return this.index >= this.tokens.length;
  }
}

function isKeyword(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.text.toUpperCase() === word;
}

function parseIdentifier(
  cursor: Cursor,
  prefixes: FilterPrefixes = PREFIXES,
): { entity: EntityType; key: string; offset: number } {
  const token = cursor.next();
  const offset = token?.offset ?? cursor.filter.length;
  if (token === undefined) invalid(cursor.filter, offset, 'expected an identifier');
  if (token.kind === 'quoted' && token.quote !== "'") {
    // A quoted bare identifier is an attribute whose name has special characters.
    return { entity: 'attribute', key: token.text, offset };
  }
  if (token.kind !== 'word')
    invalid(cursor.filter, offset, `expected an identifier, found '${tokenText(token)}'`);
  const dot = token.text.indexOf('.');
  if (dot === -1) return { entity: 'attribute', key: token.text, offset };
  const prefix = token.text.slice(0, dot);
  const lowered = prefix.toLowerCase();
  const entity = Object.hasOwn(prefixes, lowered) ? prefixes[lowered] : undefined;
  if (entity === undefined) {
    const expected =
      prefixes === PREFIXES
        ? 'metrics., params., tags., attributes., datasets.'
        : Object.keys(prefixes)
            .map((name) => `${name}.`)
            .join(', ');
    invalid(cursor.filter, offset, `unknown identifier prefix '${prefix}' (expected one of ${expected})`);
  }
  let key = token.text.slice(dot + 1);
  if (key === '') {
    const quoted = cursor.next();
    if (quoted?.kind !== 'quoted' || quoted.quote === "'") {
      invalid(cursor.filter, offset, `expected a key after '${prefix}.'`);
    }
    key = quoted.text;
  }
  if (key === '') invalid(cursor.filter, offset, 'empty key');
  return { entity, key, offset };
}

function tokenText(token: Token): string {
  return token.kind === 'number' ? token.text : token.text;
}

function parseComparator(cursor: Cursor): Comparator {
  const token = cursor.next();
  const offset = token?.offset ?? cursor.filter.length;
  if (token === undefined) invalid(cursor.filter, offset, 'expected a comparator');
  if (token.kind === 'op') return token.text as Comparator;
  if (token.kind === 'word') {
    const word = token.text.toUpperCase();
    if (word === 'LIKE' || word === 'ILIKE' || word === 'IN') return word;
    if (word === 'NOT' && isKeyword(cursor.peek(), 'IN')) {
      cursor.next();
      return 'NOT IN';
    }
    if (word === 'IS') {
      if (isKeyword(cursor.peek(), 'NULL')) {
        cursor.next();
        return 'IS NULL';
      }
      if (isKeyword(cursor.peek(), 'NOT') && isKeyword(cursor.peek(1), 'NULL')) {
        cursor.next();
        cursor.next();
        return 'IS NOT NULL';
      }
    }
  }
  invalid(cursor.filter, offset, `expected a comparator, found '${tokenText(token)}'`);
}

function parseValue(cursor: Cursor, comparator: Comparator): FilterValue {
  if (comparator === 'IS NULL' || comparator === 'IS NOT NULL') return null;
  const token = cursor.next();
  const offset = token?.offset ?? cursor.filter.length;
  if (token === undefined) invalid(cursor.filter, offset, 'expected a value');
  if (comparator === 'IN' || comparator === 'NOT IN') {
    if (token.kind !== 'punct' || token.text !== '(') {
      invalid(cursor.filter, offset, `${comparator} needs a parenthesized list of quoted strings`);
    }
    const values: string[] = [];
    for (;;) {
      const item = cursor.next();
      if (item?.kind !== 'quoted' || item.quote === '`') {
        invalid(cursor.filter, item?.offset ?? cursor.filter.length, 'expected a quoted string in the list');
      }
      values.push(item.text);
      const separator = cursor.next();
      if (separator?.kind === 'punct' && separator.text === ')') return values;
      if (separator?.kind !== 'punct' || separator.text !== ',') {
        invalid(cursor.filter, separator?.offset ?? cursor.filter.length, "expected ',' or ')' in the list");
      }
    }
  }
  if (token.kind === 'number') return token.value;
  if (token.kind === 'quoted' && token.quote !== '`') return token.text;
  invalid(
    cursor.filter,
    offset,
    `expected a quoted string or a number, found '${tokenText(token)}' (strings need single or double quotes)`,
  );
}

/** Parses a filter string into clauses. An empty or blank filter has no clauses. */
export function parseFilter(filter: string | undefined, prefixes: FilterPrefixes = PREFIXES): Clause[] {
  if (filter === undefined || filter.trim() === '') return [];
  const cursor = new Cursor(tokenize(filter), filter);
  const clauses: Clause[] = [];
  for (;;) {
    const { entity, key, offset } = parseIdentifier(cursor, prefixes);
    const comparator = parseComparator(cursor);
    const value = parseValue(cursor, comparator);
    clauses.push({ entity, key, comparator, value, offset });
    if (cursor.done()) return clauses;
    const joiner = cursor.next() as Token;
    if (!isKeyword(joiner, 'AND')) {
      const what = isKeyword(joiner, 'OR')
        ? 'OR is not supported (only AND)'
        : `expected AND, found '${tokenText(joiner)}'`;
      invalid(filter, joiner.offset, what);
    }
  }
}

/** Errors raised by a search's clause validation share this shape. */
export function invalidClause(filter: string, clause: Clause, what: string): never {
  invalid(filter, clause.offset, what);
}

export interface OrderTerm {
  entity: EntityType;
  key: string;
  ascending: boolean;
}

/** Parses one `order_by` entry: `<identifier> [ASC|DESC]`. */
export function parseOrderBy(text: string, prefixes: FilterPrefixes = PREFIXES): OrderTerm {
  const cursor = new Cursor(tokenize(text), text);
  const fail = (what: string): never => {
    throw new InvalidParameterValueError(`Invalid order_by clause '${text}': ${what}.`);
  };
  if (cursor.done()) fail('it is empty');
  let identifier: { entity: EntityType; key: string };
  try {
    identifier = parseIdentifier(cursor, prefixes);
  } catch {
    return fail('expected an identifier such as `name` or `metrics.loss`');
  }
  let ascending = true;
  const direction = cursor.next();
  if (direction !== undefined) {
    if (isKeyword(direction, 'DESC')) ascending = false;
    else if (!isKeyword(direction, 'ASC')) fail(`expected ASC or DESC, found '${tokenText(direction)}'`);
  }
  if (!cursor.done()) fail('unexpected text after the sort direction');
  return { entity: identifier.entity, key: identifier.key, ascending };
}

/** IEEE comparisons, as Python's operators: with a NaN side only `!=` holds. */
export function compareNumbers(comparator: string, left: number, right: number): boolean {
  switch (comparator) {
    case '=':
      return left === right;
    case '!=':
      return left !== right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    default:
      return left >= right;
  }
}

/** A matcher for a string comparator: `=`, `!=`, `LIKE`, `ILIKE`, or `IN` / `NOT IN` with a list. */
export function stringMatcher(comparator: string, value: string | string[]): (candidate: string) => boolean {
  if (Array.isArray(value)) {
    const members = new Set(value);
    return comparator === 'IN'
      ? (candidate) => members.has(candidate)
      : (candidate) => !members.has(candidate);
  }
  switch (comparator) {
    case '=':
      return (candidate) => candidate === value;
    case '!=':
      return (candidate) => candidate !== value;
    default: {
      const like = compileLike(value, comparator === 'ILIKE');
      return (candidate) => like.test(candidate);
    }
  }
}

/** Comparator sets the searches allow, each for one kind of operand. */
export const EQUALITY_COMPARATORS: ReadonlySet<Comparator> = new Set(['=', '!=']);
export const STRING_COMPARATORS: ReadonlySet<Comparator> = new Set(['=', '!=', 'LIKE', 'ILIKE']);
export const LIST_COMPARATORS: ReadonlySet<Comparator> = new Set(['IN', 'NOT IN']);
export const NULL_COMPARATORS: ReadonlySet<Comparator> = new Set(['IS NULL', 'IS NOT NULL']);
export const NUMERIC_COMPARATORS: ReadonlySet<Comparator> = new Set(['=', '!=', '<', '<=', '>', '>=']);

/**
 * A key's value in a tags/params map, or undefined. Own properties only: a key such as `constructor`
 * must not find Object.prototype's members.
 */
export function ownValue(values: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(values, key) ? values[key] : undefined;
}

/**
 * A `tags.<key>` / `params.<key>` comparison. In MLflow's SQL stores it is a join on the tag table,
 * so an item without the key never matches, not even `!=` (registry models are the exception: see
 * registry/search.ts).
 */
export function keyValuePredicate(
  key: string,
  matches: (value: string) => boolean,
): (values: Readonly<Record<string, string>>) => boolean {
  return (values) => {
    const value = ownValue(values, key);
    return value !== undefined && matches(value);
  };
}

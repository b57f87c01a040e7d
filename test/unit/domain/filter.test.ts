import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import { type Clause, parseFilter, parseOrderBy } from '../../../shared/domain/search/filter.js';
import { compileLike } from '../../../shared/domain/search/like.js';
import { MlflowError } from '../../../shared/errors.js';

describe('parseFilter', () => {
  it('parses prefixed, bare and quoted identifiers with every comparator', () => {
    const clauses = parseFilter(
      "metrics.loss < 0.5 and params.lr = '0.01' AND tags.`mlflow.runName` LIKE 'r%' AND status != \"FAILED\" " +
        "AND attributes.run_id IN ('a', 'b') AND tag.\"my key\" IS NOT NULL AND param.x IS NULL AND run_name NOT IN ('c')",
    );
    expect(clauses.map(({ entity, key, comparator, value }) => ({ entity, key, comparator, value }))).toEqual(
      [
        { entity: 'metric', key: 'loss', comparator: '<', value: 0.5 },
        { entity: 'param', key: 'lr', comparator: '=', value: '0.01' },
        { entity: 'tag', key: 'mlflow.runName', comparator: 'LIKE', value: 'r%' },
        { entity: 'attribute', key: 'status', comparator: '!=', value: 'FAILED' },
        { entity: 'attribute', key: 'run_id', comparator: 'IN', value: ['a', 'b'] },
        { entity: 'tag', key: 'my key', comparator: 'IS NOT NULL', value: null },
        { entity: 'param', key: 'x', comparator: 'IS NULL', value: null },
        { entity: 'attribute', key: 'run_name', comparator: 'NOT IN', value: ['c'] },
      ],
    );
  });

  it('reads unquoted dotted keys after a prefix, and negative and exponent numbers', () => {
    expect(parseFilter('tags.mlflow.user = "me" AND metrics.m >= -1.5e3')).toMatchObject([
      { entity: 'tag', key: 'mlflow.user', value: 'me' },
      { entity: 'metric', key: 'm', comparator: '>=', value: -1500 },
    ]);
  });

  it('treats an empty or blank filter as no clauses', () => {
    expect(parseFilter(undefined)).toEqual([]);
    expect(parseFilter('   ')).toEqual([]);
  });

  it.each([
    ["name = 'a' OR name = 'b'", 'OR is not supported'],
    ["(name = 'a')", 'expected an identifier'],
    ['name = unquoted', 'quoted string or a number'],
    ["name 'a'", 'expected a comparator'],
    ["name = 'open", 'unterminated'],
    ["bogus.key = 'x'", "unknown identifier prefix 'bogus'"],
    ["name = 'a' name = 'b'", 'expected AND'],
    ['run_id IN (1, 2)', 'quoted string in the list'],
    ["name = 'a' AND", 'expected an identifier'],
    ['name ~ 3', "unexpected character '~'"],
  ])('refuses %s with a 400 saying %s and where', (filter, fragment) => {
    let error: unknown;
    try {
      parseFilter(filter);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MlflowError);
    expect((error as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((error as MlflowError).message).toContain(fragment);
    expect((error as MlflowError).message).toMatch(/at position \d+/);
  });

  const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_. -]{0,20}$/).filter((k) => k.trim() === k);
  const stringValue = fc.string({ maxLength: 20 });
  const clause: fc.Arbitrary<Omit<Clause, 'offset'>> = fc.oneof(
    fc.record({
      entity: fc.constantFrom('metric' as const),
      key,
      comparator: fc.constantFrom(
        '=' as const,
        '!=' as const,
        '<' as const,
        '<=' as const,
        '>' as const,
        '>=' as const,
      ),
      value: fc.double({ noNaN: true, noDefaultInfinity: true }),
    }),
    fc.record({
      entity: fc.constantFrom('param' as const, 'tag' as const),
      key,
      comparator: fc.constantFrom('=' as const, '!=' as const, 'LIKE' as const, 'ILIKE' as const),
      value: stringValue,
    }),
    fc.record({
      entity: fc.constantFrom('tag' as const),
      key,
      comparator: fc.constantFrom('IS NULL' as const, 'IS NOT NULL' as const),
      value: fc.constant(null),
    }),
    fc.record({
      entity: fc.constantFrom('attribute' as const),
      key: fc.constantFrom('run_id'),
      comparator: fc.constantFrom('IN' as const, 'NOT IN' as const),
      value: fc.array(stringValue, { minLength: 1, maxLength: 4 }),
    }),
  );
  const prefix = {
    metric: 'metrics',
    param: 'params',
    tag: 'tags',
    attribute: 'attributes',
    dataset: 'datasets',
  };
  const quote = (text: string, q: string) => `${q}${text.split(q).join(q + q)}${q}`;
  const render = (c: Omit<Clause, 'offset'>, q: string): string => {
    const value =
      c.value === null
        ? ''
        : Array.isArray(c.value)
          ? ` (${c.value.map((item) => quote(item, q)).join(', ')})`
          : typeof c.value === 'number'
            ? ` ${String(c.value)}`
            : ` ${quote(c.value, q)}`;
    return `${prefix[c.entity]}.${quote(c.key, '`')} ${c.comparator}${value}`;
  };

  it('round-trips any rendered conjunction of clauses (property)', () => {
    fc.assert(
      fc.property(
        fc.array(clause, { minLength: 1, maxLength: 5 }),
        fc.constantFrom("'", '"'),
        (clauses, q) => {
          const filter = clauses.map((c) => render(c, q)).join(' AND ');
          const parsed = parseFilter(filter).map(({ offset: _offset, ...rest }) => rest);
          expect(parsed).toEqual(clauses.map((c) => (c.value === 0 ? { ...c, value: 0 } : c)));
        },
      ),
    );
  });

  it('either parses or throws a 400 on arbitrary input, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (filter) => {
        try {
          parseFilter(filter);
        } catch (error) {
          expect(error).toBeInstanceOf(MlflowError);
          expect(statusOf(error as MlflowError)).toBe(400);
        }
      }),
    );
  });
});

/**
 * The RegExp compilation LIKE used before compileLike (it backtracks on many `%`): the reference for
 * the semantics compileLike must keep, only ever run on small inputs here.
 */
function referenceLike(pattern: string, caseInsensitive: boolean): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '%') source += '.*';
    else if (ch === '_') source += '.';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, caseInsensitive ? 'isu' : 'su');
}

/** Characters that make LIKE interesting: wildcards, case pairs, folding oddities, astral, line breaks. */
const likeChar = fc.constantFrom(
  ...[
    '%',
    '%',
    '_',
    'a',
    'A',
    'b',
    'B',
    '.',
    '*',
    '\\',
    '(',
    '\n',
    'ß',
    'ẞ',
    'K',
    '\u212a',
    'k',
    'ſ',
    's',
    'Σ',
  ],
  ...['σ', 'ς', 'İ', 'i', '😀', '\ud800', '$'],
);
const likeText = fc.array(likeChar, { maxLength: 12 }).map((chars) => chars.join(''));

describe('compileLike', () => {
  it('maps % and _ and takes everything else literally', () => {
    expect(compileLike('a%b_c', false).test('aXYZbQc')).toBe(true);
    expect(compileLike('a.b', false).test('aXb')).toBe(false);
    expect(compileLike('(x)*', false).test('(x)*')).toBe(true);
    expect(compileLike('ABC', true).test('abc')).toBe(true);
    expect(compileLike('ABC', false).test('abc')).toBe(false);
    expect(compileLike('a_c', false).test('a😀c')).toBe(true); // `_` is one code point
    expect(compileLike('a_c', false).test('a\nc')).toBe(true); // and a line break is one too
    expect(compileLike('%', false).test('')).toBe(true);
    expect(compileLike('', false).test('x')).toBe(false);
    expect(compileLike('ab%ab', false).test('ab')).toBe(false); // prefix and suffix may not overlap
  });

  it('folds case as a Unicode RegExp does for ILIKE', () => {
    expect(compileLike('\u212a', true).test('k')).toBe(true); // Kelvin sign
    expect(compileLike('ß', true).test('ẞ')).toBe(true);
    expect(compileLike('ς', true).test('Σ')).toBe(true);
    expect(compileLike('ß', true).test('ss')).toBe(false); // simple folding, one character each
  });

  it('matches a string against itself with no wildcards (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('%') && !s.includes('_')),
        (text) => compileLike(text, false).test(text),
      ),
    );
  });

  it('answers as the RegExp it replaces, LIKE and ILIKE (property)', () => {
    fc.assert(
      fc.property(likeText, likeText, fc.boolean(), (pattern, text, caseInsensitive) => {
        expect(compileLike(pattern, caseInsensitive).test(text)).toBe(
          referenceLike(pattern, caseInsensitive).test(text),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('answers as the RegExp on full-Unicode strings (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 8 }),
        fc.string({ maxLength: 8 }),
        fc.boolean(),
        (pattern, text, caseInsensitive) => {
          expect(compileLike(pattern, caseInsensitive).test(text)).toBe(
            referenceLike(pattern, caseInsensitive).test(text),
          );
        },
      ),
    );
  });

  it('never makes more character comparisons than its bound, (n + 2) × pattern characters (property)', () => {
    fc.assert(
      fc.property(likeText, fc.array(likeChar, { maxLength: 60 }), fc.boolean(), (pattern, chars, ci) => {
        const like = compileLike(pattern, ci);
        const text = chars.join('');
        expect(like.measure(text).comparisons).toBeLessThanOrEqual(like.bound([...text].length));
      }),
    );
  });

  it('does linear work on the pattern that made the RegExp backtrack for seconds', () => {
    // 40 `%` then `x`: the RegExp tried every way of splitting the name among 40 `.*`.
    const like = compileLike(`${'%'.repeat(40)}x`, false);
    const name = 'a'.repeat(10_000);
    expect(like.measure(name)).toEqual({ matched: false, comparisons: 1 });
    expect(like.measure(`${name}x`)).toEqual({ matched: true, comparisons: 1 });
    // Many segments between `%`: each is tried once per start position at most.
    const segments = compileLike(`%${'a%'.repeat(40)}b`, true);
    const { matched, comparisons } = segments.measure(name);
    expect(matched).toBe(false);
    expect(comparisons).toBeLessThanOrEqual(segments.bound(name.length));
    expect(segments.bound(name.length)).toBe((10_000 + 2) * 41);
  });
});

describe('parseOrderBy', () => {
  it('reads identifiers with an optional direction', () => {
    expect(parseOrderBy('name')).toEqual({ entity: 'attribute', key: 'name', ascending: true });
    expect(parseOrderBy('metrics.`my metric` desc')).toEqual({
      entity: 'metric',
      key: 'my metric',
      ascending: false,
    });
    expect(parseOrderBy('attributes.start_time ASC')).toEqual({
      entity: 'attribute',
      key: 'start_time',
      ascending: true,
    });
  });

  it.each(['', 'name SIDEWAYS', 'name ASC extra', "'quoted'"])('refuses %j', (text) => {
    expect(() => parseOrderBy(text)).toThrow(MlflowError);
  });
});

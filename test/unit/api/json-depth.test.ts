import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import { jsonNestingDepth, MAX_JSON_DEPTH } from '../../../shared/api/json-depth.js';
import { parseJsonBody } from '../../../shared/api/request.js';
import { MlflowError } from '../../../shared/errors.js';

/** The reference: the depth of the value JSON.parse builds. */
function parsedDepth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, parsedDepth(child)), 0);
}

/** Strings full of the characters that could fool a bracket counter. */
const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ' ', '\n', 'é') });

const values = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tricky,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('jsonNestingDepth', () => {
  it('equals the depth of the parsed value, for any JSON text and spacing', () => {
    fc.assert(
      fc.property(values, fc.constantFrom(undefined, 1, '\t'), (value, space) => {
        const text = JSON.stringify(value, null, space);
        expect(jsonNestingDepth(text)).toBe(parsedDepth(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it('stops at the first level past the bound', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(jsonNestingDepth(deep, 10)).toBe(11);
    expect(jsonNestingDepth(deep)).toBe(100_000);
    expect(jsonNestingDepth('"[[[[\\"[[["', 0)).toBe(0);
  });
});

describe('parseJsonBody refuses deep bodies', () => {
  const refusal = (body: string) => {
    try {
      parseJsonBody(body, 'application/json');
    } catch (error) {
      expect(error).toBeInstanceOf(MlflowError);
      expect(statusOf(error as MlflowError)).toBe(400);
      return (error as MlflowError).message;
    }
    throw new Error('expected a refusal');
  };
  const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

  it('accepts the bound and refuses one level past it, also inside a JSON string body', () => {
    expect(parseJsonBody(nested(MAX_JSON_DEPTH), 'application/json')).toHaveProperty('a');
    expect(refusal(nested(MAX_JSON_DEPTH + 1))).toContain(`more than ${MAX_JSON_DEPTH} levels`);
    expect(refusal(JSON.stringify(nested(MAX_JSON_DEPTH + 1)))).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(refusal(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`)).toContain('levels deep');
  });
});

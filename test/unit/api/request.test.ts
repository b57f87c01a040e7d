import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import { parseJsonBody, parseQueryString } from '../../../shared/api/request.js';
import {
  int64,
  keyValue,
  parseMessage,
  repeatedString,
  requiredString,
  viewType,
} from '../../../shared/api/schema.js';
import { MlflowError } from '../../../shared/errors.js';

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MlflowError);
    expect(statusOf(error as MlflowError)).toBe(400);
    return (error as MlflowError).message;
  }
  throw new Error('expected an error');
};

describe('parseJsonBody', () => {
  it('reads JSON objects, treats an empty body as {}, and decodes double-encoded JSON', () => {
    expect(parseJsonBody('{"a":1}', 'application/json; charset=utf-8')).toEqual({ a: 1 });
    expect(parseJsonBody('', undefined)).toEqual({});
    expect(parseJsonBody('', 'application/json')).toEqual({});
    expect(parseJsonBody(JSON.stringify(JSON.stringify({ b: 2 })), 'application/json')).toEqual({ b: 2 });
  });

  it('refuses other content types, a body without one, malformed JSON and non-objects', () => {
    expect(message(() => parseJsonBody('{}', 'text/plain'))).toBe(
      "Bad Request. Content-Type must be one of ['application/json'].",
    );
    expect(message(() => parseJsonBody('{}', undefined))).toContain('Content-Type');
    expect(message(() => parseJsonBody('{"a":', 'application/json'))).toContain('Malformed JSON');
    expect(message(() => parseJsonBody('[1]', 'application/json'))).toContain('JSON object');
    expect(message(() => parseJsonBody('null', 'application/json'))).toContain('JSON object');
  });

  it('never fails with anything but a 400 on arbitrary bodies (property)', () => {
    fc.assert(
      fc.property(fc.string(), (body) => {
        try {
          parseJsonBody(body, 'application/json');
        } catch (error) {
          expect(statusOf(error as MlflowError)).toBe(400);
        }
      }),
    );
  });
});

describe('parseQueryString', () => {
  it('keeps single values as strings and repeated ones as lists', () => {
    expect(parseQueryString('a=1&b=x%20y&a=2&c=')).toEqual({ a: ['1', '2'], b: 'x y', c: '' });
  });

  it('round-trips any set of parameters (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), fc.array(fc.string(), { minLength: 1, maxLength: 3 })),
        (dict) => {
          const params = new URLSearchParams();
          for (const [key, values] of Object.entries(dict))
            for (const value of values) params.append(key, value);
          const parsed = parseQueryString(params.toString());
          for (const [key, values] of Object.entries(dict)) {
            expect(parsed[key]).toEqual(values.length === 1 ? values[0] : values);
          }
        },
      ),
    );
  });
});

describe('parseMessage', () => {
  const Schema = v.object({
    name: requiredString,
    max_results: v.optional(int64),
    order_by: v.optional(repeatedString, []),
    view_type: v.optional(viewType, 'ACTIVE_ONLY'),
    tags: v.optional(v.array(keyValue), []),
  });

  it('accepts protobuf JSON forms: int64 as number or string, enums by name or number, single repeated values', () => {
    expect(parseMessage(Schema, { name: 'n', max_results: '10', order_by: 'name', view_type: 3 })).toEqual({
      name: 'n',
      max_results: 10,
      order_by: ['name'],
      view_type: 'ALL',
      tags: [],
    });
    expect(parseMessage(Schema, { name: 'n', max_results: 7, unknown_field: { x: 1 } })).toMatchObject({
      max_results: 7,
    });
  });

  it("reports missing and empty required fields with MLflow's wording", () => {
    const expected =
      "Missing value for required parameter 'name'. See the API docs for more information about request parameters.";
    expect(message(() => parseMessage(Schema, {}))).toBe(expected);
    expect(message(() => parseMessage(Schema, { name: '' }))).toBe(expected);
    expect(message(() => parseMessage(Schema, { name: null }))).toBe(expected);
  });

  it("reports wrong types with MLflow's wording, naming nested fields", () => {
    expect(message(() => parseMessage(Schema, { name: 5 }))).toBe(
      "Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters.",
    );
    expect(message(() => parseMessage(Schema, { name: 'n', max_results: 'abc' }))).toContain(
      `Invalid value "abc" for parameter 'max_results'`,
    );
    expect(message(() => parseMessage(Schema, { name: 'n', max_results: 1.5 }))).toContain("'max_results'");
    expect(message(() => parseMessage(Schema, { name: ['a'] }))).toContain("of type 'list'");
    expect(message(() => parseMessage(Schema, { name: 'n', view_type: 'SOME' }))).toContain("'view_type'");
    expect(message(() => parseMessage(Schema, { name: 'n', tags: [{ key: 1, value: 'v' }] }))).toContain(
      "'tags[0].key'",
    );
    expect(message(() => parseMessage(Schema, { name: 'n', tags: [{ value: 'v' }] }))).toContain(
      "Missing value for required parameter 'tags[0].key'",
    );
  });
});

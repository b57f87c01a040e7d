import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { BatchMetricSchema, parseMessage, parseMetricList } from '../../../shared/api/schema.js';

// null is protobuf JSON's "default value" for a repeated field, so both treat it as an empty list.
const Reference = v.object({
  metrics: v.pipe(
    v.nullish(v.array(BatchMetricSchema)),
    v.transform((m) => m ?? []),
  ),
});

function outcome(fn: () => unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: fn() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Numbers JSON.parse can produce: no NaN and no infinities (those travel as the strings below). */
const jsonDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

const fieldValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(''),
  fc.boolean(),
  fc.integer(),
  jsonDouble,
  fc.constantFrom(
    'NaN',
    'Infinity',
    '-Infinity',
    '1.5',
    '-3',
    '12',
    'abc',
    '1e400',
    '-0',
    '99999999999999999',
  ),
  fc.string({ maxLength: 6 }),
  fc.constantFrom(2 ** 60, 1.5, -0),
  fc.array(fc.integer(), { maxLength: 2 }),
);

const entry = fc.oneof(
  fc.record(
    { key: fieldValue, value: fieldValue, timestamp: fieldValue, step: fieldValue },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      key: fc.constantFrom('loss', 'acc'),
      value: jsonDouble,
      timestamp: fc.integer({ min: 0 }),
      model_id: fieldValue,
      dataset_name: fieldValue,
      dataset_digest: fieldValue,
    },
    { requiredKeys: ['key', 'value', 'timestamp'] },
  ),
  fc.record({
    key: fc.constantFrom('loss', 'acc'),
    value: jsonDouble,
    timestamp: fc.integer({ min: 0 }),
    step: fc.integer(),
  }),
  fc.constantFrom(null, 3, 'x', [1]),
);

describe('parseMetricList', () => {
  it('accepts and refuses exactly what the schema does, with the same message (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(entry, { maxLength: 4 }), fieldValue), (metrics) => {
        const fast = outcome(() => parseMetricList('metrics', metrics));
        const reference = outcome(() => parseMessage(Reference, { metrics }).metrics);
        expect(fast).toEqual(reference);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads protobuf JSON forms and defaults step to 0', () => {
    expect(
      parseMetricList('metrics', [
        { key: 'a', value: 'NaN', timestamp: '12' },
        { key: 'b', value: 2, timestamp: 3, step: '-4' },
      ]),
    ).toEqual([
      { key: 'a', value: Number.NaN, timestamp: 12, step: 0 },
      { key: 'b', value: 2, timestamp: 3, step: -4 },
    ]);
  });
});

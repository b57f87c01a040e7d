import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metricHistoryBody } from '../../../functions/tracking/runs.js';
import { metricValueJson } from '../../../shared/domain/runs/metrics.js';

describe('metricHistoryBody', () => {
  it('writes the JSON of the response object, each metric with exactly its four fields (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom('$&', '$1', '$$', 'a{"step":b', '\\')),
        fc.array(
          fc.record({
            step: fc.oneof(fc.maxSafeInteger(), fc.integer({ min: 999_000, max: 1_001_000 })),
            timestamp: fc.oneof(
              fc.maxSafeInteger(),
              fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
              fc.constantFrom(1e6, 1e15 - 1, 1e15, 1_795_000_000_001, 1_795_000_100_000),
            ),
            value: fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0)),
          }),
          { maxLength: 20 },
        ),
        fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
        (key, points, token) => {
          const expected = JSON.stringify({
            ...(points.length > 0
              ? {
                  metrics: points.map((p) => ({
                    key,
                    value: metricValueJson(p.value),
                    timestamp: p.timestamp,
                    step: p.step,
                  })),
                }
              : {}),
            ...(token ? { next_page_token: token } : {}),
          });
          const body = metricHistoryBody(key, points, token);
          expect(JSON.parse(body)).toEqual(JSON.parse(expected));
          for (const metric of JSON.parse(body).metrics ?? []) {
            expect(Object.keys(metric).sort()).toEqual(['key', 'step', 'timestamp', 'value']);
          }
        },
      ),
    );
  });
});

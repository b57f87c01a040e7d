import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  dropNullFields,
  int64,
  METRIC_FIELDS,
  parseMessage,
  parseMetricList,
  requiredString,
} from '../../../shared/api/schema.js';

const LogMetric = v.object({ run_id: v.optional(v.string()), ...METRIC_FIELDS });

describe('a JSON null reads as an unset field (protobuf JSON, MLflow)', () => {
  it('a null required field is missing, not invalid', () => {
    expect(() => parseMessage(v.object({ run_id: requiredString }), { run_id: null })).toThrow(
      /^Missing value for required parameter 'run_id'\./,
    );
    expect(() => parseMessage(LogMetric, { run_id: 'r', key: null, value: 1, timestamp: 1 })).toThrow(
      /^Missing value for required parameter 'key'\./,
    );
    expect(() =>
      parseMessage(v.object({ tags: v.array(v.object({ key: requiredString })) }), {
        tags: [{ key: null }],
      }),
    ).toThrow(/^Missing value for required parameter 'tags\[0\]\.key'\./);
  });

  it('a null optional field takes its default', () => {
    expect(parseMessage(LogMetric, { run_id: null, key: 'k', value: 1, timestamp: 2, step: null })).toEqual({
      key: 'k',
      value: 1,
      timestamp: 2,
      step: 0,
    });
    expect(
      parseMetricList('metrics', [{ key: 'k', value: 1, timestamp: 2, step: null, model_id: null }]),
    ).toEqual([{ key: 'k', value: 1, timestamp: 2, step: 0 }]);
  });

  it('a wrong type is still invalid, and a null list item still refused', () => {
    expect(() => parseMessage(v.object({ step: v.optional(int64) }), { step: 'x' })).toThrow(
      /^Invalid value "x" for parameter 'step'/,
    );
    expect(() => parseMetricList('metrics', [null])).toThrow(
      /^Invalid value null for parameter 'metrics\[0\]'/,
    );
  });

  it('leaves a message without nulls as it is, and keeps `__proto__` a plain field', () => {
    const fields = { a: [{ b: 1 }], c: 'x' };
    expect(dropNullFields(fields)).toBe(fields);
    const parsed = JSON.parse('{"__proto__": {"polluted": 1}, "x": null}') as Record<string, unknown>;
    const dropped = dropNullFields(parsed);
    expect(Object.keys(dropped)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

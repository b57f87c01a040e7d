/**
 * Request-message schemas. Valibot schemas are plain objects built once at module load (no compile step,
 * so no cold-start cost), and they accept what protobuf's JSON mapping accepts: int64 as a JSON number or
 * a decimal string, enums by name or number, repeated fields as lists (or a single query value).
 * Unknown fields are ignored, as MLflow's parser ignores them.
 */
import * as v from 'valibot';
import type { LoggedMetric } from '../domain/runs/model.js';
import { VIEW_TYPES } from '../domain/search/pipeline.js';
import { InvalidParameterValueError } from '../errors.js';
import { API_DOCS_HINT, describeType, invalidValue, missingValue, readInt64 } from './fields.js';

export const str = v.string();

/** int64/int32: a JSON integer, or a decimal string (the query string, or protobuf's JSON for int64). */
export const int64 = v.pipe(
  v.union([v.pipe(v.number(), v.integer(), v.safeInteger()), v.pipe(v.string(), v.regex(/^-?\d{1,16}$/))]),
  v.transform((value) => Number(value)),
  v.safeInteger(),
);

/** A repeated string field: a JSON list, or a single value (a query parameter given once). */
export const repeatedString = v.union([
  v.array(v.string()),
  v.pipe(
    v.string(),
    v.transform((value) => [value]),
  ),
]);

export const keyValue = v.object({ key: v.string(), value: v.optional(v.string(), '') });
export type KeyValue = v.InferOutput<typeof keyValue>;

/** A protobuf enum: accepted by name (case-sensitive, as protobuf does) or by number. */
export function protoEnum<const T extends readonly string[]>(names: T) {
  return v.pipe(
    v.union([v.picklist(names), v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(names.length))]),
    v.transform((value): T[number] => (typeof value === 'number' ? (names[value - 1] as T[number]) : value)),
  );
}

export const viewType = protoEnum(VIEW_TYPES);

const MISSING = 'missing';

/**
 * Parses a request message. The first problem found becomes MLflow's 400 INVALID_PARAMETER_VALUE, with
 * MLflow's wording, naming the field (`tags[0].key` for nested ones).
 */
export function parseMessage<TSchema extends v.GenericSchema>(
  schema: TSchema,
  fields: Record<string, unknown>,
): v.InferOutput<TSchema> {
  let result = v.safeParse(schema, fields, { abortEarly: true });
  if (result.success) return result.output;
  // protobuf's JSON mapping reads a field's null as the field left unset (MLflow's parser does too), so a
  // null in a required field is missing, not invalid. Only a refused message pays for looking.
  const withoutNulls = dropNullFields(fields);
  if (withoutNulls !== fields) {
    result = v.safeParse(schema, withoutNulls, { abortEarly: true });
    if (result.success) return result.output;
  }
  const issue = result.issues[0];
  const path = (issue.path ?? [])
    .map((item, index) =>
      typeof item.key === 'number' ? `[${item.key}]` : `${index === 0 ? '' : '.'}${String(item.key)}`,
    )
    .join('');
  // A union reports its own input; find the value actually supplied for the field.
  const supplied = issue.path?.at(-1)?.value;
  if (supplied === undefined || issue.message === MISSING) {
    throw new InvalidParameterValueError(`Missing value for required parameter '${path}'. ${API_DOCS_HINT}`);
  }
  throw new InvalidParameterValueError(
    `Invalid value ${JSON.stringify(supplied)} for parameter '${path}' supplied:  Hint: Value was of type '${describeType(supplied)}'. ${API_DOCS_HINT}`,
  );
}

/**
 * `value` with every object field whose value is null left out, at any depth (list items stay: a null
 * item is refused as protobuf refuses it). The same value when it holds no such field.
 */
export function dropNullFields<T>(value: T): T {
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const next = dropNullFields(item);
      if (next !== item) changed = true;
      return next;
    });
    return (changed ? items : value) as T;
  }
  if (value === null || typeof value !== 'object') return value;
  let changed = false;
  // No prototype: a JSON field named `__proto__` stays a field.
  const copy: Record<string, unknown> = Object.create(null);
  for (const [key, field] of Object.entries(value)) {
    if (field === null) {
      changed = true;
      continue;
    }
    const next = dropNullFields(field);
    if (next !== field) changed = true;
    copy[key] = next;
  }
  return (changed ? copy : value) as T;
}

/** A required string field, reported by `parseMessage` as missing when absent, null or empty (MLflow's `_assert_required`). */
export const requiredString = v.pipe(
  v.union([v.string(), v.undefined(), v.null()]),
  // proto3 cannot tell an empty string from an unset field, so MLflow reports both as missing.
  v.check((value) => value !== undefined && value !== null && value !== '', MISSING),
  v.transform((value) => value as string),
);

/** A required int64, reported as missing when absent or null. */
export const requiredInt64 = v.pipe(
  v.union([int64, v.undefined(), v.null()]),
  v.check((value) => value !== undefined && value !== null, MISSING),
  v.transform((value) => value as number),
);

/**
 * A double as protobuf's JSON carries it: a number, or a string holding a number or one of `NaN`,
 * `Infinity`, `-Infinity`. Booleans are refused (MLflow rejects them for metric values).
 */
export const double = v.pipe(
  v.union([
    v.number(),
    v.pipe(v.string(), v.regex(/^(NaN|-?Infinity|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/)),
  ]),
  v.transform((value) => Number(value)),
);

export const requiredDouble = v.pipe(
  v.union([double, v.undefined(), v.null()]),
  v.check((value) => value !== undefined && value !== null, MISSING),
  v.transform((value) => value as number),
);

/** `true`/`false` as JSON booleans or query strings; anything else is refused. */
export const bool = v.union([
  v.boolean(),
  v.pipe(
    v.picklist(['true', 'false']),
    v.transform((value) => value === 'true'),
  ),
]);

/** A metric entry of log-metric or log-batch, as the runs domain takes it. */
export type ParsedMetric = LoggedMetric;

/** An optional string of a metric entry; '' is proto3's unset. */
function optionalText(path: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw invalidValue(path, raw);
  return raw;
}

const NUMBER_TEXT = /^(NaN|-?Infinity|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/;

/**
 * The `metrics` list of log-batch, parsed by hand: it is the hot path of every training job (up to
 * 1,000 entries per request), and a schema library's per-field pipeline cost more than the rest of the
 * request's CPU together (1.4 ms of 3.7 ms per 1,000 metrics, measured by `npm run bench`). It accepts
 * and refuses exactly what `BatchMetricSchema` does, with the same messages (a property test holds the
 * two together).
 */
export function parseMetricList(field: string, raw: unknown): ParsedMetric[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalidValue(field, raw);
  const metrics: ParsedMetric[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const entry = raw[i] as Record<string, unknown> | null;
    const path = `${field}[${i}]`;
    if (entry === null || typeof entry !== 'object') throw invalidValue(path, entry);
    const { key, value, timestamp, step, model_id, dataset_name, dataset_digest } = entry;
    if (key === undefined || key === null || key === '') throw missingValue(`${path}.key`);
    if (typeof key !== 'string') throw invalidValue(`${path}.key`, key);
    let number: number;
    if (typeof value === 'number') number = value;
    else if (value === undefined || value === null) throw missingValue(`${path}.value`);
    else if (typeof value === 'string' && NUMBER_TEXT.test(value)) number = Number(value);
    else throw invalidValue(`${path}.value`, value);
    if (timestamp === undefined || timestamp === null) throw missingValue(`${path}.timestamp`);
    const metric: ParsedMetric = {
      key,
      value: number,
      timestamp: readInt64(`${path}.timestamp`, timestamp),
      step: step === undefined || step === null ? 0 : readInt64(`${path}.step`, step),
    };
    // Rare on the hot path: only metrics logged against a model carry these.
    if (model_id != null || dataset_name != null || dataset_digest != null) {
      const modelId = optionalText(`${path}.model_id`, model_id);
      const datasetName = optionalText(`${path}.dataset_name`, dataset_name);
      const datasetDigest = optionalText(`${path}.dataset_digest`, dataset_digest);
      if (modelId !== undefined) metric.modelId = modelId;
      if (datasetName !== undefined) metric.datasetName = datasetName;
      if (datasetDigest !== undefined) metric.datasetDigest = datasetDigest;
    }
    metrics[i] = metric;
  }
  return metrics;
}

/** A Metric message's fields, as log-metric and each log-batch entry carry them (MLflow 3 adds the model and dataset). */
export const METRIC_FIELDS = {
  key: requiredString,
  value: requiredDouble,
  timestamp: requiredInt64,
  step: v.optional(int64, 0),
  model_id: v.optional(str),
  dataset_name: v.optional(str),
  dataset_digest: v.optional(str),
};

/** The schema `parseMetricList` implements by hand, kept for the property test that ties them. */
export const BatchMetricSchema = v.pipe(
  v.object(METRIC_FIELDS),
  v.transform(
    ({ model_id, dataset_name, dataset_digest, ...point }): ParsedMetric => ({
      ...point,
      ...(model_id ? { modelId: model_id } : {}),
      ...(dataset_name ? { datasetName: dataset_name } : {}),
      ...(dataset_digest ? { datasetDigest: dataset_digest } : {}),
    }),
  ),
);

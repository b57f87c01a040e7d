/**
 * MLflow 2's trace protocol (clients 2.14–2.21; MLflow's server still answers it): StartTrace, EndTrace,
 * GetTraceInfo and SearchTraces under `/api/2.0/mlflow/traces`, a v2 TraceInfo (`request_id`,
 * `timestamp_ms`, `execution_time_ms`, `status`, key/value lists), and the trace's spans as the
 * `traces.json` file the client uploads to, and downloads from, the trace's artifact location.
 * Pure: parsing and JSON shapes only.
 */
import { InvalidParameterValueError } from '../../errors.js';
import {
  MAX_METADATA_VALUE,
  MAX_TAG_VALUE,
  serverTags,
  type TraceInfo,
  type TraceInfoContext,
  type TraceState,
  validateTag,
} from './model.js';
import type { OtelAnyValue, OtelKeyValue, OtelSpan } from './otlp.js';

/** The file an older client writes a trace's spans to, under the trace's artifact location. */
export const TRACE_DATA_FILE = 'traces.json';

/** MLflow's TraceStatus enum and its mapping to TraceInfoV3's state (TraceStatus.from_state / to_state). */
const STATUS_TO_STATE: Record<string, TraceState> = {
  TRACE_STATUS_UNSPECIFIED: 'STATE_UNSPECIFIED',
  OK: 'OK',
  ERROR: 'ERROR',
  IN_PROGRESS: 'IN_PROGRESS',
};
const STATE_TO_STATUS: Record<TraceState, string> = {
  STATE_UNSPECIFIED: 'TRACE_STATUS_UNSPECIFIED',
  OK: 'OK',
  ERROR: 'ERROR',
  IN_PROGRESS: 'IN_PROGRESS',
};

/** An int64 field (protobuf JSON allows a number or a decimal string), as MLflow's `_assert_intlike`. */
export function intLike(field: string, value: unknown, required: boolean): number | undefined {
  if (value === undefined || value === null) {
    if (required) throw new InvalidParameterValueError(`Missing value for required parameter '${field}'.`);
    return undefined;
  }
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
    throw new InvalidParameterValueError(
      `Invalid value ${JSON.stringify(value)?.slice(0, 50)} for parameter '${field}' supplied: expected an integer.`,
    );
  }
  return number;
}

/** A repeated `{key, value}` field (TraceRequestMetadata, TraceTag); every entry needs its key. */
function keyValueList(field: string, value: unknown, maxValue: number): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!Array.isArray(value)) {
    throw new InvalidParameterValueError(
      `Invalid value for parameter '${field}': expected a list of {"key": ..., "value": ...}.`,
    );
  }
  const out: Record<string, string> = {};
  for (const entry of value as unknown[]) {
    const { key, value: item } = (entry ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || key === '') {
      throw new InvalidParameterValueError(`Missing value for required parameter '${field}.key'.`);
    }
    if (item !== undefined && item !== null && typeof item !== 'string') {
      throw new InvalidParameterValueError(
        `Invalid value for '${field}.${key.slice(0, 100)}': expected a string.`,
      );
    }
    validateTag(`${field} key`, key, item, maxValue);
    Object.defineProperty(out, key, {
      value: typeof item === 'string' ? item : '',
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export interface StartTraceV2 {
  experimentId: string;
  timestampMs: number;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

export function parseStartTraceV2(fields: Record<string, unknown>): StartTraceV2 {
  const experimentId = fields.experiment_id;
  if (typeof experimentId !== 'string' || experimentId === '') {
    throw new InvalidParameterValueError("Missing value for required parameter 'experiment_id'.");
  }
  return {
    experimentId,
    timestampMs: intLike('timestamp_ms', fields.timestamp_ms, true) as number,
    metadata: keyValueList('request_metadata', fields.request_metadata, MAX_METADATA_VALUE),
    tags: keyValueList('tags', fields.tags, MAX_TAG_VALUE),
  };
}

export interface EndTraceV2 {
  timestampMs: number;
  state: TraceState;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

export function parseEndTraceV2(fields: Record<string, unknown>): EndTraceV2 {
  const status = fields.status ?? 'TRACE_STATUS_UNSPECIFIED';
  if (typeof status !== 'string' || !Object.hasOwn(STATUS_TO_STATE, status)) {
    throw new InvalidParameterValueError(
      `Invalid value '${String(status).slice(0, 50)}' for parameter 'status': expected one of ${Object.keys(STATUS_TO_STATE).join(', ')}.`,
    );
  }
  return {
    timestampMs: intLike('timestamp_ms', fields.timestamp_ms, true) as number,
    state: STATUS_TO_STATE[status] as TraceState,
    metadata: keyValueList('request_metadata', fields.request_metadata, MAX_METADATA_VALUE),
    tags: keyValueList('tags', fields.tags, MAX_TAG_VALUE),
  };
}

function keyValues(map: Record<string, string>): { key: string; value: string }[] {
  return Object.entries(map).map(([key, value]) => ({ key, value }));
}

/**
 * TraceInfo (v2) as MLflow's server answers it (TraceInfoV2.from_v3(...).to_proto(), as JSON): execution
 * time 0 while unknown, empty lists left out.
 */
export function traceInfoV2Json(info: TraceInfo, context: TraceInfoContext = {}): Record<string, unknown> {
  const metadata = keyValues(info.metadata);
  const tags = keyValues(serverTags(info, context));
  return {
    request_id: info.traceId,
    experiment_id: info.experimentId,
    timestamp_ms: info.requestTime,
    execution_time_ms: info.durationMs ?? 0,
    status: STATE_TO_STATUS[info.state],
    ...(metadata.length > 0 ? { request_metadata: metadata } : {}),
    ...(tags.length > 0 ? { tags } : {}),
  };
}

/** An integer written as its exact digits: span times in nanoseconds are beyond a double's precision. */
class Digits {
  constructor(readonly text: string) {}
}

type Json = string | number | boolean | null | Digits | Json[] | { [key: string]: Json };

/** JSON text with `Digits` written as bare numbers (Python's json reads them back exactly). */
export function stringifyWithDigits(value: Json): string {
  if (value instanceof Digits) return value.text;
  if (Array.isArray(value)) return `[${value.map(stringifyWithDigits).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}: ${stringifyWithDigits(item)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

function anyValue(value: OtelAnyValue): Json {
  if (value.string_value !== undefined) return value.string_value;
  if (value.bool_value !== undefined) return value.bool_value;
  if (value.int_value !== undefined) return new Digits(BigInt(value.int_value).toString());
  if (value.double_value !== undefined) {
    // Python's float repr, which MLflow's json.dumps writes: `1.0`, `NaN`, `Infinity`.
    const number = Number(value.double_value);
    if (Number.isNaN(number)) return new Digits('NaN');
    if (!Number.isFinite(number)) return new Digits(number > 0 ? 'Infinity' : '-Infinity');
    return Number.isInteger(number) && Math.abs(number) < 1e16 ? new Digits(`${number}.0`) : number;
  }
  if (value.array_value !== undefined) return value.array_value.values.map(anyValue);
  if (value.kvlist_value !== undefined) return attributes(value.kvlist_value.values);
  if (value.bytes_value !== undefined) return value.bytes_value;
  return null;
}

function attributes(list: readonly OtelKeyValue[] | undefined): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const { key, value } of list ?? []) {
    Object.defineProperty(out, key, {
      value: anyValue(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const hexId = (base64: string): string => `0x${Buffer.from(base64, 'base64').toString('hex')}`;

const STATUS_CODES: Record<string, string> = {
  STATUS_CODE_OK: 'OK',
  STATUS_CODE_ERROR: 'ERROR',
  STATUS_CODE_UNSET: 'UNSET',
};

/** The span attribute an MLflow client needs on every span (Span.from_dict refuses a span without it). */
const REQUEST_ID_ATTRIBUTE = 'mlflow.traceRequestId';

/**
 * A span's attributes as MLflow's store keeps them (Span.from_otel_proto): each value JSON-dumped, the
 * trace's request id first.
 */
function storedAttributes(
  traceId: string,
  list: readonly OtelKeyValue[] | undefined,
): { [key: string]: Json } {
  const out: { [key: string]: Json } = { [REQUEST_ID_ATTRIBUTE]: JSON.stringify(traceId) };
  for (const { key, value } of list ?? []) {
    Object.defineProperty(out, key, {
      value: stringifyWithDigits(anyValue(value)),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** One OTLP span as MLflow 2's `Span.to_dict()` writes it into `traces.json`. */
function v2Span(traceId: string, span: OtelSpan): { [key: string]: Json } {
  const attrs = storedAttributes(traceId, span.attributes);
  return {
    name: span.name,
    context: { span_id: hexId(span.span_id), trace_id: hexId(span.trace_id) },
    parent_id: span.parent_span_id === undefined ? null : hexId(span.parent_span_id),
    start_time: new Digits(BigInt(span.start_time_unix_nano).toString()),
    end_time:
      span.end_time_unix_nano === undefined ? null : new Digits(BigInt(span.end_time_unix_nano).toString()),
    status_code: STATUS_CODES[span.status?.code ?? 'STATUS_CODE_UNSET'] ?? 'UNSET',
    status_message: span.status?.message ?? '',
    attributes: attrs,
    events: (span.events ?? []).map((event) => ({
      name: event.name,
      timestamp: new Digits(BigInt(event.time_unix_nano).toString()),
      attributes: attributes(event.attributes),
    })),
  };
}

/**
 * A trace's OTLP spans as an MLflow 2 client's `traces.json` (TraceData.to_dict()): the spans, and the root
 * span's inputs and outputs (JSON strings, as the client keeps them) as `request` and `response`.
 */
export function traceDataJson(traceId: string, spans: readonly OtelSpan[]): string {
  const root = spans.find((span) => span.parent_span_id === undefined);
  const rootAttribute = (key: string): Json => {
    const found = root?.attributes?.find((attribute) => attribute.key === key);
    return found ? stringifyWithDigits(anyValue(found.value)) : null;
  };
  return stringifyWithDigits({
    spans: spans.map((span) => v2Span(traceId, span)),
    request: rootAttribute('mlflow.spanInputs'),
    response: rootAttribute('mlflow.spanOutputs'),
  });
}

const b64OrNull = (id: string | undefined): Json => (id === undefined || id === '' ? null : id);

/**
 * A trace's OTLP spans as MLflow 3's server answers `get-trace-artifact` for spans in its store
 * (`TraceData.to_dict()`: `Span.to_dict()` of each, ids in base64, the attributes as stored).
 */
export function traceDataV3Json(traceId: string, spans: readonly OtelSpan[]): string {
  return stringifyWithDigits({
    spans: spans.map((span) => ({
      trace_id: span.trace_id,
      span_id: span.span_id,
      parent_span_id: b64OrNull(span.parent_span_id),
      name: span.name,
      start_time_unix_nano: new Digits(BigInt(span.start_time_unix_nano).toString()),
      end_time_unix_nano:
        span.end_time_unix_nano === undefined ? null : new Digits(BigInt(span.end_time_unix_nano).toString()),
      events: (span.events ?? []).map((event) => ({
        name: event.name,
        time_unix_nano: new Digits(BigInt(event.time_unix_nano).toString()),
        attributes: attributes(event.attributes),
      })),
      status: { code: span.status?.code ?? 'STATUS_CODE_UNSET', message: span.status?.message ?? '' },
      attributes: storedAttributes(traceId, span.attributes),
    })),
  });
}

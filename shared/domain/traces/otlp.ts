/**
 * OTLP/HTTP trace export bodies (`ExportTraceServiceRequest`, opentelemetry-proto trace/v1), decoded into
 * spans in protobuf's JSON form with proto field names: the very shape MLflow's server returns in
 * `Trace.spans` (recorded traffic), so spans are stored once, as received, and served as stored.
 *
 * The protobuf wire decoder is written out here rather than pulled in as a dependency: OTLP's trace
 * messages are a dozen fields, and the function's bundle stays small. 64-bit integers are kept exact as
 * decimal strings (protobuf JSON's int64 form); nanosecond times do not fit a double.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { InvalidParameterValueError } from '../../errors.js';

export interface OtelKeyValue {
  key: string;
  value: OtelAnyValue;
}

export interface OtelAnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: string;
  double_value?: number | string;
  array_value?: { values: OtelAnyValue[] };
  kvlist_value?: { values: OtelKeyValue[] };
  bytes_value?: string;
}

export interface OtelEvent {
  time_unix_nano: string;
  name: string;
  attributes?: OtelKeyValue[];
  dropped_attributes_count?: number;
}

export interface OtelLink {
  trace_id: string;
  span_id: string;
  trace_state?: string;
  attributes?: OtelKeyValue[];
  dropped_attributes_count?: number;
  flags?: number;
}

export interface OtelStatus {
  message?: string;
  code?: 'STATUS_CODE_UNSET' | 'STATUS_CODE_OK' | 'STATUS_CODE_ERROR';
}

/** One span, protobuf JSON with proto field names; ids are base64, as protobuf JSON writes bytes. */
export interface OtelSpan {
  trace_id: string;
  span_id: string;
  trace_state?: string;
  parent_span_id?: string;
  flags?: number;
  name: string;
  kind?: string;
  start_time_unix_nano: string;
  end_time_unix_nano?: string;
  attributes?: OtelKeyValue[];
  dropped_attributes_count?: number;
  events?: OtelEvent[];
  dropped_events_count?: number;
  links?: OtelLink[];
  dropped_links_count?: number;
  status?: OtelStatus;
}

/** A decompressed body may not grow past this: a gzip bomb must not exhaust the function's memory. */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

function malformed(what: string): never {
  throw new InvalidParameterValueError(`Invalid OpenTelemetry format: ${what}.`);
}

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.bytes.length) malformed('truncated varint');
      const byte = this.bytes[this.pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result & 0xffff_ffff_ffff_ffffn;
    }
    return malformed('varint longer than 10 bytes');
  }
  /** A varint that must fit a 32-bit field (enums, counts, lengths). */
  small(): number {
    return Number(this.varint() & 0xffff_ffffn);
  }
  fixed(size: 4 | 8): Uint8Array {
    if (this.pos + size > this.bytes.length) malformed('truncated fixed-width field');
    const out = this.bytes.subarray(this.pos, this.pos + size);
    this.pos += size;
    return out;
  }
  lengthDelimited(): Uint8Array {
    const length = this.varint();
    if (length > BigInt(this.bytes.length - this.pos)) malformed('length beyond the end of the message');
    const out = this.bytes.subarray(this.pos, this.pos + Number(length));
    this.pos += Number(length);
    return out;
  }
  /** Reads a field's tag; `undefined` at the end of the message. */
  tag(): { field: number; wire: number } | undefined {
    if (this.done) return undefined;
    const tag = this.small();
    const field = tag >>> 3;
    if (field === 0) malformed('field number 0');
    return { field, wire: tag & 7 };
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.fixed(8);
    else if (wire === 2) this.lengthDelimited();
    else if (wire === 5) this.fixed(4);
    else malformed(`unsupported wire type ${wire}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return malformed('a string field is not valid UTF-8');
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function fixed64(bytes: Uint8Array): string {
  return Buffer.from(bytes).readBigUInt64LE(0).toString();
}

function signed64(value: bigint): string {
  return BigInt.asIntN(64, value).toString();
}

function double(bytes: Uint8Array): number | string {
  const value = Buffer.from(bytes).readDoubleLE(0);
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

/** Expects a wire type for a known field; anything else is a malformed message, not an unknown field. */
function expect(wire: number, wanted: number, what: string): void {
  if (wire !== wanted) malformed(`${what} has wire type ${wire}, expected ${wanted}`);
}

/** Nesting of AnyValue inside AnyValue: bounded so that a hostile body cannot exhaust the stack. */
const MAX_VALUE_DEPTH = 64;

function decodeAnyValue(bytes: Uint8Array, depth: number): OtelAnyValue {
  if (depth > MAX_VALUE_DEPTH) malformed(`attribute values nest more than ${MAX_VALUE_DEPTH} levels deep`);
  const reader = new Reader(bytes);
  let value: OtelAnyValue = {};
  for (let tag = reader.tag(); tag; tag = reader.tag()) {
    switch (tag.field) {
      case 1:
        expect(tag.wire, 2, 'AnyValue.string_value');
        value = { string_value: text(reader.lengthDelimited()) };
        break;
      case 2:
        expect(tag.wire, 0, 'AnyValue.bool_value');
        value = { bool_value: reader.varint() !== 0n };
        break;
      case 3:
        expect(tag.wire, 0, 'AnyValue.int_value');
        value = { int_value: signed64(reader.varint()) };
        break;
      case 4:
        expect(tag.wire, 1, 'AnyValue.double_value');
        value = { double_value: double(reader.fixed(8)) };
        break;
      case 5: {
        expect(tag.wire, 2, 'AnyValue.array_value');
        const values: OtelAnyValue[] = [];
        const inner = new Reader(reader.lengthDelimited());
        for (let t = inner.tag(); t; t = inner.tag()) {
          if (t.field === 1) {
            expect(t.wire, 2, 'ArrayValue.values');
            values.push(decodeAnyValue(inner.lengthDelimited(), depth + 1));
          } else inner.skip(t.wire);
        }
        value = { array_value: { values } };
        break;
      }
      case 6: {
        expect(tag.wire, 2, 'AnyValue.kvlist_value');
        const values: OtelKeyValue[] = [];
        const inner = new Reader(reader.lengthDelimited());
        for (let t = inner.tag(); t; t = inner.tag()) {
          if (t.field === 1) {
            expect(t.wire, 2, 'KeyValueList.values');
            values.push(decodeKeyValue(inner.lengthDelimited(), depth + 1));
          } else inner.skip(t.wire);
        }
        value = { kvlist_value: { values } };
        break;
      }
      case 7:
        expect(tag.wire, 2, 'AnyValue.bytes_value');
        value = { bytes_value: base64(reader.lengthDelimited()) };
        break;
      default:
        reader.skip(tag.wire);
    }
  }
  return value;
}

function decodeKeyValue(bytes: Uint8Array, depth = 0): OtelKeyValue {
  const reader = new Reader(bytes);
  const kv: OtelKeyValue = { key: '', value: {} };
  for (let tag = reader.tag(); tag; tag = reader.tag()) {
    if (tag.field === 1) {
      expect(tag.wire, 2, 'KeyValue.key');
      kv.key = text(reader.lengthDelimited());
    } else if (tag.field === 2) {
      expect(tag.wire, 2, 'KeyValue.value');
      kv.value = decodeAnyValue(reader.lengthDelimited(), depth + 1);
    } else reader.skip(tag.wire);
  }
  return kv;
}

function decodeEvent(bytes: Uint8Array): OtelEvent {
  const reader = new Reader(bytes);
  const event: OtelEvent = { time_unix_nano: '0', name: '' };
  for (let tag = reader.tag(); tag; tag = reader.tag()) {
    if (tag.field === 1) {
      expect(tag.wire, 1, 'Event.time_unix_nano');
      event.time_unix_nano = fixed64(reader.fixed(8));
    } else if (tag.field === 2) {
      expect(tag.wire, 2, 'Event.name');
      event.name = text(reader.lengthDelimited());
    } else if (tag.field === 3) {
      expect(tag.wire, 2, 'Event.attributes');
      event.attributes ??= [];
      event.attributes.push(decodeKeyValue(reader.lengthDelimited()));
    } else if (tag.field === 4) {
      expect(tag.wire, 0, 'Event.dropped_attributes_count');
      event.dropped_attributes_count = reader.small();
    } else reader.skip(tag.wire);
  }
  return event;
}

function decodeLink(bytes: Uint8Array): OtelLink {
  const reader = new Reader(bytes);
  const link: OtelLink = { trace_id: '', span_id: '' };
  for (let tag = reader.tag(); tag; tag = reader.tag()) {
    if (tag.field === 1) link.trace_id = base64(reader.lengthDelimited());
    else if (tag.field === 2) link.span_id = base64(reader.lengthDelimited());
    else if (tag.field === 3) link.trace_state = text(reader.lengthDelimited());
    else if (tag.field === 4) {
      link.attributes ??= [];
      link.attributes.push(decodeKeyValue(reader.lengthDelimited()));
    } else if (tag.field === 5) link.dropped_attributes_count = reader.small();
    else if (tag.field === 6) link.flags = Buffer.from(reader.fixed(4)).readUInt32LE(0);
    else reader.skip(tag.wire);
  }
  return link;
}

function decodeStatus(bytes: Uint8Array): OtelStatus {
  const reader = new Reader(bytes);
  const status: OtelStatus = {};
  for (let tag = reader.tag(); tag; tag = reader.tag()) {
    if (tag.field === 2) {
      expect(tag.wire, 2, 'Status.message');
      status.message = text(reader.lengthDelimited());
    } else if (tag.field === 3) {
      expect(tag.wire, 0, 'Status.code');
      status.code = STATUS_CODES[reader.small()] ?? 'STATUS_CODE_UNSET';
    } else reader.skip(tag.wire);
  }
  return status;
}

function decodeSpan(bytes: Uint8Array): OtelSpan {
  const reader = new Reader(bytes);
  const span: OtelSpan = { trace_id: '', span_id: '', name: '', start_time_unix_nano: '0' };
  let traceIdBytes = 0;
  let spanIdBytes = 0;
  for (let tag = reader.tag(); tag; tag = reader.tag()) {
    switch (tag.field) {
      case 1: {
        expect(tag.wire, 2, 'Span.trace_id');
        const id = reader.lengthDelimited();
        traceIdBytes = id.length;
        span.trace_id = base64(id);
        break;
      }
      case 2: {
        expect(tag.wire, 2, 'Span.span_id');
        const id = reader.lengthDelimited();
        spanIdBytes = id.length;
        span.span_id = base64(id);
        break;
      }
      case 3:
        expect(tag.wire, 2, 'Span.trace_state');
        span.trace_state = text(reader.lengthDelimited());
        break;
      case 4: {
        expect(tag.wire, 2, 'Span.parent_span_id');
        const id = reader.lengthDelimited();
        if (id.length > 0) span.parent_span_id = base64(id);
        break;
      }
      case 5:
        expect(tag.wire, 2, 'Span.name');
        span.name = text(reader.lengthDelimited());
        break;
      case 6:
        expect(tag.wire, 0, 'Span.kind');
        span.kind = SPAN_KINDS[reader.small()] ?? 'SPAN_KIND_UNSPECIFIED';
        break;
      case 7:
        expect(tag.wire, 1, 'Span.start_time_unix_nano');
        span.start_time_unix_nano = fixed64(reader.fixed(8));
        break;
      case 8:
        expect(tag.wire, 1, 'Span.end_time_unix_nano');
        span.end_time_unix_nano = fixed64(reader.fixed(8));
        break;
      case 9:
        expect(tag.wire, 2, 'Span.attributes');
        span.attributes ??= [];
        span.attributes.push(decodeKeyValue(reader.lengthDelimited()));
        break;
      case 10:
        span.dropped_attributes_count = reader.small();
        break;
      case 11:
        expect(tag.wire, 2, 'Span.events');
        span.events ??= [];
        span.events.push(decodeEvent(reader.lengthDelimited()));
        break;
      case 12:
        span.dropped_events_count = reader.small();
        break;
      case 13:
        expect(tag.wire, 2, 'Span.links');
        span.links ??= [];
        span.links.push(decodeLink(reader.lengthDelimited()));
        break;
      case 14:
        span.dropped_links_count = reader.small();
        break;
      case 15:
        expect(tag.wire, 2, 'Span.status');
        span.status = decodeStatus(reader.lengthDelimited());
        break;
      case 16:
        expect(tag.wire, 5, 'Span.flags');
        span.flags = Buffer.from(reader.fixed(4)).readUInt32LE(0);
        break;
      default:
        reader.skip(tag.wire);
    }
  }
  if (traceIdBytes !== 16) malformed('a span has no 16-byte trace_id');
  if (spanIdBytes !== 8) malformed('a span has no 8-byte span_id');
  return span;
}

/** Every span of an `ExportTraceServiceRequest` in protobuf binary form. */
export function decodeOtlpProtobuf(body: Uint8Array): OtelSpan[] {
  const spans: OtelSpan[] = [];
  let resourceSpans = 0;
  const request = new Reader(body);
  for (let tag = request.tag(); tag; tag = request.tag()) {
    if (tag.field !== 1) {
      request.skip(tag.wire);
      continue;
    }
    expect(tag.wire, 2, 'ExportTraceServiceRequest.resource_spans');
    resourceSpans++;
    const resource = new Reader(request.lengthDelimited());
    for (let r = resource.tag(); r; r = resource.tag()) {
      if (r.field !== 2) {
        resource.skip(r.wire);
        continue;
      }
      expect(r.wire, 2, 'ResourceSpans.scope_spans');
      const scope = new Reader(resource.lengthDelimited());
      for (let s = scope.tag(); s; s = scope.tag()) {
        if (s.field !== 2) {
          scope.skip(s.wire);
          continue;
        }
        expect(s.wire, 2, 'ScopeSpans.spans');
        spans.push(decodeSpan(scope.lengthDelimited()));
      }
    }
  }
  if (resourceSpans === 0) malformed('no spans found');
  return spans;
}

// ---- OTLP JSON (lowerCamelCase names, hex ids per the OTLP spec; proto names and base64 also accepted)

type Json = Record<string, unknown>;

function field(object: Json, camel: string, snake: string): unknown {
  return object[camel] ?? object[snake];
}

function jsonId(value: unknown, bytes: number, what: string): string {
  if (typeof value !== 'string' || value === '') malformed(`a span has no ${what}`);
  const raw =
    /^[0-9a-fA-F]+$/.test(value) && value.length === bytes * 2
      ? Buffer.from(value, 'hex')
      : Buffer.from(value, 'base64');
  if (raw.length !== bytes) malformed(`a span's ${what} is not ${bytes} bytes`);
  return raw.toString('base64');
}

function jsonInt64(value: unknown, what: string): string {
  if (value === undefined || value === null) return '0';
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value).toString();
  return malformed(`${what} is not an integer`);
}

function jsonEnum(value: unknown, names: readonly string[], what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && names[value] !== undefined) return names[value];
  if (typeof value === 'string' && names.includes(value)) return value;
  return malformed(`${what} is not one of ${names.join(', ')}`);
}

function jsonArray(value: unknown, what: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => item !== null && typeof item === 'object')) {
    malformed(`${what} is not a list of objects`);
  }
  return value as Json[];
}

function jsonString(value: unknown, what: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') malformed(`${what} is not a string`);
  return value;
}

function jsonAnyValue(value: unknown, depth: number): OtelAnyValue {
  if (depth > MAX_VALUE_DEPTH) malformed(`attribute values nest more than ${MAX_VALUE_DEPTH} levels deep`);
  if (value === null || typeof value !== 'object') return {};
  const v = value as Json;
  const str = field(v, 'stringValue', 'string_value');
  if (str !== undefined) return { string_value: jsonString(str, 'stringValue') };
  const bool = field(v, 'boolValue', 'bool_value');
  if (bool !== undefined) return { bool_value: bool === true };
  const int = field(v, 'intValue', 'int_value');
  if (int !== undefined) return { int_value: jsonInt64(int, 'intValue') };
  const dbl = field(v, 'doubleValue', 'double_value');
  if (dbl !== undefined) {
    if (typeof dbl !== 'number' && !['NaN', 'Infinity', '-Infinity'].includes(String(dbl))) {
      malformed('doubleValue is not a number');
    }
    return { double_value: dbl as number | string };
  }
  const array = field(v, 'arrayValue', 'array_value') as Json | undefined;
  if (array !== undefined) {
    return {
      array_value: {
        values: jsonArray(array?.values, 'arrayValue.values').map((item) => jsonAnyValue(item, depth + 1)),
      },
    };
  }
  const kvlist = field(v, 'kvlistValue', 'kvlist_value') as Json | undefined;
  if (kvlist !== undefined) {
    return { kvlist_value: { values: jsonKeyValues(kvlist?.values, depth + 1) } };
  }
  const bytes = field(v, 'bytesValue', 'bytes_value');
  if (bytes !== undefined) return { bytes_value: jsonString(bytes, 'bytesValue') };
  return {};
}

function jsonKeyValues(value: unknown, depth = 0): OtelKeyValue[] {
  return jsonArray(value, 'attributes').map((kv) => ({
    key: jsonString(kv.key, 'an attribute key'),
    value: jsonAnyValue(kv.value, depth + 1),
  }));
}

function jsonSpan(s: Json): OtelSpan {
  const span: OtelSpan = {
    trace_id: jsonId(field(s, 'traceId', 'trace_id'), 16, 'trace_id'),
    span_id: jsonId(field(s, 'spanId', 'span_id'), 8, 'span_id'),
    name: jsonString(s.name, 'a span name'),
    start_time_unix_nano: jsonInt64(
      field(s, 'startTimeUnixNano', 'start_time_unix_nano'),
      'startTimeUnixNano',
    ),
  };
  const parent = field(s, 'parentSpanId', 'parent_span_id');
  if (parent !== undefined && parent !== '') span.parent_span_id = jsonId(parent, 8, 'parent_span_id');
  const end = field(s, 'endTimeUnixNano', 'end_time_unix_nano');
  if (end !== undefined) span.end_time_unix_nano = jsonInt64(end, 'endTimeUnixNano');
  const kind = jsonEnum(s.kind, SPAN_KINDS, 'kind');
  if (kind) span.kind = kind;
  const traceState = field(s, 'traceState', 'trace_state');
  if (traceState) span.trace_state = jsonString(traceState, 'traceState');
  const attributes = jsonKeyValues(s.attributes);
  if (attributes.length > 0) span.attributes = attributes;
  const events = jsonArray(s.events, 'events').map((e) => {
    const event: OtelEvent = {
      time_unix_nano: jsonInt64(field(e, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano'),
      name: jsonString(e.name, 'an event name'),
    };
    const eventAttributes = jsonKeyValues(e.attributes);
    if (eventAttributes.length > 0) event.attributes = eventAttributes;
    return event;
  });
  if (events.length > 0) span.events = events;
  const status = s.status as Json | undefined;
  if (status && typeof status === 'object') {
    const code = jsonEnum(status.code, STATUS_CODES, 'status.code') as OtelStatus['code'];
    span.status = {
      ...(status.message ? { message: jsonString(status.message, 'status.message') } : {}),
      ...(code ? { code } : {}),
    };
  }
  return span;
}

/** Every span of an `ExportTraceServiceRequest` in OTLP's JSON encoding. */
export function decodeOtlpJson(body: string): OtelSpan[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return malformed('the body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    malformed('the body is not a JSON object');
  const resourceSpans = jsonArray(field(parsed as Json, 'resourceSpans', 'resource_spans'), 'resourceSpans');
  if (resourceSpans.length === 0) malformed('no spans found');
  return resourceSpans.flatMap((resource) =>
    jsonArray(field(resource, 'scopeSpans', 'scope_spans'), 'scopeSpans').flatMap((scope) =>
      jsonArray(scope.spans, 'spans').map(jsonSpan),
    ),
  );
}

/** The body as sent, decompressed per its Content-Encoding (gzip or deflate, as OTLP/HTTP allows). */
export function decompressOtlpBody(body: Uint8Array, encoding: string | undefined): Uint8Array {
  const coding = (encoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return body;
  try {
    if (coding === 'gzip') return gunzipSync(body, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    if (coding === 'deflate') return inflateSync(body, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
  } catch {
    return malformed(
      `the body is not valid ${coding} data or inflates beyond ${MAX_DECOMPRESSED_BYTES} bytes`,
    );
  }
  return malformed(`unsupported Content-Encoding '${encoding}' (gzip or deflate)`);
}

/** Decodes an OTLP/HTTP export body by its Content-Type, as MLflow's `/v1/traces` does. */
export function decodeOtlpBody(
  body: Uint8Array,
  contentType: string | undefined,
  contentEncoding: string | undefined,
): OtelSpan[] {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/x-protobuf' && mediaType !== 'application/json') {
    throw new InvalidParameterValueError(
      `Invalid Content-Type: ${contentType}. Expected: application/x-protobuf or application/json`,
    );
  }
  const bytes = decompressOtlpBody(body, contentEncoding);
  return mediaType === 'application/json' ? decodeOtlpJson(text(bytes)) : decodeOtlpProtobuf(bytes);
}

/** The 32 lowercase hex digits of a span's OTel trace id (MLflow's trace id is `tr-` + these). */
export function otelTraceHex(span: Pick<OtelSpan, 'trace_id'>): string {
  return Buffer.from(span.trace_id, 'base64').toString('hex');
}

/** Nanoseconds (decimal string) to whole milliseconds. */
export function nanosToMillis(nanos: string | undefined): number | undefined {
  if (nanos === undefined) return undefined;
  return Number(BigInt(nanos) / 1_000_000n);
}

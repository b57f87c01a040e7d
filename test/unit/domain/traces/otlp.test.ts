import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeOtlpBody, decodeOtlpJson, decodeOtlpProtobuf } from '../../../../shared/domain/traces/otlp.js';
import { otlpJson, otlpProtobuf, type TestSpan } from '../../../helpers/otlp.js';

const SPAN: TestSpan = {
  traceHex: '0123456789abcdef0123456789abcdef',
  spanHex: '0011223344556677',
  parentHex: '8899aabbccddeeff',
  name: 'llm',
  startMs: 1_796_605_059_827,
  endMs: 1_796_605_059_853,
  error: true,
  attributes: { 'mlflow.spanInputs': '{"x": 21}' },
};

const EXPECTED = {
  trace_id: Buffer.from(SPAN.traceHex, 'hex').toString('base64'),
  span_id: Buffer.from(SPAN.spanHex, 'hex').toString('base64'),
  parent_span_id: Buffer.from(SPAN.parentHex as string, 'hex').toString('base64'),
  name: 'llm',
  kind: 'SPAN_KIND_INTERNAL',
  start_time_unix_nano: '1796605059827000000',
  end_time_unix_nano: '1796605059853000000',
  attributes: [{ key: 'mlflow.spanInputs', value: { string_value: '{"x": 21}' } }],
};

describe('OTLP decoding', () => {
  it('reads protobuf spans into protobuf JSON, 64-bit times exact', () => {
    expect(decodeOtlpProtobuf(otlpProtobuf([SPAN]))).toEqual([
      { ...EXPECTED, status: { code: 'STATUS_CODE_ERROR' } },
    ]);
  });

  it('reads OTLP JSON (hex ids, camelCase) into the same form', () => {
    expect(decodeOtlpJson(otlpJson([SPAN]))).toEqual([
      { ...EXPECTED, status: { code: 'STATUS_CODE_ERROR', message: 'boom' } },
    ]);
  });

  it('decompresses gzip bodies and picks the decoder by Content-Type', () => {
    const body = gzipSync(otlpProtobuf([SPAN]));
    expect(decodeOtlpBody(body, 'application/x-protobuf', 'gzip')).toHaveLength(1);
    expect(() => decodeOtlpBody(body, 'text/plain', 'gzip')).toThrow(/Content-Type/);
    expect(() => decodeOtlpBody(body, 'application/x-protobuf', 'br')).toThrow(/Content-Encoding/);
  });

  it('refuses truncated, empty and id-less messages as INVALID_PARAMETER_VALUE', () => {
    const whole = otlpProtobuf([SPAN]);
    for (const body of [whole.subarray(0, whole.length - 3), Buffer.alloc(0), Buffer.from([0x0a, 0x80])]) {
      expect(() => decodeOtlpProtobuf(body)).toThrow(/Invalid OpenTelemetry format/);
    }
    const noSpanId = otlpProtobuf([{ ...SPAN, spanHex: '' }]);
    expect(() => decodeOtlpProtobuf(noSpanId)).toThrow(/span_id/);
    expect(() => decodeOtlpJson('{"resourceSpans": []}')).toThrow(/no spans/);
    expect(() => decodeOtlpJson('[1]')).toThrow(/object/);
  });

  it('bounds nested attribute values', () => {
    let value = '{"stringValue": "leaf"}';
    for (let depth = 0; depth < 100; depth++) value = `{"arrayValue": {"values": [${value}]}}`;
    const body = `{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "${SPAN.traceHex}", "spanId": "${SPAN.spanHex}", "name": "x", "attributes": [{"key": "deep", "value": ${value}}]}]}]}]}`;
    expect(() => decodeOtlpJson(body)).toThrow(/nest/);
  });
});

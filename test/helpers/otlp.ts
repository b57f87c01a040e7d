/**
 * OTLP trace export bodies for tests: JSON (OTLP's lowerCamelCase encoding, hex ids) and protobuf, written
 * field by field from the opentelemetry-proto messages, so tests send what an OTel SDK sends.
 */
import { randomBytes } from 'node:crypto';

export interface TestSpan {
  traceHex: string;
  spanHex: string;
  parentHex?: string;
  name: string;
  startMs: number;
  endMs: number;
  error?: boolean;
  /** String attributes; MLflow's own (`mlflow.spanInputs`, ...) are JSON text in OTel attributes too. */
  attributes?: Record<string, string>;
}

export const newTraceHex = (): string => randomBytes(16).toString('hex');
export const newSpanHex = (): string => randomBytes(8).toString('hex');

/** An ExportTraceServiceRequest in OTLP JSON. */
export function otlpJson(spans: readonly TestSpan[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'test' } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: spans.map((span) => ({
              traceId: span.traceHex,
              spanId: span.spanHex,
              ...(span.parentHex ? { parentSpanId: span.parentHex } : {}),
              name: span.name,
              kind: 1,
              startTimeUnixNano: String(BigInt(span.startMs) * 1_000_000n),
              endTimeUnixNano: String(BigInt(span.endMs) * 1_000_000n),
              attributes: Object.entries(span.attributes ?? {}).map(([key, value]) => ({
                key,
                value: { stringValue: value },
              })),
              status: { code: span.error ? 2 : 1, ...(span.error ? { message: 'boom' } : {}) },
            })),
          },
        ],
      },
    ],
  });
}

function varint(value: bigint | number): Buffer {
  let rest = BigInt(value);
  const bytes: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

function field(number: number, wire: number, payload: Buffer): Buffer {
  const tag = varint((number << 3) | wire);
  return wire === 2 ? Buffer.concat([tag, varint(payload.length), payload]) : Buffer.concat([tag, payload]);
}

const bytesField = (number: number, payload: Buffer | string) =>
  field(number, 2, typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload);

function fixed64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(value);
  return out;
}

function keyValue(key: string, value: string): Buffer {
  return Buffer.concat([bytesField(1, key), bytesField(2, bytesField(1, value))]);
}

/** An ExportTraceServiceRequest in protobuf binary form. */
export function otlpProtobuf(spans: readonly TestSpan[]): Buffer {
  const encoded = spans.map((span) =>
    bytesField(
      2,
      Buffer.concat([
        bytesField(1, Buffer.from(span.traceHex, 'hex')),
        bytesField(2, Buffer.from(span.spanHex, 'hex')),
        ...(span.parentHex ? [bytesField(4, Buffer.from(span.parentHex, 'hex'))] : []),
        bytesField(5, span.name),
        field(6, 0, varint(1)),
        field(7, 1, fixed64(BigInt(span.startMs) * 1_000_000n)),
        field(8, 1, fixed64(BigInt(span.endMs) * 1_000_000n)),
        ...Object.entries(span.attributes ?? {}).map(([key, value]) => bytesField(9, keyValue(key, value))),
        bytesField(15, field(3, 0, varint(span.error ? 2 : 1))),
      ]),
    ),
  );
  const scopeSpans = bytesField(2, Buffer.concat([bytesField(1, bytesField(1, 'test')), ...encoded]));
  return bytesField(1, scopeSpans);
}

/**
 * Span payloads in the artifact bucket, under `<key prefix>traces/<trace_id>/<experiment_id>/`: one JSON
 * object per OTLP batch and trace, named by a digest of its content (and, for a trace an MLflow 2 client
 * made, the `traces.json` it uploaded, beside them), so a retried export rewrites the same
 * object rather than adding one. A trace's spans are its own experiment's objects read together: spans
 * exported under another experiment (refused once the info item says whose the trace is) may already be
 * stored, and must never join the trace. The bucket's lifecycle rule expires the
 * prefix after the trace retention (infra/stacks/data-stack.ts), as DynamoDB's TTL expires the info items.
 */
import { createHash } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { OtelSpan } from '../../domain/traces/otlp.js';
import { TRACE_DATA_FILE } from '../../domain/traces/v2.js';
import { TRACES_KEY_PREFIX } from '../keys.js';

/** Parallel object reads per trace: many small incremental batches must not queue one by one. */
const READ_CONCURRENCY = 16;

export class S3SpanStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly keyPrefix: string,
  ) {}

  private tracePrefix(traceId: string): string {
    return `${this.keyPrefix}${TRACES_KEY_PREFIX}${traceId}/`;
  }

  private experimentPrefix(experimentId: string, traceId: string): string {
    return `${this.tracePrefix(traceId)}${encodeURIComponent(experimentId)}/`;
  }

  async put(experimentId: string, traceId: string, spans: readonly OtelSpan[]): Promise<void> {
    const body = JSON.stringify({ spans });
    const digest = createHash('sha256').update(body).digest('hex').slice(0, 32);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.experimentPrefix(experimentId, traceId)}${digest}.json`,
        Body: body,
        ContentType: 'application/json',
      }),
    );
  }

  private traceDataKey(experimentId: string, traceId: string): string {
    return `${this.experimentPrefix(experimentId, traceId)}${TRACE_DATA_FILE}`;
  }

  /** An older client's `traces.json`, kept beside (never among) the trace's span objects. */
  async putTraceData(experimentId: string, traceId: string, body: Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.traceDataKey(experimentId, traceId),
        Body: body,
        ContentType: 'application/json',
      }),
    );
  }

  async getTraceData(experimentId: string, traceId: string): Promise<Uint8Array | undefined> {
    try {
      const object = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.traceDataKey(experimentId, traceId) }),
      );
      return await object.Body?.transformToByteArray();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
      const name = (error as { name?: string })?.name;
      if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return undefined;
      throw error;
    }
  }

  private async keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key) found.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /** Every span stored for the trace, once each (by span id), in start-time order. */
  async list(experimentId: string, traceId: string): Promise<OtelSpan[]> {
    const dataKey = this.traceDataKey(experimentId, traceId);
    const objectKeys = (await this.keys(this.experimentPrefix(experimentId, traceId))).filter(
      (key) => key !== dataKey,
    );
    const bySpanId = new Map<string, OtelSpan>();
    for (let start = 0; start < objectKeys.length; start += READ_CONCURRENCY) {
      const batches = await Promise.all(
        objectKeys.slice(start, start + READ_CONCURRENCY).map(async (key) => {
          const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
          const text = (await object.Body?.transformToString('utf-8')) ?? '{}';
          return (JSON.parse(text) as { spans?: OtelSpan[] }).spans ?? [];
        }),
      );
      // A span exported twice (an ended span re-sent in a later batch) keeps its most complete copy.
      for (const span of batches.flat()) {
        const seen = bySpanId.get(span.span_id);
        if (!seen || (seen.end_time_unix_nano === undefined && span.end_time_unix_nano !== undefined)) {
          bySpanId.set(span.span_id, span);
        }
      }
    }
    return [...bySpanId.values()].sort((left, right) => {
      const a = BigInt(left.start_time_unix_nano);
      const b = BigInt(right.start_time_unix_nano);
      return a < b ? -1 : a > b ? 1 : 0;
    });
  }

  /** Every object under the trace, its own experiment's and any refused export's. */
  async deleteTrace(traceId: string): Promise<void> {
    const objectKeys = await this.keys(this.tracePrefix(traceId));
    for (let start = 0; start < objectKeys.length; start += 1000) {
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: objectKeys.slice(start, start + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }
}

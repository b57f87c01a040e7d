/**
 * The target of `cairn import`: a Cairn table and bucket, written through the same store functions the
 * server uses, so that every item (value entries, order entries, counters, index keys, chunks) is laid
 * out exactly as logging the same run through the API would lay it out.
 *
 * A run is written so that it appears whole or not at all: its LATEST item, order entry and value entries
 * first (readers ignore them without a RUN item, as they do for a create in flight), then its metric
 * histories through the repository's own append, then the RUN item last, then its counters. So the RUN
 * item is the marker of a whole run: an import that finds it skips the run; one that finds the run's
 * partition without it (an interrupted import) clears the partition and writes the run again.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { type ArtifactOwner, artifactKey, ownerRoot } from '../domain/artifacts/paths.js';
import type { KeyedPoint, Run, RunState } from '../domain/runs/model.js';
import { queryAll } from '../store/doc-commands.js';
import { recordRunStats } from '../store/experiments/run-stats.js';
import { approximateItemBytes, ITEM_BYTES_BUDGET } from '../store/items.js';
import { keys } from '../store/keys.js';
import { itemsOfNewRun } from '../store/runs/entity.js';
import { DynamoRunRepository } from '../store/runs/repository.js';
import { putRunOrder } from '../store/runs/run-index.js';
import { putSummaryMark, summaryMark } from '../store/runs/run-summaries.js';
import { putEntries } from '../store/runs/value-entries.js';

export interface TargetStore {
  doc: DynamoDBDocumentClient;
  tableName: string;
  s3: S3Client;
  bucket: string;
  /** CAIRN_ARTIFACT_KEY_PREFIX of the target ('' locally). */
  keyPrefix: string;
}

/** Points per append: large enough for whole chunks of one key, small enough to keep memory flat. */
export const POINTS_PER_APPEND = 20_000;

/** S3's parts are at least 5 MiB; 8 MiB parts keep one part in memory at a time. */
export const PART_BYTES = 8 * 1024 * 1024;

export type RunPresence = 'whole' | 'partial' | 'absent';

export class RunWriter {
  private readonly runs: DynamoRunRepository;

  constructor(private readonly target: TargetStore) {
    this.runs = new DynamoRunRepository(target.doc, target.tableName);
  }

  /** Whole: the RUN item is there (written last). Partial: some of its items are, from a cut-short import. */
  async presence(runId: string): Promise<RunPresence> {
    const { Item } = await this.target.doc.send(
      new GetCommand({
        TableName: this.target.tableName,
        Key: keys.run(runId),
        ConsistentRead: true,
        ProjectionExpression: 'pk',
      }),
    );
    if (Item) return 'whole';
    const items = await this.partition(runId, 1);
    return items.length > 0 ? 'partial' : 'absent';
  }

  private async partition(runId: string, limit?: number): Promise<{ pk: string; sk: string }[]> {
    return queryAll<{ pk: string; sk: string }>(this.target.doc, {
      TableName: this.target.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.run(runId).pk },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
      ...(limit === undefined ? {} : { Limit: limit }),
    });
  }

  /** Removes what a cut-short import left of a run that never got its RUN item (no reader sees any of it). */
  async clearPartial(runId: string): Promise<void> {
    const items = await this.partition(runId);
    for (let start = 0; start < items.length; start += 25) {
      let requests = items
        .slice(start, start + 25)
        .map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB left ${requests.length} deletes unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
        const { UnprocessedItems } = await this.target.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.target.tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[this.target.tableName] ?? []) as typeof requests;
      }
    }
  }

  /**
   * Writes a run that is absent from the target, with its full histories; `run.metrics` is ignored (the
   * latest values follow from the histories, by the same rule a log-batch applies).
   */
  async write(run: Run, points: readonly KeyedPoint[]): Promise<void> {
    const { doc, tableName } = this.target;
    const bare: Run = { ...run, metrics: {} };
    const { latest, order, values, run: newItem } = itemsOfNewRun(bare);
    // What log-inputs and logged-model outputs add to a run after its create, in the same attributes.
    const runItem = {
      ...newItem,
      ...(run.datasets.length > 0 ? { datasets: run.datasets } : {}),
      ...(run.modelOutputs.length > 0 ? { model_outputs: run.modelOutputs } : {}),
      ...(run.modelInputs.length > 0 ? { model_inputs: run.modelInputs } : {}),
    };
    const size = approximateItemBytes(runItem);
    if (size > ITEM_BYTES_BUDGET) {
      throw new Error(
        `its params, tags and inputs take about ${size} bytes, beyond the ${ITEM_BYTES_BUDGET}-byte limit of a Cairn run`,
      );
    }
    await Promise.all([
      // Marked for the summaries like a created run (run-summaries.ts): folded by the next search.
      putEntries({ doc, tableName }, values, [summaryMark(run.experimentId, run.runId, newItem.ver)]),
      doc.send(
        new PutCommand({
          TableName: tableName,
          Item: latest,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
      putRunOrder(doc, tableName, order),
    ]);
    const state: RunState = {
      runId: run.runId,
      experimentId: run.experimentId,
      lifecycleStage: run.lifecycleStage,
      ...(run.endTime === undefined ? {} : { endTime: run.endTime }),
    };
    for (const batch of appendBatches(points, POINTS_PER_APPEND)) {
      // The RUN item is not there yet, by design: the state is the run's as it will be.
      await this.runs.appendMetrics(run.runId, batch, () => state);
    }
    // Marked again, fresh: a history long enough to outlast a write in flight must not leave the run's
    // mark old enough for a fold to take it for a dead write's (run-summaries.ts).
    await putSummaryMark({ doc, tableName }, run.experimentId, run.runId, newItem.ver);
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: runItem,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    const deleted = run.lifecycleStage === 'deleted';
    await recordRunStats(doc, tableName, {
      experimentId: run.experimentId,
      runId: run.runId,
      active: deleted ? 0 : 1,
      deleted: deleted ? 1 : 0,
      at: run.startTime || Date.now(),
    });
  }
}

/**
 * Appends of at most `size` points, each key's points kept together where they fit (so that a key's
 * history seals into chunks of its own, as a client logging it in large batches would get).
 */
export function appendBatches(points: readonly KeyedPoint[], size: number): KeyedPoint[][] {
  const byKey = new Map<string, KeyedPoint[]>();
  for (const point of points) {
    const list = byKey.get(point.key);
    if (list) list.push(point);
    else byKey.set(point.key, [point]);
  }
  const out: KeyedPoint[][] = [];
  let current: KeyedPoint[] = [];
  for (const list of byKey.values()) {
    for (let start = 0; start < list.length; start += size) {
      const part = list.slice(start, start + size);
      if (current.length + part.length > size && current.length > 0) {
        out.push(current);
        current = [];
      }
      current.push(...part);
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** A run's artifact bytes in the target bucket, under its root, keyed as the artifacts function keys them. */
export class ArtifactWriter {
  constructor(private readonly target: TargetStore) {}

  /** Removes objects a cut-short import left under a run (or logged model) that is not in the table. */
  async clear(owner: ArtifactOwner): Promise<void> {
    const { s3, bucket } = this.target;
    const prefix = ownerRoot(this.target.keyPrefix, owner);
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const objects = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (objects.length > 0) {
        await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
        );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Streams one file into the bucket: one PutObject when it fits in a part, else a multipart upload of
   * PART_BYTES parts (aborted on any failure, so no half object is left). Returns the bytes written.
   */
  async put(
    owner: ArtifactOwner,
    relative: string,
    body: ReadableStream<Uint8Array> | null,
    contentType: string | undefined,
  ): Promise<number> {
    const { s3, bucket } = this.target;
    const Key = artifactKey(this.target.keyPrefix, owner, relative);
    const type = contentType ? { ContentType: contentType } : {};
    const reader = body?.getReader();
    let buffered: Uint8Array[] = [];
    let bufferedBytes = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    let total = 0;
    const flushPart = async () => {
      const bytes = Buffer.concat(buffered, bufferedBytes);
      buffered = [];
      bufferedBytes = 0;
      if (uploadId === undefined) {
        const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ...type }));
        uploadId = created.UploadId as string;
      }
      const PartNumber = parts.length + 1;
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key,
          UploadId: uploadId,
          PartNumber,
          Body: bytes,
          ContentLength: bytes.length,
        }),
      );
      parts.push({ ETag: ETag as string, PartNumber });
    };
    try {
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered.push(value);
        bufferedBytes += value.length;
        total += value.length;
        if (bufferedBytes >= PART_BYTES) await flushPart();
      }
      if (uploadId === undefined) {
        const bytes = Buffer.concat(buffered, bufferedBytes);
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key, Body: bytes, ContentLength: bytes.length, ...type }),
        );
        return total;
      }
      if (bufferedBytes > 0) await flushPart();
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return total;
    } catch (error) {
      await reader?.cancel().catch(() => undefined);
      if (uploadId !== undefined) {
        await s3
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw error;
    }
  }
}

/**
 * Runs and their metric history in DynamoDB, without transactions.
 *
 * - The RUN item holds the run's info, params, tags and dataset inputs, with a version number `ver`.
 *   Param and tag writes are read-modify-write under `ver = :read` (a conditional put), so a write-once
 *   param check and the write it guards cannot interleave with another writer's.
 * - The LATEST item holds the latest value per metric key and the *tail*: recent points of keys that
 *   arrived in small groups, at most TAIL_MAX_POINTS of them. Every metric write rewrites it under its
 *   own version number, after writing any sealed chunks (see planMetricWrite for why that order is safe).
 * - Chunk items hold sealed, compact history (metric-codec), addressed by their content, so a replayed
 *   write puts the very same items again: retries cannot duplicate history.
 */
import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LifecycleStage } from '../../domain/experiments/model.js';
import { decodeChunk, encodeChunk, sortAndDedupe, stepTimeRange } from '../../domain/runs/metric-codec.js';
import {
  formatMetricValue,
  groupByKey,
  type KeyedPoint,
  latestChanges,
  parseMetricValue,
  planMetricWrite,
} from '../../domain/runs/metrics.js';
import type {
  DatasetInput,
  HistoryCursor,
  HistoryHead,
  LatestMetric,
  MetricPoint,
  Run,
  RunMutation,
  RunRepository,
  RunStatus,
  StepInterval,
} from '../../domain/runs/model.js';
import { InvalidParameterValueError } from '../../errors.js';
import { queryAll, updateIfCondition } from '../doc-commands.js';
import {
  approximateItemBytes,
  ConcurrentWritesError,
  contendedWriteBackoff,
  fromStoredMap,
  ITEM_BYTES_BUDGET,
  isConditionFailure,
  storedKey,
  toStoredMap,
} from '../items.js';
import { keys, sortableStep } from '../keys.js';
import { readHistoryPage } from './history-pages.js';
import { readHistoryHead, readHistoryIntervals } from './history-sample.js';

interface RunItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  type: 'run';
  ver: number;
  run_id: string;
  experiment_id: string;
  run_name: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
  params: Record<string, string>;
  tags: Record<string, string>;
  datasets?: DatasetInput[];
  model_outputs?: { modelId: string; step: number }[];
  model_inputs?: string[];
}

/** [step, timestamp, value as text]: the latest point of one key. */
type StoredLatest = [number, number, string];

interface LatestItem {
  pk: string;
  sk: string;
  gsi2pk: string;
  gsi2sk: string;
  type: 'run-latest';
  ver: number;
  run_id: string;
  m: Record<string, StoredLatest>;
  /** Tail points per key, each an encoded chunk. */
  tail: Record<string, Uint8Array>;
  /**
   * Chunk items written so far. A history page token remembers it: when chunks appeared since (a sealed
   * tail can sort before where the next page would resume), the next page starts its chunk streams over.
   */
  ch?: number;
}

function toRun(item: RunItem, latest: LatestItem | undefined): Run {
  const metrics: Record<string, LatestMetric> = Object.fromEntries(
    Object.entries(fromStoredMap(latest?.m)).map(([key, [step, timestamp, value]]) => [
      key,
      { key, step, timestamp, value: parseMetricValue(value) },
    ]),
  );
  return {
    runId: item.run_id,
    experimentId: item.experiment_id,
    runName: item.run_name,
    userId: item.user_id,
    status: item.status,
    startTime: item.start_time,
    ...(item.end_time === undefined ? {} : { endTime: item.end_time }),
    artifactUri: item.artifact_uri,
    lifecycleStage: item.lifecycle_stage,
    params: fromStoredMap(item.params),
    tags: fromStoredMap(item.tags),
    metrics,
    datasets: item.datasets ?? [],
    modelOutputs: item.model_outputs ?? [],
    modelInputs: item.model_inputs ?? [],
  };
}

/**
 * 16 base64url characters (96 bits) of SHA-256: collisions between two chunks of one run and key are out
 * of reach, and every byte of the key counts against the 1 KB write unit a 100-point chunk must fit.
 */
const CONTENT_ID_LENGTH = 16;

/** A mixed chunk's data at most, well under the 400 KB item limit with its keys and names. */
const MIXED_CHUNK_BYTES = 300_000;

function contentId(bytes: Uint8Array, salt: string): string {
  return createHash('sha256').update(salt).update(bytes).digest('base64url').slice(0, CONTENT_ID_LENGTH);
}

function tailPoints(tail: Record<string, Uint8Array> | undefined): KeyedPoint[] {
  const points: KeyedPoint[] = [];
  for (const [key, bytes] of Object.entries(fromStoredMap(tail))) {
    for (const point of decodeChunk(bytes)) points.push({ key, ...point });
  }
  return points;
}

/** Optimistic-concurrency attempts per write before giving up with a retryable 503. */
const MAX_ATTEMPTS = 30;

export class DynamoRunRepository implements RunRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(run: Run): Promise<void> {
    const item: RunItem = {
      ...keys.run(run.runId),
      ...keys.runListing(run.experimentId, run.runId),
      type: 'run',
      ver: 0,
      run_id: run.runId,
      experiment_id: run.experimentId,
      run_name: run.runName,
      user_id: run.userId,
      status: run.status,
      start_time: run.startTime,
      ...(run.endTime === undefined ? {} : { end_time: run.endTime }),
      artifact_uri: run.artifactUri,
      lifecycle_stage: run.lifecycleStage,
      params: toStoredMap(run.params),
      tags: toStoredMap(run.tags),
    };
    const latest: LatestItem = {
      ...keys.runLatest(run.runId),
      ...keys.runLatestListing(run.experimentId, run.runId),
      type: 'run-latest',
      ver: 0,
      run_id: run.runId,
      m: {},
      tail: {},
    };
    // LATEST first: a RUN item is only ever visible with its LATEST item in place.
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: latest,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(runId: string): Promise<Run | undefined> {
    const { run, latest } = await this.read(runId);
    return run ? toRun(run, latest) : undefined;
  }

  /** Reads RUN and LATEST in one call, strongly consistent. */
  private async read(runId: string): Promise<{ run?: RunItem; latest?: LatestItem }> {
    const items: Record<string, unknown>[] = [];
    let wanted: Record<string, unknown>[] = [{ ...keys.run(runId) }, { ...keys.runLatest(runId) }];
    // DynamoDB may leave keys unprocessed under throttling: a missing RUN must not read as "no such run".
    for (let attempt = 0; wanted.length > 0; attempt++) {
      if (attempt >= 8) throw new Error(`DynamoDB left run ${runId} unprocessed after 8 attempts`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      const { Responses, UnprocessedKeys } = await this.doc.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: wanted, ConsistentRead: true } } }),
      );
      items.push(...(Responses?.[this.tableName] ?? []));
      wanted = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return {
      run: items.find((item) => item.sk === 'RUN') as RunItem | undefined,
      latest: items.find((item) => item.sk === 'LATEST') as LatestItem | undefined,
    };
  }

  /**
   * Applies `mutate` to the current run under optimistic concurrency; `mutate` may throw to refuse
   * (e.g. a changed param) or return null for a no-op. Returns the run as read, or undefined if missing.
   */
  async mutate(runId: string, mutate: RunMutation): Promise<Run | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await contendedWriteBackoff(attempt);
      const { Item } = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: keys.run(runId), ConsistentRead: true }),
      );
      if (!Item) return undefined;
      const item = Item as RunItem;
      const run = toRun(item, undefined);
      const change = mutate(run);
      if (change === null) return run;
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':read': item.ver, ':one': 1 };
      const sets: string[] = [];
      const removes: string[] = [];
      let n = 0;
      const placeholder = (key: string) => {
        const name = `#k${n++}`;
        names[name] = storedKey(key);
        return name;
      };
      for (const [key, value] of Object.entries(change.params ?? {})) {
        sets.push(`params.${placeholder(key)} = :v${n}`);
        values[`:v${n}`] = value;
      }
      for (const [key, value] of Object.entries(change.tags ?? {})) {
        sets.push(`tags.${placeholder(key)} = :v${n}`);
        values[`:v${n}`] = value;
      }
      for (const key of change.deleteTags ?? []) removes.push(`tags.${placeholder(key)}`);
      const attributes: [string, unknown][] = [
        ['run_name', change.runName],
        ['status', change.status],
        ['end_time', change.endTime],
        ['datasets', change.datasets],
        ['model_outputs', change.modelOutputs],
        ['model_inputs', change.modelInputs],
      ];
      for (const [attribute, value] of attributes) {
        if (value === undefined) continue;
        names[`#${attribute}`] = attribute;
        values[`:${attribute}`] = value;
        sets.push(`#${attribute} = :${attribute}`);
      }
      sets.push('ver = ver + :one');
      const projected = {
        ...item,
        params: { ...item.params, ...toStoredMap(change.params ?? {}) },
        tags: { ...item.tags, ...toStoredMap(change.tags ?? {}) },
        ...(change.datasets ? { datasets: change.datasets } : {}),
        ...(change.modelOutputs ? { model_outputs: change.modelOutputs } : {}),
        ...(change.modelInputs ? { model_inputs: change.modelInputs } : {}),
      };
      const size = approximateItemBytes(projected);
      if (size > ITEM_BYTES_BUDGET) {
        throw new InvalidParameterValueError(
          `Run ${runId} cannot hold this: its params, tags and inputs would take about ${size} bytes, beyond the ${ITEM_BYTES_BUDGET}-byte storage limit of a run.`,
        );
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.run(runId),
            UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
            ConditionExpression: 'ver = :read',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
        return run;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new ConcurrentWritesError(`run ${runId}`);
  }

  /** Moves `from` → `to`; false when the run is missing or in another stage. */
  async setLifecycle(runId: string, from: LifecycleStage, to: LifecycleStage): Promise<boolean> {
    return updateIfCondition(this.doc, {
      TableName: this.tableName,
      Key: keys.run(runId),
      UpdateExpression: 'SET lifecycle_stage = :to, ver = ver + :one',
      ConditionExpression: 'lifecycle_stage = :from',
      ExpressionAttributeValues: { ':to': to, ':from': from, ':one': 1 },
    });
  }

  /**
   * Appends metric points. `check` sees the run as read and may throw (missing, deleted). Calls for a
   * write of N keys: one BatchGet (RUN + LATEST), BatchWrites of the chunks (25 per call; none for a
   * write that only fills the tail), one conditional Put of LATEST.
   */
  async appendMetrics(
    runId: string,
    points: readonly KeyedPoint[],
    check: (run: Run | undefined) => Run,
  ): Promise<void> {
    const written = new Set<string>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await contendedWriteBackoff(attempt);
      const { run: runItem, latest } = await this.read(runId);
      const run = check(runItem ? toRun(runItem, latest) : undefined);
      if (!latest) throw new Error(`Run ${runId} has no LATEST item`);
      const plan = planMetricWrite(points, tailPoints(latest.tail));
      const chunkItems: Record<string, unknown>[] = [];
      for (const { key, points: group } of plan.keyChunks) {
        const bytes = encodeChunk(group);
        const range = stepTimeRange(group) as NonNullable<ReturnType<typeof stepTimeRange>>;
        chunkItems.push({
          ...keys.metricChunk(runId, key, range.first, contentId(bytes, key)),
          d: bytes,
          hi: range.last.step,
          ht: range.last.timestamp,
        });
      }
      if (plan.mixedChunk) {
        // Several items when the keys are many and long: each stays under the item size budget.
        let encoded: Record<string, Uint8Array> = {};
        let bytes = 0;
        let members: MetricPoint[] = [];
        let hash = createHash('sha256');
        const flush = () => {
          const range = stepTimeRange(members);
          if (!range) return;
          chunkItems.push({
            ...keys.mixedChunk(runId, range.first, hash.digest('base64url').slice(0, CONTENT_ID_LENGTH)),
            d: encoded,
            hi: range.last.step,
            ht: range.last.timestamp,
          });
          encoded = {};
          bytes = 0;
          members = [];
          hash = createHash('sha256');
        };
        for (const [key, group] of [...plan.mixedChunk.entries()].sort(([a], [b]) =>
          a < b ? -1 : a > b ? 1 : 0,
        )) {
          const chunk = encodeChunk(group);
          const cost = chunk.length + Buffer.byteLength(storedKey(key)) + 8;
          if (bytes + cost > MIXED_CHUNK_BYTES) flush();
          const range = stepTimeRange(group);
          if (range) members.push({ ...range.first, value: 0 }, { ...range.last, value: 0 });
          hash.update(key).update(chunk);
          encoded[storedKey(key)] = chunk;
          bytes += cost;
        }
        flush();
      }
      const current: Record<string, MetricPoint> = Object.fromEntries(
        Object.entries(fromStoredMap(latest.m)).map(([key, [step, timestamp, value]]) => [
          key,
          { step, timestamp, value: parseMetricValue(value) },
        ]),
      );
      // Stored map keys carry the prefix, so plain assignment is safe for any metric key.
      const m = { ...latest.m };
      for (const [key, point] of Object.entries(latestChanges(current, points))) {
        m[storedKey(key)] = [point.step, point.timestamp, formatMetricValue(point.value)];
      }
      const tail: Record<string, Uint8Array> = {};
      for (const [key, group] of groupByKey(plan.tail)) tail[storedKey(key)] = encodeChunk(group);
      const next: LatestItem = {
        ...latest,
        ...keys.runLatestListing(run.experimentId, runId),
        ver: latest.ver + 1,
        ch: (latest.ch ?? 0) + chunkItems.length,
        m,
        tail,
      };
      const size = approximateItemBytes(next);
      if (size > ITEM_BYTES_BUDGET) {
        throw new InvalidParameterValueError(
          `Run ${runId} logs too many distinct metric keys: their latest values would take about ${size} bytes, beyond the ${ITEM_BYTES_BUDGET}-byte storage limit.`,
        );
      }
      // Chunks before LATEST: a crash in between duplicates storage, never loses a point. Checked first,
      // so a refused write stores nothing.
      await this.putChunks(chunkItems.filter((item) => !written.has(`${item.sk}`)));
      for (const item of chunkItems) written.add(`${item.sk}`);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: next,
            ConditionExpression: 'ver = :read',
            ExpressionAttributeValues: { ':read': latest.ver },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new ConcurrentWritesError(`run ${runId}`);
  }

  private async putChunks(items: Record<string, unknown>[]): Promise<void> {
    for (let start = 0; start < items.length; start += 25) {
      let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 8) throw new Error('DynamoDB left chunk writes unprocessed after 8 retries');
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
        const { UnprocessedItems } = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }

  readHistoryHead(
    runId: string,
    key: string,
    start: number,
    end: number | undefined,
    byteBudget: number,
  ): Promise<HistoryHead | undefined> {
    return readHistoryHead({ doc: this.doc, tableName: this.tableName, runId, key }, start, end, byteBudget);
  }

  readHistoryIntervals(
    runId: string,
    key: string,
    head: HistoryHead,
    intervals: readonly StepInterval[],
    start: number,
    end: number,
  ): Promise<MetricPoint[]> {
    return readHistoryIntervals(
      { doc: this.doc, tableName: this.tableName, runId, key },
      head,
      intervals,
      start,
      end,
    );
  }

  /** One page of a key's history (see history-pages.ts); undefined when the run does not exist. */
  async readHistoryPage(
    runId: string,
    key: string,
    cursor: HistoryCursor | undefined,
    limit: number,
  ): Promise<{ points: MetricPoint[]; next?: HistoryCursor } | undefined> {
    const latest = await this.readTail(runId, key);
    if (!latest) return undefined;
    const chunks = String(latest.chunks);
    const ownPrefix = keys.metricChunkPrefix(key);
    const mixedPrefix = keys.mixedChunkPrefix;
    const resume = cursor?.resume;
    if (resume) {
      // Positions come back from a client: they must stay inside this key's own key ranges.
      const inside = (position: string | undefined, prefix: string) =>
        typeof position === 'string' && position.startsWith(prefix) && position <= `${prefix}\uffff`;
      if (!inside(resume.own, ownPrefix) || !inside(resume.mixed, mixedPrefix)) {
        throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
      }
    }
    const page = await readHistoryPage({
      doc: this.doc,
      tableName: this.tableName,
      pk: keys.run(runId).pk,
      ownPrefix,
      mixedPrefix,
      storedKey: storedKey(key),
      tail: latest.tail,
      ...(cursor ? { after: cursor.after } : {}),
      // Chunks written since the last page may sort before its resume positions: then read from the start.
      ...(resume && resume.ch === chunks
        ? { resume: { own: resume.own as string, mixed: resume.mixed as string } }
        : {}),
      limit,
    });
    return page.next
      ? { points: page.points, next: { after: page.next.after, resume: { ...page.next.resume, ch: chunks } } }
      : { points: page.points };
  }

  /**
   * Every point of one key, sorted by (step, timestamp, value) and deduplicated, or undefined when the
   * run does not exist; with `upToStep`, only chunks starting at or before that step are read (and
   * points after it dropped).
   */
  async readHistory(runId: string, key: string, upToStep?: number): Promise<MetricPoint[] | undefined> {
    const latest = await this.readTail(runId, key);
    if (!latest) return undefined;
    const points: MetricPoint[] = [...latest.tail];
    const own = await this.queryAll(runId, keys.metricChunkPrefix(key), upToStep);
    for (const item of own) points.push(...decodeChunk(item.d as Uint8Array));
    // Consistent for the reason history-pages.ts gives: a sealed tail must not vanish between reads.
    const mixed = await this.queryAll(runId, keys.mixedChunkPrefix, upToStep, {
      expression: 'sk, d.#key',
      names: { '#key': storedKey(key) },
      consistent: true,
    });
    for (const item of mixed) {
      const bytes = (item.d as Record<string, Uint8Array> | undefined)?.[storedKey(key)];
      if (bytes) points.push(...decodeChunk(bytes));
    }
    const sorted = sortAndDedupe(points);
    return upToStep === undefined ? sorted : sorted.filter((point) => point.step <= upToStep);
  }

  /**
   * The LATEST item's unsealed points of one key and its chunk-write count, strongly consistent; undefined
   * when the run does not exist (LATEST is written before RUN and never removed).
   */
  private async readTail(
    runId: string,
    key: string,
  ): Promise<{ tail: MetricPoint[]; chunks: number } | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.runLatest(runId),
        ConsistentRead: true,
        ProjectionExpression: 'pk, tail.#key, ch',
        ExpressionAttributeNames: { '#key': storedKey(key) },
      }),
    );
    if (!Item) return undefined;
    const bytes = (Item.tail as Record<string, Uint8Array> | undefined)?.[storedKey(key)];
    return { tail: bytes ? decodeChunk(bytes) : [], chunks: (Item.ch as number | undefined) ?? 0 };
  }

  private async queryAll(
    runId: string,
    skPrefix: string,
    upToStep?: number,
    options: { expression?: string; names?: Record<string, string>; consistent?: boolean } = {},
  ): Promise<Record<string, unknown>[]> {
    // Chunk keys sort by first step, so "starts at or before upToStep" is a key range.
    const to = upToStep === undefined ? `${skPrefix}\uffff` : `${skPrefix}${sortableStep(upToStep)}\uffff`;
    return queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': keys.run(runId).pk, ':from': skPrefix, ':to': to },
      ...(options.expression
        ? { ProjectionExpression: options.expression, ExpressionAttributeNames: options.names }
        : {}),
      ConsistentRead: options.consistent ?? false,
    });
  }

  /** Every run of an experiment with its latest metrics: RUN_SHARDS partitions of each index, in parallel. */
  async listByExperiment(experimentId: string): Promise<Run[]> {
    const partitions = keys.experimentRunsPartitions(experimentId);
    const [runPages, latestPages] = await Promise.all([
      Promise.all(partitions.map((partition) => this.queryIndex('gsi1', 'gsi1pk', partition))),
      Promise.all(partitions.map((partition) => this.queryIndex('gsi2', 'gsi2pk', partition, 'run_id, m'))),
    ]);
    const latestByRun = new Map<string, LatestItem>();
    for (const item of latestPages.flat())
      latestByRun.set(item.run_id as string, item as unknown as LatestItem);
    return runPages
      .flat()
      .map((item) => toRun(item as unknown as RunItem, latestByRun.get(item.run_id as string)));
  }

  private async queryIndex(
    index: 'gsi1' | 'gsi2',
    attribute: string,
    partition: string,
    projection?: string,
  ): Promise<Record<string, unknown>[]> {
    return queryAll(this.doc, {
      TableName: this.tableName,
      IndexName: index,
      KeyConditionExpression: `${attribute} = :p`,
      ExpressionAttributeValues: { ':p': partition },
      ...(projection ? { ProjectionExpression: projection } : {}),
    });
  }
}

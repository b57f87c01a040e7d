/**
 * Tracking benchmarks: DynamoDB request units and calls per metric write, history read cost, handler
 * CPU per log-batch, search over a large experiment. Units come from DynamoDB Local (index writes
 * counted as AWS bills them); search latency is also measured on dynalite.
 */

import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { metricHistoryBody, runOperations } from '../../functions/tracking/runs.js';
import { startDynalite } from '../../local/stand-ins.js';
import { toApiRequest } from '../../shared/api/request.js';
import { decodeChunk, isStrictlyOrdered, sortAndDedupe } from '../../shared/domain/runs/metric-codec.js';
import type { KeyedPoint, MetricPoint } from '../../shared/domain/runs/model.js';
import { RunService } from '../../shared/domain/runs/service.js';
import { keyConditions, keys } from '../../shared/store/keys.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { type Services, services } from './stores.js';

// BENCH_SEARCH_RUNS is the search section's list of sizes (search.ts).
const SEARCH_RUNS = Number(process.env.BENCH_TRACKING_SEARCH_RUNS ?? 10_000);
const HISTORY_POINTS = Number(process.env.BENCH_HISTORY_POINTS ?? 100_000);
/** Series lengths for get-history-bulk-interval (comma-separated). */
const BULK_SERIES = (process.env.BENCH_BULK_POINTS ?? '100000,1000000').split(',').map(Number);

/**
 * `keyCount` keys × `perKey` steps of a decaying, noisy loss-like curve. `float32` values are what
 * PyTorch's `tensor.item()` hands to `mlflow.log_metric` for float32 tensors (the usual case); `float64`
 * values are full doubles (numpy float64, Python arithmetic), the codec's worst case.
 */
const points = (
  keyCount: number,
  perKey: number,
  stepOffset = 0,
  precision: 'float32' | 'float64' = 'float32',
  timing: 'regular' | 'jittered' = 'regular',
): KeyedPoint[] =>
  Array.from({ length: keyCount * perKey }, (_, i) => {
    const step = stepOffset + Math.floor(i / keyCount);
    const value = 2 / (1 + step / 50) + Math.sin(i * 12.9898) * 0.01;
    // Jittered: a step every 30–230 ms, as a training loop calling time.time() sees it.
    const jitter = timing === 'jittered' ? Math.floor(Math.abs(Math.sin(step * 7.1)) * 200) : 0;
    return {
      key: `metric_${i % keyCount}`,
      step,
      timestamp: 1_795_000_000_000 + step * 37 + jitter,
      value: precision === 'float32' ? Math.fround(value) : value,
    };
  });

async function writeUnits(s: Services) {
  const experimentId = await s.experiments.create({ name: `bench-writes-${Date.now()}`, tags: [] });
  const rows = [];
  const scenarios: [string, () => KeyedPoint[][]][] = [
    [
      'log-batch, 10 keys × 100 points per request (float32 values)',
      () => Array.from({ length: 10 }, (_, r) => points(10, 100, r * 100)),
    ],
    [
      'log-batch, 10 keys × 100 points per request (float64 values)',
      () => Array.from({ length: 10 }, (_, r) => points(10, 100, r * 100, 'float64')),
    ],
    [
      'log-batch, 10 keys × 100 points per request (float64 values, jittered timestamps)',
      () => Array.from({ length: 10 }, (_, r) => points(10, 100, r * 100, 'float64', 'jittered')),
    ],
    [
      'log-batch, 1,000 keys × 1 point per request',
      () => Array.from({ length: 10 }, (_, r) => points(1000, 1, r)),
    ],
    ['log-metric, 1 point per request (5 keys)', () => points(5, 200).map((point) => [point])],
  ];
  for (const [label, requests] of scenarios) {
    const run = await s.runs.create({ experimentId, tags: [] });
    const batches = requests();
    s.meter.reset();
    const calls: number[] = [];
    for (const batch of batches) {
      const before = s.meter.calls;
      if (batch.length === 1 && label.startsWith('log-metric'))
        await s.runs.logMetric(run.runId, batch[0] as KeyedPoint);
      else await s.runs.logBatch(run.runId, { metrics: batch, params: [], tags: [] });
      calls.push(s.meter.calls - before);
    }
    const total = batches.reduce((sum, batch) => sum + batch.length, 0);
    rows.push({
      scenario: label,
      points: total,
      requests: batches.length,
      'write units': s.meter.writeUnits.toFixed(1),
      'WCU per 1,000 points': ((s.meter.writeUnits / total) * 1000).toFixed(1),
      'WCU per request': (s.meter.writeUnits / batches.length).toFixed(2),
      'read units per request': (s.meter.readUnits / batches.length).toFixed(2),
      'calls per request (max)': `${(s.meter.calls / batches.length).toFixed(2)} (${Math.max(...calls)})`,
    });
  }
  return rows;
}

async function historyReads(s: Services) {
  return [await historyRead(s, 'float32'), await historyRead(s, 'float64')];
}

async function historyRead(s: Services, precision: 'float32' | 'float64') {
  const experimentId = await s.experiments.create({ name: `bench-history-${Date.now()}`, tags: [] });
  const run = await s.runs.create({ experimentId, tags: [] });
  for (let start = 0; start < HISTORY_POINTS; start += 1000) {
    await s.runs.logBatch(run.runId, { metrics: points(1, 1000, start, precision), params: [], tags: [] });
  }
  s.meter.reset();
  let token: string | undefined;
  let pages = 0;
  let served = 0;
  do {
    const page = await s.runs.history(run.runId, 'metric_0', 25_000, token);
    served += page.points.length;
    token = page.nextPageToken;
    pages++;
  } while (token);
  const reads = s.meter.snapshot();

  // Server CPU per page without I/O: decode the chunks one page needs, order, and encode the JSON answer.
  const chunkBytes: Uint8Array[] = [];
  const { Items } = await s.doc.send(
    new QueryCommand({
      TableName: s.tableName,
      ...keyConditions.prefix(keys.run(run.runId).pk, keys.metricChunkPrefix('metric_0')),
      Limit: 25,
    }),
  );
  for (const item of Items ?? []) chunkBytes.push(item.d as Uint8Array);
  const timings: number[] = [];
  // 10 warm-up rounds (the JIT), then 31 measured; the median is reported.
  for (let i = 0; i < 41; i++) {
    const t0 = performance.now();
    const decoded: MetricPoint[] = [];
    for (const bytes of chunkBytes) for (const point of decodeChunk(bytes)) decoded.push(point);
    const page = (isStrictlyOrdered(decoded) ? decoded : sortAndDedupe(decoded)).slice(0, 25_000);
    const body = metricHistoryBody('metric_0', page, 'token');
    if (i >= 10) timings.push(performance.now() - t0);
    if (body.length < 10) throw new Error('empty page');
  }
  timings.sort((a, b) => a - b);
  return {
    values: precision,
    points: served,
    pages,
    'read units (total)': reads.readUnits.toFixed(1),
    'DynamoDB calls (total)': reads.calls,
    'decode + order + JSON per 25,000-point page, ms (median of 31)': (timings[15] ?? Number.NaN).toFixed(1),
  };
}

/**
 * get-history-bulk-interval of one run at the UI's 320 points, for series of growing length logged 1,000
 * points per request (one 1,000-point chunk each): reads must stop growing with the series.
 */
async function bulkIntervalReads(s: Services) {
  const experimentId = await s.experiments.create({ name: `bench-bulk-${Date.now()}`, tags: [] });
  const rows = [];
  for (const length of BULK_SERIES) {
    const run = await s.runs.create({ experimentId, tags: [] });
    for (let start = 0; start < length; start += 1000) {
      await s.runs.logBatch(run.runId, { metrics: points(1, 1000, start), params: [], tags: [] });
    }
    const timings: number[] = [];
    let answer: Awaited<ReturnType<RunService['historyBulkInterval']>> = [];
    for (let i = 0; i < 5; i++) {
      s.meter.reset();
      const t0 = performance.now();
      answer = await s.runs.historyBulkInterval({ runIds: [run.runId], key: 'metric_0', maxResults: 320 });
      timings.push(performance.now() - t0);
    }
    timings.sort((a, b) => a - b);
    rows.push({
      'series points': length,
      'points returned': answer.length,
      'read units': s.meter.readUnits.toFixed(1),
      'DynamoDB calls': s.meter.calls,
      'latency ms (median of 5)': (timings[2] ?? Number.NaN).toFixed(0),
    });
  }
  return rows;
}

async function logBatchCpu(s: Services) {
  // Real items as the store wrote them, replayed by a client that answers instantly: handler CPU only.
  const experimentId = await s.experiments.create({ name: `bench-cpu-${Date.now()}`, tags: [] });
  const run = await s.runs.create({ experimentId, tags: [] });
  const [{ Item: runItem }, { Item: latestItem }] = await Promise.all([
    s.doc.send(new GetCommand({ TableName: s.tableName, Key: keys.run(run.runId), ConsistentRead: true })),
    s.doc.send(
      new GetCommand({ TableName: s.tableName, Key: keys.runLatest(run.runId), ConsistentRead: true }),
    ),
  ]);
  const stub = {
    send: async (command: { constructor: { name: string } }) => {
      switch (command.constructor.name) {
        case 'BatchGetCommand':
          return { Responses: { [s.tableName]: [runItem, latestItem] } };
        case 'GetCommand':
          return { Item: runItem };
        default:
          return {};
      }
    },
  } as unknown as DynamoDBDocumentClient;
  const runs = new RunService(new DynamoRunRepository(stub, s.tableName), s.experiments);
  const operations = runOperations(runs);
  const body = JSON.stringify({
    run_id: run.runId,
    metrics: points(10, 100).map((p) => ({
      key: p.key,
      value: p.value,
      timestamp: p.timestamp,
      step: p.step,
    })),
  });
  const event = {
    version: '2.0',
    routeKey: 'POST /api/2.0/mlflow/runs/log-batch',
    rawPath: '/api/2.0/mlflow/runs/log-batch',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST' } },
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  const logBatch = operations.logBatch as NonNullable<typeof operations.logBatch>;
  for (let i = 0; i < 200; i++) await logBatch(toApiRequest(event)); // warm up the JIT
  const iterations = 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await logBatch(toApiRequest(event));
  const wall = (performance.now() - t0) / iterations;
  const cpu = process.cpuUsage(cpu0);
  return [
    {
      scenario:
        'log-batch of 1,000 metrics (10 keys × 100), JSON parse → validation → chunk encoding → response',
      iterations,
      'CPU ms per request (user+system)': ((cpu.user + cpu.system) / 1000 / iterations).toFixed(3),
      'wall ms per request': wall.toFixed(3),
    },
  ];
}

async function seedSearch(s: Services, runsWanted: number): Promise<string> {
  const experimentId = await s.experiments.create({ name: `bench-search-${Date.now()}`, tags: [] });
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < runsWanted) {
        const i = next++;
        const run = await s.runs.create({
          experimentId,
          userId: 'bench',
          startTime: 1_795_000_000_000 + i,
          tags: [
            { key: 'mlflow.user', value: 'bench' },
            { key: 'mlflow.source.name', value: 'train.py' },
            { key: 'mlflow.source.type', value: 'LOCAL' },
          ],
        });
        await s.runs.logBatch(run.runId, {
          params: Array.from({ length: 10 }, (_, p) => ({
            key: `param_${p}`,
            value: String((i * 7 + p) % 13),
          })),
          metrics: Array.from({ length: 5 }, (_, m) => ({
            key: `m${m}`,
            value: ((i * 31 + m * 17) % 1000) / 1000,
            timestamp: 1_795_000_000_000 + i,
            step: 10,
          })),
          tags: [],
        });
      }
    }),
  );
  return experimentId;
}

async function searchCost(label: string, s: Services, experimentId: string) {
  const query = {
    experimentIds: [experimentId],
    filter: 'metrics.m0 > 0.5',
    orderBy: ['metrics.m1 DESC'],
    viewType: 'ACTIVE_ONLY' as const,
    maxResults: 1000,
  };
  const timings: number[] = [];
  let units = { calls: 0, readUnits: 0 };
  let returned = 0;
  for (let i = 0; i < 5; i++) {
    s.meter.reset();
    const t0 = performance.now();
    const page = await s.runs.search(query);
    timings.push(performance.now() - t0);
    units = s.meter.snapshot();
    returned = page.runs.length;
  }
  timings.sort((a, b) => a - b);
  return {
    store: label,
    runs: SEARCH_RUNS,
    'filter / order': `${query.filter} / ${query.orderBy[0]}`,
    returned,
    'read units': units.readUnits.toFixed(1),
    'DynamoDB calls': units.calls,
    'latency ms (median of 5)': (timings[2] ?? Number.NaN).toFixed(0),
  };
}

export async function trackingBenchmarks() {
  const dynamoLocal = await startDynamoDbLocal();
  try {
    const local = await services(dynamoLocal.endpoint, 'bench');
    const writes = await writeUnits(local);
    const history = await historyReads(local);
    const bulk = await bulkIntervalReads(local);
    const cpu = await logBatchCpu(local);
    const searchRows = [];
    searchRows.push(await searchCost('DynamoDB Local', local, await seedSearch(local, SEARCH_RUNS)));
    const dynalite = await startDynalite(undefined);
    try {
      const lite = await services(dynalite.endpoint, 'bench');
      searchRows.push(await searchCost('dynalite', lite, await seedSearch(lite, SEARCH_RUNS)));
    } finally {
      await dynalite.close();
    }
    return { writes, history, bulk, cpu, search: searchRows };
  } finally {
    dynamoLocal.stop();
  }
}

/**
 * Wide runs (issue 13 item 5): write units per metric point for runs of many keys, one point per key per
 * request, and for one point into a run that already holds many keys. Units from DynamoDB Local
 * (ReturnConsumedCapacity TOTAL, index writes counted as AWS bills them).
 */
import type { KeyedPoint } from '../../shared/domain/runs/model.js';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { type Services, services } from './stores.js';

const keyPoints = (keyCount: number, step: number, firstKey = 0): KeyedPoint[] =>
  Array.from({ length: keyCount }, (_, i) => ({
    key: `layer_${firstKey + i}.grad_norm`,
    step,
    timestamp: 1_795_000_000_000 + step * 37,
    value: Math.fround(1 / (1 + step + i / 1000)),
  }));

/** log-batch caps a request at 1,000 metrics: wider steps go in several requests. */
function requestsOf(points: KeyedPoint[]): KeyedPoint[][] {
  const requests: KeyedPoint[][] = [];
  for (let start = 0; start < points.length; start += 1000) requests.push(points.slice(start, start + 1000));
  return requests;
}

async function measure(
  s: Services,
  runId: string,
  requests: KeyedPoint[][],
): Promise<{ points: number; writeUnits: number; readUnits: number; calls: number; maxCalls: number }> {
  s.meter.reset();
  let maxCalls = 0;
  for (const request of requests) {
    const before = s.meter.calls;
    if (request.length === 1) await s.runs.logMetric(runId, request[0] as KeyedPoint);
    else await s.runs.logBatch(runId, { metrics: request, params: [], tags: [] });
    maxCalls = Math.max(maxCalls, s.meter.calls - before);
  }
  return {
    points: requests.reduce((sum, request) => sum + request.length, 0),
    writeUnits: s.meter.writeUnits,
    readUnits: s.meter.readUnits,
    calls: s.meter.calls,
    maxCalls,
  };
}

function row(label: string, requests: number, figures: Awaited<ReturnType<typeof measure>>) {
  return {
    scenario: label,
    points: figures.points,
    requests,
    'WCU per 1,000 points': ((figures.writeUnits / figures.points) * 1000).toFixed(1),
    'WCU per request': (figures.writeUnits / requests).toFixed(2),
    'RCU per request': (figures.readUnits / requests).toFixed(2),
    'calls per request (max)': `${(figures.calls / requests).toFixed(2)} (${figures.maxCalls})`,
  };
}

async function wideWrites(s: Services) {
  const experimentId = await s.experiments.create({ name: `bench-wide-${Date.now()}`, tags: [] });
  const rows = [];
  for (const keyCount of [1000, 2000]) {
    // 10 steps of every key; the first step creates the keys, the rest rewrite their latest values.
    const run = await s.runs.create({ experimentId, tags: [] });
    const requests = Array.from({ length: 10 }, (_, step) => requestsOf(keyPoints(keyCount, step))).flat();
    rows.push(
      row(
        `log-batch, ${keyCount.toLocaleString('en')} keys × 1 point per step, 10 steps`,
        requests.length,
        await measure(s, run.runId, requests),
      ),
    );
  }
  const reads = [];
  for (const keyCount of [10, 2000, 10_000]) {
    // A run that already holds `keyCount` keys, then single points: one key per request over 20 keys.
    const run = await s.runs.create({ experimentId, tags: [] });
    try {
      for (const request of requestsOf(keyPoints(keyCount, 0))) {
        await s.runs.logBatch(run.runId, { metrics: request, params: [], tags: [] });
      }
    } catch (error) {
      rows.push({ scenario: `a run of ${keyCount.toLocaleString('en')} keys`, refused: String(error) });
      continue;
    }
    const single = Array.from({ length: 100 }, (_, step) =>
      keyPoints(1, step + 1, step % Math.min(20, keyCount)),
    );
    rows.push(
      row(
        `log-metric, 1 point per request into a run of ${keyCount.toLocaleString('en')} keys`,
        single.length,
        await measure(s, run.runId, single),
      ),
    );
    s.meter.reset();
    const got = await s.runs.get(run.runId);
    reads.push({
      'get_run of a run of': `${keyCount.toLocaleString('en')} keys`,
      'metrics returned': Object.keys(got.metrics).length,
      'read units': s.meter.readUnits.toFixed(1),
      'DynamoDB calls': s.meter.calls,
    });
  }
  return { writes: rows, reads };
}

export async function wideBenchmarks() {
  const dynamoLocal = await startDynamoDbLocal();
  try {
    return await wideWrites(await services(dynamoLocal.endpoint, 'bench'));
  } finally {
    dynamoLocal.stop();
  }
}

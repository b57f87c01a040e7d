/**
 * Metric envelopes (GET /api/2.0/cairn/metrics/get-envelope, through RunService): read units and time
 * for 1,000 buckets over a 1,000,000-point series (full range, and a 1 % zoom), and for 20 runs × 100,000
 * points; with the write cost of the summaries beside. Series are logged 1,000 points per log-batch
 * (one 1,000-point chunk each, summarized), but for one run logging 4 keys a point per log-metric call
 * (mixed chunks, which have no summaries). BENCH_ENVELOPE_POINTS / BENCH_ENVELOPE_RUNS scale them down.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startDynalite } from '../../local/stand-ins.js';
import type { KeyedPoint } from '../../shared/domain/runs/model.js';
import type { RunService } from '../../shared/domain/runs/service.js';
import { keys } from '../../shared/store/keys.js';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { services } from './stores.js';

const LONG = Number(process.env.BENCH_ENVELOPE_POINTS ?? 1_000_000);
const MANY_RUNS = Number(process.env.BENCH_ENVELOPE_RUNS ?? 20);
const MANY_POINTS = LONG / 10;
/** Steps of a run logging 4 keys one log-metric call each per step (its points end in mixed chunks). */
const MIXED_STEPS = Number(process.env.BENCH_ENVELOPE_MIXED_STEPS ?? 2_500);
const BUCKETS = 1000;

/** A noisy decaying curve with one spike per 100,000 steps (the thing sampling loses). */
const series = (key: string, from: number, count: number): KeyedPoint[] =>
  Array.from({ length: count }, (_, i) => {
    const step = from + i;
    const spike = step % 100_000 === 77_777 ? 50 : 0;
    return {
      key,
      step,
      timestamp: 1_795_000_000_000 + step * 37 + Math.floor(Math.abs(Math.sin(step)) * 20),
      value: Math.fround(2 / (1 + step / 5000) + Math.sin(step * 12.9898) * 0.01 + spike),
    };
  });

async function setup(endpoint: string) {
  const tableName = 'bench';
  const { doc, meter, experiments, runs } = await services(endpoint, tableName);
  const experimentId = await experiments.create({ name: `bench-envelope-${Date.now()}`, tags: [] });
  const newRun = async (legacy = false) => {
    const run = await runs.create({ experimentId, tags: [] });
    // A run as created before summaries existed: no marker, so its chunks get no summaries either.
    if (legacy) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.runLatest(run.runId),
          UpdateExpression: 'REMOVE es',
        }),
      );
    }
    return run.runId;
  };
  const log = async (runId: string, total: number) => {
    for (let start = 0; start < total; start += 1000) {
      await runs.logBatch(runId, {
        metrics: series('loss', start, Math.min(1000, total - start)),
        params: [],
        tags: [],
      });
    }
  };
  const logOneByOne = async (runId: string, steps: number) => {
    for (let step = 0; step < steps; step++) {
      for (const key of ['loss', 'accuracy', 'lr', 'grad_norm']) {
        const [point] = series(key, step, 1);
        await runs.logMetric(runId, point as KeyedPoint);
      }
    }
  };
  return { doc, meter, runs, newRun, log, logOneByOne };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function measure(
  s: Setup,
  label: string,
  request: Parameters<RunService['envelopes']>[0],
  points: number,
) {
  const timings: number[] = [];
  let units = 0;
  let calls = 0;
  let buckets = 0;
  let spikes = 0;
  let exact = true;
  for (let i = 0; i < 5; i++) {
    s.meter.reset();
    const t0 = performance.now();
    const answer = await s.runs.envelopes(request);
    timings.push(performance.now() - t0);
    units = s.meter.readUnits;
    calls = s.meter.calls;
    buckets = answer.reduce((n, e) => n + e.buckets.length, 0);
    spikes = answer.reduce((n, e) => n + e.buckets.filter((b) => b.max > 40).length, 0);
    exact = answer.every((e) => e.exact);
  }
  timings.sort((a, b) => a - b);
  return {
    case: label,
    'series points': points,
    'buckets returned': buckets,
    'spike buckets': spikes,
    exact,
    'read units': units.toFixed(1),
    'DynamoDB calls': calls,
    'ms (median of 5)': (timings[2] ?? Number.NaN).toFixed(0),
  };
}

async function envelopeCases(endpoint: string) {
  const s = await setup(endpoint);
  const rows = [];
  const writes = [];

  const long = await s.newRun();
  s.meter.reset();
  await s.log(long, LONG);
  writes.push({
    series: `${LONG} points, 1,000 per log-batch`,
    'WCU per 1,000 points': ((s.meter.writeUnits / LONG) * 1000).toFixed(2),
  });
  const legacy = await s.newRun(true);
  s.meter.reset();
  await s.log(legacy, MANY_POINTS);
  writes.push({
    series: `${MANY_POINTS} points, run from before summaries`,
    'WCU per 1,000 points': ((s.meter.writeUnits / MANY_POINTS) * 1000).toFixed(2),
  });
  const small = await s.newRun();
  s.meter.reset();
  for (let r = 0; r < 10; r++) {
    const metrics = Array.from({ length: 10 }, (_, k) => series(`metric_${k}`, r * 100, 100)).flat();
    await s.runs.logBatch(small, { metrics, params: [], tags: [] });
  }
  writes.push({
    series: 'budget case: 10 keys × 100 points per log-batch, 10 batches',
    'WCU per 1,000 points': ((s.meter.writeUnits / 10_000) * 1000).toFixed(2),
  });

  const key = 'loss';
  rows.push(
    await measure(s, 'full range (edges on chunk bounds)', { runIds: [long], key, buckets: BUCKETS }, LONG),
  );
  rows.push(
    await measure(
      s,
      'full range, edges inside chunks',
      { runIds: [long], key, buckets: BUCKETS, startStep: 500, endStep: LONG - 1 },
      LONG,
    ),
  );
  rows.push(
    await measure(
      s,
      '1 % zoom',
      {
        runIds: [long],
        key,
        buckets: BUCKETS,
        startStep: LONG / 2 + 123,
        endStep: LONG / 2 + 123 + LONG / 100 - 1,
      },
      LONG,
    ),
  );
  rows.push(
    await measure(
      s,
      'full range, run from before summaries (raw)',
      { runIds: [legacy], key, buckets: BUCKETS },
      MANY_POINTS,
    ),
  );
  const mixed = await s.newRun();
  await s.logOneByOne(mixed, MIXED_STEPS);
  rows.push(
    await measure(
      s,
      'full range, 1 of 4 keys logged a point per log-metric call (mixed chunks)',
      { runIds: [mixed], key, buckets: BUCKETS },
      MIXED_STEPS,
    ),
  );
  const many: string[] = [];
  for (let r = 0; r < MANY_RUNS; r++) {
    const runId = await s.newRun();
    await s.log(runId, MANY_POINTS);
    many.push(runId);
  }
  rows.push(
    await measure(
      s,
      `${MANY_RUNS} runs, full range`,
      { runIds: many, key, buckets: BUCKETS },
      MANY_RUNS * MANY_POINTS,
    ),
  );
  rows.push(
    await measure(
      s,
      `${MANY_RUNS} runs, one run's 1 % zoom`,
      {
        runIds: many,
        key,
        buckets: BUCKETS,
        startStep: MANY_POINTS / 2,
        endStep: MANY_POINTS / 2 + MANY_POINTS / 100 - 1,
      },
      MANY_RUNS * MANY_POINTS,
    ),
  );
  return { rows, writes };
}

/** On DynamoDB Local (capacity as AWS bills it) and on dynalite (what `npm start` runs). */
export async function envelopeBenchmarks() {
  const dynamoLocal = await startDynamoDbLocal();
  let local: Awaited<ReturnType<typeof envelopeCases>>;
  try {
    local = await envelopeCases(dynamoLocal.endpoint);
  } finally {
    dynamoLocal.stop();
  }
  const dynalite = await startDynalite(undefined);
  try {
    const lite = await envelopeCases(dynalite.endpoint);
    return { local, lite };
  } finally {
    await dynalite.close();
  }
}

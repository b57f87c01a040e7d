/**
 * `npm run bench -- writers` (issue 13, item 4): bulk run creation into one experiment, as a sweep's
 * workers do it. `cairn server` runs as its own process; WRITERS clients each loop runs/create →
 * log-batch (10 params, 3 tags, 5 metrics) → runs/update FINISHED over their own kept-alive socket until
 * RUNS runs exist. Reports runs/s, requests/s, p50/p95 per request, and the server's CPU per run.
 *
 * BENCH_WRITERS=<n> (default 20), BENCH_WRITERS_RUNS=<n> (default 2,000), BENCH_WRITERS_WARMUP=<n> runs
 * first in another experiment, unmeasured (default 200: the JIT and LevelDB settle), BENCH_CAIRN_BINS
 * (comma-separated paths to other checkouts' bin/cairn.mjs) measures their servers too, one after the
 * other, to compare builds on the same machine and load; BENCH_WRITERS_ROUNDS=<n> repeats that n times, the
 * builds taking turns. Then DynamoDB calls and units per request of the same shape, per build, on DynamoDB
 * Local (BENCH_WRITERS_COST_RUNS runs, default 50).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { type ServerProcess, startServerProcess } from './server-process.js';
import { percentile, postOver } from './workload.js';

const WRITERS = Number(process.env.BENCH_WRITERS ?? 20);
const RUNS = Number(process.env.BENCH_WRITERS_RUNS ?? 2000);
const WARMUP = Number(process.env.BENCH_WRITERS_WARMUP ?? 200);
/** Rounds over every build (BENCH_WRITERS_ROUNDS). */
const ROUNDS = Number(process.env.BENCH_WRITERS_ROUNDS ?? 1);
/** Runs whose DynamoDB calls and units are counted per request (BENCH_WRITERS_COST_RUNS). */
const COST_RUNS = Number(process.env.BENCH_WRITERS_COST_RUNS ?? 50);

type Endpoint = 'runs/create' | 'runs/log-batch' | 'runs/update';

interface Sweep {
  latencies: Record<Endpoint, number[]>;
  seconds: number;
}

/** `count` runs into a new experiment by WRITERS concurrent clients. */
async function sweep(server: ServerProcess, agents: Agent[], name: string, count: number): Promise<Sweep> {
  const post = (agent: Agent, endpoint: Endpoint | 'experiments/create', body: unknown) =>
    postOver(agent, server.url, `/api/2.0/mlflow/${endpoint}`, body);
  const { experiment_id } = (await post(agents[0] as Agent, 'experiments/create', { name })) as {
    experiment_id: string;
  };
  const latencies: Sweep['latencies'] = { 'runs/create': [], 'runs/log-batch': [], 'runs/update': [] };
  const timed = async (agent: Agent, endpoint: Endpoint, body: unknown) => {
    const t0 = performance.now();
    const answer = await post(agent, endpoint, body);
    latencies[endpoint].push(performance.now() - t0);
    return answer;
  };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    agents.map(async (agent, writer) => {
      while (next < count) {
        const i = next++;
        const startTime = Date.now();
        const created = (await timed(agent, 'runs/create', {
          experiment_id,
          user_id: 'bench',
          run_name: `run-${i}`,
          start_time: startTime,
          tags: [{ key: 'mlflow.user', value: 'bench' }],
        })) as { run: { info: { run_id: string } } };
        const run_id = created.run.info.run_id;
        await timed(agent, 'runs/log-batch', {
          run_id,
          params: Array.from({ length: 10 }, (_, p) => ({ key: `param_${p}`, value: String((i + p) % 13) })),
          tags: [
            { key: 'mlflow.source.name', value: 'sweep.py' },
            { key: 'mlflow.source.type', value: 'LOCAL' },
            { key: 'writer', value: String(writer) },
          ],
          metrics: Array.from({ length: 5 }, (_, m) => ({
            key: `m${m}`,
            value: Math.random(),
            timestamp: Date.now(),
            step: 0,
          })),
        });
        await timed(agent, 'runs/update', { run_id, status: 'FINISHED', end_time: Date.now() });
      }
    }),
  );
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}

async function measureServer(label: string, bin: string | undefined) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const server = await startServerProcess(dataDir, bin);
  const agents = Array.from({ length: WRITERS }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    if (WARMUP > 0) await sweep(server, agents, 'writers-warmup', WARMUP);
    const cpuBefore = server.cpuMs();
    const { latencies, seconds } = await sweep(server, agents, 'writers', RUNS);
    const cpuAfter = server.cpuMs();
    const all = Object.values(latencies).flat();
    const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
    const row = (request: string, values: number[]) => ({
      server: label,
      request,
      requests: values.length,
      'p50 ms': percentile(values, 50).toFixed(1),
      'p95 ms': percentile(values, 95).toFixed(1),
    });
    return {
      summary: {
        server: label,
        writers: WRITERS,
        runs: RUNS,
        seconds: seconds.toFixed(1),
        'runs/s': (RUNS / seconds).toFixed(1),
        'requests/s': (all.length / seconds).toFixed(1),
        'p50 ms': percentile(all, 50).toFixed(1),
        'p95 ms': percentile(all, 95).toFixed(1),
        'server CPU ms/run': cpu === undefined ? '—' : (cpu / RUNS).toFixed(1),
      },
      requests: [
        ...Object.entries(latencies).map(([endpoint, values]) => row(endpoint, values)),
        row('all', all),
      ],
    };
  } finally {
    for (const agent of agents) agent.destroy();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The body of one sweep run's log-batch (the same shape as `sweep`'s). */
function batchOf(i: number) {
  return {
    params: Array.from({ length: 10 }, (_, p) => ({ key: `param_${p}`, value: String((i + p) % 13) })),
    tags: [
      { key: 'mlflow.source.name', value: 'sweep.py' },
      { key: 'mlflow.source.type', value: 'LOCAL' },
      { key: 'writer', value: '0' },
    ],
    metrics: Array.from({ length: 5 }, (_, m) => ({
      key: `m${m}`,
      value: Math.random(),
      timestamp: i,
      step: 0,
    })),
  };
}

/**
 * DynamoDB calls and capacity units per request of the sweep's shape, on DynamoDB Local (which counts index
 * writes as AWS bills them), through the services of the checkout at `root` (this one, or an older one's, so
 * that builds are compared on the same table): COST_RUNS runs one after the other in one process, as the
 * local server serves them.
 */
async function perRequestCosts(endpoint: string, label: string, root: string) {
  const load = (path: string) => import(join(root, path));
  const { DynamoExperimentRepository } = await load('shared/store/experiments/repository.ts');
  const { DynamoRunRepository } = await load('shared/store/runs/repository.ts');
  const { ExperimentService } = await load('shared/domain/experiments/service.ts');
  const { RunService } = await load('shared/domain/runs/service.ts');
  const { meteredDocumentClient } = await load('test/bench/capacity.ts');
  const { ensureTable } = await load('local/stand-ins.ts');
  const tableName = `writers-cost-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await ensureTable(endpoint, tableName);
  const { doc, meter } = meteredDocumentClient(endpoint);
  const experiments = new ExperimentService(new DynamoExperimentRepository(doc, tableName), {
    artifactRoot: 'mlflow-artifacts:/',
    allowClientArtifactLocation: false,
  });
  const runs = new RunService(new DynamoRunRepository(doc, tableName), experiments);
  const experimentId = await experiments.create({ name: 'writers-cost', tags: [] });
  const totals = new Map<string, { calls: number; writeUnits: number; readUnits: number }>();
  const counted = async (request: string, action: () => Promise<unknown>) => {
    meter.reset();
    await action();
    const sum = totals.get(request) ?? { calls: 0, writeUnits: 0, readUnits: 0 };
    sum.calls += meter.calls;
    sum.writeUnits += meter.writeUnits;
    sum.readUnits += meter.readUnits;
    totals.set(request, sum);
  };
  for (let i = 0; i < COST_RUNS; i++) {
    let runId = '';
    await counted('runs/create', async () => {
      const run = await runs.create({
        experimentId,
        userId: 'bench',
        runName: `run-${i}`,
        startTime: Date.now(),
        tags: [{ key: 'mlflow.user', value: 'bench' }],
      });
      runId = run.runId;
    });
    await counted('runs/log-batch', () => runs.logBatch(runId, batchOf(i)));
    await counted('runs/update', () => runs.update(runId, { status: 'FINISHED', endTime: Date.now() }));
  }
  const rows = [...totals].map(([request, sum]) => ({
    build: label,
    request,
    calls: (sum.calls / COST_RUNS).toFixed(2),
    'write units': (sum.writeUnits / COST_RUNS).toFixed(2),
    'read units': (sum.readUnits / COST_RUNS).toFixed(2),
  }));
  const all = [...totals.values()].reduce(
    (sum, one) => ({
      calls: sum.calls + one.calls,
      writeUnits: sum.writeUnits + one.writeUnits,
      readUnits: sum.readUnits + one.readUnits,
    }),
    { calls: 0, writeUnits: 0, readUnits: 0 },
  );
  rows.push({
    build: label,
    request: 'per run',
    calls: (all.calls / COST_RUNS).toFixed(2),
    'write units': (all.writeUnits / COST_RUNS).toFixed(2),
    'read units': (all.readUnits / COST_RUNS).toFixed(2),
  });
  return rows;
}

/** Calls and units per request for this checkout and every BENCH_CAIRN_BINS checkout, on one DynamoDB Local. */
export async function writerCosts() {
  const bins = (process.env.BENCH_CAIRN_BINS ?? '').split(',').filter((bin) => bin !== '');
  const local = await startDynamoDbLocal();
  try {
    const rows = [];
    rows.push(
      ...(await perRequestCosts(local.endpoint, 'this checkout', resolve(import.meta.dirname, '../..'))),
    );
    for (const bin of bins)
      rows.push(...(await perRequestCosts(local.endpoint, bin, resolve(dirname(bin), '..'))));
    return rows;
  } finally {
    local.stop();
  }
}

export async function bulkWriters() {
  const bins = (process.env.BENCH_CAIRN_BINS ?? '').split(',').filter((bin) => bin !== '');
  const results = [];
  // Builds take turns, round after round: on a shared machine the load drifts over minutes.
  for (let round = 0; round < ROUNDS; round++) {
    for (const bin of [undefined, ...bins]) {
      const label = bin ? `cairn server (${bin})` : 'cairn server (this checkout)';
      results.push(await measureServer(ROUNDS > 1 ? `${label} #${round + 1}` : label, bin));
    }
  }
  return {
    summary: results.map((result) => result.summary),
    requests: results.flatMap((result) => result.requests),
    costs: await writerCosts(),
  };
}

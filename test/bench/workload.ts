/**
 * A stock-client-shaped workload against `cairn server` running as its own process (as a user runs it),
 * over HTTP: runs created as `start_run` does,
 * params logged with log-batch, then RUNS × 5 keys × STEPS points in log-batch requests of 1,000 metrics
 * (the client's own chunking), then `end_run`. Reports points per second, sequential and with 4 runs in
 * parallel (4 training processes logging at once).
 *
 * And the server's share of a single write: one client logging one metric at a time over a keep-alive
 * connection, against `cairn server` and against a server that answers `{}` at once (the client's own
 * floor), in interleaved rounds so that both meet the same load on a shared machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerProcess, startFloorServer, startServerProcess } from './server-process.js';

const RUNS = Number(process.env.BENCH_WORKLOAD_RUNS ?? 8);
const STEPS = Number(process.env.BENCH_WORKLOAD_STEPS ?? 1000);
const KEYS = 5;

export async function stockClientWorkload() {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const server = await startServerProcess(dataDir);
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}/api/2.0/mlflow/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'mlflow-python-client/3.11.2.dev0' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const oneRun = async (experimentId: string, index: number) => {
    const created = (await post('runs/create', {
      experiment_id: experimentId,
      user_id: 'bench',
      run_name: `run-${index}`,
      start_time: Date.now(),
      tags: [{ key: 'mlflow.user', value: 'bench' }],
    })) as { run: { info: { run_id: string } } };
    const runId = created.run.info.run_id;
    await post('runs/log-batch', {
      run_id: runId,
      params: Array.from({ length: 10 }, (_, p) => ({ key: `param_${p}`, value: String(p) })),
    });
    const metrics = [];
    for (let step = 0; step < STEPS; step++) {
      for (let k = 0; k < KEYS; k++)
        metrics.push({ key: `metric_${k}`, value: Math.random(), timestamp: Date.now(), step });
    }
    for (let start = 0; start < metrics.length; start += 1000) {
      await post('runs/log-batch', { run_id: runId, metrics: metrics.slice(start, start + 1000) });
    }
    await post('runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
    return metrics.length;
  };
  try {
    const rows = [];
    for (const parallel of [1, 4]) {
      const experiment = (await post('experiments/create', { name: `workload-${parallel}` })) as {
        experiment_id: string;
      };
      const t0 = performance.now();
      let points = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < RUNS) {
            const logged = await oneRun(experiment.experiment_id, next++);
            points += logged;
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      rows.push({
        workload: `${RUNS} runs × 10 params × ${KEYS} keys × ${STEPS} steps, log-batch of 1,000`,
        'runs in parallel': parallel,
        points,
        seconds: seconds.toFixed(2),
        'points/s': Math.round(points / seconds),
      });
    }
    return rows;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const WRITE_ROUNDS = Number(process.env.BENCH_WRITE_ROUNDS ?? 7);
const WRITES_PER_ROUND = Number(process.env.BENCH_WRITES_PER_ROUND ?? 300);
// A fresh server takes a few thousand writes to settle (JIT, LevelDB compactions): measure after that.
const WRITE_WARMUP = Number(process.env.BENCH_WRITE_WARMUP ?? 2000);

/** POSTs JSON over `agent` (one kept-alive socket) and returns the parsed answer. */
export function postOver(
  agent: Agent,
  base: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const data = JSON.stringify(body);
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200) reject(new Error(`${path}: ${response.statusCode} ${text}`));
          else resolve(JSON.parse(text) as Record<string, unknown>);
        });
      },
    );
    sent.on('error', reject);
    sent.end(data);
  });
}

interface WriteTarget {
  label: string;
  server: ServerProcess;
  agent: Agent;
  runId: string;
  step: number;
  latencies: number[];
  cpuMs: number;
}

/**
 * `log-metric`, one request at a time. BENCH_CAIRN_BINS (comma-separated paths to other checkouts'
 * bin/cairn.mjs) adds their servers to the same interleaved rounds, to compare builds.
 */
export async function singleWriteLatency() {
  const dataDirs: string[] = [];
  const targets: WriteTarget[] = [];
  const bins = (process.env.BENCH_CAIRN_BINS ?? '').split(',').filter((bin) => bin !== '');
  const add = async (label: string, server: ServerProcess, cairn: boolean) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let runId = 'floor';
    if (cairn) {
      const created = (await postOver(agent, server.url, '/api/2.0/mlflow/experiments/create', {
        name: 'single-write',
      })) as { experiment_id: string };
      const run = (await postOver(agent, server.url, '/api/2.0/mlflow/runs/create', {
        experiment_id: created.experiment_id,
        start_time: Date.now(),
      })) as { run: { info: { run_id: string } } };
      runId = run.run.info.run_id;
    }
    targets.push({ label, server, agent, runId, step: 0, latencies: [], cpuMs: 0 });
  };
  const write = (target: WriteTarget) =>
    postOver(target.agent, target.server.url, '/api/2.0/mlflow/runs/log-metric', {
      run_id: target.runId,
      key: 'loss',
      value: Math.random(),
      timestamp: Date.now(),
      step: target.step++,
    });
  try {
    await add('answers {} at once (client floor)', await startFloorServer(), false);
    for (const [index, bin] of [undefined, ...bins].entries()) {
      const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
      dataDirs.push(dataDir);
      await add(bin ?? 'cairn server (this checkout)', await startServerProcess(dataDir, bin), true);
      if (index > 0) targets.at(-1)!.label = `cairn server (${bin})`;
    }
    for (const target of targets) for (let i = 0; i < WRITE_WARMUP; i++) await write(target);
    for (let round = 0; round < WRITE_ROUNDS; round++) {
      for (const target of targets) {
        const cpuBefore = target.server.cpuMs();
        for (let i = 0; i < WRITES_PER_ROUND; i++) {
          const t0 = performance.now();
          await write(target);
          target.latencies.push(performance.now() - t0);
        }
        const cpuAfter = target.server.cpuMs();
        if (cpuBefore !== undefined && cpuAfter !== undefined) target.cpuMs += cpuAfter - cpuBefore;
      }
    }
    const median = (target: WriteTarget) => percentile(target.latencies, 50);
    const floor = median(targets[0] as WriteTarget);
    return targets.map((target) => ({
      server: target.label,
      writes: target.latencies.length,
      'p50 ms': median(target).toFixed(2),
      'p95 ms': percentile(target.latencies, 95).toFixed(2),
      'p50 − floor ms': (median(target) - floor).toFixed(2),
      'server CPU ms/write': (target.cpuMs / target.latencies.length).toFixed(2),
    }));
  } finally {
    for (const target of targets) {
      target.agent.destroy();
      await target.server.close();
    }
    for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

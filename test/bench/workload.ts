/**
 * A stock-client-shaped workload against `cairn server` running as its own process (as a user runs it),
 * over HTTP: runs created as `start_run` does,
 * params logged with log-batch, then RUNS × 5 keys × STEPS points in log-batch requests of 1,000 metrics
 * (the client's own chunking), then `end_run`. Reports points per second, sequential and with 4 runs in
 * parallel (4 training processes logging at once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from './server-process.js';

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

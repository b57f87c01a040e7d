/**
 * The stock MLflow client (test/bench/stock-client.py) against the floor server, `cairn server` (this
 * checkout and BENCH_CAIRN_BINS) and MLflow's own server, in interleaved rounds. Needs the real client:
 * `eval "$(bash ../shared/tools/mlflow-client.sh)"` sets MLFLOW_PY and MLFLOW_REF_SETUP; without them
 * the section says so and measures nothing (CI has no MLflow). MLflow's server runs as it starts by
 * default and with one worker. BENCH_STOCK_ROUNDS (3), RUNS (3) and STEPS (100) size it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerProcess, startFloorServer, startServerProcess } from './server-process.js';

const ROUNDS = Number(process.env.BENCH_STOCK_ROUNDS ?? 3);

interface Target {
  label: string;
  url: string;
  close(): Promise<void> | void;
  workload: number[];
  p50: number[];
  p95: number[];
}

function mlflowServer(setup: string, workers: number | undefined, port: number): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-mlflow-'));
  const env = { ...process.env, ...(workers ? { MLFLOW_REF_WORKERS: String(workers) } : {}) };
  const printed = execFileSync('bash', [setup, 'server-start', String(port), dataDir], {
    env,
    encoding: 'utf8',
  });
  const url = /MLFLOW_TRACKING_URI=(\S+)/.exec(printed)?.[1];
  if (!url) throw new Error(`MLflow's server did not start: ${printed}`);
  return {
    label: workers ? `MLflow server, ${workers} worker` : 'MLflow server as it starts by default',
    url,
    close: () => {
      execFileSync('bash', [setup, 'server-stop', dataDir]);
      rmSync(dataDir, { recursive: true, force: true });
    },
    workload: [],
    p50: [],
    p95: [],
  };
}

function fromProcess(label: string, server: ServerProcess, dataDir?: string): Target {
  return {
    label,
    url: server.url,
    close: async () => {
      await server.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    workload: [],
    p50: [],
    p95: [],
  };
}

function client(python: string, url: string, mode: 'workload' | 'single'): Record<string, number> {
  const out = execFileSync(python, [join(import.meta.dirname, 'stock-client.py'), mode], {
    env: {
      ...process.env,
      MLFLOW_TRACKING_URI: url,
      RUNS: process.env.RUNS ?? '3',
      STEPS: process.env.STEPS ?? '100',
      WRITES: process.env.WRITES ?? '300',
    },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
}

export async function stockClientComparison() {
  const python = process.env.MLFLOW_PY;
  const setup = process.env.MLFLOW_REF_SETUP;
  if (!python || !setup) {
    return [
      {
        skipped: 'MLFLOW_PY / MLFLOW_REF_SETUP unset: eval "$(bash ../shared/tools/mlflow-client.sh)" first',
      },
    ];
  }
  const targets: Target[] = [];
  try {
    targets.push(fromProcess('floor (answers at once)', await startFloorServer()));
    const bins = (process.env.BENCH_CAIRN_BINS ?? '').split(',').filter((bin) => bin !== '');
    for (const bin of [undefined, ...bins]) {
      const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
      targets.push(
        fromProcess(
          `cairn server (${bin ?? 'this checkout'})`,
          await startServerProcess(dataDir, bin),
          dataDir,
        ),
      );
    }
    targets.push(mlflowServer(setup, undefined, 15_731));
    targets.push(mlflowServer(setup, 1, 15_732));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        target.workload.push(client(python, target.url, 'workload').seconds ?? Number.NaN);
        const single = client(python, target.url, 'single');
        target.p50.push(single['p50 ms'] ?? Number.NaN);
        target.p95.push(single['p95 ms'] ?? Number.NaN);
      }
    }
  } finally {
    for (const target of targets) await target.close();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const cairn = median(targets[1]?.workload ?? []);
  return targets.map((target) => ({
    server: target.label,
    'single log_metric p50 ms': median(target.p50),
    'p95 ms': median(target.p95),
    'workload s': median(target.workload),
    'this server / cairn (this checkout)': Number((median(target.workload) / cairn).toFixed(2)),
    rounds: target.workload.length,
  }));
}

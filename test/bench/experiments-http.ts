/**
 * The local server over HTTP: latency and throughput of the experiments endpoints, sequential and with 8
 * concurrent clients, on a table holding BENCH_EXPERIMENTS experiments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer } from '../../local/server.js';

const EXPERIMENTS = Number(process.env.BENCH_EXPERIMENTS ?? 1000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(label: string, concurrency: number, request: (i: number) => Promise<Response>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const t0 = performance.now();
        const response = await request(i);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`${label}: HTTP ${response.status}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    endpoint: label,
    clients: concurrency,
    requests: REQUESTS,
    'req/s': (REQUESTS / seconds).toFixed(0),
    'p50 ms': percentile(latencies, 50).toFixed(2),
    'p95 ms': percentile(latencies, 95).toFixed(2),
  };
}

export async function experimentsHttp() {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const server = await startLocalServer({ host: '127.0.0.1', port: 0, dataDir });
  const post = (path: string, body: unknown) =>
    fetch(`${server.url}/api/2.0/mlflow/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  try {
    for (let i = 0; i < EXPERIMENTS; i++) {
      const response = await post('experiments/create', {
        name: `bench-${i}`,
        tags: [{ key: 'i', value: String(i) }],
      });
      if (!response.ok) throw new Error(`seeding: HTTP ${response.status}`);
    }
    const rows = [];
    for (const clients of [1, 8]) {
      rows.push(
        await measure('GET experiments/get', clients, (i) =>
          fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=${(i % EXPERIMENTS) + 1}`),
        ),
        await measure('GET experiments/get-by-name', clients, (i) =>
          fetch(
            `${server.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=bench-${i % EXPERIMENTS}`,
          ),
        ),
        await measure('POST experiments/create', clients, (i) =>
          post('experiments/create', { name: `new-${clients}-${i}` }),
        ),
        await measure('POST experiments/set-experiment-tag', clients, (i) =>
          post('experiments/set-experiment-tag', {
            experiment_id: String((i % EXPERIMENTS) + 1),
            key: 'k',
            value: 'v',
          }),
        ),
      );
    }
    const searches = Math.max(1, Math.floor(REQUESTS / 20));
    const searchRow = await (async () => {
      const t0 = performance.now();
      for (let i = 0; i < searches; i++) {
        const response = await post('experiments/search', {
          filter: "name LIKE 'bench-1%'",
          max_results: 100,
        });
        await response.arrayBuffer();
      }
      const ms = (performance.now() - t0) / searches;
      return {
        // The creates above added 2 × REQUESTS experiments to the seeded ones.
        endpoint: `POST experiments/search (${EXPERIMENTS + 2 * REQUESTS} experiments, LIKE filter)`,
        clients: 1,
        requests: searches,
        'req/s': (1000 / ms).toFixed(0),
        'p50 ms': ms.toFixed(2),
        'p95 ms': '-',
      };
    })();
    rows.push(searchRow);
    return rows;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

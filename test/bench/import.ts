/**
 * `cairn import` throughput, local source → local target: a source Cairn server (in this process) filled
 * through the API, then `cairn import` as a user runs it (a child process) into a fresh data directory with
 * no server on it. Three workloads, each measured on its own: many small runs (runs/s), long histories
 * (points/s), large artifacts (MB/s). Figures come from the import's own summary (its work, not the CLI's
 * start-up). Run: npx tsx test/bench/import.ts
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalServer } from '../../local/server.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cairn.mjs');

/**
 * `cairn import` in a child process, awaited: the source server runs in this process, so a synchronous
 * spawn would block the very event loop that answers the import's requests (it hung until its timeout).
 */
async function importInto(url: string, experiment: string, dataDir: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [BIN, 'import', '--from', url, '--experiment', experiment, '--data-dir', dataDir],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

async function post(url: string, endpoint: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/api/2.0/mlflow/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${endpoint}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

interface Workload {
  name: string;
  runs: number;
  keys: number;
  points: number;
  fileBytes: number;
  files: number;
}

const WORKLOADS: Workload[] = [
  { name: 'many small runs', runs: 100, keys: 2, points: 1, fileBytes: 0, files: 0 },
  { name: 'long histories', runs: 10, keys: 5, points: 5_000, fileBytes: 0, files: 0 },
  { name: 'large artifacts', runs: 5, keys: 1, points: 1, fileBytes: 4 * 1024 * 1024, files: 2 },
];

async function fill(url: string, workload: Workload): Promise<void> {
  const { experiment_id } = await post(url, 'experiments/create', { name: workload.name });
  const bytes = randomBytes(workload.fileBytes);
  for (let r = 0; r < workload.runs; r++) {
    const { run } = (await post(url, 'runs/create', {
      experiment_id,
      run_name: `run-${r}`,
      start_time: Date.now(),
    })) as { run: { info: { run_id: string; artifact_uri: string } } };
    const runId = run.info.run_id;
    await post(url, 'runs/log-batch', {
      run_id: runId,
      params: [
        { key: 'lr', value: String(r) },
        { key: 'batch', value: '32' },
      ],
      tags: [{ key: 'team', value: 'bench' }],
    });
    const metrics = [];
    for (let k = 0; k < workload.keys; k++) {
      for (let step = 0; step < workload.points; step++) {
        metrics.push({ key: `m${k}`, value: Math.sin(step + r), timestamp: 1_700_000_000_000 + step, step });
      }
    }
    for (let at = 0; at < metrics.length; at += 1000) {
      await post(url, 'runs/log-batch', { run_id: runId, metrics: metrics.slice(at, at + 1000) });
    }
    const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
    for (let f = 0; f < workload.files; f++) {
      const put = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${root}/file-${f}.bin`, {
        method: 'PUT',
        body: bytes,
      });
      if (!put.ok) throw new Error(`artifact upload: ${put.status}`);
    }
    await post(url, 'runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
  }
}

async function main(): Promise<void> {
  const sourceDir = mkdtempSync(join(tmpdir(), 'cairn-bench-src-'));
  const server = await startLocalServer({ host: '127.0.0.1', port: 0, dataDir: sourceDir });
  const rows: string[] = [];
  try {
    for (const workload of WORKLOADS) {
      await fill(server.url, workload);
      const targetDir = mkdtempSync(join(tmpdir(), 'cairn-bench-dst-'));
      try {
        const imported = await importInto(server.url, workload.name, targetDir);
        const seconds = Number(/ in ([\d.]+) s\./.exec(imported)?.[1]);
        const again = await importInto(server.url, workload.name, targetDir);
        const secondsAgain = Number(/ in ([\d.]+) s\./.exec(again)?.[1]);
        const points = workload.runs * workload.keys * workload.points;
        const megabytes = (workload.runs * workload.files * workload.fileBytes) / 1024 / 1024;
        rows.push(
          `| ${workload.name} | ${workload.runs} | ${points.toLocaleString('en')} | ${megabytes.toFixed(0)} | ${seconds.toFixed(1)} | ` +
            `${(workload.runs / seconds).toFixed(1)} | ${Math.round(points / seconds).toLocaleString('en')} | ` +
            `${(megabytes / seconds).toFixed(1)} | ${secondsAgain.toFixed(1)} |`,
        );
        console.log(rows.at(-1));
      } finally {
        rmSync(targetDir, { recursive: true, force: true });
      }
    }
  } finally {
    await server.close();
    rmSync(sourceDir, { recursive: true, force: true });
  }
  console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}`);
  console.log('| workload | runs | points | MB | seconds | runs/s | points/s | MB/s | second import, s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

await main();

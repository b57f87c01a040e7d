/**
 * Artifact benchmarks: presign cost (CPU per URL, and a 10,000-part mpu/create through the handler's
 * domain code), and a 200 MB upload and download through presigned URLs against `cairn server` with
 * the bytes the API itself received (0 for multipart).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactService } from '../../shared/domain/artifacts/service.js';
import { S3ArtifactStore } from '../../shared/store/artifacts/artifact-store.js';
import { createS3Client } from '../../shared/store/clients.js';
import { startServerProcess } from './server-process.js';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIDEXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'secret';

export async function presignCost() {
  const store = new S3ArtifactStore(createS3Client({ region: 'us-east-1' }), 'bucket', 300);
  // Only CreateMultipartUpload would call S3: answer it locally, presigning is all local work.
  store.createMultipart = async () => 'upload-id';
  const runId = '0123456789abcdef0123456789abcdef';
  const run = { runId, experimentId: '1', lifecycleStage: 'active', artifactUri: 'x' } as const;
  const service = new ArtifactService(
    store,
    {
      get: async () => run,
      getLoggedModel: async () => undefined,
      getRunForWrite: async () => ({ ...run, sealedPaths: [] }),
      getLoggedModelForWrite: async () => undefined,
    },
    '',
  );
  for (let i = 0; i < 500; i++) await store.presignPart('1/run/artifacts/f', 'u', i + 1);
  const n = 5000;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await store.presignPart('1/run/artifacts/f', 'u', (i % 10_000) + 1);
  const cpu = process.cpuUsage(cpu0);
  // What mpu/create does per part, 10,000 times, and the most parts one answer can carry.
  const t0 = performance.now();
  const cpu1 = process.cpuUsage();
  const urls = await Promise.all(
    Array.from({ length: 10_000 }, (_, i) =>
      store.presignPart(`1/${runId}/artifacts/model/w.bin`, 'u'.repeat(64), i + 1),
    ),
  );
  const cpuCreate = process.cpuUsage(cpu1);
  const wall = performance.now() - t0;
  const perCredential = Buffer.byteLength(JSON.stringify(urls.at(-1))) + 60;
  const accepted = Math.floor((5 * 1024 * 1024) / perCredential);
  let refused = '';
  try {
    await service.createMultipart(`1/${runId}/artifacts/model`, '/tmp/weights.bin', 10_000);
  } catch (error) {
    refused = (error as Error).message.slice(0, 60);
  }
  return [
    {
      what: 'presign one UploadPart URL',
      'CPU ms per URL': ((cpu.user + cpu.system) / 1000 / n).toFixed(3),
    },
    {
      what: 'presign 10,000 part URLs (what mpu/create does per part)',
      'CPU ms per URL': ((cpuCreate.user + cpuCreate.system) / 1000 / 10_000).toFixed(3),
      'total wall ms': wall.toFixed(0),
    },
    {
      what: `most parts one mpu/create answer carries (static credentials; ${perCredential} B per part)`,
      'CPU ms per URL': '',
      'total wall ms': `${accepted} parts; 10,000 refused: ${refused ? 'yes' : 'NO'}`,
    },
  ];
}

function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return Number.NaN;
  }
}

export async function largeTransfers() {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const server = await startServerProcess(dataDir);
  const json = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  try {
    const experiment = (await json('POST', '/api/2.0/mlflow/experiments/create', { name: 'bench' })) as {
      experiment_id: string;
    };
    const run = (await json('POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: experiment.experiment_id,
    })) as {
      run: { info: { run_id: string } };
    };
    const root = `${experiment.experiment_id}/${run.run.info.run_id}/artifacts`;
    const bytes = new Uint8Array(randomBytes(200 * 1024 * 1024));
    const partSize = 10 * 1024 * 1024;
    const rssBefore = rssMb(server.pid);
    const t0 = performance.now();
    const created = (await json('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}`, {
      path: '/local/big.bin',
      num_parts: Math.ceil(bytes.length / partSize),
    })) as { upload_id: string; credentials: { url: string; part_number: number }[] };
    const parts: { part_number: number; etag: string }[] = [];
    for (let i = 0; i < created.credentials.length; i += 4) {
      parts.push(
        ...(await Promise.all(
          created.credentials.slice(i, i + 4).map(async (credential) => {
            const chunk = bytes.subarray(
              (credential.part_number - 1) * partSize,
              credential.part_number * partSize,
            );
            const response = await fetch(credential.url, { method: 'PUT', body: chunk });
            return { part_number: credential.part_number, etag: response.headers.get('etag') as string };
          }),
        )),
      );
    }
    await json('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${root}`, {
      path: '/local/big.bin',
      upload_id: created.upload_id,
      parts,
    });
    const upload = (performance.now() - t0) / 1000;
    const rssAfterUpload = rssMb(server.pid);
    const t1 = performance.now();
    const response = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/big.bin`);
    const downloaded = new Uint8Array(await response.arrayBuffer());
    const download = (performance.now() - t1) / 1000;
    const identical = Buffer.compare(Buffer.from(downloaded), Buffer.from(bytes)) === 0;
    return [
      {
        transfer: '200 MB upload, presigned multipart (10 MB parts, 4 at a time)',
        'MB/s': (200 / upload).toFixed(0),
        'server RSS MB before → after': `${rssBefore.toFixed(0)} → ${rssAfterUpload.toFixed(0)}`,
        'bytes identical': identical ? 'yes' : 'NO',
      },
      {
        transfer: '200 MB download, 307 to a presigned GET',
        'MB/s': (200 / download).toFixed(0),
        'server RSS MB before → after': `${rssAfterUpload.toFixed(0)} → ${rssMb(server.pid).toFixed(0)}`,
        'bytes identical': identical ? 'yes' : 'NO',
      },
    ];
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

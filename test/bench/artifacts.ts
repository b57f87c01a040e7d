/**
 * Artifact benchmarks: presign cost (CPU per URL, and a 10,000-part mpu/create through the handler's
 * domain code), and a 200 MB upload and download through presigned URLs against `cairn server` with
 * the bytes the API itself received (0 for multipart).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ArtifactService } from '../../shared/domain/artifacts/service.js';
import { S3ArtifactStore } from '../../shared/store/artifacts/artifact-store.js';
import { createS3Client } from '../../shared/store/s3-clients.js';
import { startServerProcess } from './server-process.js';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIDEXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'secret';

export async function presignCost() {
  const s3 = createS3Client({ region: 'us-east-1' });
  const store = new S3ArtifactStore(s3, 'bucket', 300);
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
  const key = '1/run/artifacts/f';
  const parts = (count: number) => Array.from({ length: count }, (_, i) => (i % 10_000) + 1);
  const signOneByOne = (count: number) =>
    Promise.all(
      parts(count).map((PartNumber) =>
        getSignedUrl(s3, new UploadPartCommand({ Bucket: 'bucket', Key: key, UploadId: 'u', PartNumber }), {
          expiresIn: 3600,
        }),
      ),
    );
  await signOneByOne(500);
  await store.presignParts(key, 'u', parts(500));
  const n = 5000;
  const cpuBefore = process.cpuUsage();
  const tBefore = performance.now();
  await signOneByOne(n);
  const wallBefore = performance.now() - tBefore;
  const cpuOld = process.cpuUsage(cpuBefore);
  const cpu0 = process.cpuUsage();
  const t1 = performance.now();
  await store.presignParts(key, 'u', parts(n));
  const wallNow = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  // What mpu/create does: every part of a 10,000-part upload, and the most parts one answer can carry.
  const t0 = performance.now();
  const cpu1 = process.cpuUsage();
  const urls = await store.presignParts(`1/${runId}/artifacts/model/w.bin`, 'u'.repeat(64), parts(10_000));
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
      what: `presign ${n} UploadPart URLs one by one with getSignedUrl (before issue 11)`,
      'CPU ms per URL': ((cpuOld.user + cpuOld.system) / 1000 / n).toFixed(3),
      'total wall ms': wallBefore.toFixed(0),
    },
    {
      what: `presign ${n} UploadPart URLs with presignParts (one request built, one presigner)`,
      'CPU ms per URL': ((cpu.user + cpu.system) / 1000 / n).toFixed(3),
      'total wall ms': wallNow.toFixed(0),
    },
    {
      what: 'presign 10,000 part URLs (what mpu/create does)',
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

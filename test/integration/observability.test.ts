/**
 * What the functions write to stdout/stderr while serving real requests over HTTP (the local server on
 * dynalite and s3rver, in this process): one JSON line per request with the agreed fields, EMF metrics
 * under the agreed names and dimensions, and nothing that grants access — no token, no Authorization
 * header, no presigned URL or signature, no secret key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../local/stand-ins.js';
import { Api } from '../helpers/http.js';
import { type CapturedOutput, captureOutput } from '../helpers/output.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'cairn-test-token-0f6b8e0d9c1a4e7b';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

let server: TestServer;
let api: Api;
let output: CapturedOutput;
let presignedUrl = '';
let downloadLocation = '';

interface LogLine {
  level?: string;
  message?: string;
  service?: string;
  requestId?: string;
  route?: string;
  status?: number;
  durationMs?: number;
  errorCode?: string;
  principal?: string;
  _aws?: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [field: string]: unknown;
}

function lines(): LogLine[] {
  return output.jsonLines() as LogLine[];
}

const requestLines = () => lines().filter((line) => line.message === 'request');
const emf = (name: string) =>
  lines().filter((line) => line._aws?.CloudWatchMetrics[0]?.Metrics.some((metric) => metric.Name === name));

beforeAll(async () => {
  // The per-request line is INFO and metrics are off outside Lambda; this file asks for both.
  process.env.CAIRN_LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  server = await startTestServer();
  api = new Api(server.url);
  output = captureOutput();

  const auth = { authorization: `Bearer ${TOKEN}` };
  const experimentId = (
    await api.request<{ experiment_id: string }>('POST', '/api/2.0/mlflow/experiments/create', {
      json: { name: 'observed' },
      headers: auth,
    })
  ).body.experiment_id;
  const runId = (
    await api.post<{ run: { info: { run_id: string } } }>('runs/create', { experiment_id: experimentId })
  ).body.run.info.run_id;
  await api.post('runs/log-batch', {
    run_id: runId,
    metrics: [0, 1, 2].map((step) => ({ key: 'loss', value: 1 / (step + 1), timestamp: 1, step })),
  });
  const presigned = await api.request<{ presigned_url: string }>(
    'POST',
    '/api/2.0/mlflow/artifacts/presigned-upload-url',
    { json: { run_id: runId, path: 'model.bin' }, headers: auth },
  );
  presignedUrl = presigned.body.presigned_url;
  await fetch(`${server.url}${ARTIFACTS}/${experimentId}/${runId}/artifacts/a.txt`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain', ...auth },
    body: 'hello',
  });
  const download = await fetch(
    `${server.url}${ARTIFACTS}/${experimentId}/${runId}/artifacts/a.txt?token=${TOKEN}`,
    { redirect: 'manual', headers: auth },
  );
  downloadLocation = download.headers.get('location') ?? '';
  await api.get('experiments/get', { experiment_id: '987654' });
});

// biome-ignore lint/correctness/noEmptyPattern: vitest reads hook fixtures from a destructuring pattern; none are needed
afterAll(async ({}, suite) => {
  // What the functions logged is held back unless one of this file's tests failed.
  output?.restore(suite.tasks.some((task) => task.result?.state === 'fail'));
  delete process.env.CAIRN_LOG_LEVEL;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  await server?.close();
});

describe('request log lines', () => {
  it('writes one line per request with request id, route, status and duration', () => {
    const logged = requestLines();
    expect(logged.map((line) => line.route)).toEqual([
      'POST /api/2.0/mlflow/experiments/create',
      'POST /api/2.0/mlflow/runs/create',
      'POST /api/2.0/mlflow/runs/log-batch',
      'POST /api/2.0/mlflow/artifacts/presigned-upload-url',
      'PUT /api/2.0/mlflow-artifacts/artifacts/{path+}',
      'GET /api/2.0/mlflow-artifacts/artifacts/{path+}',
      'GET /api/2.0/mlflow/experiments/get',
    ]);
    expect(logged.map((line) => line.status)).toEqual([200, 200, 200, 200, 200, 307, 404]);
    for (const line of logged) {
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
      expect(line.service).toMatch(/^cairn-(tracking|artifacts)$/);
      // No principal without an authorizer (local mode without auth).
      expect(line).not.toHaveProperty('principal');
    }
    expect(logged.at(-1)).toMatchObject({ level: 'INFO', errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect(logged.slice(0, -1).every((line) => line.errorCode === undefined)).toBe(true);
  });

  it('never writes the token, the Authorization header, a presigned URL or its signature', () => {
    const text = output.written.join('');
    expect(presignedUrl).toContain('X-Amz-Signature=');
    expect(downloadLocation).toContain('X-Amz-Signature=');
    for (const secret of [
      TOKEN,
      'Bearer',
      'authorization',
      presignedUrl,
      new URL(presignedUrl).search,
      downloadLocation,
      'X-Amz-Signature',
      'X-Amz-Credential',
      LOCAL_CREDENTIALS.secretAccessKey,
      process.env.AWS_SECRET_ACCESS_KEY as string,
    ]) {
      expect(text.toLowerCase()).not.toContain(secret.toLowerCase());
    }
  });
});

describe('EMF metrics', () => {
  it('counts requests by route, and errors by route and error code, with no other dimension', () => {
    const requests = emf('Requests');
    expect(requests).toHaveLength(7);
    for (const line of requests) {
      expect(line._aws?.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Cairn', Dimensions: [['route']] });
    }
    const errors = emf('Errors');
    expect(errors).toHaveLength(1);
    expect(errors[0]?._aws?.CloudWatchMetrics[0]?.Dimensions).toEqual([['route', 'errorCode']]);
    expect(errors[0]).toMatchObject({
      route: 'GET /api/2.0/mlflow/experiments/get',
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
      Errors: 1,
    });
  });

  it('counts metric points ingested and URLs presigned', () => {
    const points = emf('MetricPointsIngested');
    expect(points.map((line) => line.MetricPointsIngested)).toEqual([3]);
    expect(points[0]?._aws?.CloudWatchMetrics[0]?.Dimensions).toEqual([]);
    // presigned-upload-url, then the download's 307 to a presigned GET.
    expect(emf('UrlsPresigned').map((line) => line.UrlsPresigned)).toEqual([1, 1]);
  });
});

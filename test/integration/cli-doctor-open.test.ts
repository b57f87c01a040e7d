/**
 * `cairn doctor --url` as a user runs it, against the local server without auth (as `npm start` runs it):
 * every check passes but the token check, which is skipped, and the table lists every step in order.
 * Then through a pass-through proxy that fails the multipart create, as a broken deployment would: that
 * step fails with the server-side fix, the steps that do not need it still run, and the cleanup still
 * deletes what was made.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CairnCli } from '../helpers/cli.js';
import { DOCTOR_STEPS, doctorSteps } from '../helpers/doctor.js';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const cli = new CairnCli();
let server: TestServer;
let proxy: Server;
let proxyUrl: string;

beforeAll(async () => {
  server = await startTestServer();
  const upstream = new URL(server.url);
  // The Host header goes through unchanged, so presigned URLs point back at the proxy and verify there.
  proxy = createServer((req, res) => {
    if (req.url?.includes('/mlflow-artifacts/mpu/create/')) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"injected by the test"}');
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  cli.killAll();
  await new Promise((resolve) => proxy?.close(resolve));
  await server?.close();
});

it('passes every check on a server without auth, skipping only the token check', async () => {
  // A trailing slash, as a URL copied from a browser has.
  const result = await cli.run(['doctor', '--url', `${server.url}/`]);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const table = doctorSteps(result.stdout);
  expect([...table.keys()]).toEqual(DOCTOR_STEPS);
  for (const [name, step] of table) {
    expect(step.mark, step.line).toBe(name === 'refuses requests without a token' ? '-' : '✓');
  }
  expect(table.get('download through the 307')?.line).toContain('2 files, bytes equal');
  expect(table.get('multipart upload')?.line).toContain('in 2 parts');
  expect(result.stdout).toContain('All checks passed.');
}, 120_000);

it('after a failed step, still runs what does not depend on it and cleans up what it made', async () => {
  const result = await cli.run(['doctor', '--url', proxyUrl]);
  expect(result.code, result.stdout + result.stderr).toBe(1);
  const table = doctorSteps(result.stdout);
  const multipart = table.get('multipart upload');
  expect(multipart?.mark).toBe('✗');
  expect(multipart?.line).toContain('503');
  expect(multipart?.fix).toContain('The server failed');
  expect(table.get('download through the 307')?.line).toContain('1 file, bytes equal');
  expect(table.get('registry: model, version, alias')?.mark).toBe('✓');
  expect(table.get('cleanup')?.mark).toBe('✓');
  expect(result.stdout).toContain('1 check failed.');

  const api = new Api(server.url);
  const experiments = await api.get<{ experiments?: { name: string; lifecycle_stage: string }[] }>(
    'experiments/search',
    { max_results: 100, view_type: 'ALL' },
  );
  const made = (experiments.body.experiments ?? []).filter((e) => e.name.startsWith('cairn-doctor-'));
  // This test's and the previous one's: both deleted.
  expect(made.map((e) => e.lifecycle_stage)).toEqual(['deleted', 'deleted']);
  const models = await api.get<{ registered_models?: unknown[] }>('registered-models/search', {
    filter: "name LIKE 'cairn-doctor-%'",
  });
  expect(models.body.registered_models ?? []).toEqual([]);
}, 120_000);

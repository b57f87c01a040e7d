/**
 * Issue 11, item 3: DNS rebinding on the default no-auth server. A page whose name was rebound to
 * 127.0.0.1 sent `Host: attacker.rebind.example:PORT` and read and wrote data. The front now answers
 * only the Host names it was given, refuses state-changing requests from other origins, sends nosniff on
 * every answer and never a CORS header. Over real HTTP, with the Host and Origin a browser would send.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer } from '../../local/server.js';
import { Api, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let port: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  port = new URL(server.url).port;
  expect((await api.post('experiments/create', { name: 'existing' })).status).toBe(200);
});
afterAll(async () => {
  await server?.close();
});

const search = (headers: Record<string, string>) =>
  rawRequest(server.url, 'POST', '/api/2.0/mlflow/experiments/search', {
    json: { max_results: 10 },
    headers,
  });
const create = (name: string, headers: Record<string, string>) =>
  rawRequest(server.url, 'POST', '/api/2.0/mlflow/experiments/create', { json: { name }, headers });

async function experimentNames(): Promise<string[]> {
  const response = await api.post<{ experiments?: { name: string }[] }>('experiments/search', {
    max_results: 100,
  });
  return (response.body.experiments ?? []).map((experiment) => experiment.name);
}

describe('Host allowlist', () => {
  it('refuses a rebound Host on reads, writes, health and presigned paths, changing nothing', async () => {
    for (const host of [
      `attacker.rebind.example:${port}`,
      'attacker.rebind.example',
      `127.0.0.1.attacker.example:${port}`,
      `localhost.attacker.example:${port}`,
      `user@localhost:${port}`,
    ]) {
      const read = await search({ host });
      expect(read.status, host).toBe(403);
      expect(read.body.error_code, host).toBe('PERMISSION_DENIED');
      expect(read.text).not.toContain('existing');
      const write = await create(`rebound ${host}`, { host });
      expect(write.status, host).toBe(403);
      expect((await rawRequest(server.url, 'GET', '/health', { headers: { host } })).status, host).toBe(403);
      expect(
        (await rawRequest(server.url, 'GET', '/_cairn/s3/cairn-artifacts/x', { headers: { host } })).status,
        host,
      ).toBe(403);
    }
    expect((await experimentNames()).filter((name) => name.startsWith('rebound'))).toEqual([]);
  });

  it('answers the loopback names, with or without the port', async () => {
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      'localhost',
      'LOCALHOST.',
    ]) {
      const response = await search({ host });
      expect(response.status, host).toBe(200);
    }
  });

  it('answers names given with --allowed-hosts, and still refuses others', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-hosts-'));
    const other = await startLocalServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      allowedHosts: ['cairn.internal', 'Build-Box:8080'],
    });
    try {
      const otherPort = new URL(other.url).port;
      for (const host of [`cairn.internal:${otherPort}`, `build-box:${otherPort}`]) {
        expect((await rawRequest(other.url, 'GET', '/health', { headers: { host } })).status, host).toBe(200);
      }
      const refused = await rawRequest(other.url, 'GET', '/health', {
        headers: { host: `attacker.rebind.example:${otherPort}` },
      });
      expect(refused.status).toBe(403);
    } finally {
      await other.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Origin check on state-changing requests', () => {
  it('refuses a write from another origin, or from this name on another port or scheme', async () => {
    for (const origin of [
      'http://evil.example',
      `http://attacker.rebind.example:${port}`,
      'http://localhost',
      `http://localhost:${Number(port) + 1}`,
      `https://localhost:${port}`,
      'null',
    ]) {
      const response = await create(`cross ${origin}`, { host: `localhost:${port}`, origin });
      expect(response.status, origin).toBe(403);
      expect(response.body.error_code, origin).toBe('PERMISSION_DENIED');
    }
    expect((await experimentNames()).filter((name) => name.startsWith('cross'))).toEqual([]);
  });

  it('accepts a write with no Origin (non-browser clients) or this server’s own', async () => {
    expect((await create('no origin', { host: `localhost:${port}` })).status).toBe(200);
    for (const [i, origin] of [`http://localhost:${port}`, `http://127.0.0.1:${port}`].entries()) {
      const response = await create(`same origin ${i}`, { host: `127.0.0.1:${port}`, origin });
      expect(response.status, origin).toBe(200);
    }
  });

  it('lets reads carry a foreign Origin: without CORS headers the page cannot read the answer', async () => {
    const response = await rawRequest(server.url, 'GET', '/api/2.0/mlflow/experiments/search?max_results=1', {
      headers: { host: `localhost:${port}`, origin: 'http://evil.example' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('headers on every answer', () => {
  it('sends nosniff and never a CORS header: success, refusal, unknown route, preflight', async () => {
    const host = `localhost:${port}`;
    const answers = [
      await search({ host }),
      await search({ host: 'attacker.rebind.example' }),
      await create('x', { host, origin: 'http://evil.example' }),
      await rawRequest(server.url, 'GET', '/no/such/route', { headers: { host } }),
      await rawRequest(server.url, 'OPTIONS', '/api/2.0/mlflow/experiments/create', {
        headers: { host, origin: 'http://evil.example', 'access-control-request-method': 'POST' },
      }),
      await rawRequest(server.url, 'OPTIONS', '/_cairn/s3/cairn-artifacts/x', {
        headers: { host, origin: 'http://evil.example', 'access-control-request-method': 'PUT' },
      }),
      await rawRequest(server.url, 'GET', '/_cairn/s3/cairn-artifacts/x', { headers: { host } }),
    ];
    for (const answer of answers) {
      expect(answer.headers.get('x-content-type-options'), answer.text).toBe('nosniff');
      for (const name of answer.headers.keys()) expect(name).not.toMatch(/^access-control-/);
    }
  });
});

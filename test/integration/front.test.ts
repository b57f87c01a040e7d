/**
 * The local API Gateway front on its own, with stand-in handlers: the event it builds, the limits it
 * enforces (6 MB payload → 413, 30 s timeout → 504) and how it writes results back. The deadline once
 * more through the real server and handler, whose middy stack answers before the front does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createFront, type LambdaHandler } from '../../local/front.js';
import { startLocalServer } from '../../local/server.js';
import { startDynalite } from '../../local/stand-ins.js';
import type { HttpResult } from '../../shared/api/http.js';
import { Api } from '../helpers/http.js';
import { captureOutput } from '../helpers/output.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(
  handler: LambdaHandler,
  options: { timeoutMs?: number; payloadLimitBytes?: number } = {},
) {
  const front = createFront({
    handlers: { tracking: handler, artifacts: handler, registry: handler, ui: handler, traces: handler },
    ...options,
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  close = () =>
    new Promise((resolve) => {
      front.close(() => resolve());
      front.closeAllConnections();
    });
  return `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
}

function recorder() {
  const events: APIGatewayProxyEventV2[] = [];
  const handler: LambdaHandler = async (event) => {
    events.push(event);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
  };
  return { events, handler };
}

describe('event building', () => {
  it('builds a payload v2 event with the route key, raw query string and lower-cased headers', async () => {
    const { events, handler } = recorder();
    const url = await serve(handler);
    await fetch(
      `${url}/api/2.0/mlflow/experiments/search?order_by=name&order_by=experiment_id&view_type=ALL`,
      {
        headers: { 'X-MLflow-Client-Version': '3.11.2' },
      },
    );
    const event = events[0] as APIGatewayProxyEventV2;
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('GET /api/2.0/mlflow/experiments/search');
    expect(event.requestContext.routeKey).toBe(event.routeKey);
    expect(event.rawPath).toBe('/api/2.0/mlflow/experiments/search');
    expect(event.rawQueryString).toBe('order_by=name&order_by=experiment_id&view_type=ALL');
    expect(event.queryStringParameters).toEqual({ order_by: 'name,experiment_id', view_type: 'ALL' });
    expect(event.headers['x-mlflow-client-version']).toBe('3.11.2');
    expect(event.requestContext.http.method).toBe('GET');
    expect(event.body).toBeUndefined();
  });

  it('sends unknown routes to $default', async () => {
    const { events, handler } = recorder();
    const url = await serve(handler);
    await fetch(`${url}/nowhere`, { method: 'PATCH' });
    expect(events[0]?.routeKey).toBe('$default');
  });

  it('passes JSON as text and binary bodies base64-encoded, as API Gateway does', async () => {
    const { events, handler } = recorder();
    const url = await serve(handler);
    await fetch(`${url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"ü"}',
    });
    const bytes = new Uint8Array([0, 255, 1, 254]);
    await fetch(`${url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(events[0]).toMatchObject({ isBase64Encoded: false, body: '{"name":"ü"}' });
    expect(events[1]?.isBase64Encoded).toBe(true);
    expect(Buffer.from(events[1]?.body ?? '', 'base64')).toEqual(Buffer.from(bytes));
  });
});

describe('limits', () => {
  it('answers a body over the payload limit with 413 JSON without invoking the handler', async () => {
    const { events, handler } = recorder();
    const url = await serve(handler);
    const body = 'x'.repeat(7 * 1024 * 1024);
    const response = await fetch(`${url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(413);
    const json = (await response.json()) as Record<string, string>;
    expect(json.error_code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(json.message).toContain(String(body.length));
    expect(events).toHaveLength(0);
  });

  it('counts the encoded event, so a binary body that grows past the limit in base64 is refused', async () => {
    const { events, handler } = recorder();
    const url = await serve(handler, { payloadLimitBytes: 1000 });
    const response = await fetch(`${url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(900),
    });
    expect(response.status).toBe(413);
    expect(events).toHaveLength(0);
  });

  it('answers 504 DEADLINE_EXCEEDED JSON when the handler outlives the integration timeout', async () => {
    const slow: LambdaHandler = () => new Promise<HttpResult>(() => undefined);
    const url = await serve(slow, { timeoutMs: 200 });
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(504);
    expect(((await response.json()) as Record<string, string>).error_code).toBe('DEADLINE_EXCEEDED');
  });

  it('answers 500 with a generic message when a handler throws, hiding the cause', async () => {
    const broken: LambdaHandler = async () => {
      throw new Error('secret internals');
    };
    const url = await serve(broken);
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text).error_code).toBe('INTERNAL_ERROR');
  });
});

describe('results', () => {
  it('writes status, headers and base64 bodies back as bytes', async () => {
    const handler: LambdaHandler = async () => ({
      statusCode: 201,
      headers: { 'content-type': 'application/octet-stream', 'x-extra': 'yes' },
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    });
    const url = await serve(handler);
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-extra')).toBe('yes');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });
});

/**
 * A TCP relay to `upstream` that, once `hang()` is called, swallows what clients send: every DynamoDB
 * call made after that waits forever, as on a stuck connection.
 */
async function hangingRelay(upstream: URL) {
  let hanging = false;
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const server = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(server);
    client.on('data', (chunk) => {
      if (!hanging) server.write(chunk);
    });
    server.pipe(client);
    for (const socket of [client, server]) socket.on('error', () => undefined);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    hang: () => {
      hanging = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        relay.close(() => resolve());
      }),
  };
}

describe('a hung operation behind the real handler', () => {
  it('answers 504 DEADLINE_EXCEEDED JSON, not a 500', async () => {
    const dynalite = await startDynalite(undefined);
    const relay = await hangingRelay(new URL(dynalite.endpoint));
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-deadline-'));
    const server = await startLocalServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      dynamodbEndpoint: relay.endpoint,
      timeoutMs: 1000,
    });
    close = async () => {
      await server.close();
      await relay.close();
      await dynalite.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
    const api = new Api(server.url);
    expect((await api.post('experiments/create', { name: 'before' })).status).toBe(200);
    relay.hang();
    const output = captureOutput();
    let passed = false;
    try {
      const response = await api.post('experiments/create', { name: 'stuck' });
      expect(response.status).toBe(504);
      expect(response.body).toMatchObject({ error_code: 'DEADLINE_EXCEEDED' });
      expect(typeof response.body.message).toBe('string');
      // The function's own log line says what the client got, not an internal failure with a stack.
      const logged = output.jsonLines().filter((line) => line.message === 'request');
      expect(logged).toMatchObject([{ status: 504, errorCode: 'DEADLINE_EXCEEDED' }]);
      expect(logged[0]).not.toHaveProperty('error');
      passed = true;
    } finally {
      output.restore(!passed);
    }
  });
});

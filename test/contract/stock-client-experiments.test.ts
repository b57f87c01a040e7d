/**
 * Replays the stock MLflow client's experiment traffic (mlflow-wire-traces.md) byte for byte against the
 * local server, and checks every response the way the client parses it: protobuf ParseDict into the
 * response message (field names and JSON types), or `RestException(error_code)` for errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXTRA_EXPERIMENT,
  type RecordedRequest,
  SET_EXPERIMENT_FIRST_TIME,
  STOCK_CLIENT_HEADERS,
} from '../fixtures/stock-client-experiments.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/** The Experiment message as protobuf's JSON parser would accept it. */
function expectExperimentMessage(value: unknown): void {
  expect(value).toEqual({
    experiment_id: expect.stringMatching(/^\d+$/),
    name: expect.any(String),
    artifact_location: expect.stringMatching(/^mlflow-artifacts:\/\d+$/),
    lifecycle_stage: expect.stringMatching(/^(active|deleted)$/),
    last_update_time: expect.any(Number),
    creation_time: expect.any(Number),
    ...((value as { tags?: unknown }).tags === undefined
      ? {}
      : { tags: expect.arrayContaining([{ key: expect.any(String), value: expect.any(String) }]) }),
  });
  for (const field of ['last_update_time', 'creation_time'] as const) {
    expect(Number.isSafeInteger((value as Record<string, number>)[field])).toBe(true);
  }
}

async function replay(request: RecordedRequest, id: string | undefined) {
  const path = request.path.replace('{id}', id ?? '');
  const response = await fetch(`${server.url}${path}`, {
    method: request.method,
    headers: {
      ...STOCK_CLIENT_HEADERS,
      ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: request.body?.replace('{id}', id ?? ''),
  });
  const text = await response.text();
  expect(response.status, `${request.what}: ${text}`).toBe(request.status);
  expect(response.headers.get('content-type'), request.what).toContain('application/json');
  const body = JSON.parse(text) as Record<string, unknown>;
  switch (request.response) {
    case 'error':
      expect(body.error_code, request.what).toBe(request.errorCode);
      expect(typeof body.message).toBe('string');
      break;
    case 'experiment_id':
      expect(body).toEqual({ experiment_id: expect.stringMatching(/^\d+$/) });
      return body.experiment_id as string;
    case 'experiment':
      expect(Object.keys(body)).toEqual(['experiment']);
      expectExperimentMessage(body.experiment);
      break;
    case 'experiments':
      expect(Object.keys(body).every((key) => key === 'experiments' || key === 'next_page_token')).toBe(true);
      for (const experiment of body.experiments as unknown[]) expectExperimentMessage(experiment);
      if (body.next_page_token !== undefined) expect(typeof body.next_page_token).toBe('string');
      break;
    case 'empty':
      expect(body).toEqual({});
      break;
  }
  return body;
}

async function replayAll(requests: RecordedRequest[]) {
  let id: string | undefined;
  const bodies: unknown[] = [];
  for (const request of requests) {
    const result = await replay(request, id);
    if (typeof result === 'string') id = result;
    bodies.push(result);
  }
  return { id, bodies };
}

describe('stock client: set_experiment, search_experiments', () => {
  it('answers each recorded request as the client expects', async () => {
    const { id, bodies } = await replayAll(SET_EXPERIMENT_FIRST_TIME);
    expect((bodies[2] as { experiment: { name: string } }).experiment.name).toBe('compat-demo');
    expect((bodies[3] as { experiment: { experiment_id: string } }).experiment.experiment_id).toBe(id);
    const listed = (bodies[4] as { experiments: { name: string }[] }).experiments.map((e) => e.name);
    expect(listed).toEqual(['compat-demo', 'Default']);
  });

  it('answers a racing create with RESOURCE_ALREADY_EXISTS, on which the client re-reads by name', async () => {
    const response = await fetch(`${server.url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { ...STOCK_CLIENT_HEADERS, 'Content-Type': 'application/json' },
      body: '{"name": "compat-demo"}',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error_code: string }).error_code).toBe('RESOURCE_ALREADY_EXISTS');
  });
});

describe('stock client: tags, paging, delete and restore', () => {
  it('answers each recorded request as the client expects', async () => {
    const { id, bodies } = await replayAll(EXTRA_EXPERIMENT);
    const page = bodies[2] as { experiments: { experiment_id: string }[]; next_page_token?: string };
    expect(page.experiments).toHaveLength(1);
    expect(page.experiments[0]?.experiment_id).toBe(id);
    expect(page.next_page_token).toBeDefined();

    // The client follows next_page_token with the same request plus the token.
    const next = await fetch(`${server.url}/api/2.0/mlflow/experiments/search`, {
      method: 'POST',
      headers: { ...STOCK_CLIENT_HEADERS, 'Content-Type': 'application/json' },
      body: `{"max_results": 1, "view_type": "ACTIVE_ONLY", "page_token": "${page.next_page_token}"}`,
    });
    const nextBody = (await next.json()) as { experiments: { experiment_id: string }[] };
    expect(next.status).toBe(200);
    expect(nextBody.experiments[0]?.experiment_id).not.toBe(id);

    const experiment = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=${id}`, {
      headers: STOCK_CLIENT_HEADERS,
    });
    const json = (await experiment.json()) as { experiment: { tags: unknown[]; lifecycle_stage: string } };
    expect(json.experiment.lifecycle_stage).toBe('active');
    expect(json.experiment.tags).toEqual(
      expect.arrayContaining([
        { key: 'k', value: 'v' },
        { key: 'k2', value: 'v2' },
      ]),
    );
  });
});

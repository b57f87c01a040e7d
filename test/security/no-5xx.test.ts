/**
 * "5xx never answered to bad input" (issue 11, "Tests and done when"): every route of the route table,
 * under each mount, gets malformed bodies, fields of the wrong type, hostile query strings and path
 * values; each answer is a 2xx or a 4xx MLflow error, never a 5xx (which the stock client retries seven
 * times). Generated from the table, so a new route is covered without touching this file. Deeply nested
 * JSON and `d:`-prefixed artifact paths are other engineers' fixes (issue 11 items 6 and 7), left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type Route } from '../../shared/api/routes.js';
import { type ApiResponse, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const BODIES = [
  'not json',
  '{"unterminated": ',
  '[]',
  'null',
  '"a string"',
  '12',
  '{"__proto__": {"polluted": true}, "constructor": {"prototype": {}}}',
  // Numbers JSON can spell and a double cannot hold.
  '{"step": 1e309, "timestamp": -1e400, "max_results": 1e309, "value": 1e309, "num_parts": 1e309}',
  JSON.stringify({
    name: 1,
    experiment_id: [],
    experiment_ids: 'x',
    run_id: {},
    run_uuid: 5,
    key: null,
    value: true,
    tags: 'x',
    params: [1],
    metrics: [{ key: [] }],
    max_results: -1,
    page_token: 'garbage',
    filter: '((',
    filter_string: 'x = ',
    order_by: ['x DESC DESC'],
    timestamp: 'NaN',
    version: '1e400',
    stage: 7,
    alias: {},
    source: 123,
    path: ['a'],
    num_parts: 'many',
    upload_id: 1,
    parts: {},
    status: 'NOT_A_STATUS',
    model_id: '../x',
    condition: [],
    expiration: 1e20,
  }),
  JSON.stringify({
    experiment_id: '9'.repeat(40),
    run_id: '\u0000',
    name: '\ud800',
    max_results: 1e12,
    page_token: '%ff%fe',
    version: '-1',
    path: '\u0000',
  }),
];

const QUERIES = [
  'max_results=abc&page_token=%ff&filter=((&experiment_ids=x&run_id=%00',
  'name=%ed%a0%80&version=99999999999999999999999&alias=%00',
  'experiment_id=-1&run_uuid=..%2f..&path=%252e%252e&artifact_directory_path=%c0%ae',
  'max_results=1e999&order_by=x%20DESC%20DESC&view_type=NOPE&stages=Bogus',
];

/** The route's path with each parameter set to `value`. */
function withParams(route: Route, value: string, greedy: string): string {
  return route.fullPath.replace('{path+}', greedy).replace(/\{[a-z_]+\}/g, value);
}

function paths(route: Route): string[] {
  if (!route.fullPath.includes('{')) return [route.fullPath];
  return [
    withParams(route, 'm-zz', 'x'),
    withParams(route, '%00', '0/%00/artifacts/x'),
    withParams(route, '..', '0/abc/artifacts/%ff'),
    withParams(route, `m-${'0'.repeat(32)}`, `0/${'0'.repeat(32)}/artifacts/${'a'.repeat(300)}`),
    withParams(route, 'x'.repeat(2000), `${'9'.repeat(30)}/models/m-${'0'.repeat(32)}/artifacts/x`),
  ];
}

function expectNo5xx(answer: ApiResponse, label: string) {
  const shown = `${label} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, shown).toBeLessThan(500);
  if (answer.status >= 400 && answer.status !== 413) {
    expect(answer.body.error_code, shown).toMatch(/^[A-Z_]+$/);
  }
}

async function inBatches(requests: [string, () => Promise<ApiResponse>][]): Promise<void> {
  for (let start = 0; start < requests.length; start += 10) {
    await Promise.all(
      requests.slice(start, start + 10).map(async ([label, send]) => expectNo5xx(await send(), label)),
    );
  }
}

describe('bad input on every route', () => {
  it('gets a 4xx MLflow error, never a 5xx, for malformed and mistyped bodies', async () => {
    const requests = ROUTES.filter((route) => route.method !== 'GET').flatMap((route) =>
      paths(route).flatMap((path) =>
        BODIES.map((body): [string, () => Promise<ApiResponse>] => [
          `${route.method} ${path} ${body.slice(0, 40)}`,
          () =>
            rawRequest(server.url, route.method, path, {
              body,
              headers: { 'content-type': 'application/json' },
            }),
        ]),
      ),
    );
    expect(requests.length).toBeGreaterThan(500);
    await inBatches(requests);
  });

  it('gets a 4xx MLflow error, never a 5xx, for hostile query strings and path values', async () => {
    const requests = ROUTES.flatMap((route) =>
      paths(route).flatMap((path) =>
        QUERIES.map((query): [string, () => Promise<ApiResponse>] => [
          `${route.method} ${path}?${query}`,
          () => rawRequest(server.url, route.method, `${path}?${query}`),
        ]),
      ),
    );
    await inBatches(requests);
  });
});

/** Bad requests through the whole stack: each gets a 4xx MLflow error and changes nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

async function experimentNames(): Promise<string[]> {
  const response = await api.post<{ experiments?: { name: string }[] }>('experiments/search', {
    view_type: 'ALL',
  });
  return (response.body.experiments ?? []).map((experiment) => experiment.name).sort();
}

const create = (body: string, contentType?: string) =>
  api.request('POST', '/api/2.0/mlflow/experiments/create', {
    body,
    headers: contentType ? { 'content-type': contentType } : {},
  });

describe('bad input', () => {
  it('refuses each malformed request with a 4xx MLflow error and writes nothing', async () => {
    const before = await experimentNames();
    const cases: [string, Awaited<ReturnType<typeof create>>, number][] = [
      ['malformed JSON', await create('{"name": "half', 'application/json'), 400],
      ['wrong content type', await create('{"name":"typed"}', 'text/plain'), 400],
      ['no content type', await create('{"name":"untyped"}'), 400],
      ['JSON array', await create('[{"name":"array"}]', 'application/json'), 400],
      ['name as number', await create('{"name": 42}', 'application/json'), 400],
      ['name as list', await create('{"name": ["a"]}', 'application/json'), 400],
      ['tags as object', await create('{"name": "t", "tags": {"k": "v"}}', 'application/json'), 400],
      [
        'tag value as number',
        await create('{"name": "t", "tags": [{"key": "k", "value": 1}]}', 'application/json'),
        400,
      ],
      ['over-long name', await create(JSON.stringify({ name: 'x'.repeat(501) }), 'application/json'), 400],
      [
        '7 MB body',
        await create(JSON.stringify({ name: 'big', pad: 'x'.repeat(7 * 1024 * 1024) }), 'application/json'),
        413,
      ],
    ];
    for (const [what, response, status] of cases) {
      expect(response.status, what).toBe(status);
      expect(response.headers.get('content-type'), what).toContain('application/json');
      expect(typeof response.body.error_code, what).toBe('string');
      expect(typeof response.body.message, what).toBe('string');
    }
    expect(await experimentNames()).toEqual(before);
  });

  it('names the offending field in type errors', async () => {
    const response = await create('{"name": 42}', 'application/json');
    expect(response.body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        "Invalid value 42 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters.",
    });
    const search = await api.get('experiments/search', { max_results: 'lots' });
    expect(search.status).toBe(400);
    expect(search.body.message).toContain("'max_results'");
    const view = await api.post('experiments/search', { view_type: 'SOMETIMES' });
    expect(view.status).toBe(400);
    expect(view.body.message).toContain("'view_type'");
  });

  it('accepts int64 fields as JSON strings and enums as numbers, as protobuf JSON allows', async () => {
    const response = await api.post('experiments/search', { max_results: '5', view_type: 3 });
    expect(response.status).toBe(200);
  });
});

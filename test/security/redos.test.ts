/**
 * Issue 11, item 1: LIKE/ILIKE patterns that made the old RegExp backtrack for seconds, sent to every
 * search over HTTP. A vulnerable matcher holds the request (and the whole local process) past the test
 * timeout; a linear one answers at once. The work bound itself is unit-tested beside `compileLike`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
const long = 'a'.repeat(250);
const manyPercents = `${'%'.repeat(40)}x`;
const manySegments = `${'%a'.repeat(20)}%b`;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const experiment = await api.post<{ experiment_id: string }>('experiments/create', { name: long });
  const experimentId = experiment.body.experiment_id;
  for (let i = 0; i < 2; i++) {
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      tags: [{ key: 'long', value: long }],
    });
    expect(run.status).toBe(200);
  }
  expect((await api.post('registered-models/create', { name: long })).status).toBe(200);
  const model = await api.request('POST', '/api/2.0/mlflow/logged-models', {
    json: { experiment_id: experimentId, name: long },
  });
  expect(model.status, model.text).toBe(200);
});
afterAll(async () => {
  await server?.close();
});

describe('LIKE and ILIKE cannot stall the server', () => {
  for (const pattern of [manyPercents, manySegments]) {
    for (const op of ['LIKE', 'ILIKE']) {
      it(`answers ${op} '${pattern.slice(0, 12)}…' on all five searches, and /health meanwhile`, async () => {
        const searches = await Promise.all([
          api.post('experiments/search', { filter: `name ${op} '${pattern}'`, max_results: 10 }),
          api.post('runs/search', {
            experiment_ids: ['0', '1'],
            filter: `tags.long ${op} '${pattern}'`,
          }),
          api.get('registered-models/search', { filter: `name ${op} '${pattern}'` }),
          api.get('model-versions/search', { filter: `name ${op} '${pattern}'` }),
          api.post('logged-models/search', {
            experiment_ids: ['1'],
            filter: `name ${op} '${pattern}'`,
          }),
          api.request('GET', '/health'),
        ]);
        for (const answer of searches) expect(answer.status, answer.text).toBe(200);
        // Nothing matches: every long value is all `a`, and every pattern needs an `x` or a `b`.
        expect(searches[0]?.body.experiments).toBeUndefined();
        expect(searches[1]?.body.runs).toBeUndefined();
        expect(searches[2]?.body.registered_models).toBeUndefined();
      });
    }
  }

  it('still matches what the patterns describe', async () => {
    const found = await api.post<{ runs?: unknown[] }>('runs/search', {
      experiment_ids: ['1'],
      filter: `tags.long LIKE '${'%a'.repeat(20)}%'`,
    });
    expect(found.status).toBe(200);
    expect(found.body.runs).toHaveLength(2);
  });
});

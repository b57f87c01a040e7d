/**
 * A version whose run keeps its artifacts in a client's own bucket (an experiment's artifact_location) is
 * unverified: the deployment never held nor sealed those files, so no promotion policy may pass it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
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

it('refuses to promote, under a policy, a version whose files lie outside the deployment', async () => {
  const experiment = await api.post<{ experiment_id: string }>('experiments/create', {
    name: 'review-foreign-location',
    artifact_location: 's3://someone-elses-bucket/exp',
  });
  expect(experiment.status, experiment.text).toBe(200);
  const run = await api.post<{ run: { info: { run_id: string; artifact_uri: string } } }>('runs/create', {
    experiment_id: experiment.body.experiment_id,
    start_time: 1,
  });
  const runId = run.body.run.info.run_id;
  // Where the stock client writes (and later reads) the run's model: the other bucket.
  expect(run.body.run.info.artifact_uri).toBe(`s3://someone-elses-bucket/exp/${runId}/artifacts`);
  expect(
    (
      await api.post('runs/log-metric', {
        run_id: runId,
        key: 'accuracy',
        value: 0.95,
        timestamp: 1,
        step: 0,
      })
    ).status,
  ).toBe(200);
  expect((await api.post('runs/update', { run_id: runId, status: 'FINISHED', end_time: 2 })).status).toBe(
    200,
  );

  expect((await api.post('registered-models/create', { name: 'review-foreign' })).status).toBe(200);
  const policy = await api.request('POST', '/api/2.0/cairn/registered-models/policies/set', {
    json: { name: 'review-foreign', alias: 'champion', condition: 'metrics.accuracy >= 0.9' },
  });
  expect(policy.status, policy.text).toBe(200);
  const version = await api.post<{ model_version: { version: string } }>('model-versions/create', {
    name: 'review-foreign',
    source: `runs:/${runId}/model`,
    run_id: runId,
  });
  expect(version.status, version.text).toBe(200);
  const promoted = await api.post('registered-models/alias', {
    name: 'review-foreign',
    alias: 'champion',
    version: version.body.model_version.version,
  });
  // The files were written to, and stay writable in, a bucket this deployment neither seals nor lists.
  expect(promoted.status, promoted.text).toBe(400);
  expect(promoted.text).toContain("outside this deployment's artifact store");
});

/**
 * Issue 16's check over real HTTP: `cairn server --auth`, tokens issued as `cairn token create` issues
 * them, grants written straight into the server's table (the grant endpoints are another branch's), and
 * every answer read from the API. Each case uses its own token, its grants written before its first
 * request, so no grant cache holds an earlier answer; the TTL case waits out the cache on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denied, ok, PermissionServer } from '../helpers/permission-server.js';

/** Short caches so that a changed grant is seen within a test; the deployed default is 30 s. */
const PERMISSION_CACHE_TTL_MS = 300;

const perm = new PermissionServer();
const { call, createRun, token, tokenWith } = perm;
let admin: string;
/** Experiment X and Y, a run in each, a logged model in X and a registered model. */
let x: string;
let y: string;
let runX: string;
let runY: string;
let modelX: string;
const MODEL = 'perm-model';

beforeAll(async () => {
  await perm.start({ cacheTtlMs: 0, permissionCacheTtlMs: PERMISSION_CACHE_TTL_MS });
  admin = await token('the-admin', 'admin');
  ({ x, y, runX, runY, modelX } = await perm.seedTwoExperiments(admin, 'perm'));
  await ok(call(admin, 'POST', 'runs/log-metric', { run_id: runX, key: 'm', value: 1, timestamp: 1 }));
  await ok(call(admin, 'POST', 'registered-models/create', { name: MODEL }));
});

afterAll(async () => {
  await perm.close();
});

const metric = (runId: string) => ({ run_id: runId, key: 'm', value: 2, timestamp: 2 });

describe('a grant lowers a scope on one resource', () => {
  it('write token with READ on X: reads X, cannot log to a run in X, logs to Y', async () => {
    const bearer = await tokenWith('writer-read-x', 'write', [['experiment', x, 'READ']]);
    await ok(call(bearer, 'GET', 'runs/get', { run_id: runX }));
    await ok(call(bearer, 'GET', 'experiments/get', { experiment_id: x }));
    await denied(
      call(bearer, 'POST', 'runs/log-metric', metric(runX)),
      "token 'writer-read-x' holds READ on experiment",
      `'${x}'`,
      `run '${runX}'`,
      'POST /api/2.0/mlflow/runs/log-metric needs EDIT',
    );
    await denied(call(bearer, 'POST', 'runs/create', { experiment_id: x }), `experiment '${x}'`);
    await ok(call(bearer, 'POST', 'runs/log-metric', metric(runY)));
    // Nothing was written by the refused request.
    const history = await ok(call(admin, 'GET', 'metrics/get-history', { run_id: runX, metric_key: 'm' }));
    expect((history.metrics as unknown[]).length).toBe(1);
  });

  it('NO_PERMISSIONS on X: every read of X, its runs, artifacts, logged models and traces is 403', async () => {
    const bearer = await tokenWith('reader-none-x', 'read', [['experiment', x, 'NO_PERMISSIONS']]);
    await denied(call(bearer, 'GET', 'experiments/get', { experiment_id: x }), 'NO_PERMISSIONS');
    // Another spelling of the same id is the same experiment (the services read '007' as 7).
    await denied(call(bearer, 'GET', 'experiments/get', { experiment_id: `00${x}` }), `experiment '${x}'`);
    await denied(call(bearer, 'GET', 'experiments/get-by-name', { experiment_name: 'perm-x' }));
    await denied(call(bearer, 'GET', 'runs/get', { run_id: runX }), 'NO_PERMISSIONS', `run '${runX}'`);
    await denied(call(bearer, 'GET', 'metrics/get-history', { run_id: runX, metric_key: 'm' }));
    await denied(call(bearer, 'GET', 'artifacts/list', { run_id: runX }));
    await denied(call(bearer, 'GET', '/get-artifact', { run_id: runX, path: 'a.txt' }));
    await denied(call(bearer, 'GET', `/api/2.0/mlflow-artifacts/artifacts/${x}/${runX}/artifacts/a.txt`));
    await denied(call(bearer, 'GET', `logged-models/${modelX}`), `logged model '${modelX}'`);
    await denied(
      call(bearer, 'GET', 'metrics/get-history-bulk-interval', { run_ids: [runY, runX], metric_key: 'm' }),
    );
    // Y is untouched by the grant.
    await ok(call(bearer, 'GET', 'runs/get', { run_id: runY }));
    await ok(call(bearer, 'GET', 'experiments/get-by-name', { experiment_name: 'perm-y' }));
  });
});

describe('a grant raises a scope on one resource', () => {
  it('read token with EDIT on X: logs to and creates runs in X, and still not in Y', async () => {
    const bearer = await tokenWith('reader-edit-x', 'read', [['experiment', x, 'EDIT']]);
    await ok(call(bearer, 'POST', 'runs/log-metric', metric(runX)));
    const run = await createRun(bearer, x);
    await ok(call(bearer, 'POST', 'runs/set-tag', { run_id: run, key: 'k', value: 'v' }));
    await denied(call(bearer, 'POST', 'runs/log-metric', metric(runY)), `experiment '${y}'`, 'holds READ');
    await denied(call(bearer, 'POST', 'runs/create', { experiment_id: y }));
    // Deleting the experiment itself needs MANAGE.
    await denied(call(bearer, 'POST', 'experiments/delete', { experiment_id: x }), 'needs MANAGE');
  });

  it('checks every id a request names: run_id on X and run_uuid on Y is refused', async () => {
    const bearer = await tokenWith('reader-edit-x-2', 'read', [['experiment', x, 'EDIT']]);
    await denied(
      call(bearer, 'POST', 'runs/set-tag', { run_id: runX, run_uuid: runY, key: 'k', value: 'v' }),
      `run '${runY}'`,
    );
  });

  it('deleting an experiment needs MANAGE: its creator holds it, another write token does not', async () => {
    const maker = await token('maker', 'write');
    const made = (await ok(call(maker, 'POST', 'experiments/create', { name: 'perm-made' })))
      .experiment_id as string;
    const other = await token('other-writer', 'write');
    await denied(call(other, 'POST', 'experiments/delete', { experiment_id: made }), 'holds EDIT');
    await ok(call(maker, 'POST', 'experiments/delete', { experiment_id: made }));
    await ok(call(maker, 'POST', 'experiments/restore', { experiment_id: made }));
    const manager = await tokenWith('manager', 'write', [['experiment', x, 'MANAGE']]);
    await denied(call(other, 'POST', 'experiments/delete', { experiment_id: x }), 'needs MANAGE');
    await ok(call(manager, 'POST', 'experiments/delete', { experiment_id: x }));
    await ok(call(manager, 'POST', 'experiments/restore', { experiment_id: x }));
  });
});

describe('artifacts, logged models, traces and the registry', () => {
  it('checks an artifact path by the experiment that leads it', async () => {
    const bearer = await tokenWith('artifact-reader', 'write', [['experiment', x, 'READ']]);
    const path = `/api/2.0/mlflow-artifacts/artifacts/${x}/${runX}/artifacts/a.txt`;
    const upload = await perm.api.request('PUT', path, {
      body: 'hello',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'text/plain' },
    });
    expect(upload.status).toBe(403);
    expect(upload.body.message).toContain(`experiment '${x}'`);
    const written = await perm.api.request('PUT', path, {
      body: 'hello',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain' },
    });
    expect(written.status).toBe(200);
    expect((await call(bearer, 'GET', path)).status).toBe(307);
    // A run of Y named under X's path is the artifact service's 404, not a way around the check.
    const crossed = await call(
      bearer,
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts/${y}/${runX}/artifacts/a.txt`,
    );
    expect(crossed.status).toBe(404);
  });

  it('checks a logged model by its experiment', async () => {
    const bearer = await tokenWith('model-reader', 'write', [['experiment', x, 'READ']]);
    await ok(call(bearer, 'GET', `logged-models/${modelX}`));
    await denied(
      call(bearer, 'PATCH', `logged-models/${modelX}/tags`, { tags: [{ key: 'k', value: 'v' }] }),
      `logged model '${modelX}'`,
    );
  });

  it('checks traces by their experiment', async () => {
    const started = await ok(
      call(admin, 'POST', 'traces', { experiment_id: x, timestamp_ms: 1, request_metadata: [], tags: [] }),
    );
    const traceId = (started.trace_info as { request_id: string }).request_id;
    const bearer = await tokenWith('trace-reader', 'write', [['experiment', x, 'READ']]);
    await ok(call(bearer, 'GET', `traces/${traceId}/info`));
    await denied(
      call(bearer, 'PATCH', `traces/${traceId}/tags`, { key: 'k', value: 'v' }),
      `trace '${traceId}'`,
    );
    await denied(call(bearer, 'POST', 'traces', { experiment_id: x, timestamp_ms: 2 }));
    const hidden = await tokenWith('trace-hidden', 'read', [['experiment', x, 'NO_PERMISSIONS']]);
    await denied(call(hidden, 'GET', `traces/${traceId}/info`));
  });

  it('checks a registered model by its name', async () => {
    const reader = await tokenWith('registry-reader', 'write', [['registered_model', MODEL, 'READ']]);
    await ok(call(reader, 'GET', 'registered-models/get', { name: MODEL }));
    await denied(
      call(reader, 'POST', 'registered-models/set-tag', { name: MODEL, key: 'k', value: 'v' }),
      `registered model '${MODEL}'`,
    );
    const hidden = await tokenWith('registry-hidden', 'write', [
      ['registered_model', MODEL, 'NO_PERMISSIONS'],
    ]);
    await denied(call(hidden, 'GET', 'registered-models/get', { name: MODEL }));
    // The registry finds a model by its NFC form too: another spelling is the same model.
    await ok(call(admin, 'POST', 'registered-models/create', { name: 'caf\u00e9' }));
    const hiddenCafe = await tokenWith('cafe-hidden', 'read', [
      ['registered_model', 'caf\u00e9', 'NO_PERMISSIONS'],
    ]);
    await denied(call(hiddenCafe, 'GET', 'registered-models/get', { name: 'cafe\u0301' }), 'NO_PERMISSIONS');
    await denied(
      call(hidden, 'GET', '/model-versions/get-artifact', { name: MODEL, version: '1', path: 'x' }),
    );
    const writer = await token('registry-writer', 'write');
    await ok(call(writer, 'POST', 'registered-models/set-tag', { name: MODEL, key: 'k', value: 'v' }));
    await denied(call(writer, 'DELETE', 'registered-models/delete', { name: MODEL }), 'needs MANAGE');
  });
});

describe('a version registered from a run', () => {
  it("needs READ on the source's experiment, and on the model a models:/ source copies", async () => {
    await ok(call(admin, 'POST', 'registered-models/create', { name: 'perm-target' }));
    const bearer = await tokenWith('registrar', 'write', [
      ['experiment', x, 'NO_PERMISSIONS'],
      ['registered_model', MODEL, 'NO_PERMISSIONS'],
    ]);
    const register = (source: string) =>
      call(bearer, 'POST', 'model-versions/create', { name: 'perm-target', source });
    await denied(
      register(`runs:/${runX}/model`),
      `experiment '${x}'`,
      'POST /api/2.0/mlflow/model-versions/create needs READ',
    );
    await denied(register(`models:/${modelX}`), `experiment '${x}'`);
    await denied(register(`models:/${MODEL}/1`), `registered model '${MODEL}'`);
    await ok(register(`runs:/${runY}/model`));
    // Nothing half-done: the refused requests made no version.
    const versions = await ok(call(admin, 'GET', 'model-versions/search', { filter: "name='perm-target'" }));
    expect((versions.model_versions as unknown[]).length).toBe(1);
  });
});

describe('admin, existence and the cache', () => {
  it('admin holds MANAGE everywhere, whatever its grants say', async () => {
    const bearer = await tokenWith('admin-none-x', 'admin', [['experiment', x, 'NO_PERMISSIONS']]);
    await ok(call(bearer, 'GET', 'runs/get', { run_id: runX }));
    await ok(call(bearer, 'POST', 'runs/log-metric', metric(runX)));
  });

  it('answers 404 for a run that does not exist and 400 for a malformed id, as without permissions', async () => {
    const bearer = await tokenWith('reader-edit-x-3', 'read', [['experiment', x, 'EDIT']]);
    const missing = await call(bearer, 'POST', 'runs/log-metric', metric('0123456789abcdef0123456789abcdef'));
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    // A malformed id is never looked up (nor used as a key): the operation's own 400.
    const malformed = await call(bearer, 'POST', 'runs/log-metric', metric(`r${'x'.repeat(2000)}`));
    expect(malformed.status).toBe(400);
    const traceHolder = await tokenWith('trace-edit-x', 'read', [['experiment', x, 'EDIT']]);
    const badTrace = await call(traceHolder, 'GET', `traces/tr-${'z'.repeat(2000)}/info`);
    expect(badTrace.status).toBe(400);
  });

  it('a grant changed after a request is in force once the cache TTL has passed', async () => {
    const bearer = await token('late-grant', 'read');
    await ok(call(bearer, 'GET', 'runs/get', { run_id: runX }));
    await perm.grants.put({
      principal: 'late-grant',
      kind: 'experiment',
      resource: x,
      permission: 'NO_PERMISSIONS',
    });
    // The cache's TTL, then a margin: the next request reads the grants again.
    await new Promise((done) => setTimeout(done, PERMISSION_CACHE_TTL_MS + 200));
    await denied(call(bearer, 'GET', 'runs/get', { run_id: runX }), 'NO_PERMISSIONS');
    await perm.grants.delete('late-grant', 'experiment', x);
    await new Promise((done) => setTimeout(done, PERMISSION_CACHE_TTL_MS + 200));
    await ok(call(bearer, 'GET', 'runs/get', { run_id: runX }));
  });
});

/**
 * Findings of the adversarial review of issue 16's checks, each reproduced over real HTTP against
 * `cairn server --auth` (tokens issued as `cairn token create` issues them, grants written into the
 * server's table), each asserting the fixed behaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { issueToken } from '../../shared/auth/issue.js';
import type { PermissionLevel, ResourceKind } from '../../shared/auth/permissions.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { Api, type ApiResponse } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let store: OpenTokenStore;
let grants: DynamoPermissionRepository;
let api: Api;
let admin: string;
/** Experiment X with a run and a logged model, experiment Y with a run. */
let x: string;
let y: string;
let runX: string;
let runY: string;
let modelX: string;

beforeAll(async () => {
  server = await startTestServer({ auth: { cacheTtlMs: 0, permissionCacheTtlMs: 300 } });
  api = new Api(server.url);
  store = await openLocalTokenStore(server.dataDir);
  grants = new DynamoPermissionRepository(createDocumentClient(store.client), store.tableName);
  admin = await token('the-admin', 'admin');
  x = (await ok(call(admin, 'POST', 'experiments/create', { name: 'review-x' }))).experiment_id as string;
  y = (await ok(call(admin, 'POST', 'experiments/create', { name: 'review-y' }))).experiment_id as string;
  runX = await createRun(admin, x);
  runY = await createRun(admin, y);
  const model = await ok(call(admin, 'POST', 'logged-models', { experiment_id: x, name: 'lm' }));
  modelX = (model.model as { info: { model_id: string } }).info.model_id;
});

afterAll(async () => {
  await store?.close();
  await server?.close();
});

async function token(name: string, scope: Scope): Promise<string> {
  return (await issueToken(store.tokens, { name, scope })).token;
}

/** A token named `name` with `scope`, holding `permission` on each resource given. */
async function tokenWith(
  name: string,
  scope: Scope,
  held: [ResourceKind, string, PermissionLevel][],
): Promise<string> {
  for (const [kind, resource, permission] of held) {
    await grants.put({ principal: name, kind, resource, permission });
  }
  return token(name, scope);
}

function call(
  bearer: string,
  method: string,
  endpoint: string,
  fields: Record<string, unknown> = {},
): Promise<ApiResponse> {
  const headers = { authorization: `Bearer ${bearer}` };
  const path = endpoint.startsWith('/') ? endpoint : `/api/2.0/mlflow/${endpoint}`;
  if (method === 'GET') {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(fields)) {
      for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
    }
    const qs = query.toString();
    return api.request('GET', `${path}${qs ? `?${qs}` : ''}`, { headers });
  }
  return api.request(method, path, { json: fields, headers });
}

async function ok(response: Promise<ApiResponse>): Promise<Record<string, unknown>> {
  const answered = await response;
  expect(answered.status, answered.text).toBe(200);
  return answered.body;
}

async function createRun(bearer: string, experimentId: string): Promise<string> {
  const created = await ok(call(bearer, 'POST', 'runs/create', { experiment_id: experimentId }));
  return (created.run as { info: { run_id: string } }).info.run_id;
}

async function denied(response: Promise<ApiResponse>, ...mentions: string[]): Promise<void> {
  const answered = await response;
  expect(answered.status, answered.text).toBe(403);
  expect(answered.body.error_code).toBe('PERMISSION_DENIED');
  for (const mention of mentions) expect(answered.body.message).toContain(mention);
}

async function failed(response: Promise<ApiResponse>, status: number, code: string, ...mentions: string[]) {
  const answered = await response;
  expect(answered.status, answered.text).toBe(status);
  expect(answered.body.error_code).toBe(code);
  for (const mention of mentions) expect(answered.body.message).toContain(mention);
}

describe('3: revoking a token drops its grants', () => {
  it('a new token under a revoked name does not inherit the MANAGE its predecessor got as creator', async () => {
    const first = await token('alice', 'write');
    const created = await ok(call(first, 'POST', 'experiments/create', { name: 'alice-exp' }));
    const id = created.experiment_id as string;
    expect((await grants.grantsOf('alice')).length).toBeGreaterThan(0);
    await store.tokens.revoke('alice');
    expect(await grants.grantsOf('alice')).toEqual([]);
    const second = await token('alice', 'read');
    await denied(call(second, 'POST', 'experiments/delete', { experiment_id: id }), `experiment '${id}'`);
    await ok(call(second, 'GET', 'experiments/get', { experiment_id: id }));
  });
});

describe('9: a name too long to be stored is refused before any lookup', () => {
  const long = 'n'.repeat(3000);
  it.each([
    ['admin', 'the-admin'],
    ['write', 'long-name-writer'],
  ])('%s token: 400 naming the field, never 500', async (scope, name) => {
    const bearer = scope === 'admin' ? admin : await token(name, 'write');
    await failed(
      call(bearer, 'GET', 'experiments/get-by-name', { experiment_name: long }),
      400,
      'INVALID_PARAMETER_VALUE',
      "'experiment_name'",
    );
    await failed(
      call(bearer, 'GET', 'registered-models/get', { name: long }),
      400,
      'INVALID_PARAMETER_VALUE',
      "'name'",
    );
    await failed(
      call(bearer, 'GET', 'model-versions/get-download-uri', { name: long, version: '1' }),
      400,
      'INVALID_PARAMETER_VALUE',
      "'name'",
    );
  });
});

describe('6: a request that names no experiment is not a way around a grant', () => {
  it('runs/create without experiment_id is checked on Default (0)', async () => {
    const bearer = await tokenWith('writer-none-on-0', 'write', [['experiment', '0', 'NO_PERMISSIONS']]);
    await denied(call(bearer, 'POST', 'runs/create', {}), "experiment '0'");
    await denied(call(bearer, 'POST', 'runs/create', { experiment_id: '' }), "experiment '0'");
    await ok(call(bearer, 'POST', 'runs/create', { experiment_id: y }));
  });

  it('a read token with EDIT on one experiment cannot create a run in Default', async () => {
    const bearer = await tokenWith('reader-edit-x', 'read', [['experiment', x, 'EDIT']]);
    await denied(call(bearer, 'POST', 'runs/create', {}), "experiment '0'");
    await ok(call(bearer, 'POST', 'runs/create', { experiment_id: x }));
  });
});

describe('8: a JSON-number experiment id is checked like its string', () => {
  it('experiments/permissions/create {experiment_id: <number>} needs MANAGE at the route', async () => {
    const bearer = await tokenWith('writer-edit-x-num', 'write', [['experiment', x, 'EDIT']]);
    await denied(
      call(bearer, 'POST', 'experiments/permissions/create', {
        experiment_id: Number(x),
        username: 'the-admin',
        permission: 'READ',
      }),
      `experiment '${x}'`,
      'needs MANAGE',
    );
    await denied(
      call(bearer, 'POST', 'experiments/delete', { experiment_id: Number(x) }),
      `experiment '${x}'`,
    );
  });
});

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

function putArtifact(bearer: string, path: string, content: string): Promise<ApiResponse> {
  return api.request('PUT', `${ARTIFACTS}/${path}`, {
    body: content,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/octet-stream' },
  });
}

describe('4: an artifact-root source is placed by its run, not by the experiment its path names', () => {
  it('a run hidden in X, named under visible Y, is neither sealed nor reported as the source run', async () => {
    await ok(putArtifact(admin, `${x}/${runX}/artifacts/model/file.txt`, 'one'));
    const bearer = await tokenWith('writer-hide-x-seal', 'write', [['experiment', x, 'NO_PERMISSIONS']]);
    await ok(call(bearer, 'POST', 'registered-models/create', { name: 'seal-m' }));
    // Through the run it is refused, as before.
    await denied(
      call(bearer, 'POST', 'model-versions/create', { name: 'seal-m', source: `runs:/${runX}/model` }),
      `experiment '${x}'`,
    );
    const created = await ok(
      call(bearer, 'POST', 'model-versions/create', {
        name: 'seal-m',
        source: `mlflow-artifacts:/${y}/${runX}/artifacts/model`,
      }),
    );
    const version = created.model_version as Record<string, unknown>;
    expect(version.run_id ?? '').not.toBe(runX);
    // runX's files were not sealed: the admin may still change them.
    await ok(putArtifact(admin, `${x}/${runX}/artifacts/model/file.txt`, 'two'));
    const removed = await api.request('DELETE', `${ARTIFACTS}/${x}/${runX}/artifacts/model/file.txt`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(removed.status, removed.text).toBe(200);
  });

  it('a path whose run does belong to its experiment is still sealed (the fix keeps the normal case)', async () => {
    await ok(putArtifact(admin, `${y}/${runY}/artifacts/model/file.txt`, 'one'));
    await ok(call(admin, 'POST', 'registered-models/create', { name: 'seal-ok' }));
    const created = await ok(
      call(admin, 'POST', 'model-versions/create', {
        name: 'seal-ok',
        source: `mlflow-artifacts:/${y}/${runY}/artifacts/model`,
      }),
    );
    expect((created.model_version as Record<string, unknown>).run_id).toBe(runY);
    const changed = await putArtifact(admin, `${y}/${runY}/artifacts/model/file.txt`, 'two');
    expect(changed.status, changed.text).toBe(409);
  });
});

describe('5: naming a logged model in a version needs EDIT on its experiment (the version tags it)', () => {
  it('a visible run with a hidden logged model as model_id is refused, and the model is not tagged', async () => {
    const bearer = await tokenWith('writer-hide-x-tag', 'write', [['experiment', x, 'NO_PERMISSIONS']]);
    await ok(call(bearer, 'POST', 'registered-models/create', { name: 'tag-m' }));
    await denied(
      call(bearer, 'POST', 'model-versions/create', {
        name: 'tag-m',
        source: `runs:/${runY}/m`,
        model_id: modelX,
      }),
      `experiment '${x}'`,
      'needs EDIT',
    );
    const model = await ok(call(admin, 'GET', `/api/2.0/mlflow/logged-models/${modelX}`));
    const tags = ((model.model as { info: { tags?: { key: string }[] } }).info.tags ?? []).map((t) => t.key);
    expect(tags).not.toContain('mlflow.modelVersions');
  });

  it("READ on the logged model's experiment is not enough either", async () => {
    const bearer = await tokenWith('writer-read-x-tag', 'write', [['experiment', x, 'READ']]);
    await ok(call(bearer, 'POST', 'registered-models/create', { name: 'tag-r' }));
    await denied(
      call(bearer, 'POST', 'model-versions/create', {
        name: 'tag-r',
        source: `runs:/${runY}/m`,
        model_id: modelX,
      }),
      `experiment '${x}'`,
    );
  });
});

describe('7: linking names a second resource, which the caller must see', () => {
  it('traces/link-to-run to a run in a hidden experiment is refused and writes nothing', async () => {
    const started = await ok(
      call(admin, 'POST', 'traces', { experiment_id: y, timestamp_ms: 1, request_metadata: [], tags: [] }),
    );
    const traceId = (started.trace_info as { request_id: string }).request_id;
    const bearer = await tokenWith('linker-hide-x', 'write', [['experiment', x, 'NO_PERMISSIONS']]);
    await denied(
      call(bearer, 'POST', 'traces/link-to-run', { trace_ids: [traceId], run_id: runX }),
      `experiment '${x}'`,
    );
    const info = await ok(call(admin, 'GET', `traces/${traceId}/info`));
    expect(JSON.stringify(info)).not.toContain(runX);
    // A run it can see: linked.
    await ok(call(bearer, 'POST', 'traces/link-to-run', { trace_ids: [traceId], run_id: runY }));
  });

  it('runs/outputs naming a logged model in a hidden experiment is refused', async () => {
    const bearer = await tokenWith('outputs-hide-x', 'write', [['experiment', x, 'NO_PERMISSIONS']]);
    await denied(
      call(bearer, 'POST', 'runs/outputs', { run_id: runY, models: [{ model_id: modelX, step: 0 }] }),
      `experiment '${x}'`,
    );
    await denied(
      call(bearer, 'POST', 'runs/log-inputs', { run_id: runY, datasets: [], models: [{ model_id: modelX }] }),
      `experiment '${x}'`,
    );
    const run = await ok(call(admin, 'GET', 'runs/get', { run_id: runY }));
    expect(JSON.stringify(run)).not.toContain(modelX);
  });
});

describe('12: a model created or renamed to a name starts with no grants left on that name', () => {
  it('stale grants (a delete whose drop failed) do not reach the new model', async () => {
    const holder = await tokenWith('stale-holder', 'read', [
      ['registered_model', 'stale-create', 'MANAGE'],
      ['registered_model', 'stale-rename', 'MANAGE'],
    ]);
    await ok(call(admin, 'POST', 'registered-models/create', { name: 'stale-create' }));
    await denied(
      call(holder, 'DELETE', 'registered-models/delete', { name: 'stale-create' }),
      'stale-create',
    );
    expect((await grants.grantsOn('registered_model', 'stale-create')).map((g) => g.principal)).toEqual([
      'the-admin',
    ]);
    await ok(call(admin, 'POST', 'registered-models/create', { name: 'stale-source' }));
    await ok(
      call(admin, 'POST', 'registered-models/rename', { name: 'stale-source', new_name: 'stale-rename' }),
    );
    await denied(
      call(holder, 'DELETE', 'registered-models/delete', { name: 'stale-rename' }),
      'stale-rename',
    );
    expect(await grants.get('stale-holder', 'registered_model', 'stale-rename')).toBeUndefined();
  });
});

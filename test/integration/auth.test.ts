/**
 * `cairn server --auth` over real HTTP: the authorizer in front of the handlers, API Gateway's answers for
 * missing and refused credentials, the functions' per-route scopes, and nothing written by a refused
 * request. The cache TTL is short here so that a revocation can be seen taking effect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { basicAuthorization } from '../../shared/auth/credentials.js';
import { type IssuedToken, issueToken } from '../../shared/auth/issue.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { formatToken, generateSecret } from '../../shared/auth/token.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import { Api, type ApiResponse } from '../helpers/http.js';

const CACHE_TTL_MS = 400;
const DAY = 86_400_000;
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-auth-'));
let server: LocalServer;
let store: OpenTokenStore;
let api: Api;
const issued: Partial<Record<Scope, IssuedToken>> = {};

beforeAll(async () => {
  const external = externalDynamoEndpoint();
  server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    auth: { cacheTtlMs: CACHE_TTL_MS },
    ...(external ? { dynamodbEndpoint: external, tableName: uniqueTableName() } : {}),
  });
  api = new Api(server.url);
  // Through the endpoint the running server publishes, as `cairn token` does while a server runs.
  store = await openLocalTokenStore(dataDir);
  for (const scope of ['read', 'write', 'admin'] as const) {
    issued[scope] = await issueToken(store.tokens, { name: `${scope}-token`, scope });
  }
});

afterAll(async () => {
  await store?.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const as = (scope: Scope) => bearer((issued[scope] as IssuedToken).token);

function createExperiment(name: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return api.request('POST', '/api/2.0/mlflow/experiments/create', { json: { name }, headers });
}

async function experimentExists(name: string): Promise<boolean> {
  const query = `?experiment_name=${encodeURIComponent(name)}`;
  const found = await api.request('GET', `/api/2.0/mlflow/experiments/get-by-name${query}`, {
    headers: as('admin'),
  });
  expect([200, 404]).toContain(found.status);
  return found.status === 200;
}

const GATEWAY_UNAUTHORIZED = { message: 'Unauthorized' };
const GATEWAY_FORBIDDEN = { message: 'Forbidden' };

describe('cairn server --auth', () => {
  it('keeps /health open and /version behind a token, as the gateway does', async () => {
    expect((await api.request('GET', '/health')).status).toBe(200);
    expect((await api.request('GET', '/version')).status).toBe(401);
    expect((await api.request('GET', '/version', { headers: as('read') })).status).toBe(200);
  });

  it('answers 401 without an Authorization header, and writes nothing', async () => {
    const created = await createExperiment('anonymous');
    expect(created.status).toBe(401);
    expect(created.body).toEqual(GATEWAY_UNAUTHORIZED);
    expect((await api.get('experiments/get', { experiment_id: '0' })).status).toBe(401);
    expect((await api.request('GET', '/nowhere')).status).toBe(401);
    expect(await experimentExists('anonymous')).toBe(false);
  });

  it('answers 403 for malformed credentials, and writes nothing', async () => {
    const malformed = [
      'Bearer',
      'Bearer junk',
      'Basic !!!',
      `Token ${(issued.write as IssuedToken).token}`,
      (issued.write as IssuedToken).token,
    ];
    for (const authorization of malformed) {
      const created = await createExperiment('malformed', { authorization });
      expect(created.status, authorization).toBe(403);
      expect(created.body).toEqual(GATEWAY_FORBIDDEN);
    }
    expect(await experimentExists('malformed')).toBe(false);
  });

  it('answers 403 for an unknown token and for a known name with the wrong secret', async () => {
    const unknown = formatToken({ name: 'nobody', secret: generateSecret() });
    expect((await createExperiment('unknown', bearer(unknown))).status).toBe(403);
    const forged = formatToken({ name: 'admin-token', secret: generateSecret() });
    expect((await createExperiment('unknown', bearer(forged))).status).toBe(403);
    expect(await experimentExists('unknown')).toBe(false);
  });

  it('answers 403 for an expired token', async () => {
    const expired = await issueToken(
      store.tokens,
      { name: 'expired', scope: 'admin', expiresInDays: 1 },
      Date.now() - 2 * DAY,
    );
    const created = await createExperiment('expired', bearer(expired.token));
    expect(created.status).toBe(403);
    expect(created.body).toEqual(GATEWAY_FORBIDDEN);
    expect(await experimentExists('expired')).toBe(false);
  });

  it('lets a read token read, and refuses it on every write route with 403 PERMISSION_DENIED', async () => {
    expect(
      (await api.request('GET', '/api/2.0/mlflow/experiments/get?experiment_id=0', { headers: as('read') }))
        .status,
    ).toBe(200);
    const created = await createExperiment('read-only', as('read'));
    expect(created.status).toBe(403);
    expect(created.body).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    expect(created.body.message).toContain("'read-token'");
    expect(await experimentExists('read-only')).toBe(false);
    // The artifacts function enforces the same table.
    const upload = await api.request('PUT', '/api/2.0/mlflow-artifacts/artifacts/0/abc/artifacts/a.txt', {
      body: 'x',
      headers: as('read'),
    });
    expect(upload.status).toBe(403);
    expect(upload.body).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    // And the registry function: a read token reads the registry and cannot write to it.
    const model = await api.request('POST', '/api/2.0/mlflow/registered-models/create', {
      json: { name: 'read-only-model' },
      headers: as('read'),
    });
    expect(model.status).toBe(403);
    expect(model.body).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    const lookup = await api.request('GET', '/api/2.0/mlflow/registered-models/get?name=read-only-model', {
      headers: as('read'),
    });
    expect(lookup.status).toBe(404);
    const anonymous = await api.request('GET', '/api/2.0/mlflow/registered-models/search');
    expect(anonymous.status).toBe(401);
  });

  it('lets a write token create experiments and runs and log metrics', async () => {
    const created = await createExperiment('written', as('write'));
    expect(created.status).toBe(200);
    const experimentId = created.body.experiment_id as string;
    const run = await api.request('POST', '/api/2.0/mlflow/runs/create', {
      json: { experiment_id: experimentId, start_time: 1 },
      headers: as('write'),
    });
    expect(run.status).toBe(200);
    const runId = (run.body as { run: { info: { run_id: string } } }).run.info.run_id;
    const logged = await api.request('POST', '/api/2.0/mlflow/runs/log-metric', {
      json: { run_id: runId, key: 'loss', value: 0.5, timestamp: 1, step: 0 },
      headers: as('write'),
    });
    expect(logged.status).toBe(200);
    expect(await experimentExists('written')).toBe(true);
  });

  it('lets an admin token write', async () => {
    expect((await createExperiment('administered', as('admin'))).status).toBe(200);
  });

  it('accepts Basic with the name and the secret, or the whole token, as MLflow username/password', async () => {
    const { secret, token } = issued.write as IssuedToken;
    const withSecret = await createExperiment('basic-secret', {
      authorization: basicAuthorization('write-token', secret),
    });
    expect(withSecret.status).toBe(200);
    const withToken = await createExperiment('basic-token', {
      authorization: basicAuthorization('write-token', token),
    });
    expect(withToken.status).toBe(200);
    const wrongName = await createExperiment('basic-wrong', {
      authorization: basicAuthorization('read-token', secret),
    });
    expect(wrongName.status).toBe(403);
    expect(await experimentExists('basic-wrong')).toBe(false);
  });

  it('stops accepting a revoked token once the authorizer cache has expired', async () => {
    const revoked = await issueToken(store.tokens, { name: 'revoked', scope: 'write' });
    expect((await createExperiment('before-revoke', bearer(revoked.token))).status).toBe(200);
    await store.tokens.revoke('revoked');
    await new Promise((resolve) => setTimeout(resolve, CACHE_TTL_MS + 100));
    const after = await createExperiment('after-revoke', bearer(revoked.token));
    expect(after.status).toBe(403);
    expect(after.body).toEqual(GATEWAY_FORBIDDEN);
    expect(await experimentExists('after-revoke')).toBe(false);
  });

  it('records when a token was last used', async () => {
    const listed = await store.tokens.list();
    expect(listed.find((t) => t.name === 'write-token')?.lastUsed).toBeGreaterThan(0);
    expect(listed.find((t) => t.name === 'expired')?.lastUsed).toBeUndefined();
  });

  it("records the token's principal as user_id on registered models and versions it creates", async () => {
    type Answer = {
      experiment_id?: string;
      run?: { info: { run_id: string } };
      registered_model?: { user_id?: string };
      model_version?: { user_id?: string };
    };
    const post = (endpoint: string, json: unknown) =>
      api.request<Answer>('POST', `/api/2.0/mlflow/${endpoint}`, { json, headers: as('write') });
    const experiment = await post('experiments/create', { name: 'owned-registry' });
    const run = await post('runs/create', { experiment_id: experiment.body.experiment_id });
    const runId = run.body.run?.info.run_id;
    expect(runId, run.text).toBeDefined();
    const model = await post('registered-models/create', { name: 'owned' });
    expect(model.status, model.text).toBe(200);
    expect(model.body.registered_model?.user_id).toBe('write-token');
    const version = await post('model-versions/create', {
      name: 'owned',
      source: `runs:/${runId}/m`,
      run_id: runId,
    });
    expect(version.status, version.text).toBe(200);
    expect(version.body.model_version?.user_id).toBe('write-token');
    const read = await api.request<Answer>('GET', '/api/2.0/mlflow/model-versions/get?name=owned&version=1', {
      headers: as('read'),
    });
    expect(read.body.model_version?.user_id).toBe('write-token');
    const got = await api.request<Answer>('GET', '/api/2.0/mlflow/registered-models/get?name=owned', {
      headers: as('read'),
    });
    expect(got.body.registered_model?.user_id).toBe('write-token');
  });

  it('records the caller as a run’s user when the request names none, and keeps a named one', async () => {
    type RunAnswer = { run?: { info: { user_id?: string } } };
    const post = (endpoint: string, json: unknown) =>
      api.request<RunAnswer & { experiment_id?: string }>('POST', `/api/2.0/mlflow/${endpoint}`, {
        json,
        headers: as('write'),
      });
    const experiment = await post('experiments/create', { name: 'owned-runs' });
    const experimentId = experiment.body.experiment_id;
    const unnamed = await post('runs/create', { experiment_id: experimentId });
    expect(unnamed.status, unnamed.text).toBe(200);
    expect(unnamed.body.run?.info.user_id).toBe('write-token');
    const named = await post('runs/create', { experiment_id: experimentId, user_id: 'alice' });
    expect(named.body.run?.info.user_id).toBe('alice');
  });
});

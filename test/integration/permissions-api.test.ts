/**
 * MLflow's permission endpoints (experiments and registered models) and Cairn's permission reads, over
 * real HTTP to `cairn server --auth`: MLflow's request and response shapes, its error codes and messages,
 * nothing written by a refused request, who may grant (MANAGE on the resource, admins everywhere), and
 * the UI's reads (`mine`, `list`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { issueToken } from '../../shared/auth/issue.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import { Api, type ApiResponse } from '../helpers/http.js';

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-permissions-api-'));
let server: LocalServer;
let store: OpenTokenStore;
let api: Api;
const bearer: Record<string, string> = {};

/** Tokens by name: `root` (admin), `writer` and `other` (write), `reader` (read). */
const TOKENS: Record<string, Scope> = { root: 'admin', writer: 'write', other: 'write', reader: 'read' };

beforeAll(async () => {
  const external = externalDynamoEndpoint();
  server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    auth: { cacheTtlMs: 200 },
    ...(external ? { dynamodbEndpoint: external, tableName: uniqueTableName() } : {}),
  });
  api = new Api(server.url);
  store = await openLocalTokenStore(dataDir);
  for (const [name, scope] of Object.entries(TOKENS)) {
    bearer[name] = `Bearer ${(await issueToken(store.tokens, { name, scope })).token}`;
  }
});

afterAll(async () => {
  await store?.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function call(
  as: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  fields: Record<string, string> = {},
): Promise<ApiResponse> {
  const headers = { authorization: bearer[as] as string };
  if (method === 'GET') {
    return api.request('GET', `${path}?${new URLSearchParams(fields)}`, { headers });
  }
  return api.request(method, path, { json: fields, headers });
}

const EXP = '/api/2.0/mlflow/experiments/permissions';
const MODEL = '/api/2.0/mlflow/registered-models/permissions';
const CAIRN = '/api/2.0/cairn/permissions';

let counter = 0;
async function newExperiment(): Promise<string> {
  counter += 1;
  const created = await call('root', 'POST', '/api/2.0/mlflow/experiments/create', {
    name: `perm-exp-${counter}`,
  });
  expect(created.status, created.text).toBe(200);
  return created.body.experiment_id as string;
}

async function newModel(): Promise<string> {
  counter += 1;
  const name = `perm-model-${counter}`;
  const created = await call('root', 'POST', '/api/2.0/mlflow/registered-models/create', { name });
  expect(created.status, created.text).toBe(200);
  return name;
}

function expectError(answer: ApiResponse, status: number, code: string, ...mentions: string[]) {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.body.error_code, answer.text).toBe(code);
  for (const mention of mentions) expect(answer.body.message as string).toContain(mention);
}

describe('experiments/permissions', () => {
  it('creates, reads, updates and deletes a grant in MLflow shapes', async () => {
    const id = await newExperiment();
    const created = await call('root', 'POST', `${EXP}/create`, {
      experiment_id: id,
      username: 'reader',
      permission: 'EDIT',
    });
    expect(created.status, created.text).toBe(200);
    expect(created.body).toEqual({
      experiment_permission: { experiment_id: id, user_id: 'reader', permission: 'EDIT' },
    });

    const read = await call('root', 'GET', `${EXP}/get`, { experiment_id: id, username: 'reader' });
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual(created.body);

    const updated = await call('root', 'PATCH', `${EXP}/update`, {
      experiment_id: id,
      username: 'reader',
      permission: 'NO_PERMISSIONS',
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toEqual({});
    const reread = await call('root', 'GET', `${EXP}/get`, { experiment_id: id, username: 'reader' });
    expect(reread.body).toEqual({
      experiment_permission: { experiment_id: id, user_id: 'reader', permission: 'NO_PERMISSIONS' },
    });

    const deleted = await call('root', 'DELETE', `${EXP}/delete`, { experiment_id: id, username: 'reader' });
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toEqual({});
    expectError(
      await call('root', 'GET', `${EXP}/get`, { experiment_id: id, username: 'reader' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      `Experiment permission with experiment_id=${id} and username=reader not found`,
    );
  });

  it('refuses a second create with RESOURCE_ALREADY_EXISTS and keeps the first', async () => {
    const id = await newExperiment();
    const fields = { experiment_id: id, username: 'writer', permission: 'READ' };
    expect((await call('root', 'POST', `${EXP}/create`, fields)).status).toBe(200);
    expectError(
      await call('root', 'POST', `${EXP}/create`, { ...fields, permission: 'MANAGE' }),
      400,
      'RESOURCE_ALREADY_EXISTS',
      `experiment_id=${id}, username=writer`,
    );
    const read = await call('root', 'GET', `${EXP}/get`, { experiment_id: id, username: 'writer' });
    expect((read.body.experiment_permission as { permission: string }).permission).toBe('READ');
  });

  it('refuses bad input in MLflow shapes and writes nothing', async () => {
    const id = await newExperiment();
    const nothingFor = async (username: string) =>
      expect((await call('root', 'GET', `${EXP}/get`, { experiment_id: id, username })).status).toBe(404);

    expectError(
      await call('root', 'POST', `${EXP}/create`, {
        experiment_id: id,
        username: 'writer',
        permission: 'OWNER',
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      "Invalid permission 'OWNER'",
      'MANAGE',
    );
    expectError(
      await call('root', 'POST', `${EXP}/create`, {
        experiment_id: id,
        username: 'writer',
        permission: 'read',
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      "'read'",
    );
    await nothingFor('writer');

    expectError(
      await call('root', 'POST', `${EXP}/create`, {
        experiment_id: id,
        username: 'nobody',
        permission: 'READ',
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      'username=nobody',
    );
    await nothingFor('nobody');

    expectError(
      await call('root', 'POST', `${EXP}/create`, {
        experiment_id: '987654',
        username: 'writer',
        permission: 'READ',
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      '987654',
    );
    expect(
      (await call('root', 'GET', `${EXP}/get`, { experiment_id: '987654', username: 'writer' })).status,
    ).toBe(404);

    expectError(
      await call('root', 'POST', `${EXP}/create`, { experiment_id: id, permission: 'READ' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'username',
    );
    expectError(
      await call('root', 'POST', `${EXP}/create`, { username: 'writer', permission: 'READ' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'experiment_id',
    );
    expectError(
      await call('root', 'POST', `${EXP}/create`, { experiment_id: id, username: 'writer' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'permission',
    );
    expectError(
      await call('root', 'PATCH', `${EXP}/update`, {
        experiment_id: id,
        username: 'writer',
        permission: 'EDIT',
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      'username=writer',
    );
    expectError(
      await call('root', 'DELETE', `${EXP}/delete`, { experiment_id: id, username: 'writer' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await nothingFor('writer');
  });

  it('lets only MANAGE holders grant: the scope default of a write token is EDIT, not MANAGE', async () => {
    const id = await newExperiment();
    const fields = { experiment_id: id, username: 'other', permission: 'READ' };
    for (const as of ['writer', 'reader']) {
      expectError(
        await call(as, 'POST', `${EXP}/create`, fields),
        403,
        'PERMISSION_DENIED',
        `experiment '${id}'`,
        'MANAGE',
      );
      expectError(
        await call(as, 'GET', `${EXP}/get`, { experiment_id: id, username: 'other' }),
        403,
        'PERMISSION_DENIED',
      );
    }
    expect((await call('root', 'GET', `${EXP}/get`, { experiment_id: id, username: 'other' })).status).toBe(
      404,
    );
  });

  it('lets a read token holding MANAGE on one experiment grant there, and nowhere else', async () => {
    const mine = await newExperiment();
    const elsewhere = await newExperiment();
    const grant = await call('root', 'POST', `${EXP}/create`, {
      experiment_id: mine,
      username: 'reader',
      permission: 'MANAGE',
    });
    expect(grant.status, grant.text).toBe(200);

    const byReader = await call('reader', 'POST', `${EXP}/create`, {
      experiment_id: mine,
      username: 'other',
      permission: 'NO_PERMISSIONS',
    });
    expect(byReader.status, byReader.text).toBe(200);
    expect(
      (await call('reader', 'GET', `${EXP}/get`, { experiment_id: mine, username: 'other' })).status,
    ).toBe(200);
    expectError(
      await call('reader', 'POST', `${EXP}/create`, {
        experiment_id: elsewhere,
        username: 'other',
        permission: 'READ',
      }),
      403,
      'PERMISSION_DENIED',
      `experiment '${elsewhere}'`,
    );
  });

  it('lets an admin manage even where a grant says NO_PERMISSIONS', async () => {
    const id = await newExperiment();
    // A NO_PERMISSIONS grant to root (an admin) written behind the API's back, which refuses to grant to
    // an admin: such a grant, left from before, changes nothing.
    const doc = DynamoDBDocumentClient.from(store.client);
    await new DynamoPermissionRepository(doc, store.tableName).put({
      principal: 'root',
      kind: 'experiment',
      resource: id,
      permission: 'NO_PERMISSIONS',
    });
    const granted = await call('root', 'POST', `${EXP}/create`, {
      experiment_id: id,
      username: 'writer',
      permission: 'READ',
    });
    expect(granted.status, granted.text).toBe(200);
  });

  it("answers AuthServiceClient's user methods 404 ENDPOINT_NOT_FOUND: users are tokens here", async () => {
    for (const [method, path, fields] of [
      ['POST', '/api/2.0/mlflow/users/create', { username: 'carol', password: 'x' }],
      ['GET', '/api/2.0/mlflow/users/get', { username: 'writer' }],
      ['PATCH', '/api/2.0/mlflow/users/update-password', { username: 'writer', password: 'y' }],
      ['PATCH', '/api/2.0/mlflow/users/update-admin', { username: 'writer', is_admin: 'true' }],
      ['DELETE', '/api/2.0/mlflow/users/delete', { username: 'writer' }],
    ] as const) {
      expectError(await call('root', method, path, fields), 404, 'ENDPOINT_NOT_FOUND');
    }
  });

  it('refuses a grant to an admin token, which holds MANAGE everywhere whatever a grant says', async () => {
    const id = await newExperiment();
    const name = await newModel();
    for (const [method, path, fields] of [
      ['POST', `${EXP}/create`, { experiment_id: id, username: 'root', permission: 'READ' }],
      ['PATCH', `${EXP}/update`, { experiment_id: id, username: 'root', permission: 'NO_PERMISSIONS' }],
      ['POST', `${MODEL}/create`, { name, username: 'root', permission: 'NO_PERMISSIONS' }],
    ] as const) {
      expectError(
        await call('root', method, path, fields),
        400,
        'INVALID_PARAMETER_VALUE',
        "'username'",
        'admin token',
      );
    }
    // Nothing was written: root, an admin, holds no grant there (not even a creator's) and is answered MANAGE.
    const listed = await call('root', 'GET', `${CAIRN}/list`, { kind: 'experiment', resource: id });
    expect(listed.body.permissions).toEqual([]);
  });

  it("answers the operation's 400 when the fields are in the query, not the body, to whoever might pass", async () => {
    const id = await newExperiment();
    const query = new URLSearchParams({ experiment_id: id, username: 'reader' });
    const deleteAs = (as: string) =>
      api.request('DELETE', `${EXP}/delete?${query}`, { headers: { authorization: bearer[as] as string } });
    // A token that holds MANAGE nowhere could never pass: the scope's 403, whatever the request names.
    const fresh = 'query-writer';
    bearer[fresh] = `Bearer ${(await issueToken(store.tokens, { name: fresh, scope: 'write' })).token}`;
    expectError(await deleteAs(fresh), 403, 'PERMISSION_DENIED', 'needs MANAGE');
    // Once it holds MANAGE somewhere (its own experiment), the answer depends on the resource, and a
    // request that names none gets the operation's 400, as the admin does.
    const own = await call(fresh, 'POST', '/api/2.0/mlflow/experiments/create', { name: 'perm-own' });
    expect(own.status, own.text).toBe(200);
    for (const as of [fresh, 'root']) {
      expectError(
        await deleteAs(as),
        400,
        'INVALID_PARAMETER_VALUE',
        "Missing value for required parameter 'experiment_id'",
      );
    }
  });

  it('grants to a token only while it exists: a revoked token is no principal', async () => {
    const id = await newExperiment();
    await issueToken(store.tokens, { name: 'short-lived', scope: 'read' });
    const fields = { experiment_id: id, username: 'short-lived', permission: 'READ' };
    const granted = await call('root', 'POST', `${EXP}/create`, fields);
    expect(granted.status, granted.text).toBe(200);
    await store.tokens.revoke('short-lived');
    expectError(
      await call('root', 'POST', `${EXP}/create`, { ...fields, experiment_id: await newExperiment() }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      'User with username=short-lived not found',
    );
    // The grant it held went with it (as MLflow deletes a user's permissions with the user).
    const removed = await call('root', 'DELETE', `${EXP}/delete`, {
      experiment_id: id,
      username: 'short-lived',
    });
    expect(removed.status, removed.text).toBe(404);
  });

  it('is published under /ajax-api too, as MLflow publishes its REST paths', async () => {
    const id = await newExperiment();
    const answer = await call('root', 'POST', '/ajax-api/2.0/mlflow/experiments/permissions/create', {
      experiment_id: id,
      username: 'writer',
      permission: 'USE',
    });
    expect(answer.status, answer.text).toBe(200);
  });
});

describe('registered-models/permissions', () => {
  it('creates, reads, updates and deletes a grant in MLflow shapes', async () => {
    const name = await newModel();
    const created = await call('root', 'POST', `${MODEL}/create`, {
      name,
      username: 'writer',
      permission: 'READ',
    });
    expect(created.status, created.text).toBe(200);
    expect(created.body).toEqual({
      registered_model_permission: { name, user_id: 'writer', permission: 'READ' },
    });
    const read = await call('root', 'GET', `${MODEL}/get`, { name, username: 'writer' });
    expect(read.body).toEqual(created.body);
    expect(
      (await call('root', 'PATCH', `${MODEL}/update`, { name, username: 'writer', permission: 'USE' })).body,
    ).toEqual({});
    const reread = await call('root', 'GET', `${MODEL}/get`, { name, username: 'writer' });
    expect((reread.body.registered_model_permission as { permission: string }).permission).toBe('USE');
    expect((await call('root', 'DELETE', `${MODEL}/delete`, { name, username: 'writer' })).status).toBe(200);
    expectError(
      await call('root', 'GET', `${MODEL}/get`, { name, username: 'writer' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      `Registered model permission with name=${name} and username=writer not found`,
    );
  });

  it('refuses an unknown model, principal or permission, and a caller without MANAGE', async () => {
    const name = await newModel();
    expectError(
      await call('root', 'POST', `${MODEL}/create`, {
        name: 'no-such-model',
        username: 'writer',
        permission: 'READ',
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      'no-such-model',
    );
    expectError(
      await call('root', 'POST', `${MODEL}/create`, { name, username: 'ghost', permission: 'READ' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      'username=ghost',
    );
    expectError(
      await call('root', 'POST', `${MODEL}/create`, { name, username: 'writer', permission: 'ADMIN' }),
      400,
      'INVALID_PARAMETER_VALUE',
      "'ADMIN'",
    );
    expectError(
      await call('writer', 'POST', `${MODEL}/create`, { name, username: 'other', permission: 'READ' }),
      403,
      'PERMISSION_DENIED',
      `registered model '${name}'`,
    );
    expect((await call('root', 'GET', `${MODEL}/get`, { name, username: 'writer' })).status).toBe(404);
  });
});

describe('Cairn permission reads', () => {
  it("answers the caller's own effective level: its grant, else its scope default, admin MANAGE", async () => {
    const id = await newExperiment();
    await call('root', 'POST', `${EXP}/create`, {
      experiment_id: id,
      username: 'writer',
      permission: 'NO_PERMISSIONS',
    });
    await call('root', 'POST', `${EXP}/create`, {
      experiment_id: id,
      username: 'reader',
      permission: 'MANAGE',
    });
    const levels: Record<string, string> = {};
    for (const as of ['root', 'writer', 'other', 'reader']) {
      const answer = await call(as, 'GET', `${CAIRN}/mine`, { kind: 'experiment', resource: id });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ permission: { kind: 'experiment', resource: id } });
      levels[as] = (answer.body.permission as { permission: string }).permission;
    }
    expect(levels).toEqual({ root: 'MANAGE', writer: 'NO_PERMISSIONS', other: 'EDIT', reader: 'MANAGE' });
  });

  it('lists every grant on a resource to MANAGE holders, with the defaults, and refuses others', async () => {
    const name = await newModel();
    await call('root', 'POST', `${MODEL}/create`, { name, username: 'writer', permission: 'MANAGE' });
    await call('root', 'POST', `${MODEL}/create`, { name, username: 'reader', permission: 'USE' });
    const listed = await call('writer', 'GET', `${CAIRN}/list`, { kind: 'registered_model', resource: name });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.permissions).toEqual([
      { principal: 'reader', username: 'reader', permission: 'USE' },
      { principal: 'writer', username: 'writer', permission: 'MANAGE' },
    ]);
    expect(listed.body.defaults).toEqual({ read: 'READ', write: 'EDIT', admin: 'MANAGE' });

    expectError(
      await call('other', 'GET', `${CAIRN}/list`, { kind: 'registered_model', resource: name }),
      403,
      'PERMISSION_DENIED',
      `registered model '${name}'`,
    );
    expectError(
      await call('root', 'GET', `${CAIRN}/list`, { kind: 'experiment', resource: '424242' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const id = await newExperiment();
    const fresh = await call('root', 'GET', `${CAIRN}/list`, { kind: 'experiment', resource: id });
    expect(fresh.status, fresh.text).toBe(200);
    // A new experiment made by an admin holds no grant (the admin holds MANAGE everywhere).
    expect(fresh.body.permissions).toEqual([]);
  });

  it('answers RESOURCE_DOES_NOT_EXIST for the level on an experiment or model that does not exist', async () => {
    expectError(
      await call('writer', 'GET', `${CAIRN}/mine`, { kind: 'experiment', resource: '424242' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      'No Experiment with id=424242 exists',
    );
    expectError(
      await call('reader', 'GET', `${CAIRN}/mine`, { kind: 'registered_model', resource: 'no-such-model' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      'no-such-model',
    );
  });

  it('refuses an unknown kind and a missing resource, naming the field', async () => {
    expectError(
      await call('reader', 'GET', `${CAIRN}/mine`, { kind: 'run', resource: '1' }),
      400,
      'INVALID_PARAMETER_VALUE',
      "'kind'",
      'experiment, registered_model',
    );
    expectError(
      await call('reader', 'GET', `${CAIRN}/mine`, { kind: 'experiment' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'resource',
    );
    expectError(
      await call('root', 'GET', `${CAIRN}/list`, { kind: 'models', resource: 'x' }),
      400,
      'INVALID_PARAMETER_VALUE',
      "'kind'",
    );
  });
});

/**
 * `cairn permission` as a user runs it: child processes through the package's bin, on a data directory no
 * server holds and on one a running server (with --auth) holds, where the API then answers by the grant.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { LOCAL_PERMISSION_CACHE_TTL_MS, type LocalServer, startLocalServer } from '../../local/server.js';
import { issueToken } from '../../shared/auth/issue.js';
import { DynamoExperimentRepository } from '../../shared/store/experiments/repository.js';
import { deletePrincipal } from '../../shared/store/permissions/principals.js';
import { CairnCli } from '../helpers/cli.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import { Api, type ApiResponse } from '../helpers/http.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-cli-permission-'));
const cli = new CairnCli();

afterAll(() => {
  cli.killAll();
  rmSync(root, { recursive: true, force: true });
});

const cairn = (args: string[]) => cli.run(args);

describe('cairn permission on a data directory no server holds', () => {
  const dataDir = join(root, 'idle');
  const on = ['--data-dir', dataDir];
  let experimentId = '';

  // A token and an experiment in the directory's store, then the directory is left idle.
  beforeAll(async () => {
    const store = await openLocalTokenStore(dataDir);
    try {
      await issueToken(store.tokens, { name: 'bob', scope: 'read' });
      const doc = DynamoDBDocumentClient.from(store.client, {
        marshallOptions: { removeUndefinedValues: true },
      });
      const experiment = await new DynamoExperimentRepository(doc, store.tableName).create({
        name: 'fraud-experiments',
        artifactLocation: (id) => `mlflow-artifacts:/${id}`,
        tags: {},
        now: 1,
      });
      experimentId = experiment.experimentId;
    } finally {
      await store.close();
    }
  });

  it('grants, lists and revokes, and releases the directory after each command', {
    timeout: 150_000,
  }, async () => {
    const grant = await cairn([
      'permission',
      'grant',
      '--user',
      'bob',
      '--experiment',
      experimentId,
      '--permission',
      'EDIT',
      ...on,
    ]);
    expect(grant.code, grant.stderr).toBe(0);
    expect(grant.stdout).toContain(`Granted EDIT on experiment '${experimentId}' to 'bob'`);

    const listed = await cairn(['permission', 'list', '--experiment', experimentId, ...on]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`Permissions on experiment '${experimentId}'`);
    expect(listed.stdout).toContain('bob: EDIT');
    expect(listed.stdout).toContain('read → READ, write → EDIT, admin → MANAGE');

    const revoke = await cairn([
      'permission',
      'revoke',
      '--user',
      'bob',
      '--experiment',
      experimentId,
      ...on,
    ]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(`Revoked the permission of 'bob' on experiment '${experimentId}'`);
  });

  it('refuses a bad command line with exit code 2 before opening anything', { timeout: 90_000 }, async () => {
    const base = ['permission', 'grant', '--experiment', experimentId, ...on];
    const badLevel = await cairn([...base, '--user', 'alice', '--permission', 'OWNER']);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toContain("Invalid permission 'OWNER'");
    const both = await cairn([...base, '--model', 'fraud', '--user', 'alice', '--permission', 'READ']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either --experiment or --model');
    const missingUser = await cairn([...base, '--permission', 'READ']);
    expect(missingUser.code).toBe(2);
    expect(missingUser.stderr).toContain('--user NAME is required');
    const badId = await cairn(['permission', 'revoke', '--user', 'alice', '--experiment', 'abc', ...on]);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain("Invalid experiment ID 'abc'");
    const unknownAction = await cairn(['permission', 'give', ...on]);
    expect(unknownAction.code).toBe(2);
  });
});

describe('cairn permission next to a running server with --auth', () => {
  const dataDir = join(root, 'served');
  let server: LocalServer;
  let store: OpenTokenStore;
  let api: Api;
  const bearer: Record<string, { authorization: string }> = {};

  beforeAll(async () => {
    const external = externalDynamoEndpoint();
    server = await startLocalServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      auth: true,
      ...(external ? { dynamodbEndpoint: external, tableName: uniqueTableName() } : {}),
    });
    api = new Api(server.url);
    store = await openLocalTokenStore(dataDir);
    for (const [name, scope] of [
      ['root', 'admin'],
      ['dana', 'read'],
      ['alice', 'write'],
      ['bob', 'read'],
      ['old-token', 'write'],
    ] as const) {
      const issued = await issueToken(store.tokens, { name, scope });
      bearer[name] = { authorization: `Bearer ${issued.token}` };
    }
  });

  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  const onServed = () => ['--data-dir', dataDir];

  async function create(path: string, name: string): Promise<ApiResponse> {
    const created = await api.request('POST', `/api/2.0/mlflow/${path}/create`, {
      json: { name },
      headers: bearer.root,
    });
    expect(created.status, created.text).toBe(200);
    return created;
  }

  it('replaces a grant, lists by resource, by user and for everyone, and revokes once', {
    timeout: 180_000,
  }, async () => {
    const id = (await create('experiments', 'listed-experiment')).body.experiment_id as string;
    await create('registered-models', 'fraud');
    const grant = (user: string, target: string[], level: string) =>
      cairn(['permission', 'grant', '--user', user, ...target, '--permission', level, ...onServed()]);
    for (const [user, target, level] of [
      ['alice', ['--experiment', id], 'NO_PERMISSIONS'],
      // grant replaces: the CLI's grant is "set to", not MLflow's create-once.
      ['alice', ['--experiment', id], 'READ'],
      ['bob', ['--experiment', id], 'EDIT'],
      ['bob', ['--model', 'fraud'], 'MANAGE'],
    ] as const) {
      const answer = await grant(user, [...target], level);
      expect(answer.code, answer.stderr).toBe(0);
    }

    const onExperiment = await cairn(['permission', 'list', '--experiment', id, ...onServed()]);
    expect(onExperiment.code, onExperiment.stderr).toBe(0);
    expect(onExperiment.stdout).toMatch(/alice: READ\n\s+bob: EDIT/);

    const ofBob = await cairn(['permission', 'list', '--user', 'bob', ...onServed()]);
    expect(ofBob.code, ofBob.stderr).toBe(0);
    expect(ofBob.stdout).toContain("'bob' (read token; default READ)");
    expect(ofBob.stdout).toContain(`experiment '${id}': EDIT`);
    expect(ofBob.stdout).toContain("registered model 'fraud': MANAGE");

    const everyone = await cairn(['permission', 'list', ...onServed()]);
    expect(everyone.code, everyone.stderr).toBe(0);
    expect(everyone.stdout).toMatch(/alice \(write; default EDIT\)\n\s+experiment '\d+': READ\n/);
    expect(everyone.stdout).toContain('root (admin; default MANAGE)');

    const revoke = await cairn(['permission', 'revoke', '--user', 'bob', '--model', 'fraud', ...onServed()]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain("Revoked the permission of 'bob' on registered model 'fraud'");
    const twice = await cairn(['permission', 'revoke', '--user', 'bob', '--model', 'fraud', ...onServed()]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('Registered model permission with name=fraud and username=bob not found');
  });

  it('refuses an unknown user, experiment or model with the API’s messages, and writes nothing', {
    timeout: 120_000,
  }, async () => {
    const id = (await create('experiments', 'refusing-experiment')).body.experiment_id as string;
    const grant = (user: string, target: string[]) =>
      cairn(['permission', 'grant', '--user', user, ...target, '--permission', 'READ', ...onServed()]);
    const noUser = await grant('carol', ['--experiment', id]);
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toContain('User with username=carol not found');
    const noExperiment = await grant('alice', ['--experiment', '424242']);
    expect(noExperiment.code).toBe(1);
    expect(noExperiment.stderr).toContain('No Experiment with id=424242 exists');
    const noModel = await grant('alice', ['--model', 'nope']);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toContain('Registered Model with name=nope not found');
    const listed = await cairn(['permission', 'list', '--experiment', id, ...onServed()]);
    // None of the refused grants was written (root, an admin, gets no creator's grant: it holds MANAGE
    // everywhere already).
    expect(listed.stdout).not.toMatch(/alice|carol|root:/);
  });

  it('grants through the running server’s data, and the API answers by the grant', async () => {
    const created = await api.request('POST', '/api/2.0/mlflow/experiments/create', {
      json: { name: 'served-experiment' },
      headers: bearer.root,
    });
    expect(created.status, created.text).toBe(200);
    const id = created.body.experiment_id as string;
    // dana's grants are now in the server's cache: before the grant she may not read the permissions.
    const before = await api.request(
      'GET',
      `/api/2.0/cairn/permissions/list?kind=experiment&resource=${id}`,
      { headers: bearer.dana },
    );
    expect(before.status, before.text).toBe(403);

    const grant = await cairn([
      'permission',
      'grant',
      '--user',
      'dana',
      '--experiment',
      id,
      '--permission',
      'MANAGE',
      '--data-dir',
      dataDir,
    ]);
    expect(grant.code, grant.stderr).toBe(0);
    expect(grant.stdout).toContain('through the running server');
    expect(grant.stdout).toContain('The running server applies it within 1 s');
    // The local server's grant cache keeps entries for 1 s (not AWS's 30 s): past that, the grant holds.
    await new Promise((resolve) => setTimeout(resolve, LOCAL_PERMISSION_CACHE_TTL_MS + 100));

    // dana (a read token) now manages the experiment: she may read its grants through the API.
    const listed = await api.request(
      'GET',
      `/api/2.0/cairn/permissions/list?kind=experiment&resource=${id}`,
      { headers: bearer.dana },
    );
    expect(listed.status, listed.text).toBe(200);
    // root created it but is an admin: no creator's grant beside dana's.
    expect(listed.body.permissions).toEqual([{ principal: 'dana', username: 'dana', permission: 'MANAGE' }]);
  });

  it('enters tokens from before the principal directory, so the API can grant to them', async () => {
    const created = await api.request('POST', '/api/2.0/mlflow/experiments/create', {
      json: { name: 'legacy-experiment' },
      headers: bearer.root,
    });
    const id = created.body.experiment_id as string;
    // As a token created by an earlier build: no directory entry.
    await deletePrincipal(store.client, store.tableName, 'old-token');
    const grant = (permission: string) =>
      api.request('POST', '/api/2.0/mlflow/experiments/permissions/create', {
        json: { experiment_id: id, username: 'old-token', permission },
        headers: bearer.root,
      });
    const refused = await grant('READ');
    expect(refused.status, refused.text).toBe(404);
    expect(refused.body.message).toContain('User with username=old-token not found');

    const list = await cairn(['permission', 'list', '--data-dir', dataDir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('old-token (write; default EDIT)');
    const accepted = await grant('READ');
    expect(accepted.status, accepted.text).toBe(200);
  });
});

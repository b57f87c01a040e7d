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
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { issueToken } from '../../shared/auth/issue.js';
import { DynamoExperimentRepository } from '../../shared/store/experiments/repository.js';
import { deletePrincipal } from '../../shared/store/permissions/principals.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import { CairnCli } from '../helpers/cli.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import { Api } from '../helpers/http.js';

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

  // Tokens, an experiment and a model in the directory's store, then the directory is left idle.
  beforeAll(async () => {
    const store = await openLocalTokenStore(dataDir);
    try {
      await issueToken(store.tokens, { name: 'alice', scope: 'write' });
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
      await new DynamoRegistryRepository(doc, store.tableName).createModel({
        name: 'fraud',
        tags: {},
        now: 1,
      });
    } finally {
      await store.close();
    }
  });

  it('grants, lists and revokes, and releases the directory after each command', async () => {
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
    // grant replaces: the CLI's grant is "set to", not MLflow's create-once.
    const lower = await cairn([
      'permission',
      'grant',
      '--user',
      'alice',
      '--experiment',
      experimentId,
      '--permission',
      'NO_PERMISSIONS',
      ...on,
    ]);
    expect(lower.code, lower.stderr).toBe(0);
    const again = await cairn([
      'permission',
      'grant',
      '--user',
      'alice',
      '--experiment',
      experimentId,
      '--permission',
      'READ',
      ...on,
    ]);
    expect(again.code, again.stderr).toBe(0);
    const model = await cairn([
      'permission',
      'grant',
      '--user',
      'bob',
      '--model',
      'fraud',
      '--permission',
      'MANAGE',
      ...on,
    ]);
    expect(model.code, model.stderr).toBe(0);

    const onExperiment = await cairn(['permission', 'list', '--experiment', experimentId, ...on]);
    expect(onExperiment.code, onExperiment.stderr).toBe(0);
    expect(onExperiment.stdout).toContain(`Permissions on experiment '${experimentId}'`);
    expect(onExperiment.stdout).toMatch(/alice: READ\n\s+bob: EDIT/);
    expect(onExperiment.stdout).toContain('read → READ, write → EDIT, admin → MANAGE');

    const ofBob = await cairn(['permission', 'list', '--user', 'bob', ...on]);
    expect(ofBob.code, ofBob.stderr).toBe(0);
    expect(ofBob.stdout).toContain("'bob' (read token; default READ)");
    expect(ofBob.stdout).toContain(`experiment '${experimentId}': EDIT`);
    expect(ofBob.stdout).toContain("registered model 'fraud': MANAGE");

    const everyone = await cairn(['permission', 'list', ...on]);
    expect(everyone.code, everyone.stderr).toBe(0);
    expect(everyone.stdout).toMatch(/alice \(write; default EDIT\)\n\s+experiment '\d+': READ\n/);
    expect(everyone.stdout).toContain('bob (read; default READ)');

    const revoke = await cairn(['permission', 'revoke', '--user', 'bob', '--model', 'fraud', ...on]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain("Revoked the permission of 'bob' on registered model 'fraud'");
    const twice = await cairn(['permission', 'revoke', '--user', 'bob', '--model', 'fraud', ...on]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('Registered model permission with name=fraud and username=bob not found');
  });

  it('refuses bad input with the API’s messages, and writes nothing', async () => {
    const base = ['permission', 'grant', '--experiment', experimentId, ...on];
    const badLevel = await cairn([...base, '--user', 'alice', '--permission', 'OWNER']);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toContain("Invalid permission 'OWNER'");

    const noUser = await cairn([...base, '--user', 'carol', '--permission', 'READ']);
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toContain('User with username=carol not found');

    const noExperiment = await cairn([
      'permission',
      'grant',
      '--user',
      'alice',
      '--experiment',
      '424242',
      '--permission',
      'READ',
      ...on,
    ]);
    expect(noExperiment.code).toBe(1);
    expect(noExperiment.stderr).toContain('No Experiment with id=424242 exists');

    const noModel = await cairn([
      'permission',
      'grant',
      '--user',
      'alice',
      '--model',
      'nope',
      '--permission',
      'READ',
      ...on,
    ]);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toContain('Registered Model with name=nope not found');

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

    const listed = await cairn(['permission', 'list', '--user', 'carol', ...on]);
    expect(listed.code).toBe(1);
    const alice = await cairn(['permission', 'list', '--user', 'alice', ...on]);
    expect(alice.stdout).not.toContain('OWNER');
    expect(alice.stdout).not.toContain('424242');
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

  it('grants through the running server’s data, and the API answers by the grant', async () => {
    const created = await api.request('POST', '/api/2.0/mlflow/experiments/create', {
      json: { name: 'served-experiment' },
      headers: bearer.root,
    });
    expect(created.status, created.text).toBe(200);
    const id = created.body.experiment_id as string;

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

    // dana (a read token) now manages the experiment: she may read its grants through the API.
    const listed = await api.request(
      'GET',
      `/api/2.0/cairn/permissions/list?kind=experiment&resource=${id}`,
      { headers: bearer.dana },
    );
    expect(listed.status, listed.text).toBe(200);
    // root's MANAGE beside it: the creator's grant (issue 16).
    expect(listed.body.permissions).toEqual([
      { principal: 'dana', username: 'dana', permission: 'MANAGE' },
      { principal: 'root', username: 'root', permission: 'MANAGE' },
    ]);
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

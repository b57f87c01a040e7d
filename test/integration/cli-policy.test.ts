/**
 * `cairn policy` as a user runs it: child processes through the package's bin, on a data directory no
 * server holds and on one a running server (with --auth) holds. Also the endpoints' scopes: policies are
 * set and deleted with an admin token, read with any.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { issueToken } from '../../shared/auth/issue.js';
import { DynamoPromotionRepository } from '../../shared/store/promotion/repository.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import { CairnCli } from '../helpers/cli.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import { Api } from '../helpers/http.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-cli-policy-'));
const cli = new CairnCli();

afterAll(() => {
  cli.killAll();
  rmSync(root, { recursive: true, force: true });
});

const cairn = (args: string[]) => cli.run(args);

const CONDITION = "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'";

describe('cairn policy on a data directory no server holds', () => {
  const dataDir = join(root, 'idle');
  const on = ['--data-dir', dataDir];

  // Policies belong to registered models: register one in the directory's store, then leave it idle. (Not
  // through a server: the registry function, once loaded, stays bound to the file's one server below.)
  beforeAll(async () => {
    const store = await openLocalTokenStore(dataDir);
    try {
      const doc = DynamoDBDocumentClient.from(store.client, {
        marshallOptions: { removeUndefinedValues: true },
      });
      await new DynamoRegistryRepository(doc, store.tableName).createModel({
        name: 'fraud',
        tags: {},
        now: 1,
      });
    } finally {
      await store.close();
    }
  });

  it('sets, gets and deletes policies, and releases the directory', async () => {
    const set = await cairn([
      'policy',
      'set',
      '--model',
      'fraud',
      '--alias',
      'champion',
      '--condition',
      CONDITION,
      ...on,
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("Set the promotion policy of model 'fraud' for alias 'champion'");
    const stage = await cairn([
      'policy',
      'set',
      '--model',
      'fraud',
      '--stage',
      'production',
      '--condition',
      'metrics.f1 > 0.5',
      ...on,
    ]);
    expect(stage.code, stage.stderr).toBe(0);
    const got = await cairn(['policy', 'get', '--model', 'fraud', ...on]);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain(`alias champion: ${CONDITION}`);
    expect(got.stdout).toContain('stage Production: metrics.f1 > 0.5');
    const deleted = await cairn(['policy', 'delete', '--model', 'fraud', '--stage', 'Production', ...on]);
    expect(deleted.code).toBe(0);
    expect((await cairn(['policy', 'get', '--model', 'fraud', ...on])).stdout).not.toContain('Production');
    const audit = await cairn(['policy', 'audit', '--model', 'fraud', ...on]);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain("Model 'fraud' has no recorded promotions");
    expect(existsSync(join(dataDir, 'cairn.lock'))).toBe(false);
  });

  it('refuses a registered model that does not exist, writing nothing', async () => {
    const set = await cairn([
      'policy',
      'set',
      '--model',
      'nobody',
      '--alias',
      'champion',
      '--condition',
      CONDITION,
      ...on,
    ]);
    expect(set.code).toBe(1);
    expect(set.stderr).toContain('Registered Model with name=nobody not found');
    const audit = await cairn(['policy', 'audit', '--model', 'nobody', ...on]);
    expect(audit.code).toBe(1);
    expect(audit.stderr).toContain('Registered Model with name=nobody not found');
  });

  // Several CLI processes at once: generous on a loaded 2-core machine (a time limit, never an assertion).
  it('refuses bad input with exit code 2 before opening anything', { timeout: 90_000 }, async () => {
    const cases: [string[], string][] = [
      [
        ['policy', 'set', '--model', 'm', '--alias', 'a', '--condition', 'metrics.x >'],
        "Invalid value for 'condition'",
      ],
      [
        [
          'policy',
          'set',
          '--model',
          'm',
          '--alias',
          'a',
          '--stage',
          'Staging',
          '--condition',
          'metrics.x > 0',
        ],
        'exactly one',
      ],
      [['policy', 'set', '--model', 'm', '--stage', 'prod', '--condition', 'metrics.x > 0'], 'Production'],
      [['policy', 'set', '--model', 'm', '--alias', 'a'], '--condition is required'],
      [['policy', 'get'], '--model is required'],
      [['policy', 'audit', '--model', 'm', '--max-results', 'ten'], '--max-results'],
      [['policy', 'promote'], 'set, get, delete, audit or migrate'],
      [['policy', 'migrate', '--model', 'm'], "Unknown option '--model'"],
    ];
    const results = await Promise.all(
      cases.map(([args]) => cairn([...args, '--data-dir', join(root, 'never')])),
    );
    cases.forEach(([args, message], index) => {
      const result = results[index] as Awaited<ReturnType<typeof cairn>>;
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
    });
    expect(existsSync(join(root, 'never', 'cairn.lock'))).toBe(false);
  });
});

describe('cairn policy next to a running server with --auth', () => {
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
    for (const scope of ['read', 'write', 'admin'] as const) {
      const issued = await issueToken(store.tokens, { name: `${scope}-token`, scope });
      bearer[scope] = { authorization: `Bearer ${issued.token}` };
    }
  });

  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  const path = (endpoint: string) => `/api/2.0/cairn/registered-models/${endpoint}`;

  it('sets a policy the server then serves, and shows the audit trail', async () => {
    const created = await api.request('POST', '/api/2.0/mlflow/registered-models/create', {
      json: { name: 'churn' },
      headers: bearer.write,
    });
    expect(created.status, created.text).toBe(200);
    const set = await cairn([
      'policy',
      'set',
      '--model',
      'churn',
      '--alias',
      'champion',
      '--condition',
      CONDITION,
      '--data-dir',
      dataDir,
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('through the running server');
    const served = await api.request('GET', `${path('policies/get')}?name=churn`, { headers: bearer.read });
    expect(served.status).toBe(200);
    expect(served.body.policies).toEqual([
      { name: 'churn', alias: 'champion', condition: CONDITION, last_updated_timestamp: expect.any(Number) },
    ]);

    const doc = DynamoDBDocumentClient.from(store.client);
    const model = await new DynamoRegistryRepository(doc, store.tableName).getModelByName('churn');
    if (!model) throw new Error('registered-models/create left no model');
    const repo = new DynamoPromotionRepository(doc, store.tableName);
    await repo.recordDecision({
      id: '00000000-0000-4000-8000-000000000001',
      modelId: model.modelId,
      modelName: 'churn',
      version: '3',
      runId: 'a'.repeat(32),
      target: { kind: 'alias', name: 'champion' },
      principal: 'ci',
      timestamp: Date.UTC(2026, 0, 2, 3, 4, 5),
      outcome: 'REFUSED',
      condition: CONDITION,
      failingClauses: ['metrics.accuracy >= 0.9 (run has 0.85)'],
    });
    const audit = await cairn(['policy', 'audit', '--model', 'churn', '--data-dir', dataDir]);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toContain(
      `2026-01-02T03:04:05Z  REFUSED  version 3 -> alias champion  run ${'a'.repeat(32)}  by ci`,
    );
    expect(audit.stdout).toContain('    failing: metrics.accuracy >= 0.9 (run has 0.85)');
  });

  it('needs an admin token to set or delete a policy, any token to read', async () => {
    const body = { name: 'churn', stage: 'Staging', condition: 'metrics.f1 > 0.5' };
    for (const scope of ['read', 'write']) {
      const refused = await api.request('POST', path('policies/set'), { json: body, headers: bearer[scope] });
      expect(refused.status, scope).toBe(403);
      expect(refused.body.error_code).toBe('PERMISSION_DENIED');
      const notDeleted = await api.request('POST', path('policies/delete'), {
        json: { name: 'churn', alias: 'champion' },
        headers: bearer[scope],
      });
      expect(notDeleted.status, scope).toBe(403);
    }
    expect(
      (await api.request('POST', path('policies/set'), { json: body, headers: bearer.admin })).status,
    ).toBe(200);
    const listed = await api.request('GET', `${path('promotions/list')}?name=churn`, {
      headers: bearer.read,
    });
    expect(listed.status).toBe(200);
    expect((await api.request('GET', `${path('policies/get')}?name=churn`)).status).toBe(401);
  });
});

import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnCli } from '../helpers/cli.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let table: ReturnType<typeof serverTable>;
let doc: DynamoDBDocumentClient;
let tableName: string;
const cli = new CairnCli();

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  table = serverTable(server);
  doc = table.doc;
  tableName = table.tableName;
});

afterAll(async () => {
  cli.killAll();
  table?.destroy();
  await server?.close();
});

const mlflow = (method: 'GET' | 'POST', endpoint: string, json?: unknown) =>
  api.request(method, `/api/2.0/mlflow/${endpoint}`, json === undefined ? {} : { json });
const cairnApi = (method: 'GET' | 'POST', endpoint: string, json: Record<string, string>) =>
  method === 'GET'
    ? api.request('GET', `/api/2.0/cairn/registered-models/${endpoint}?${new URLSearchParams(json)}`)
    : api.request('POST', `/api/2.0/cairn/registered-models/${endpoint}`, { json });

/** A policy item as builds before the id-keyed layout wrote it: under the name, without modelId. */
const legacyPolicy = (name: string, alias: string, condition: string) => ({
  pk: `POLICY#${name}`,
  sk: `ALIAS#${alias}`,
  modelName: name,
  kind: 'alias',
  target: alias,
  condition,
  lastUpdated: 1,
});

const legacyDecision = (name: string, id: string) => ({
  pk: `PROMOTIONS#${name}`,
  sk: `${String(Date.UTC(2026, 0, 2)).padStart(15, '0')}#${id}`,
  id,
  modelName: name,
  version: '1',
  kind: 'alias',
  target: 'champion',
  timestamp: Date.UTC(2026, 0, 2),
  outcome: 'ALLOWED',
  failingClauses: [],
});

const put = (Item: Record<string, unknown>) => doc.send(new PutCommand({ TableName: tableName, Item }));
const exists = async (pk: string, sk: string) =>
  (await doc.send(new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }))).Item !==
  undefined;

const promote = () =>
  mlflow('POST', 'registered-models/alias', { name: 'upgraded', alias: 'champion', version: '1' });

describe('cairn policy migrate', () => {
  let runId: string;
  const legacyAudit = legacyDecision('upgraded', '00000000-0000-4000-8000-00000000000a');
  const orphanAudit = legacyDecision('gone', '00000000-0000-4000-8000-00000000000b');

  beforeAll(async () => {
    const experiment = await mlflow('POST', 'experiments/create', { name: 'migrate' });
    const experimentId = (experiment.body as { experiment_id: string }).experiment_id;
    const created = await mlflow('POST', 'runs/create', { experiment_id: experimentId });
    runId = (created.body as { run: { info: { run_id: string } } }).run.info.run_id;
    await mlflow('POST', 'runs/log-metric', { run_id: runId, key: 'accuracy', value: 0.85, timestamp: 1 });
    for (const name of ['upgraded', 'both']) {
      expect((await mlflow('POST', 'registered-models/create', { name })).status).toBe(200);
      const version = await mlflow('POST', 'model-versions/create', {
        name,
        source: `runs:/${runId}/model`,
        run_id: runId,
      });
      expect(version.status, version.text).toBe(200);
    }
    // 'both' was re-set by hand after the upgrade: its id-keyed policy wins over its name-keyed one.
    expect(
      (
        await cairnApi('POST', 'policies/set', {
          name: 'both',
          alias: 'champion',
          condition: 'metrics.accuracy > 0',
        })
      ).status,
    ).toBe(200);
    await put(legacyPolicy('upgraded', 'champion', 'metrics.accuracy >= 0.9'));
    await put(legacyAudit);
    await put(legacyPolicy('both', 'champion', 'metrics.accuracy >= 0.99'));
    await put(legacyPolicy('gone', 'champion', 'metrics.accuracy >= 0.5'));
    await put(orphanAudit);
  });

  it('refuses promotions while name-keyed policies wait, migrates them, and then guards by them', async () => {
    const refused = await promote();
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    expect((refused.body as { message: string }).message).toContain('cairn policy migrate');
    // 'both' has a policy under its id: its leftovers do not block it, and its run passes its policy.
    const other = await mlflow('POST', 'registered-models/alias', {
      name: 'both',
      alias: 'champion',
      version: '1',
    });
    expect(other.status, other.text).toBe(200);

    const pending = await cairnApi('GET', 'policies/get', { name: 'upgraded' });
    expect(pending.body).toEqual({ policies: [], legacy_policies_pending: true });
    expect((await cairnApi('GET', 'policies/get', { name: 'both' })).body).not.toHaveProperty(
      'legacy_policies_pending',
    );
    const got = await cli.run(['policy', 'get', '--model', 'upgraded', '--data-dir', server.dataDir]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toContain('pending migration');

    const dryRun = await cli.run(['policy', 'migrate', '--dry-run', '--data-dir', server.dataDir]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('Would migrate 1 policies and 1 audit entries');
    expect(dryRun.stdout).toContain("Would delete 2 orphaned items of models that no longer exist: 'gone'");
    expect(dryRun.stdout).toContain("Conflict: model 'both'");
    expect(dryRun.stdout).toContain('Dry run: nothing was changed.');
    for (const [pk, sk] of [
      ['POLICY#upgraded', 'ALIAS#champion'],
      ['POLICY#both', 'ALIAS#champion'],
      ['POLICY#gone', 'ALIAS#champion'],
      [legacyAudit.pk, legacyAudit.sk],
      [orphanAudit.pk, orphanAudit.sk],
    ] as const) {
      expect(await exists(pk, sk), pk).toBe(true);
    }
    expect((await promote()).status).toBe(400);

    const migrated = await cli.run(['policy', 'migrate', '--data-dir', server.dataDir]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('Migrated 1 policies and 1 audit entries');
    expect(migrated.stdout).toContain("Deleted 2 orphaned items of models that no longer exist: 'gone'");
    expect(migrated.stdout).toContain(
      "Conflict: model 'both' already has a policy for alias 'champion' under its id, kept: metrics.accuracy > 0; the name-keyed one was dropped: metrics.accuracy >= 0.99",
    );
    for (const [pk, sk] of [
      ['POLICY#upgraded', 'ALIAS#champion'],
      ['POLICY#both', 'ALIAS#champion'],
      ['POLICY#gone', 'ALIAS#champion'],
      [legacyAudit.pk, legacyAudit.sk],
      [orphanAudit.pk, orphanAudit.sk],
    ] as const) {
      expect(await exists(pk, sk), pk).toBe(false);
    }
    const policies = await cairnApi('GET', 'policies/get', { name: 'upgraded' });
    expect(policies.body).toEqual({
      policies: [
        {
          name: 'upgraded',
          alias: 'champion',
          condition: 'metrics.accuracy >= 0.9',
          last_updated_timestamp: 1,
        },
      ],
    });
    expect((await cairnApi('GET', 'policies/get', { name: 'both' })).body).toMatchObject({
      policies: [{ condition: 'metrics.accuracy > 0' }],
    });

    // Now judged by the migrated policy: refused while the run fails it, allowed once it passes.
    const judged = await promote();
    expect(judged.status).toBe(400);
    expect((judged.body as { message: string }).message).toContain('metrics.accuracy >= 0.9 (run has 0.85)');
    await mlflow('POST', 'runs/log-metric', {
      run_id: runId,
      key: 'accuracy',
      value: 0.93,
      timestamp: 2,
      step: 1,
    });
    const allowed = await promote();
    expect(allowed.status, allowed.text).toBe(200);

    // The trail, under the id: the migrated entry and every decision since, the first refusal included.
    const audit = await cairnApi('GET', 'promotions/list', { name: 'upgraded' });
    const decisions = (
      audit.body as { promotions: { id: string; outcome: string; failing_clauses: string[] }[] }
    ).promotions;
    expect(decisions.map((d) => d.outcome)).toEqual(['ALLOWED', 'REFUSED', 'REFUSED', 'REFUSED', 'ALLOWED']);
    expect(decisions.at(-1)?.id).toBe(legacyAudit.id);
    expect(decisions[3]?.failing_clauses[0]).toContain('cairn policy migrate');

    const again = await cli.run(['policy', 'migrate', '--data-dir', server.dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to migrate');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusOf } from '../../shared/api/http.js';
import { PolicyPromotionGuard } from '../../shared/domain/promotion/service.js';
import { MlflowError } from '../../shared/errors.js';
import { DynamoPromotionRepository } from '../../shared/store/promotion/repository.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let table: ReturnType<typeof serverTable>;
let guard: PolicyPromotionGuard;
let registry: DynamoRegistryRepository;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  table = serverTable(server);
  const { doc, tableName } = table;
  registry = new DynamoRegistryRepository(doc, tableName);
  guard = new PolicyPromotionGuard(
    new DynamoPromotionRepository(doc, tableName),
    new DynamoRunRepository(doc, tableName),
  );
});

afterAll(async () => {
  table?.destroy();
  await server?.close();
});

const PREFIX = '/api/2.0/cairn/registered-models';
const post = (endpoint: string, json: unknown) => api.request('POST', `${PREFIX}/${endpoint}`, { json });
const get = (endpoint: string, query: Record<string, string>) =>
  api.request('GET', `${PREFIX}/${endpoint}?${new URLSearchParams(query)}`);

const createModel = async (name: string) => {
  const created = await api.post('registered-models/create', { name });
  expect(created.status, created.text).toBe(200);
};

describe('policy endpoints', () => {
  it('sets, reads and deletes policies per alias and stage', async () => {
    await createModel('fraud');
    await createModel('other');
    const condition = "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'";
    const set = await post('policies/set', { name: 'fraud', alias: 'champion', condition });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      policy: { name: 'fraud', alias: 'champion', condition, last_updated_timestamp: expect.any(Number) },
    });
    const stage = await post('policies/set', {
      name: 'fraud',
      stage: 'production',
      condition: 'metrics.f1 > 0.5',
    });
    expect(stage.status).toBe(200);
    expect(stage.body.policy).toMatchObject({ stage: 'Production' });
    // Replacing a policy is a plain set.
    await post('policies/set', { name: 'fraud', stage: 'Production', condition: 'metrics.f1 > 0.6' });
    await post('policies/set', { name: 'other', alias: 'champion', condition: 'metrics.x > 0' });

    const read = await get('policies/get', { name: 'fraud' });
    expect(read.status).toBe(200);
    expect(
      (read.body.policies as Record<string, unknown>[]).map(({ last_updated_timestamp, ...p }) => p),
    ).toEqual([
      { name: 'fraud', alias: 'champion', condition },
      { name: 'fraud', stage: 'Production', condition: 'metrics.f1 > 0.6' },
    ]);

    expect((await post('policies/delete', { name: 'fraud', stage: 'PRODUCTION' })).body).toEqual({});
    // A retried delete succeeds too.
    expect((await post('policies/delete', { name: 'fraud', stage: 'Production' })).status).toBe(200);
    const after = await get('policies/get', { name: 'fraud' });
    expect((after.body.policies as unknown[]).length).toBe(1);
  });

  it('refuses every policy endpoint for a registered model that does not exist', async () => {
    const cases = [
      await post('policies/set', { name: 'nobody', alias: 'champion', condition: 'metrics.x > 0' }),
      await get('policies/get', { name: 'nobody' }),
      await post('policies/delete', { name: 'nobody', alias: 'champion' }),
      await get('promotions/list', { name: 'nobody' }),
    ];
    for (const response of cases) {
      expect(response.status, response.text).toBe(404);
      expect(response.body).toMatchObject({
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: 'Registered Model with name=nobody not found',
      });
    }
  });

  it.each([
    [{ alias: 'a', condition: 'metrics.x > 0' }, "'name'"],
    [{ name: 'm', condition: 'metrics.x > 0' }, 'exactly one'],
    [{ name: 'm', alias: 'a', stage: 'Staging', condition: 'metrics.x > 0' }, 'exactly one'],
    [{ name: 'm', stage: 'Prod', condition: 'metrics.x > 0' }, 'None, Staging, Production, Archived'],
    [{ name: 'm', alias: 'latest', condition: 'metrics.x > 0' }, 'reserved'],
    [{ name: 'm', alias: 'a' }, "'condition'"],
    [{ name: 'm', alias: 'a', condition: 'metrics.x >' }, "Invalid value for 'condition'"],
    [{ name: 'm', alias: 'a', condition: 'metrics.x > 0 AND tags.t LIKE 5' }, 'position 18'],
    [{ name: 'm', alias: 'a', condition: 7 }, "'condition'"],
  ])('refuses %j with 400 INVALID_PARAMETER_VALUE', async (body, message) => {
    const refused = await post('policies/set', body);
    expect(refused.status).toBe(400);
    expect(refused.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(refused.body.message).toContain(message);
  });

  it('lives under its own prefix only, never beside the MLflow paths', async () => {
    const ajax = await api.request('GET', '/ajax-api/2.0/cairn/registered-models/policies/get?name=m');
    expect(ajax.status).toBe(404);
    expect(ajax.body.error_code).toBe('ENDPOINT_NOT_FOUND');
    const mlflow = await api.request('GET', '/api/2.0/mlflow/registered-models/policies/get?name=m');
    expect(mlflow.status).toBe(404);
  });
});

describe('the guard against a run logged through the API', () => {
  let runId = '';
  let modelId = '';

  beforeAll(async () => {
    await createModel('churn');
    modelId = (await registry.getModelByName('churn'))?.modelId ?? '';
    expect(modelId).not.toBe('');
    const experiment = await api.post('experiments/create', { name: 'promotion' });
    const created = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experiment.body.experiment_id,
      start_time: 1,
    });
    runId = created.body.run.info.run_id;
    await api.post('runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'accuracy', value: 0.85, timestamp: 1, step: 0 }],
      tags: [{ key: 'data_version', value: 'v2' }],
    });
    await post('policies/set', {
      name: 'churn',
      alias: 'champion',
      condition: "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'",
    });
  });

  const promote = (version: string, principal = 'ci') =>
    guard.check({
      modelId,
      modelName: 'churn',
      version,
      runId,
      target: { kind: 'alias', name: 'champion' },
      principal,
    });

  it('refuses a run that fails the policy, listing each failing clause with its value', async () => {
    const error = await promote('1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MlflowError);
    expect(statusOf(error as MlflowError)).toBe(400);
    expect((error as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((error as MlflowError).message).toContain(
      "metrics.accuracy >= 0.9 (run has 0.85); tags.data_version = 'v3' (run has 'v2')",
    );
  });

  it('allows it once the run meets the policy, and a target without a policy', async () => {
    await api.post('runs/log-metric', { run_id: runId, key: 'accuracy', value: 0.93, timestamp: 2, step: 1 });
    await api.post('runs/set-tag', { run_id: runId, key: 'data_version', value: 'v3' });
    await expect(promote('2', 'alice')).resolves.toBeUndefined();
    // Decisions in the same millisecond have no defined order; the listing below expects this one later.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(
      guard.check({
        modelId,
        modelName: 'churn',
        version: '2',
        runId,
        target: { kind: 'stage', name: 'Staging' },
      }),
    ).resolves.toBeUndefined();
  });

  it('records every decision, newest first, in pages', async () => {
    const all = await get('promotions/list', { name: 'churn' });
    expect(all.status).toBe(200);
    const promotions = all.body.promotions as Record<string, unknown>[];
    expect(promotions.map((p) => [p.version, p.outcome, p.alias ?? p.stage])).toEqual([
      ['2', 'ALLOWED', 'Staging'],
      ['2', 'ALLOWED', 'champion'],
      ['1', 'REFUSED', 'champion'],
    ]);
    expect(promotions[2]).toEqual({
      id: expect.any(String),
      name: 'churn',
      version: '1',
      run_id: runId,
      alias: 'champion',
      principal: 'ci',
      timestamp: expect.any(Number),
      outcome: 'REFUSED',
      condition: "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'",
      failing_clauses: ['metrics.accuracy >= 0.9 (run has 0.85)', "tags.data_version = 'v3' (run has 'v2')"],
    });
    expect(promotions[1]).toMatchObject({ principal: 'alice', failing_clauses: [] });
    expect(promotions[0]).not.toHaveProperty('condition');
    expect(all.body).not.toHaveProperty('next_page_token');

    const seen: unknown[] = [];
    let token: string | undefined;
    do {
      const page = await get('promotions/list', {
        name: 'churn',
        max_results: '2',
        ...(token ? { page_token: token } : {}),
      });
      expect(page.status).toBe(200);
      seen.push(...(page.body.promotions as Record<string, unknown>[]).map((p) => p.id));
      token = page.body.next_page_token as string | undefined;
    } while (token);
    expect(seen).toEqual(promotions.map((p) => p.id));
  });

  it('refuses bad paging input and keeps models apart', async () => {
    const first = await get('promotions/list', { name: 'churn', max_results: '1' });
    const token = first.body.next_page_token as string;
    const foreign = await get('promotions/list', { name: 'fraud', page_token: token });
    expect(foreign.status).toBe(400);
    expect((await get('promotions/list', { name: 'churn', page_token: 'garbage' })).status).toBe(400);
    expect((await get('promotions/list', { name: 'churn', max_results: '0' })).status).toBe(400);
    expect((await get('promotions/list', { name: 'churn', max_results: '1001' })).status).toBe(400);
    expect((await get('promotions/list', {})).status).toBe(400);
    expect((await get('promotions/list', { name: 'fraud' })).body).toEqual({ promotions: [] });
  });
});

describe('guarded promotion through the registry endpoints', () => {
  const mlflow = (method: 'GET' | 'POST' | 'DELETE', endpoint: string, json?: unknown) =>
    api.request(method, `/api/2.0/mlflow/${endpoint}`, json === undefined ? {} : { json });

  it('refuses an alias and a stage whose run fails the policy, accepts them once it passes, and audits all', async () => {
    const experiment = await mlflow('POST', 'experiments/create', { name: 'guarded-promotion' });
    const experimentId = (experiment.body as { experiment_id: string }).experiment_id;
    const created = await mlflow('POST', 'runs/create', { experiment_id: experimentId });
    const runId = (created.body as { run: { info: { run_id: string } } }).run.info.run_id;
    await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'accuracy', value: 0.85, timestamp: 1, step: 0 }],
      tags: [{ key: 'data_version', value: 'v2' }],
    });
    expect((await mlflow('POST', 'registered-models/create', { name: 'guarded' })).status).toBe(200);
    const version = await mlflow('POST', 'model-versions/create', {
      name: 'guarded',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(version.status, version.text).toBe(200);
    const condition = "metrics.accuracy >= 0.9 AND tags.data_version = 'v3'";
    expect((await post('policies/set', { name: 'guarded', alias: 'champion', condition })).status).toBe(200);
    expect(
      (
        await post('policies/set', {
          name: 'guarded',
          stage: 'Production',
          condition: 'metrics.accuracy > 0.8',
        })
      ).status,
    ).toBe(200);

    const refused = await mlflow('POST', 'registered-models/alias', {
      name: 'guarded',
      alias: 'champion',
      version: '1',
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    const message = (refused.body as { message: string }).message;
    expect(message).toContain('metrics.accuracy >= 0.9 (run has 0.85)');
    expect(message).toContain("tags.data_version = 'v3' (run has 'v2')");
    // Refused: nothing was set.
    const model = await mlflow('GET', 'registered-models/get?name=guarded');
    expect(
      (model.body as { registered_model: { aliases?: unknown[] } }).registered_model.aliases ?? [],
    ).toEqual([]);
    // A stage whose own policy passes goes through.
    const staged = await mlflow('POST', 'model-versions/transition-stage', {
      name: 'guarded',
      version: '1',
      stage: 'Production',
      archive_existing_versions: false,
    });
    expect(staged.status, staged.text).toBe(200);

    await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'accuracy', value: 0.93, timestamp: 2, step: 1 }],
      tags: [{ key: 'data_version', value: 'v3' }],
    });
    const allowed = await mlflow('POST', 'registered-models/alias', {
      name: 'guarded',
      alias: 'champion',
      version: '1',
    });
    expect(allowed.status, allowed.text).toBe(200);
    const byAlias = await mlflow('GET', 'registered-models/alias?name=guarded&alias=champion');
    expect((byAlias.body as { model_version: { version: string } }).model_version.version).toBe('1');

    const audit = await get('promotions/list', { name: 'guarded' });
    expect(audit.status).toBe(200);
    const decisions = (audit.body as { promotions: { outcome: string; alias?: string; stage?: string }[] })
      .promotions;
    expect(decisions.map((d) => [d.alias ?? d.stage, d.outcome])).toEqual([
      ['champion', 'ALLOWED'],
      ['Production', 'ALLOWED'],
      ['champion', 'REFUSED'],
    ]);
  });

  it('guards a version registered from a logged model by the logged model source run', async () => {
    const experiment = await mlflow('POST', 'experiments/create', { name: 'guarded-logged-model' });
    const experimentId = (experiment.body as { experiment_id: string }).experiment_id;
    const created = await mlflow('POST', 'runs/create', { experiment_id: experimentId });
    const runId = (created.body as { run: { info: { run_id: string } } }).run.info.run_id;
    await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'accuracy', value: 0.7, timestamp: 1, step: 0 }],
    });
    const logged = await mlflow('POST', 'logged-models', {
      experiment_id: experimentId,
      name: 'm',
      source_run_id: runId,
    });
    expect(logged.status, logged.text).toBe(200);
    const modelId = (logged.body as { model: { info: { model_id: string } } }).model.info.model_id;
    expect((await mlflow('POST', 'registered-models/create', { name: 'guarded-lm' })).status).toBe(200);
    // As the stock client registers it: no run_id, only the models:/ source and the model id.
    const version = await mlflow('POST', 'model-versions/create', {
      name: 'guarded-lm',
      source: `models:/${modelId}`,
      model_id: modelId,
    });
    expect(version.status, version.text).toBe(200);
    expect((version.body as { model_version: { run_id?: string } }).model_version.run_id).toBe(runId);
    const condition = 'metrics.accuracy >= 0.9';
    expect((await post('policies/set', { name: 'guarded-lm', alias: 'champion', condition })).status).toBe(
      200,
    );
    const promote = () =>
      mlflow('POST', 'registered-models/alias', { name: 'guarded-lm', alias: 'champion', version: '1' });

    const refused = await promote();
    expect(refused.status).toBe(400);
    expect((refused.body as { message: string }).message).toContain('metrics.accuracy >= 0.9 (run has 0.7)');
    await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'accuracy', value: 0.95, timestamp: 2, step: 1 }],
    });
    expect((await promote()).status).toBe(200);
    const audit = await get('promotions/list', { name: 'guarded-lm' });
    const decisions = (audit.body as { promotions: { outcome: string; run_id?: string }[] }).promotions;
    expect(decisions.map((d) => [d.outcome, d.run_id])).toEqual([
      ['ALLOWED', runId],
      ['REFUSED', runId],
    ]);
  });

  /** A registered model with version 1 from a fresh run whose accuracy is 0.5. */
  async function modelWithFailingVersion(name: string): Promise<void> {
    const experiment = await mlflow('POST', 'experiments/create', { name: `exp-${name}` });
    const experimentId = (experiment.body as { experiment_id: string }).experiment_id;
    const created = await mlflow('POST', 'runs/create', { experiment_id: experimentId });
    const runId = (created.body as { run: { info: { run_id: string } } }).run.info.run_id;
    await mlflow('POST', 'runs/log-metric', { run_id: runId, key: 'accuracy', value: 0.5, timestamp: 1 });
    expect((await mlflow('POST', 'registered-models/create', { name })).status).toBe(200);
    const version = await mlflow('POST', 'model-versions/create', {
      name,
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(version.status, version.text).toBe(200);
  }

  it('keeps the policy and the audit trail across a rename: renaming cannot shed the guard', async () => {
    await modelWithFailingVersion('before-rename');
    const condition = 'metrics.accuracy >= 0.9';
    expect((await post('policies/set', { name: 'before-rename', alias: 'champion', condition })).status).toBe(
      200,
    );
    const promote = (name: string) =>
      mlflow('POST', 'registered-models/alias', { name, alias: 'champion', version: '1' });
    expect((await promote('before-rename')).status).toBe(400);

    const renamed = await mlflow('POST', 'registered-models/rename', {
      name: 'before-rename',
      new_name: 'after-rename',
    });
    expect(renamed.status, renamed.text).toBe(200);
    const refused = await promote('after-rename');
    expect(refused.status, refused.text).toBe(400);
    expect((refused.body as { message: string }).message).toContain("model 'after-rename' version 1");

    const policies = await get('policies/get', { name: 'after-rename' });
    expect(policies.body).toEqual({
      policies: [
        { name: 'after-rename', alias: 'champion', condition, last_updated_timestamp: expect.any(Number) },
      ],
    });
    // Both refusals, the one from before the rename too, under the model's current name.
    const audit = await get('promotions/list', { name: 'after-rename' });
    expect(audit.status).toBe(200);
    const decisions = (audit.body as { promotions: { name: string; outcome: string }[] }).promotions;
    expect(decisions.map((d) => [d.name, d.outcome])).toEqual([
      ['after-rename', 'REFUSED'],
      ['after-rename', 'REFUSED'],
    ]);
    // The old name names nothing now.
    expect((await get('policies/get', { name: 'before-rename' })).status).toBe(404);
  });

  it('starts a model that reuses a deleted model name with no policies and no audit trail', async () => {
    await modelWithFailingVersion('reused');
    await post('policies/set', { name: 'reused', alias: 'champion', condition: 'metrics.accuracy >= 0.9' });
    const first = await mlflow('POST', 'registered-models/alias', {
      name: 'reused',
      alias: 'champion',
      version: '1',
    });
    expect(first.status).toBe(400);
    expect((await mlflow('DELETE', 'registered-models/delete', { name: 'reused' })).status).toBe(200);

    await modelWithFailingVersion('reused');
    expect((await get('policies/get', { name: 'reused' })).body).toEqual({ policies: [] });
    expect((await get('promotions/list', { name: 'reused' })).body).toEqual({ promotions: [] });
    const promoted = await mlflow('POST', 'registered-models/alias', {
      name: 'reused',
      alias: 'champion',
      version: '1',
    });
    expect(promoted.status, promoted.text).toBe(200);
  });
});

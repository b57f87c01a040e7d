/** The model registry end to end: real HTTP → local front → registry handler → dynalite (or DynamoDB Local). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePageToken, queryFingerprint } from '../../shared/domain/search/page-token.js';
import { Api, type ApiResponse } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface VersionJson {
  name: string;
  version: string;
  current_stage: string;
  source: string;
  run_id?: string;
  status: string;
  aliases?: string[];
  tags?: { key: string; value: string }[];
  description?: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
}
interface ModelJson {
  name: string;
  description?: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  latest_versions?: VersionJson[];
  tags?: { key: string; value: string }[];
  aliases?: { alias: string; version: string }[];
}

let server: TestServer;
let api: Api;
/** Runs and a logged model created over HTTP: version sources must name things that exist. */
let RUN_ID = '';
let OTHER_RUN_ID = '';
let EXPERIMENT_ID = '';
let MODEL_ID = '';

async function createRun(experimentId: string): Promise<string> {
  const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
  });
  expect(run.status, run.text).toBe(200);
  return run.body.run.info.run_id;
}

async function createLoggedModel(sourceRunId?: string): Promise<{ model_id: string; artifact_uri: string }> {
  const response = await api.post<{ model: { info: { model_id: string; artifact_uri: string } } }>(
    'logged-models',
    { experiment_id: EXPERIMENT_ID, name: 'm', ...(sourceRunId ? { source_run_id: sourceRunId } : {}) },
  );
  expect(response.status, response.text).toBe(200);
  return response.body.model.info;
}

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const experiment = await api.post<{ experiment_id: string }>('experiments/create', { name: 'registry' });
  expect(experiment.status, experiment.text).toBe(200);
  EXPERIMENT_ID = experiment.body.experiment_id;
  RUN_ID = await createRun(EXPERIMENT_ID);
  OTHER_RUN_ID = await createRun(EXPERIMENT_ID);
  MODEL_ID = (await createLoggedModel(RUN_ID)).model_id;
});
afterAll(async () => {
  await server?.close();
});

const send = (method: string, endpoint: string, json: unknown) =>
  api.request(method, `/api/2.0/mlflow/${endpoint}`, { json });

function expectError(response: ApiResponse, status: number, code: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.body.error_code).toBe(code);
}

async function createModel(name: string, extra: Record<string, unknown> = {}): Promise<ModelJson> {
  const response = await api.post<{ registered_model: ModelJson }>('registered-models/create', {
    name,
    ...extra,
  });
  expect(response.status, response.text).toBe(200);
  return response.body.registered_model;
}

async function getModel(name: string): Promise<ModelJson> {
  const response = await api.get<{ registered_model: ModelJson }>('registered-models/get', { name });
  expect(response.status, response.text).toBe(200);
  return response.body.registered_model;
}

async function createVersion(name: string, extra: Record<string, unknown> = {}): Promise<VersionJson> {
  const response = await api.post<{ model_version: VersionJson }>('model-versions/create', {
    name,
    source: `runs:/${RUN_ID}/model`,
    run_id: RUN_ID,
    ...extra,
  });
  expect(response.status, response.text).toBe(200);
  return response.body.model_version;
}

let sourceCase = 0;

/** Sets a policy on `alias` for the model (one its source run passes) and asks for the alias. */
async function guardedAlias(name: string, version: string, condition: string): Promise<ApiResponse> {
  const policy = await api.request('POST', '/api/2.0/cairn/registered-models/policies/set', {
    json: { name, alias: 'gate', condition },
  });
  expect(policy.status, policy.text).toBe(200);
  return api.post('registered-models/alias', { name, alias: 'gate', version });
}

/**
 * 'verified' when a policy the version's source run passes lets it through, 'unverified' when the policy
 * refuses it because its run cannot be verified (every run beforeAll creates is RUNNING).
 */
async function promotionOutcome(name: string, version: string): Promise<string> {
  const response = await guardedAlias(name, version, "attributes.status = 'RUNNING'");
  if (response.status === 200) return 'verified';
  if (response.status === 400 && String(response.body.message).includes('cannot be verified'))
    return 'unverified';
  return response.text;
}

async function getVersion(name: string, version: string): Promise<VersionJson> {
  const response = await api.get<{ model_version: VersionJson }>('model-versions/get', { name, version });
  expect(response.status, response.text).toBe(200);
  return response.body.model_version;
}

describe('registered models', () => {
  it('creates with tags and description, gets it back, and refuses a duplicate name', async () => {
    const created = await createModel('rm-create', {
      description: 'first',
      tags: [{ key: 'team', value: 'ml' }],
    });
    expect(created).toMatchObject({
      name: 'rm-create',
      description: 'first',
      tags: [{ key: 'team', value: 'ml' }],
    });
    expect(created.creation_timestamp).toBeGreaterThan(0);
    expect(await getModel('rm-create')).toMatchObject({ name: 'rm-create', description: 'first' });
    // Without auth there is no principal: MLflow leaves user_id unset.
    expect(created).not.toHaveProperty('user_id');
    expect((await createVersion('rm-create')) as object).not.toHaveProperty('user_id');
    expectError(
      await api.post('registered-models/create', { name: 'rm-create' }),
      400,
      'RESOURCE_ALREADY_EXISTS',
    );
    // The /ajax-api twin serves the same data.
    const ajax = await api.request('GET', '/ajax-api/2.0/mlflow/registered-models/get?name=rm-create');
    expect(ajax.status).toBe(200);
  });

  it.each([['a/b'], ['a:b'], [''], ['   ']])(
    'refuses the invalid name %j and writes nothing',
    async (name) => {
      expectError(await api.post('registered-models/create', { name }), 400, 'INVALID_PARAMETER_VALUE');
    },
  );

  it('refuses tag values over 100,000 characters, and leaves no model behind', async () => {
    const tooLong = await api.post('registered-models/create', {
      name: 'rm-long-tag',
      tags: [{ key: 'k', value: 'x'.repeat(100_001) }],
    });
    expectError(tooLong, 400, 'INVALID_PARAMETER_VALUE');
    expectError(
      await api.get('registered-models/get', { name: 'rm-long-tag' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await createModel('rm-long-tag');
    expect(
      (
        await api.post('registered-models/set-tag', {
          name: 'rm-long-tag',
          key: 'k',
          value: 'x'.repeat(100_000),
        })
      ).status,
    ).toBe(200);
    expectError(
      await api.post('registered-models/set-tag', {
        name: 'rm-long-tag',
        key: 'k2',
        value: 'x'.repeat(100_001),
      }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('answers 404 for unknown models on every model endpoint', async () => {
    const name = 'rm-missing';
    expectError(await api.get('registered-models/get', { name }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(
      await api.post('registered-models/rename', { name, new_name: 'x' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await send('PATCH', 'registered-models/update', { name, description: 'd' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(await send('DELETE', 'registered-models/delete', { name }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(
      await api.post('registered-models/set-tag', { name, key: 'k', value: 'v' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await send('DELETE', 'registered-models/delete-tag', { name, key: 'k' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('registered-models/get-latest-versions', { name }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(await api.get('registered-models/get', {}), 400, 'INVALID_PARAMETER_VALUE');
  });

  it('updates the description and sets and deletes tags', async () => {
    await createModel('rm-update');
    const updated = await send('PATCH', 'registered-models/update', {
      name: 'rm-update',
      description: 'new',
    });
    expect(updated.status, updated.text).toBe(200);
    expect((updated.body.registered_model as ModelJson).description).toBe('new');
    expect(
      (await api.post('registered-models/set-tag', { name: 'rm-update', key: 'k', value: 'v' })).status,
    ).toBe(200);
    expect((await getModel('rm-update')).tags).toEqual([{ key: 'k', value: 'v' }]);
    expect(
      (await send('DELETE', 'registered-models/delete-tag', { name: 'rm-update', key: 'k' })).status,
    ).toBe(200);
    expect((await getModel('rm-update')).tags).toBeUndefined();
    expectError(
      await send('DELETE', 'registered-models/delete-tag', { name: 'rm-update', key: 'k' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it('renames: versions, aliases and tags follow; the old name is free again', async () => {
    await createModel('rm-old', { tags: [{ key: 't', value: '1' }] });
    await createVersion('rm-old');
    await createVersion('rm-old');
    expect(
      (await api.post('registered-models/alias', { name: 'rm-old', alias: 'champ', version: '2' })).status,
    ).toBe(200);
    const renamed = await api.post<{ registered_model: ModelJson }>('registered-models/rename', {
      name: 'rm-old',
      new_name: 'rm-new',
    });
    expect(renamed.status, renamed.text).toBe(200);
    const model = await getModel('rm-new');
    expect(model.tags).toEqual([{ key: 't', value: '1' }]);
    expect(model.aliases).toEqual([{ alias: 'champ', version: '2' }]);
    expect((await getVersion('rm-new', '2')).aliases).toEqual(['champ']);
    expect((await getVersion('rm-new', '1')).name).toBe('rm-new');
    expectError(await api.get('registered-models/get', { name: 'rm-old' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const byAlias = await api.get<{ model_version: VersionJson }>('registered-models/alias', {
      name: 'rm-new',
      alias: 'champ',
    });
    expect(byAlias.body.model_version).toMatchObject({ name: 'rm-new', version: '2' });
    // A new version continues the numbering.
    expect((await createVersion('rm-new')).version).toBe('3');
    await createModel('rm-old');
    expectError(
      await api.post('registered-models/rename', { name: 'rm-old', new_name: 'rm-new' }),
      400,
      'RESOURCE_ALREADY_EXISTS',
    );
    expectError(
      await api.post('registered-models/rename', { name: 'rm-old', new_name: 'a/b' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('deletes a model with its versions, aliases and tags; the name can be reused from scratch', async () => {
    await createModel('rm-delete', { tags: [{ key: 't', value: '1' }] });
    await createVersion('rm-delete');
    await api.post('registered-models/alias', { name: 'rm-delete', alias: 'a', version: '1' });
    expect((await send('DELETE', 'registered-models/delete', { name: 'rm-delete' })).status).toBe(200);
    expectError(
      await api.get('registered-models/get', { name: 'rm-delete' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.get('model-versions/get', { name: 'rm-delete', version: '1' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const search = await api.get<{ model_versions?: VersionJson[] }>('model-versions/search', {
      filter: "name='rm-delete'",
    });
    expect(search.body.model_versions).toBeUndefined();
    const again = await createModel('rm-delete');
    expect(again.tags).toBeUndefined();
    expect(again.aliases).toBeUndefined();
    expect((await createVersion('rm-delete')).version).toBe('1');
  });

  it('searches by name, LIKE, ILIKE and tags, orders and pages', async () => {
    for (const name of ['srch-b', 'srch-a', 'srch-C', 'srch-d']) await createModel(name);
    await api.post('registered-models/set-tag', {
      name: 'srch-a',
      key: 'mlflow.prompt.is_prompt',
      value: 'true',
    });
    await api.post('registered-models/set-tag', { name: 'srch-b', key: 'stage', value: 'prod' });
    const names = async (query: Record<string, string | number | string[]>) => {
      const response = await api.get<{ registered_models?: ModelJson[]; next_page_token?: string }>(
        'registered-models/search',
        query,
      );
      expect(response.status, response.text).toBe(200);
      return (response.body.registered_models ?? []).map((model) => model.name);
    };
    expect(await names({ filter: "name LIKE 'srch-%'" })).toEqual(['srch-C', 'srch-a', 'srch-b', 'srch-d']);
    expect(await names({ filter: "name ILIKE 'SRCH-c'" })).toEqual(['srch-C']);
    expect(await names({ filter: "name = 'srch-a'" })).toEqual(['srch-a']);
    expect(await names({ filter: "name != 'srch-a' AND name LIKE 'srch-%'" })).toEqual([
      'srch-C',
      'srch-b',
      'srch-d',
    ]);
    expect(await names({ filter: "tags.stage = 'prod'" })).toEqual(['srch-b']);
    // The stock client's prompt exclusion: models without the tag are kept.
    expect(await names({ filter: "tag.`mlflow.prompt.is_prompt` != 'true' AND name LIKE 'srch-%'" })).toEqual(
      ['srch-C', 'srch-b', 'srch-d'],
    );
    expect(await names({ filter: "name LIKE 'srch-%'", order_by: ['name DESC'] })).toEqual([
      'srch-d',
      'srch-b',
      'srch-a',
      'srch-C',
    ]);
    expect(await names({ filter: "name LIKE 'srch-%'", order_by: ['creation_timestamp ASC'] })).toEqual([
      'srch-b',
      'srch-a',
      'srch-C',
      'srch-d',
    ]);

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await api.get<{ registered_models?: ModelJson[]; next_page_token?: string }>(
        'registered-models/search',
        { filter: "name LIKE 'srch-%'", max_results: 3, ...(token ? { page_token: token } : {}) },
      );
      expect(page.status, page.text).toBe(200);
      seen.push(...(page.body.registered_models ?? []).map((model) => model.name));
      token = page.body.next_page_token;
    } while (token);
    expect(seen).toEqual(['srch-C', 'srch-a', 'srch-b', 'srch-d']);

    expectError(
      await api.get('registered-models/search', { max_results: 1001 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.get('registered-models/search', { max_results: 0 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.get('registered-models/search', { filter: 'run_id = 1' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.get('registered-models/search', { order_by: 'bogus' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.get('registered-models/search', { page_token: 'nope' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });
});

describe('model versions', () => {
  it('numbers versions 1..20 exactly under 20 concurrent creates', async () => {
    await createModel('mv-concurrent');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.post<{ model_version: VersionJson }>('model-versions/create', {
          name: 'mv-concurrent',
          source: `runs:/${RUN_ID}/model`,
        }),
      ),
    );
    for (const response of responses) expect(response.status, response.text).toBe(200);
    const numbers = responses
      .map((response) => Number(response.body.model_version.version))
      .sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('creates READY versions and gets, updates, tags and deletes them', async () => {
    await createModel('mv-crud');
    const created = await createVersion('mv-crud', {
      description: 'd',
      tags: [{ key: 'k', value: 'v' }],
      run_link: 'http://example/run',
    });
    expect(created).toMatchObject({
      name: 'mv-crud',
      version: '1',
      current_stage: 'None',
      status: 'READY',
      source: `runs:/${RUN_ID}/model`,
      run_id: RUN_ID,
      description: 'd',
      tags: [{ key: 'k', value: 'v' }],
    });
    const updated = await send('PATCH', 'model-versions/update', {
      name: 'mv-crud',
      version: '1',
      description: 'e',
    });
    expect(updated.status, updated.text).toBe(200);
    expect((updated.body.model_version as VersionJson).description).toBe('e');
    expect(
      (await api.post('model-versions/set-tag', { name: 'mv-crud', version: '1', key: 'k2', value: 'v2' }))
        .status,
    ).toBe(200);
    expect((await getVersion('mv-crud', '1')).tags).toEqual([
      { key: 'k', value: 'v' },
      { key: 'k2', value: 'v2' },
    ]);
    expect(
      (await send('DELETE', 'model-versions/delete-tag', { name: 'mv-crud', version: '1', key: 'k' })).status,
    ).toBe(200);
    expectError(
      await send('DELETE', 'model-versions/delete-tag', { name: 'mv-crud', version: '1', key: 'k' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('model-versions/set-tag', {
        name: 'mv-crud',
        version: '1',
        key: 'k',
        value: 'x'.repeat(100_001),
      }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    const uri = await api.get('model-versions/get-download-uri', { name: 'mv-crud', version: '1' });
    expect(uri.body).toEqual({ artifact_uri: `runs:/${RUN_ID}/model` });
    expect((await send('DELETE', 'model-versions/delete', { name: 'mv-crud', version: '1' })).status).toBe(
      200,
    );
    expectError(
      await api.get('model-versions/get', { name: 'mv-crud', version: '1' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    // Numbers are never reused.
    expect((await createVersion('mv-crud')).version).toBe('2');
  });

  it('answers MLflow errors for unknown models and versions and bad version numbers', async () => {
    await createModel('mv-errors');
    expectError(
      await api.post('model-versions/create', { name: 'nope', source: `runs:/${RUN_ID}/m` }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.get('model-versions/get', { name: 'mv-errors', version: '7' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.get('model-versions/get', { name: 'mv-errors', version: 'x' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await send('DELETE', 'model-versions/delete', { name: 'mv-errors', version: '7' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await send('PATCH', 'model-versions/update', { name: 'mv-errors', version: '7' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('model-versions/transition-stage', {
        name: 'mv-errors',
        version: '7',
        stage: 'Staging',
        archive_existing_versions: false,
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.get('model-versions/get-download-uri', { name: 'mv-errors', version: '7' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('model-versions/create', { name: 'mv-errors' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  // {experiment}, {run} and {model} stand for what beforeAll creates. MLflow stores sources it cannot
  // check; so does Cairn, but a version whose files' run cannot be verified is refused by every promotion
  // policy (promotionOutcome): 'verified' and 'unverified' are both 200 to the create.
  it.each([
    ['runs:/{run}/model', 'verified'],
    ['runs:/{run}', 'verified'],
    ['runs:/{run}/a/b/c', 'verified'],
    ['models:/{model}', 'verified'],
    ['mlflow-artifacts:/{experiment}/{run}/artifacts/model', 'verified'],
    ['mlflow-artifacts:/{experiment}/models/{model}/artifacts', 'verified'],
    ['mlflow-artifacts:/{experiment}/{run}/artifacts/model/', 'verified'],
    ['mlflow-artifacts:/{experiment}/datasets/train.csv', 'unverified'],
    ['mlflow-artifacts:/1/abc/artifacts/model', 'unverified'],
    ['runs:/run_id_1/model', 'unverified'],
    ['http://evil.example/model', 'unverified'],
    ['https://evil.example/model', 'unverified'],
    ['s3://other-bucket/model', 'unverified'],
    ['gs://bucket/model', 'unverified'],
    ['dbfs:/model', 'unverified'],
    ['mlflow-artifacts://other-host/1/model', 'unverified'],
    ['mlflow-artifacts:/models', 'unverified'],
    ['mlflow-artifacts:/1\\..\\..\\etc', 'unverified'],
    ['models:/demo/1', 'unverified'],
    ['models:/m-xyz', 'unverified'],
    ['file:///etc/passwd', 400],
    ['/etc/passwd', 400],
    ['relative/path', 400],
    ['mlflow-artifacts:/1/../../etc', 400],
    ['mlflow-artifacts:/1/%2e%2e/%2e%2e/etc', 400],
    ['mlflow-artifacts:/1/%252e%252e/etc', 400],
    ['mlflow-artifacts://host:9000/models/artifact%00', 400],
    ['mlflow-artifacts:/', 400],
    ['runs:/{run}/../../other', 400],
    ['runs:/{run}/%2E%2E/x', 400],
    ['runs:/../x', 400],
    ['models:/{model}/../x', 400],
    ['', 400],
  ])('source %j → %s', async (template, outcome) => {
    const source = template
      .replace('{run}', RUN_ID)
      .replace('{model}', MODEL_ID)
      .replace('{experiment}', EXPERIMENT_ID);
    const name = `mv-source-${sourceCase++}`;
    await createModel(name);
    const response = await api.post('model-versions/create', { name, source });
    if (outcome === 400) {
      expectError(response, 400, 'INVALID_PARAMETER_VALUE');
      return;
    }
    expect(response.status, response.text).toBe(200);
    expect(await promotionOutcome(name, '1')).toBe(outcome);
  });

  it('promotes an unverified version as MLflow does when no policy guards the target', async () => {
    await createModel('mv-unguarded');
    await createVersion('mv-unguarded', { source: 'https://elsewhere.example/model', run_id: 'run_id_1' });
    const version = await getVersion('mv-unguarded', '1');
    // MLflow reports the run the request names, even one that does not exist.
    expect(version).toMatchObject({ source: 'https://elsewhere.example/model', run_id: 'run_id_1' });
    const alias = await api.post('registered-models/alias', {
      name: 'mv-unguarded',
      alias: 'prod',
      version: '1',
    });
    expect(alias.status, alias.text).toBe(200);
    const staged = await api.post('model-versions/transition-stage', {
      name: 'mv-unguarded',
      version: '1',
      stage: 'Production',
      archive_existing_versions: false,
    });
    expect(staged.status, staged.text).toBe(200);
  });

  it('refused sources leave no version behind', async () => {
    await createModel('mv-refused');
    await api.post('model-versions/create', { name: 'mv-refused', source: 'file:///etc/passwd' });
    await api.post('model-versions/create', {
      name: 'mv-refused',
      source: 'file:///etc/passwd',
      tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
    });
    expect(await api.get('model-versions/search', { filter: "name='mv-refused'" })).toMatchObject({
      body: {},
    });
    expect((await createVersion('mv-refused')).version).toBe('1');
  });

  it('registers a logged model: stored at its artifact location, run from its source run', async () => {
    await createModel('mv-logged');
    const logged = await createLoggedModel(OTHER_RUN_ID);
    expect(logged.artifact_uri).toBe(
      `mlflow-artifacts:/${EXPERIMENT_ID}/models/${logged.model_id}/artifacts`,
    );
    // What the stock client sends: the models:/ source and the model id, no run id.
    const created = await api.post<{ model_version: VersionJson & { model_id?: string } }>(
      'model-versions/create',
      { name: 'mv-logged', source: `models:/${logged.model_id}`, model_id: logged.model_id },
    );
    expect(created.status, created.text).toBe(200);
    expect(created.body.model_version).toMatchObject({
      source: `models:/${logged.model_id}`,
      run_id: OTHER_RUN_ID,
      model_id: logged.model_id,
    });
    expect((await getVersion('mv-logged', '1')).run_id).toBe(OTHER_RUN_ID);
    const uri = await api.get('model-versions/get-download-uri', { name: 'mv-logged', version: '1' });
    expect(uri.status, uri.text).toBe(200);
    expect(uri.body).toEqual({ artifact_uri: logged.artifact_uri });
    // A run id or model id that agrees with the source is accepted; the same run either way.
    const agreeing = await createVersion('mv-logged', {
      source: `models:/${logged.model_id}`,
      run_id: OTHER_RUN_ID,
      model_id: logged.model_id,
    });
    expect(agreeing.run_id).toBe(OTHER_RUN_ID);
    const byParam = await createVersion('mv-logged', {
      source: `runs:/${OTHER_RUN_ID}/model`,
      run_id: undefined,
      model_id: logged.model_id,
    });
    expect(byParam.run_id).toBe(OTHER_RUN_ID);
    expect(
      (await api.get('model-versions/get-download-uri', { name: 'mv-logged', version: byParam.version }))
        .body,
    ).toEqual({ artifact_uri: `runs:/${OTHER_RUN_ID}/model` });
    // A logged model without a source run leaves the version without one.
    const orphan = await createLoggedModel();
    const noRun = await createVersion('mv-logged', {
      source: `models:/${orphan.model_id}`,
      run_id: undefined,
    });
    expect(noRun.run_id).toBeUndefined();
  });

  it('stores a version whose run_id or model_id contradicts its source unverified: no policy judges it by a borrowed run', async () => {
    await createModel('mv-borrow');
    const logged = await createLoggedModel(OTHER_RUN_ID);
    const orphan = await createLoggedModel();
    const cases: [Record<string, unknown>, string][] = [
      // (the second element: the field the refusal's reason names)
      [{ source: `models:/${logged.model_id}`, run_id: RUN_ID }, 'run_id'],
      [{ source: `runs:/${OTHER_RUN_ID}/model`, run_id: RUN_ID }, 'run_id'],
      [
        { source: `mlflow-artifacts:/${EXPERIMENT_ID}/${OTHER_RUN_ID}/artifacts/model`, run_id: RUN_ID },
        'run_id',
      ],
      [
        { source: `mlflow-artifacts:/${EXPERIMENT_ID}/models/${logged.model_id}/artifacts`, run_id: RUN_ID },
        'run_id',
      ],
      [{ source: `runs:/${RUN_ID}/model`, run_id: undefined, model_id: logged.model_id }, 'model_id'],
      [{ source: `models:/${orphan.model_id}`, run_id: RUN_ID }, 'run_id'],
      // Spellings the artifacts function reads as the same path, and model ids that bring another run.
      [
        { source: `mlflow-artifacts:/${EXPERIMENT_ID}/${OTHER_RUN_ID}/artifacts/model/`, run_id: RUN_ID },
        'run_id',
      ],
      [
        { source: `mlflow-artifacts:/${EXPERIMENT_ID}/${OTHER_RUN_ID}/artifacts/model%2F`, run_id: RUN_ID },
        'source',
      ],
      [{ source: `mlflow-artifacts:/${EXPERIMENT_ID}/${OTHER_RUN_ID}/artifacts/`, run_id: RUN_ID }, 'run_id'],
      [{ source: `${orphan.artifact_uri}/`, run_id: RUN_ID }, 'run_id'],
      [{ source: `models:/${orphan.model_id}`, run_id: undefined, model_id: logged.model_id }, 'model_id'],
      [{ source: `${orphan.artifact_uri}/x`, run_id: undefined, model_id: logged.model_id }, 'model_id'],
      [{ source: `runs:/${OTHER_RUN_ID}/model`, run_id: undefined, model_id: orphan.model_id }, 'model_id'],
      [{ source: `mlflow-artifacts:/${EXPERIMENT_ID}/elsewhere`, run_id: RUN_ID }, 'source'],
    ];
    for (const [index, [fields, field]] of cases.entries()) {
      const name = `mv-borrow-${index}`;
      await createModel(name);
      const response = await api.post('model-versions/create', { name, ...fields });
      expect(response.status, response.text).toBe(200);
      if (typeof fields.run_id === 'string')
        expect((response.body.model_version as VersionJson).run_id).toBe(fields.run_id);
      const refusal = await guardedAlias(name, '1', "attributes.status = 'RUNNING'");
      expectError(refusal, 400, 'INVALID_PARAMETER_VALUE');
      expect(String(refusal.body.message)).toContain('cannot be verified');
      expect(String(refusal.body.message)).toContain(field);
    }
    // An artifact-root source takes its run from the path.
    const fromPath = await createVersion('mv-borrow', {
      source: `mlflow-artifacts:/${EXPERIMENT_ID}/${OTHER_RUN_ID}/artifacts/model`,
      run_id: undefined,
    });
    expect(fromPath).toMatchObject({ version: '1', run_id: OTHER_RUN_ID });
    // A path inside a logged model's artifacts is its own download location, and takes the model's run.
    const subPath = await createVersion('mv-borrow', {
      source: `${logged.artifact_uri}/sub/dir`,
      run_id: undefined,
    });
    expect(subPath.run_id).toBe(OTHER_RUN_ID);
    expect(
      (await api.get('model-versions/get-download-uri', { name: 'mv-borrow', version: subPath.version }))
        .body,
    ).toEqual({ artifact_uri: `${logged.artifact_uri}/sub/dir` });
  });

  it('refuses sources and model ids naming no logged model, and writes nothing', async () => {
    await createModel('mv-missing');
    const missingModel = `m-${'0'.repeat(32)}`;
    const deleted = await createLoggedModel(RUN_ID);
    expect((await api.request('DELETE', `/api/2.0/mlflow/logged-models/${deleted.model_id}`)).status).toBe(
      200,
    );
    const cases: [Record<string, unknown>, string][] = [
      [
        { source: `models:/${missingModel}` },
        `Logged model '${missingModel}' named by source 'models:/${missingModel}' not found`,
      ],
      [
        { source: `models:/${deleted.model_id}` },
        `Logged model '${deleted.model_id}' named by source 'models:/${deleted.model_id}' not found`,
      ],
      [
        { source: `runs:/${RUN_ID}/model`, model_id: missingModel },
        `Logged model '${missingModel}' named by 'model_id' not found`,
      ],
    ];
    for (const [fields, message] of cases) {
      const response = await api.post('model-versions/create', { name: 'mv-missing', ...fields });
      expectError(response, 404, 'RESOURCE_DOES_NOT_EXIST');
      expect(response.body.message).toBe(message);
    }
    expect((await api.get('model-versions/search', { filter: "name='mv-missing'" })).body).toEqual({});
    // No version number was used up either.
    expect((await createVersion('mv-missing')).version).toBe('1');
  });

  it("lists versions created with a model_id in the logged model's mlflow.modelVersions tag, as MLflow does", async () => {
    await createModel('mv-tagged');
    const logged = await createLoggedModel(RUN_ID);
    const tags = async () => {
      const response = await api.request<{ model: { info: { tags?: { key: string; value: string }[] } } }>(
        'GET',
        `/api/2.0/mlflow/logged-models/${logged.model_id}`,
      );
      expect(response.status, response.text).toBe(200);
      return Object.fromEntries((response.body.model.info.tags ?? []).map((tag) => [tag.key, tag.value]));
    };
    await createVersion('mv-tagged', {
      source: logged.artifact_uri,
      run_id: undefined,
      model_id: logged.model_id,
    });
    expect((await tags())['mlflow.modelVersions']).toBe('[{"name": "mv-tagged", "version": 1}]');
    await createVersion('mv-tagged', {
      source: logged.artifact_uri,
      run_id: undefined,
      model_id: logged.model_id,
    });
    expect((await tags())['mlflow.modelVersions']).toBe(
      '[{"name": "mv-tagged", "version": 1}, {"name": "mv-tagged", "version": 2}]',
    );
    // Without model_id (a models:/ source alone), MLflow's server tags nothing either.
    await createVersion('mv-tagged', { source: `models:/${logged.model_id}`, run_id: undefined });
    expect((await tags())['mlflow.modelVersions']).toBe(
      '[{"name": "mv-tagged", "version": 1}, {"name": "mv-tagged", "version": 2}]',
    );
  });

  it('stores versions naming runs that do not exist unverified, as MLflow stores them', async () => {
    const missingRun = 'f'.repeat(32);
    const orphanRun = await createLoggedModel();
    const unknownRunModel = (
      await api.post<{ model: { info: { model_id: string } } }>('logged-models', {
        experiment_id: EXPERIMENT_ID,
        source_run_id: missingRun,
      })
    ).body.model.info.model_id;
    const cases: [Record<string, unknown>, string][] = [
      [{ source: `runs:/${missingRun}/model` }, `its source run ${missingRun} does not exist`],
      [{ source: `runs:/${RUN_ID}/model`, run_id: missingRun }, `run_id ${missingRun} is not run ${RUN_ID}`],
      [{ source: `models:/${MODEL_ID}`, run_id: missingRun }, `run_id ${missingRun} is not run ${RUN_ID}`],
      [{ source: `models:/${orphanRun.model_id}`, run_id: 'run_id_1' }, 'not logged from a run'],
      [{ source: `models:/${unknownRunModel}` }, `names source run ${missingRun}, which did not exist`],
    ];
    for (const [index, [fields, reason]] of cases.entries()) {
      const name = `mv-missing-run-${index}`;
      await createModel(name);
      const created = await api.post('model-versions/create', { name, ...fields });
      expect(created.status, created.text).toBe(200);
      const refusal = await guardedAlias(name, '1', "attributes.status = 'RUNNING'");
      expectError(refusal, 400, 'INVALID_PARAMETER_VALUE');
      expect(String(refusal.body.message)).toContain(reason);
      // The audit trail records the refusal and its reason.
      const audit = await api.request(
        'GET',
        `/api/2.0/cairn/registered-models/promotions/list?${new URLSearchParams({ name })}`,
      );
      expect(audit.text).toContain('REFUSED');
      expect(audit.text).toContain(reason);
    }
  });

  it('transitions stages, archives existing versions and reports latest versions', async () => {
    await createModel('mv-stages');
    for (let i = 0; i < 3; i++) await createVersion('mv-stages');
    const transition = (version: string, stage: string, archive = false) =>
      api.post<{ model_version: VersionJson }>('model-versions/transition-stage', {
        name: 'mv-stages',
        version,
        stage,
        archive_existing_versions: archive,
      });
    expect((await transition('1', 'Production')).body.model_version.current_stage).toBe('Production');
    expect((await transition('2', 'staging')).body.model_version.current_stage).toBe('Staging');
    const third = (await transition('3', 'Production', true)).body.model_version;
    expect(third.current_stage).toBe('Production');
    // The transition changed the model too, at the same instant (MLflow's stores do the same).
    expect((await getModel('mv-stages')).last_updated_timestamp).toBe(third.last_updated_timestamp);
    expect((await getVersion('mv-stages', '1')).current_stage).toBe('Archived');
    expect((await getVersion('mv-stages', '2')).current_stage).toBe('Staging');
    expectError(await transition('1', 'Bogus'), 400, 'INVALID_PARAMETER_VALUE');
    // Archiving others only makes sense for an active stage, as in MLflow.
    expectError(await transition('2', 'Archived', true), 400, 'INVALID_PARAMETER_VALUE');
    expect((await getVersion('mv-stages', '2')).current_stage).toBe('Staging');

    const model = await getModel('mv-stages');
    expect(model.latest_versions?.map((v) => [v.version, v.current_stage])).toEqual([
      ['1', 'Archived'],
      ['2', 'Staging'],
      ['3', 'Production'],
    ]);
    const latestPost = await api.post<{ model_versions: VersionJson[] }>(
      'registered-models/get-latest-versions',
      {
        name: 'mv-stages',
        stages: ['Staging'],
      },
    );
    expect(latestPost.body.model_versions.map((v) => v.version)).toEqual(['2']);
    const latestGet = await api.get<{ model_versions: VersionJson[] }>(
      'registered-models/get-latest-versions',
      {
        name: 'mv-stages',
        stages: ['Production', 'Staging'],
      },
    );
    expect(latestGet.body.model_versions.map((v) => v.version)).toEqual(['2', '3']);
    await createVersion('mv-stages');
    const all = await api.get<{ model_versions: VersionJson[] }>('registered-models/get-latest-versions', {
      name: 'mv-stages',
    });
    expect(all.body.model_versions.map((v) => v.version)).toEqual(['1', '2', '3', '4']);
  });

  it('searches versions by name, run_id, source, version_number and tags, with order and pages', async () => {
    await createModel('mvs-a');
    await createModel('mvs-b');
    const otherRun = await createRun(EXPERIMENT_ID);
    await createVersion('mvs-a', { tags: [{ key: 'k', value: 'x' }] });
    await createVersion('mvs-a', { run_id: otherRun, source: `runs:/${otherRun}/m` });
    await createVersion('mvs-b');
    const found = async (query: Record<string, string | number | string[]>) => {
      const response = await api.get<{ model_versions?: VersionJson[] }>('model-versions/search', query);
      expect(response.status, response.text).toBe(200);
      return (response.body.model_versions ?? []).map((v) => `${v.name}/${v.version}`);
    };
    expect(await found({ filter: "name='mvs-a'", max_results: 10000 })).toEqual(['mvs-a/2', 'mvs-a/1']);
    // MLflow's default order: last_updated_timestamp DESC, name ASC, version DESC (timestamps may tie).
    const listed = await api.get<{ model_versions: VersionJson[] }>('model-versions/search', {
      filter: "name LIKE 'mvs-%'",
    });
    const byDefault = [...listed.body.model_versions]
      .sort(
        (a, b) =>
          b.last_updated_timestamp - a.last_updated_timestamp ||
          (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
          Number(b.version) - Number(a.version),
      )
      .map((v) => `${v.name}/${v.version}`);
    expect(byDefault.slice().sort()).toEqual(['mvs-a/1', 'mvs-a/2', 'mvs-b/1']);
    expect(listed.body.model_versions.map((v) => `${v.name}/${v.version}`)).toEqual(byDefault);
    expect(await found({ filter: `run_id = '${otherRun}'` })).toEqual(['mvs-a/2']);
    expect(await found({ filter: `run_id IN ('${otherRun}') AND name = 'mvs-a'` })).toEqual(['mvs-a/2']);
    expect(await found({ filter: `source LIKE 'runs:/${otherRun}%'` })).toEqual(['mvs-a/2']);
    expect(await found({ filter: "name LIKE 'mvs-%' AND version_number >= 2" })).toEqual(['mvs-a/2']);
    expect(await found({ filter: "name LIKE 'mvs-%' AND tags.k = 'x'" })).toEqual(['mvs-a/1']);
    expect(
      await found({ filter: "name LIKE 'mvs-%'", order_by: ['version_number ASC', 'name DESC'] }),
    ).toEqual(['mvs-b/1', 'mvs-a/1', 'mvs-a/2']);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await api.get<{ model_versions?: VersionJson[]; next_page_token?: string }>(
        'model-versions/search',
        { filter: "name LIKE 'mvs-%'", max_results: 2, ...(token ? { page_token: token } : {}) },
      );
      seen.push(...(page.body.model_versions ?? []).map((v) => `${v.name}/${v.version}`));
      token = page.body.next_page_token;
    } while (token);
    expect(seen).toEqual(byDefault);
    // A token an earlier release issued without an order_by (its default was name ASC, version DESC,
    // and the token's fingerprint names that order) pages on in that order.
    const oldDefault = [
      { key: 'name', ascending: true },
      { key: 'version_number', ascending: false },
    ];
    const oldToken = encodePageToken(
      queryFingerprint({ f: "name LIKE 'mvs-%'", o: oldDefault, s: 'versions' }),
      ['mvs-a', 2],
    );
    const resumed = await api.get<{ model_versions?: VersionJson[]; next_page_token?: string }>(
      'model-versions/search',
      { filter: "name LIKE 'mvs-%'", max_results: 1, page_token: oldToken },
    );
    expect(resumed.body.model_versions?.map((v) => `${v.name}/${v.version}`)).toEqual(['mvs-a/1']);
    const last = await api.get<{ model_versions?: VersionJson[]; next_page_token?: string }>(
      'model-versions/search',
      { filter: "name LIKE 'mvs-%'", max_results: 1, page_token: resumed.body.next_page_token ?? '' },
    );
    expect(last.body.model_versions?.map((v) => `${v.name}/${v.version}`)).toEqual(['mvs-b/1']);
    expect(last.body.next_page_token).toBeUndefined();
    expectError(
      await api.get('model-versions/search', {
        filter: "name LIKE 'mvs-%'",
        order_by: ['creation_timestamp'],
        page_token: oldToken,
      }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.get('model-versions/search', { filter: 'metrics.x > 1' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.get('model-versions/search', { max_results: 200_001 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });
});

describe('aliases', () => {
  it('sets, reads, moves and deletes aliases (DELETE with a JSON body)', async () => {
    await createModel('al-basic');
    await createVersion('al-basic');
    await createVersion('al-basic');
    expect(
      (await api.post('registered-models/alias', { name: 'al-basic', alias: 'champion', version: '1' }))
        .status,
    ).toBe(200);
    const byAlias = await api.get<{ model_version: VersionJson }>('registered-models/alias', {
      name: 'al-basic',
      alias: 'champion',
    });
    expect(byAlias.status, byAlias.text).toBe(200);
    expect(byAlias.body.model_version).toMatchObject({ version: '1', aliases: ['champion'] });
    await api.post('registered-models/alias', { name: 'al-basic', alias: 'champion', version: '2' });
    expect((await getVersion('al-basic', '1')).aliases).toBeUndefined();
    expect((await getVersion('al-basic', '2')).aliases).toEqual(['champion']);
    expect((await getModel('al-basic')).aliases).toEqual([{ alias: 'champion', version: '2' }]);
    const deleted = await send('DELETE', 'registered-models/alias', { name: 'al-basic', alias: 'champion' });
    expect(deleted.status, deleted.text).toBe(200);
    expectError(
      await api.get('registered-models/alias', { name: 'al-basic', alias: 'champion' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect((await getModel('al-basic')).aliases).toBeUndefined();
  });

  it.each([['latest'], ['LATEST'], ['v1'], ['V12'], ['bad alias'], ['a/b'], ['']])(
    'refuses the alias %j',
    async (alias) => {
      await api.post('registered-models/create', { name: 'al-reserved' });
      await api.post('model-versions/create', { name: 'al-reserved', source: `runs:/${RUN_ID}/m` });
      expectError(
        await api.post('registered-models/alias', { name: 'al-reserved', alias, version: '1' }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      expect((await getModel('al-reserved')).aliases).toBeUndefined();
    },
  );

  it('refuses aliases to unknown versions or models', async () => {
    await createModel('al-missing');
    expectError(
      await api.post('registered-models/alias', { name: 'al-missing', alias: 'a', version: '3' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('registered-models/alias', { name: 'nope', alias: 'a', version: '1' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.get('registered-models/alias', { name: 'nope', alias: 'a' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it('deleting a version removes its aliases', async () => {
    await createModel('al-cascade');
    await createVersion('al-cascade');
    await createVersion('al-cascade');
    await api.post('registered-models/alias', { name: 'al-cascade', alias: 'a', version: '1' });
    await api.post('registered-models/alias', { name: 'al-cascade', alias: 'b', version: '1' });
    await api.post('registered-models/alias', { name: 'al-cascade', alias: 'c', version: '2' });
    await send('DELETE', 'model-versions/delete', { name: 'al-cascade', version: '1' });
    expect((await getModel('al-cascade')).aliases).toEqual([{ alias: 'c', version: '2' }]);
    expectError(
      await api.get('registered-models/alias', { name: 'al-cascade', alias: 'a' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    // A new version never inherits a stale alias.
    await createVersion('al-cascade');
    expect((await getVersion('al-cascade', '3')).aliases).toBeUndefined();
  });
});

/**
 * Issue 11, items 4, 6–10: bad input the red-team pass turned into 5xx answers, stalls or look-alike
 * entities, sent over HTTP to the real local server. Each must be a 4xx naming what is wrong, and change
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, type ApiResponse, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let experimentId: string;
let runId: string;
let modelId: string;

const ARTIFACTS = '/api/2.0/mlflow-artifacts';

function expect400(answer: ApiResponse, fragment: string): void {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  expect(String(answer.body.message)).toContain(fragment);
}

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const experiment = await api.post<{ experiment_id: string }>('experiments/create', { name: 'inputs' });
  experimentId = experiment.body.experiment_id;
  const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
  });
  runId = run.body.run.info.run_id;
  const model = await api.request<{ model: { info: { model_id: string } } }>(
    'POST',
    '/api/2.0/mlflow/logged-models',
    { json: { experiment_id: experimentId, name: 'm' } },
  );
  modelId = model.body.model.info.model_id;
});
afterAll(async () => {
  await server?.close();
});

describe('deeply nested JSON (item 7)', () => {
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('is refused with a 400 before parsing, and nothing is written', async () => {
    const created = await api.request('POST', '/api/2.0/mlflow/experiments/create', {
      body: `{"name":"deep","tags":${deep(5000)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect400(created, 'levels deep');
    expect((await api.get('experiments/get-by-name', { experiment_name: 'deep' })).status).toBe(404);

    const batch = await api.request('POST', '/api/2.0/mlflow/runs/log-batch', {
      body: `{"run_id":"${runId}","params":[{"key":"p","value":"v"}],"tags":${deep(5000)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect400(batch, 'levels deep');
    const run = await api.get<{ run: { data: { params?: unknown[] } } }>('runs/get', { run_id: runId });
    expect(run.body.run.data.params).toBeUndefined();
  });

  it('is refused inside a JSON string body too (MLflow decodes those twice)', async () => {
    const created = await api.request('POST', '/api/2.0/mlflow/experiments/create', {
      body: JSON.stringify(`{"name":"deep2","tags":${deep(5000)}}`),
      headers: { 'content-type': 'application/json' },
    });
    expect400(created, 'levels deep');
  });

  it('still answers an ordinary field error for a shallow body of the wrong shape', async () => {
    const created = await api.request('POST', '/api/2.0/mlflow/experiments/create', {
      body: `{"name":"shallow","tags":${deep(10)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect400(created, "'tags");
  });
});

describe("a relative artifact path starting with a drive letter, 'd:notes.txt' (item 6)", () => {
  const file = () => `${experimentId}/${runId}/artifacts/d:notes.txt`;
  const modelFile = () => `${experimentId}/models/${modelId}/artifacts/d:notes.txt`;
  const mpu = (action: string, dir: string, name: string) =>
    api.request('POST', `${ARTIFACTS}/mpu/${action}/${dir}`, {
      json: { path: name, num_parts: 1, upload_id: 'x', parts: [{ part_number: 1, etag: 'e' }] },
    });

  it('is a 400 naming the drive letter on every artifact endpoint, never a 5xx', async () => {
    const root = `${experimentId}/${runId}/artifacts`;
    const answers: [string, ApiResponse][] = [
      ['PUT', await api.request('PUT', `${ARTIFACTS}/artifacts/${file()}`, { body: 'x' })],
      ['GET', await api.request('GET', `${ARTIFACTS}/artifacts/${file()}`)],
      ['GET model', await api.request('GET', `${ARTIFACTS}/artifacts/${modelFile()}`)],
      ['list', await api.request('GET', `${ARTIFACTS}/artifacts?path=${encodeURIComponent(file())}`)],
      ['DELETE', await api.request('DELETE', `${ARTIFACTS}/artifacts/${file()}`)],
      ['presigned', await api.request('GET', `${ARTIFACTS}/presigned/${file()}`)],
      ['mpu create, directory', await mpu('create', `${root}/d:dir`, 'notes.txt')],
      ['mpu create, file', await mpu('create', root, '/home/me/d:notes.txt')],
      ['mpu complete', await mpu('complete', `${root}/d:dir`, 'notes.txt')],
      ['mpu abort', await mpu('abort', `${root}/d:dir`, 'notes.txt')],
      ['artifacts/list', await api.get('artifacts/list', { run_id: runId, path: 'd:notes.txt' })],
      [
        'presigned-upload-url',
        await api.post('artifacts/presigned-upload-url', { run_id: runId, path: 'd:notes.txt' }),
      ],
      [
        'logged model files',
        await api.request(
          'GET',
          `/ajax-api/2.0/mlflow/logged-models/${modelId}/artifacts/files?artifact_file_path=d:notes.txt`,
        ),
      ],
      [
        'logged model directories',
        await api.get(`logged-models/${modelId}/artifacts/directories`, {
          artifact_directory_path: 'd:notes.txt',
        }),
      ],
    ];
    for (const [endpoint, answer] of answers) {
      expect(answer.status, `${endpoint}: ${answer.text}`).toBe(400);
      expect(String(answer.body.message), endpoint).toContain("drive letter ('d:')");
    }
  });

  it('leaves a drive-like name further down a path alone', async () => {
    const path = `${experimentId}/${runId}/artifacts/sub/d:notes.txt`;
    expect((await api.request('PUT', `${ARTIFACTS}/artifacts/${path}`, { body: 'x' })).status).toBe(200);
    const listed = await api.request<{ files?: { path: string }[] }>(
      'GET',
      `${ARTIFACTS}/artifacts?path=${encodeURIComponent(`${experimentId}/${runId}/artifacts/sub`)}`,
    );
    expect(listed.body.files?.map((entry) => entry.path)).toEqual(['d:notes.txt']);
  });
});

describe('model version sources (item 10)', () => {
  it.each([
    ['..%c0%af..', 'malformed percent-encoding'],
    ['..%c0%af../x', 'malformed percent-encoding'],
    ['%252e%252e/x', 'without relative path references'],
    ['model;x=..', "';'"],
  ])('refuses runs:/<run>/%s with a 400, and registers nothing', async (path, reason) => {
    const name = `src-${reason.length}-${path.length}`;
    expect((await api.post('registered-models/create', { name })).status).toBe(200);
    const created = await rawRequest(server.url, 'POST', '/api/2.0/mlflow/model-versions/create', {
      json: { name, source: `runs:/${runId}/${path}`, run_id: runId },
    });
    expect400(created, reason);
    expect(String(created.body.message)).toMatch(/'source'|model version source/);
    const versions = await api.get<{ model_versions?: unknown[] }>('model-versions/search', {
      filter: `name='${name}'`,
    });
    expect(versions.body.model_versions).toBeUndefined();
  });
});

describe('experiment ids per search (item 4)', () => {
  const ids = (count: number) => Array.from({ length: count }, (_, index) => String(index));

  it('answers a search naming exactly 100 experiments', async () => {
    const runs = await api.post<{ runs?: { info: { run_id: string } }[] }>('runs/search', {
      experiment_ids: [...ids(99), experimentId],
    });
    expect(runs.status, runs.text).toBe(200);
    expect(runs.body.runs?.map((run) => run.info.run_id)).toContain(runId);
    const models = await api.post<{ models?: unknown[] }>('logged-models/search', {
      experiment_ids: [...ids(99), experimentId],
    });
    expect(models.status, models.text).toBe(200);
    expect(models.body.models).toHaveLength(1);
  });

  it('refuses 101 or 3,000 with a 400 naming the field and the limit', async () => {
    for (const count of [101, 3000]) {
      for (const endpoint of ['runs/search', 'logged-models/search']) {
        const answer = await api.post(endpoint, { experiment_ids: ids(count) });
        expect400(answer, "'experiment_ids'");
        expect(String(answer.body.message)).toContain('at most 100');
      }
    }
  });
});

describe('multipart part counts (item 8)', () => {
  const create = (numParts: unknown) =>
    api.request<{ credentials?: { url: string; part_number: number }[] }>(
      'POST',
      `${ARTIFACTS}/mpu/create/${experimentId}/${runId}/artifacts/big`,
      { json: { path: '/tmp/big.bin', num_parts: numParts } },
    );

  it('refuses more parts than S3 allows, or none, with a 400 naming num_parts', async () => {
    for (const count of [10_001, 1_000_000, 0, -1]) expect400(await create(count), "'num_parts'");
  });

  it('signs one URL per part, each for its own part number', async () => {
    const created = await create(5000);
    expect(created.status, created.text.slice(0, 300)).toBe(200);
    const credentials = created.body.credentials ?? [];
    expect(credentials.map((credential) => credential.part_number)).toEqual(
      Array.from({ length: 5000 }, (_, index) => index + 1),
    );
    expect(
      credentials.every(
        (credential) =>
          new URL(credential.url).searchParams.get('partNumber') === String(credential.part_number),
      ),
    ).toBe(true);
    expect(new Set(credentials.map((credential) => credential.url)).size).toBe(5000);
  });
});

describe('look-alike names (item 9)', () => {
  const nfc = 'caf\u00e9-model';
  const nfd = 'cafe\u0301-model';

  it('collapses NFC and NFD spellings of an experiment name into one experiment', async () => {
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: nfc });
    expect(created.status, created.text).toBe(200);
    const again = await api.post('experiments/create', { name: nfd });
    expect(again.status).toBe(400);
    expect(again.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    const found = await api.get<{ experiment: { experiment_id: string; name: string } }>(
      'experiments/get-by-name',
      { experiment_name: nfd },
    );
    expect(found.body.experiment).toMatchObject({ experiment_id: created.body.experiment_id, name: nfc });
  });

  it('collapses them for registered models, and finds the model by either spelling', async () => {
    const created = await api.post<{ registered_model: { name: string } }>('registered-models/create', {
      name: nfd,
    });
    expect(created.status, created.text).toBe(200);
    expect(created.body.registered_model.name).toBe(nfc);
    const again = await api.post('registered-models/create', { name: nfc });
    expect(again.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    const found = await api.get<{ registered_model: { name: string } }>('registered-models/get', {
      name: nfd,
    });
    expect(found.body.registered_model.name).toBe(nfc);
  });

  it.each([
    ['trailing space', 'shadow ', 'begin or end with whitespace'],
    ['leading space', ' shadow', 'begin or end with whitespace'],
    ['right-to-left override', 'shadow\u202egpj.exe', 'U+202E'],
    ['zero-width space', 'sha\u200bdow', 'U+200B'],
    ['zero-width joiner', 'sha\u200ddow', 'U+200D'],
    ['byte order mark', '\ufeffshadow', 'U+FEFF'],
    ['no-break space', 'sha\u00a0dow', 'U+00A0'],
    ['C1 control', 'sha\u0085dow', 'U+0085'],
  ])('refuses a %s in experiment, model and rename names, creating nothing', async (_, name, reason) => {
    expect400(await api.post('experiments/create', { name }), reason);
    expect((await api.get('experiments/get-by-name', { experiment_name: name })).status).toBe(404);
    expect400(await api.post('registered-models/create', { name }), reason);
    expect((await api.get('registered-models/get', { name })).status).toBe(404);
    const renamed = await api.post('experiments/update', { experiment_id: experimentId, new_name: name });
    expect400(renamed, "'new_name'");
    const model = await api.post('registered-models/rename', { name: nfc, new_name: name });
    expect400(model, "'new_name'");
    const logged = await api.request('POST', '/api/2.0/mlflow/logged-models', {
      json: { experiment_id: experimentId, name },
    });
    expect400(logged, "'name'");
  });

  it('sets an alias in NFC and reads it by either spelling; refuses invisible characters in aliases', async () => {
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
    });
    const version = await api.post('model-versions/create', {
      name: nfc,
      source: `runs:/${run.body.run.info.run_id}/model`,
    });
    expect(version.status, version.text).toBe(200);
    const set = await api.post('registered-models/alias', { name: nfc, alias: 'cafe\u0301', version: '1' });
    expect(set.status, set.text).toBe(200);
    const model = await api.get<{ registered_model: { aliases: { alias: string }[] } }>(
      'registered-models/get',
      { name: nfc },
    );
    expect(model.body.registered_model.aliases.map((entry) => entry.alias)).toEqual(['caf\u00e9']);
    for (const alias of ['caf\u00e9', 'cafe\u0301']) {
      const found = await api.get('registered-models/alias', { name: nfc, alias });
      expect(found.status, found.text).toBe(200);
    }
    expect400(
      await api.post('registered-models/alias', { name: nfc, alias: 'champ\u200bion', version: '1' }),
      "'alias'",
    );
  });
});

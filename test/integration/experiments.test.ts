/** The experiments API end to end: real HTTP → local front → tracking handler → dynalite (or DynamoDB Local). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface ExperimentJson {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
  tags?: { key: string; value: string }[];
}

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

async function create(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await api.post<{ experiment_id: string }>('experiments/create', { name, ...extra });
  expect(response.status, response.text).toBe(200);
  return response.body.experiment_id;
}

async function getExperiment(id: string): Promise<ExperimentJson> {
  const response = await api.get<{ experiment: ExperimentJson }>('experiments/get', { experiment_id: id });
  expect(response.status, response.text).toBe(200);
  return response.body.experiment;
}

function expectError(
  response: { status: number; body: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(response.status).toBe(status);
  expect(response.body.error_code).toBe(code);
  expect(typeof response.body.message).toBe('string');
}

describe('Default experiment', () => {
  it('exists as "0" named Default with a server-assigned artifact location', async () => {
    const experiment = await getExperiment('0');
    expect(experiment).toMatchObject({
      experiment_id: '0',
      name: 'Default',
      artifact_location: 'mlflow-artifacts:/0',
      lifecycle_stage: 'active',
    });
    expect(experiment.tags).toBeUndefined();
  });
});

describe('create and get', () => {
  it('assigns increasing decimal ids and mlflow-artifacts locations, and stores tags', async () => {
    const before = Date.now();
    const first = await create('create-a', { tags: [{ key: 'team', value: 'ml' }] });
    const second = await create('create-b');
    expect(Number(second)).toBeGreaterThan(Number(first));
    const experiment = await getExperiment(first);
    expect(experiment).toEqual({
      experiment_id: first,
      name: 'create-a',
      artifact_location: `mlflow-artifacts:/${first}`,
      lifecycle_stage: 'active',
      creation_time: experiment.creation_time,
      last_update_time: experiment.creation_time,
      tags: [{ key: 'team', value: 'ml' }],
    });
    expect(experiment.creation_time).toBeGreaterThanOrEqual(before);
  });

  it('finds an experiment by name, and answers 404 RESOURCE_DOES_NOT_EXIST for an unknown name', async () => {
    const id = await create('by-name');
    const found = await api.get<{ experiment: ExperimentJson }>('experiments/get-by-name', {
      experiment_name: 'by-name',
    });
    expect(found.body.experiment.experiment_id).toBe(id);
    const missing = await api.get('experiments/get-by-name', { experiment_name: 'no-such-experiment' });
    expectError(missing, 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(missing.body.message).toBe("Could not find experiment with name 'no-such-experiment'");
  });

  it('refuses a duplicate name with RESOURCE_ALREADY_EXISTS and HTTP 400', async () => {
    await create('duplicate');
    const again = await api.post('experiments/create', { name: 'duplicate' });
    expectError(again, 400, 'RESOURCE_ALREADY_EXISTS');
    expect(again.body.message).toContain('duplicate');
  });

  it('lets exactly one of 20 concurrent creates of one name win', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.post<{ experiment_id?: string }>('experiments/create', { name: 'race' }),
      ),
    );
    const winners = responses.filter((response) => response.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of responses.filter((response) => response.status !== 200)) {
      expectError(loser, 400, 'RESOURCE_ALREADY_EXISTS');
    }
    const found = await api.get<{ experiment: ExperimentJson }>('experiments/get-by-name', {
      experiment_name: 'race',
    });
    expect(found.body.experiment.experiment_id).toBe(winners[0]?.body.experiment_id);
    const all = await api.post<{ experiments: ExperimentJson[] }>('experiments/search', {
      filter: "name = 'race'",
      view_type: 'ALL',
    });
    expect(all.body.experiments).toHaveLength(1);
  });

  it('answers 404 for an unknown id and 400 for an id that is not an integer', async () => {
    const missing = await api.get('experiments/get', { experiment_id: '987654' });
    expectError(missing, 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(missing.body.message).toBe('No Experiment with id=987654 exists');
    const malformed = await api.get('experiments/get', { experiment_id: 'abc' });
    expectError(malformed, 400, 'INVALID_PARAMETER_VALUE');
    expect(malformed.body.message).toContain("'abc'");
  });

  it('stores a client-chosen artifact_location the server never reads: under its root or in an object store', async () => {
    for (const [index, location] of [
      's3://team-bucket/experiments/x',
      'gs://bucket/path',
      'dbfs://workspace/x',
      'mlflow-artifacts:/shared/team',
    ].entries()) {
      const created = await api.post<{ experiment_id: string }>('experiments/create', {
        name: `own-location-${index}`,
        artifact_location: location,
      });
      expect(created.status, created.text).toBe(200);
      const got = await api.get<{ experiment: ExperimentJson }>('experiments/get', {
        experiment_id: created.body.experiment_id,
      });
      expect(got.body.experiment.artifact_location).toBe(location);
      // Runs take their artifact_uri under it, as in MLflow.
      const run = await api.post<{ run: { info: { artifact_uri: string; run_id: string } } }>('runs/create', {
        experiment_id: created.body.experiment_id,
      });
      expect(run.body.run.info.artifact_uri).toBe(`${location}/${run.body.run.info.run_id}/artifacts`);
    }
  });

  it.each([
    'http://evil.example/artifacts',
    'https://evil.example/artifacts',
    'ftp://host/x',
    'sftp://host/x',
    'mlflow-artifacts://other-server:5000/x',
    'file:///etc',
    '/var/data',
    'my_location',
    'javascript:alert(1)',
    's3://bucket/../other',
    's3://bucket/x#frag',
    'runs:/abc/x',
    's3:/bucket',
  ])('refuses the artifact_location %j, and creates nothing', async (location) => {
    const response = await api.post('experiments/create', {
      name: 'refused-location',
      artifact_location: location,
    });
    expectError(response, 400, 'INVALID_PARAMETER_VALUE');
    expect(response.body.message).toContain(location);
    expectError(
      await api.get('experiments/get-by-name', { experiment_name: 'refused-location' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it('serves the same API under /ajax-api/2.0', async () => {
    const id = await create('ajax');
    const response = await api.request<{ experiment: ExperimentJson }>(
      'GET',
      `/ajax-api/2.0/mlflow/experiments/get?experiment_id=${id}`,
    );
    expect(response.status).toBe(200);
    expect(response.body.experiment.name).toBe('ajax');
  });
});

describe('limits', () => {
  it('accepts a 500-character name and refuses 501 characters, naming the field', async () => {
    await create('n'.repeat(500));
    const response = await api.post('experiments/create', { name: 'm'.repeat(501) });
    expectError(response, 400, 'INVALID_PARAMETER_VALUE');
    expect(response.body.message).toBe("'name' exceeds the maximum length of 500 characters");
  });

  it('accepts a 250-character tag key and 5,000-character value, refuses one more of either', async () => {
    const id = await create('tag-limits');
    const ok = await api.post('experiments/set-experiment-tag', {
      experiment_id: id,
      key: 'k'.repeat(250),
      value: 'v'.repeat(5000),
    });
    expect(ok.status).toBe(200);
    const longKey = await api.post('experiments/set-experiment-tag', {
      experiment_id: id,
      key: 'k'.repeat(251),
      value: 'v',
    });
    expectError(longKey, 400, 'INVALID_PARAMETER_VALUE');
    expect(longKey.body.message).toBe("'key' exceeds the maximum length of 250 characters");
    const longValue = await api.post('experiments/set-experiment-tag', {
      experiment_id: id,
      key: 'other',
      value: 'v'.repeat(5001),
    });
    expectError(longValue, 400, 'INVALID_PARAMETER_VALUE');
    expect(longValue.body.message).toBe("'value' exceeds the maximum length of 5000 characters");
    const tags = (await getExperiment(id)).tags ?? [];
    expect(tags.map((tag) => tag.key)).toEqual(['k'.repeat(250)]);
  });

  it('validates tags on create and writes nothing when one is bad', async () => {
    const response = await api.post('experiments/create', {
      name: 'bad-tags',
      tags: [
        { key: 'fine', value: 'x' },
        { key: 'a/../b', value: 'y' },
      ],
    });
    expectError(response, 400, 'INVALID_PARAMETER_VALUE');
    expect(response.body.message).toContain("'tags[1].key'");
    expectError(
      await api.get('experiments/get-by-name', { experiment_name: 'bad-tags' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it('refuses an empty name as missing', async () => {
    const response = await api.post('experiments/create', { name: '' });
    expectError(response, 400, 'INVALID_PARAMETER_VALUE');
    expect(response.body.message).toBe(
      "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
    );
  });
});

describe('update, delete, restore', () => {
  it('renames, frees the old name and bumps last_update_time', async () => {
    const id = await create('old-name');
    const before = await getExperiment(id);
    const renamed = await api.post('experiments/update', { experiment_id: id, new_name: 'new-name' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({});
    const after = await getExperiment(id);
    expect(after.name).toBe('new-name');
    expect(after.last_update_time).toBeGreaterThanOrEqual(before.last_update_time);
    expectError(
      await api.get('experiments/get-by-name', { experiment_name: 'old-name' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect(await create('old-name')).not.toBe(id);
  });

  it('refuses a rename onto an existing name and keeps both experiments as they were', async () => {
    const a = await create('rename-a');
    await create('rename-b');
    const response = await api.post('experiments/update', { experiment_id: a, new_name: 'rename-b' });
    expectError(response, 400, 'RESOURCE_ALREADY_EXISTS');
    expect((await getExperiment(a)).name).toBe('rename-a');
  });

  it('allows renaming to its own name', async () => {
    const id = await create('same-name');
    expect((await api.post('experiments/update', { experiment_id: id, new_name: 'same-name' })).status).toBe(
      200,
    );
    expect((await getExperiment(id)).name).toBe('same-name');
  });

  it('soft-deletes and restores; names of deleted experiments stay taken', async () => {
    const id = await create('to-delete');
    expect((await api.post('experiments/delete', { experiment_id: id })).status).toBe(200);
    expect((await getExperiment(id)).lifecycle_stage).toBe('deleted');
    const byName = await api.get<{ experiment: ExperimentJson }>('experiments/get-by-name', {
      experiment_name: 'to-delete',
    });
    expect(byName.body.experiment.lifecycle_stage).toBe('deleted');
    expectError(await api.post('experiments/create', { name: 'to-delete' }), 400, 'RESOURCE_ALREADY_EXISTS');
    expectError(await api.post('experiments/delete', { experiment_id: id }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const renameDeleted = await api.post('experiments/update', { experiment_id: id, new_name: 'x' });
    expectError(renameDeleted, 400, 'INVALID_PARAMETER_VALUE');
    expect(renameDeleted.body.message).toBe('Cannot rename a non-active experiment.');
    const tagDeleted = await api.post('experiments/set-experiment-tag', {
      experiment_id: id,
      key: 'k',
      value: 'v',
    });
    expectError(tagDeleted, 400, 'INVALID_PARAMETER_VALUE');
    expect(tagDeleted.body.message).toBe(
      `The experiment ${id} must be in the 'active' state. Current state is deleted.`,
    );

    expect((await api.post('experiments/restore', { experiment_id: id })).status).toBe(200);
    expect((await getExperiment(id)).lifecycle_stage).toBe('active');
    expectError(await api.post('experiments/restore', { experiment_id: id }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('answers 404 for lifecycle changes of an unknown experiment', async () => {
    expectError(
      await api.post('experiments/delete', { experiment_id: '424242' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('experiments/restore', { experiment_id: '424242' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('experiments/update', { experiment_id: '424242', new_name: 'x' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });
});

describe('experiment tags', () => {
  it('upserts and deletes tags; deleting a missing tag is 404', async () => {
    const id = await create('tagged');
    await api.post('experiments/set-experiment-tag', { experiment_id: id, key: 'a', value: '1' });
    await api.post('experiments/set-experiment-tag', { experiment_id: id, key: 'a', value: '2' });
    await api.post('experiments/set-experiment-tag', {
      experiment_id: id,
      key: 'with space.and/slash',
      value: '',
    });
    expect((await getExperiment(id)).tags).toEqual(
      expect.arrayContaining([
        { key: 'a', value: '2' },
        { key: 'with space.and/slash', value: '' },
      ]),
    );
    expect(
      (await api.post('experiments/delete-experiment-tag', { experiment_id: id, key: 'a' })).status,
    ).toBe(200);
    expect((await getExperiment(id)).tags).toEqual([{ key: 'with space.and/slash', value: '' }]);
    const missing = await api.post('experiments/delete-experiment-tag', { experiment_id: id, key: 'a' });
    expectError(missing, 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(missing.body.message).toBe(`No tag with name: a in experiment with id ${id}`);
  });

  it('refuses keys outside MLflow charset or that are not normalized paths', async () => {
    const id = await create('bad-keys');
    for (const key of ['a/../b', './a', '/abs', 'semi;colon', '..']) {
      const response = await api.post('experiments/set-experiment-tag', {
        experiment_id: id,
        key,
        value: 'v',
      });
      expectError(response, 400, 'INVALID_PARAMETER_VALUE');
      expect(response.body.message).toContain("parameter 'key'");
    }
    expect((await getExperiment(id)).tags).toBeUndefined();
  });
});

describe('search', () => {
  let ids: string[];

  beforeAll(async () => {
    ids = [];
    for (const [index, name] of ['s-alpha', 's-beta', 's-Gamma', 's-delta'].entries()) {
      ids.push(await create(name, { tags: [{ key: 'group', value: index % 2 === 0 ? 'even' : 'odd' }] }));
    }
    await api.post('experiments/delete', { experiment_id: ids[3] });
  });

  async function search(body: Record<string, unknown>) {
    const response = await api.post<{ experiments?: ExperimentJson[]; next_page_token?: string }>(
      'experiments/search',
      { max_results: 1000, ...body },
    );
    expect(response.status, response.text).toBe(200);
    return response.body;
  }

  const names = (body: { experiments?: ExperimentJson[] }) => (body.experiments ?? []).map((e) => e.name);

  it('filters by name with =, !=, LIKE and ILIKE', async () => {
    expect(names(await search({ filter: "name = 's-alpha'" }))).toEqual(['s-alpha']);
    expect(
      names(await search({ filter: "name LIKE 's-%a' AND name != 's-alpha'", order_by: ['name'] })),
    ).toEqual(['s-Gamma', 's-beta']);
    expect(names(await search({ filter: "name LIKE 's-g%'" }))).toEqual([]);
    expect(names(await search({ filter: "name ILIKE 's-g%'" }))).toEqual(['s-Gamma']);
  });

  it('filters by tags and by creation time', async () => {
    expect(names(await search({ filter: "tags.group = 'even'", order_by: ['name ASC'] }))).toEqual([
      's-Gamma',
      's-alpha',
    ]);
    const alpha = await getExperiment(ids[0] as string);
    const later = names(
      await search({
        filter: `creation_time > ${alpha.creation_time - 1} AND name LIKE 's-%'`,
        order_by: ['name'],
      }),
    );
    expect(later).toEqual(['s-Gamma', 's-alpha', 's-beta']);
  });

  it('honours view types', async () => {
    const filter = "name LIKE 's-%'";
    expect(names(await search({ filter, view_type: 'DELETED_ONLY' }))).toEqual(['s-delta']);
    expect(names(await search({ filter, view_type: 'ALL', order_by: ['name'] }))).toEqual([
      's-Gamma',
      's-alpha',
      's-beta',
      's-delta',
    ]);
  });

  it('orders by creation_time DESC by default, and by several keys on request', async () => {
    const filter = "name LIKE 's-%'";
    // Creates in one millisecond tie on creation_time; experiment_id ASC breaks the tie.
    const all = await Promise.all(ids.slice(0, 3).map((id) => getExperiment(id)));
    const expected = all
      .sort((a, b) => b.creation_time - a.creation_time || Number(a.experiment_id) - Number(b.experiment_id))
      .map((experiment) => experiment.name);
    expect(names(await search({ filter }))).toEqual(expected);
    expect(names(await search({ filter, order_by: ['experiment_id ASC'] }))).toEqual([
      's-alpha',
      's-beta',
      's-Gamma',
    ]);
  });

  it('pages with opaque tokens without skipping or repeating, also through GET', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const response = await api.get<{ experiments?: ExperimentJson[]; next_page_token?: string }>(
        'experiments/search',
        { max_results: 2, view_type: 'ALL', order_by: ['name'], ...(token ? { page_token: token } : {}) },
      );
      expect(response.status, response.text).toBe(200);
      seen.push(...names(response.body));
      token = response.body.next_page_token;
    } while (token);
    expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['Default', 's-alpha', 's-delta']));
  });

  it('refuses bad filters, order_by and max_results with 400 naming the problem', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ filter: "name = 'a' OR name = 'b'" }, 'OR'],
      [{ filter: "owner = 'x'" }, "'owner'"],
      [{ filter: 'name = unquoted' }, 'quoted'],
      [{ filter: "creation_time > 'yesterday'" }, 'numeric'],
      [{ filter: 'metrics.loss < 1' }, 'metric'],
      [{ order_by: ['size DESC'] }, "'size'"],
      [{ order_by: ['name SIDEWAYS'] }, 'ASC or DESC'],
      [{ max_results: 0 }, 'positive'],
      [{ max_results: 50001 }, 'at most 50000'],
      [{ page_token: 'garbage' }, 'page token'],
    ];
    for (const [body, fragment] of cases) {
      const response = await api.post('experiments/search', body);
      expectError(response, 400, 'INVALID_PARAMETER_VALUE');
      expect(response.body.message, JSON.stringify(body)).toContain(fragment);
    }
  });

  it('accepts max_results at the cap of 50,000', async () => {
    const response = await api.post('experiments/search', { max_results: 50000 });
    expect(response.status).toBe(200);
  });
});

describe('probes and unknown routes', () => {
  it('answers /health and /version as plain text', async () => {
    const health = await api.request('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.text).toBe('OK');
    const version = await api.request('GET', '/version');
    expect(version.status).toBe(200);
    expect(version.text).toMatch(/^\d+\.\d+\.\d+(\.dev\d+)?$/);
  });

  it('answers unknown routes and wrong methods with 404 ENDPOINT_NOT_FOUND JSON', async () => {
    for (const [method, path] of [
      ['GET', '/api/2.0/mlflow/no-such'],
      ['DELETE', '/api/2.0/mlflow/experiments/create'],
      // `GET /` is the web UI's page; nothing else at the root is a route.
      ['POST', '/'],
      ['GET', '/index.html'],
    ] as const) {
      const response = await api.request(method, path);
      expectError(response, 404, 'ENDPOINT_NOT_FOUND');
      expect(response.headers.get('content-type')).toContain('application/json');
    }
  });
});

describe('keys that are also JavaScript property names', () => {
  it('stores, searches and deletes tags named __proto__ and constructor like any other', async () => {
    const id = await create('proto-keys', { tags: [{ key: '__proto__', value: 'p' }] });
    await api.post('experiments/set-experiment-tag', { experiment_id: id, key: 'constructor', value: 'c' });
    expect((await getExperiment(id)).tags).toEqual(
      expect.arrayContaining([
        { key: '__proto__', value: 'p' },
        { key: 'constructor', value: 'c' },
      ]),
    );
    const found = await api.post<{ experiments?: ExperimentJson[] }>('experiments/search', {
      filter: "tags.__proto__ = 'p' AND tags.constructor IS NOT NULL",
    });
    expect(found.body.experiments?.map((e) => e.experiment_id)).toEqual([id]);
    const others = await api.post<{ experiments?: ExperimentJson[] }>('experiments/search', {
      filter: 'tags.constructor IS NOT NULL',
      view_type: 'ALL',
    });
    expect(others.body.experiments?.map((e) => e.experiment_id)).toEqual([id]);
    expect(
      (await api.post('experiments/delete-experiment-tag', { experiment_id: id, key: '__proto__' })).status,
    ).toBe(200);
    expect((await getExperiment(id)).tags).toEqual([{ key: 'constructor', value: 'c' }]);
  });
});

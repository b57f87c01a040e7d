/**
 * Searches under per-resource permissions (issue 16), over real HTTP to `cairn server --auth`: what a
 * caller may not read is left out before paging (full pages, tokens that never lead to or reveal a hidden
 * item), searches scoped by experiment ids refuse a hidden one by name, creators get MANAGE, a renamed
 * registered model keeps its grants, a deleted one loses them, a purged experiment loses them.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublishedEndpoint } from '../../local/data-dir-endpoint.js';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { endpointOptions } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { purgeDeleted } from '../../shared/store/purge/purge.js';
import type { ApiResponse } from '../helpers/http.js';
import { PermissionServer } from '../helpers/permission-server.js';

const perm = new PermissionServer();
const bearer: Record<string, string> = {};

/** `root` (admin), `alice` (write: creates things), `carol` (read: hidden from some). */
const TOKENS: Record<string, Scope> = { root: 'admin', alice: 'write', carol: 'read' };

beforeAll(async () => {
  await perm.start({ cacheTtlMs: 200 });
  for (const [name, scope] of Object.entries(TOKENS)) bearer[name] = await perm.token(name, scope);
});

afterAll(async () => {
  await perm.close();
});

/** A request as the token named `as` (one of TOKENS). */
function call(
  as: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  fields: Record<string, unknown> = {},
): Promise<ApiResponse> {
  return perm.call(bearer[as] as string, method, path, fields);
}

const MLFLOW = '/api/2.0/mlflow';

async function ok(answer: Promise<ApiResponse>): Promise<ApiResponse> {
  const done = await answer;
  expect(done.status, done.text).toBe(200);
  return done;
}

function expectDenied(answer: ApiResponse, ...mentions: string[]) {
  expect(answer.status, answer.text).toBe(403);
  expect(answer.body.error_code).toBe('PERMISSION_DENIED');
  for (const mention of mentions) expect(answer.body.message as string).toContain(mention);
}

/** Every page of a search as `as`, following tokens; the pages' names and the tokens handed out. */
async function pages(
  as: string,
  method: 'GET' | 'POST',
  path: string,
  fields: Record<string, unknown>,
  list: string,
): Promise<{ pages: string[][]; tokens: string[] }> {
  const found: string[][] = [];
  const tokens: string[] = [];
  let token: string | undefined;
  do {
    const page = await ok(call(as, method, path, { ...fields, ...(token ? { page_token: token } : {}) }));
    found.push(((page.body[list] as { name: string }[] | undefined) ?? []).map((item) => item.name));
    token = page.body.next_page_token as string | undefined;
    if (token) tokens.push(token);
    expect(found.length).toBeLessThan(20);
  } while (token);
  return { pages: found, tokens };
}

const tokenText = (token: string) => Buffer.from(token, 'base64url').toString('utf8');

async function hide(kind: 'experiment' | 'model', resource: string, username = 'carol') {
  if (kind === 'experiment') {
    await ok(
      call('root', 'POST', `${MLFLOW}/experiments/permissions/create`, {
        experiment_id: resource,
        username,
        permission: 'NO_PERMISSIONS',
      }),
    );
  } else {
    await ok(
      call('root', 'POST', `${MLFLOW}/registered-models/permissions/create`, {
        name: resource,
        username,
        permission: 'NO_PERMISSIONS',
      }),
    );
  }
}

describe('experiment searches', () => {
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    for (let n = 1; n <= 7; n++) {
      const created = await ok(call('root', 'POST', `${MLFLOW}/experiments/create`, { name: `ps-exp-${n}` }));
      ids[`ps-exp-${n}`] = created.body.experiment_id as string;
    }
    for (const n of [2, 4, 6]) await hide('experiment', ids[`ps-exp-${n}`] as string);
  });

  const search = { filter: "name LIKE 'ps-exp-%'", order_by: ['name ASC'], max_results: 2 };

  it('pages exactly the 4 visible experiments, in order, with full pages; tokens never reveal hidden ones', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const seen = await pages('carol', method, `${MLFLOW}/experiments/search`, search, 'experiments');
      expect(seen.pages).toEqual([
        ['ps-exp-1', 'ps-exp-3'],
        ['ps-exp-5', 'ps-exp-7'],
      ]);
      // One token (after the first page); none after the last, though hidden ones sort after it.
      expect(seen.tokens).toHaveLength(1);
      for (const token of seen.tokens) {
        for (const n of [2, 4, 6]) expect(tokenText(token)).not.toContain(`ps-exp-${n}`);
      }
    }
    // The same search for an admin: all seven, every page full.
    const all = await pages('root', 'POST', `${MLFLOW}/experiments/search`, search, 'experiments');
    expect(all.pages.flat()).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `ps-exp-${n}`));
  });

  it('refuses get-by-name of a hidden experiment, naming it, and serves a visible one', async () => {
    expectDenied(
      await call('carol', 'GET', `${MLFLOW}/experiments/get-by-name`, { experiment_name: 'ps-exp-2' }),
      ids['ps-exp-2'] as string,
    );
    await ok(call('carol', 'GET', `${MLFLOW}/experiments/get-by-name`, { experiment_name: 'ps-exp-1' }));
  });

  it('refuses run, logged-model and trace searches that name a hidden experiment, in any spelling', async () => {
    const visible = ids['ps-exp-1'] as string;
    const hidden = ids['ps-exp-4'] as string;
    for (const spelling of [hidden, `00${hidden}`]) {
      expectDenied(
        await call('carol', 'POST', `${MLFLOW}/runs/search`, { experiment_ids: [visible, spelling] }),
        `experiment '${hidden}'`,
      );
    }
    expectDenied(
      await call('carol', 'POST', `${MLFLOW}/logged-models/search`, { experiment_ids: [hidden] }),
      `experiment '${hidden}'`,
    );
    expectDenied(
      await call('carol', 'POST', '/api/3.0/mlflow/traces/search', {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: hidden } }],
      }),
      `experiment '${hidden}'`,
    );
    expectDenied(
      await call('carol', 'GET', `${MLFLOW}/traces`, { experiment_ids: [hidden] }),
      `experiment '${hidden}'`,
    );
    await ok(call('carol', 'POST', `${MLFLOW}/runs/search`, { experiment_ids: [visible] }));
    await ok(call('carol', 'POST', `${MLFLOW}/logged-models/search`, { experiment_ids: [visible] }));
    // An admin's grants never hide anything.
    await ok(call('root', 'POST', `${MLFLOW}/runs/search`, { experiment_ids: [hidden] }));
  });
});

describe('registered model searches', () => {
  const names = ['a', 'b', 'c', 'd', 'e'].map((letter) => `ps-model-${letter}`);

  beforeAll(async () => {
    const experiment = await ok(call('root', 'POST', `${MLFLOW}/experiments/create`, { name: 'ps-models' }));
    const run = await ok(
      call('root', 'POST', `${MLFLOW}/runs/create`, { experiment_id: experiment.body.experiment_id }),
    );
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    for (const name of names) {
      await ok(call('root', 'POST', `${MLFLOW}/registered-models/create`, { name }));
      await ok(
        call('root', 'POST', `${MLFLOW}/model-versions/create`, { name, source: `runs:/${runId}/model` }),
      );
    }
    await hide('model', 'ps-model-b');
    await hide('model', 'ps-model-d');
  });

  it('pages exactly the visible models, full pages, tokens never naming a hidden one', async () => {
    const seen = await pages(
      'carol',
      'GET',
      `${MLFLOW}/registered-models/search`,
      { filter: "name LIKE 'ps-model-%'", max_results: 2 },
      'registered_models',
    );
    expect(seen.pages).toEqual([['ps-model-a', 'ps-model-c'], ['ps-model-e']]);
    for (const token of seen.tokens) {
      expect(tokenText(token)).not.toContain('ps-model-b');
      expect(tokenText(token)).not.toContain('ps-model-d');
    }
  });

  it('leaves out the versions of hidden models, before paging', async () => {
    const seen = await pages(
      'carol',
      'GET',
      `${MLFLOW}/model-versions/search`,
      { filter: "name LIKE 'ps-model-%'", order_by: ['name ASC'], max_results: 2 },
      'model_versions',
    );
    expect(seen.pages).toEqual([['ps-model-a', 'ps-model-c'], ['ps-model-e']]);
    const named = await ok(
      call('carol', 'GET', `${MLFLOW}/model-versions/search`, { filter: "name = 'ps-model-b'" }),
    );
    expect(named.body.model_versions).toBeUndefined();
  });
});

describe('grants following their resources', () => {
  it('gives the creator MANAGE: a write token creates an experiment and can then grant on it', async () => {
    const created = await ok(call('alice', 'POST', `${MLFLOW}/experiments/create`, { name: 'ps-alice' }));
    const id = created.body.experiment_id as string;
    expect(await perm.grants.get('alice', 'experiment', id)).toMatchObject({ permission: 'MANAGE' });
    await ok(
      call('alice', 'POST', `${MLFLOW}/experiments/permissions/create`, {
        experiment_id: id,
        username: 'carol',
        permission: 'READ',
      }),
    );
    // MANAGE also lets the creator delete it, which a write token's default EDIT would not.
    await ok(call('alice', 'POST', `${MLFLOW}/experiments/delete`, { experiment_id: id }));
  });

  it('gives the creator MANAGE on a registered model, moves grants on rename, drops them on delete', async () => {
    await ok(call('alice', 'POST', `${MLFLOW}/registered-models/create`, { name: 'ps-fraud' }));
    expect(await perm.grants.get('alice', 'registered_model', 'ps-fraud')).toMatchObject({
      permission: 'MANAGE',
    });
    await hide('model', 'ps-fraud');

    await ok(
      call('alice', 'POST', `${MLFLOW}/registered-models/rename`, {
        name: 'ps-fraud',
        new_name: 'ps-fraud-2',
      }),
    );
    const moved = (await perm.grants.grantsOn('registered_model', 'ps-fraud-2'))
      .map((grant) => `${grant.principal}:${grant.permission}`)
      .sort();
    expect(moved).toEqual(['alice:MANAGE', 'carol:NO_PERMISSIONS']);
    expect(await perm.grants.grantsOn('registered_model', 'ps-fraud')).toEqual([]);
    // The moved grant still hides the model from carol under its new name.
    expectDenied(
      await call('carol', 'GET', `${MLFLOW}/registered-models/get`, { name: 'ps-fraud-2' }),
      'ps-fraud-2',
    );
    // alice still holds MANAGE under the new name: she may delete it; its grants go with it.
    await ok(call('alice', 'DELETE', `${MLFLOW}/registered-models/delete`, { name: 'ps-fraud-2' }));
    expect(await perm.grants.grantsOn('registered_model', 'ps-fraud-2')).toEqual([]);
    // A new model of the old name starts with its creator's grant only.
    await ok(call('alice', 'POST', `${MLFLOW}/registered-models/create`, { name: 'ps-fraud-2' }));
    expect(
      (await perm.grants.grantsOn('registered_model', 'ps-fraud-2')).map((grant) => grant.principal),
    ).toEqual(['alice']);
  });

  it('keeps a deleted experiment’s grants (it can be restored) and drops them when it is purged', async () => {
    const created = await ok(call('alice', 'POST', `${MLFLOW}/experiments/create`, { name: 'ps-purged' }));
    const id = created.body.experiment_id as string;
    await hide('experiment', id);
    await ok(call('alice', 'POST', `${MLFLOW}/experiments/delete`, { experiment_id: id }));
    expect((await perm.grants.grantsOn('experiment', id)).length).toBe(2);

    const published = readPublishedEndpoint(perm.server.dataDir);
    const s3 = new S3Client({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      forcePathStyle: true,
      ...endpointOptions(undefined, published?.s3Socket),
    });
    try {
      const report = await purgeDeleted(
        {
          doc: createDocumentClient(perm.store.client),
          tableName: perm.store.tableName,
          s3,
          bucket: LOCAL_BUCKET_NAME,
          keyPrefix: '',
        },
        { olderThanMs: 0, experimentIds: [id] },
      );
      expect(report.experiments).toBe(1);
    } finally {
      s3.destroy();
    }
    expect(await perm.grants.grantsOn('experiment', id)).toEqual([]);
    expect(await perm.grants.get('alice', 'experiment', id)).toBeUndefined();
  });
});

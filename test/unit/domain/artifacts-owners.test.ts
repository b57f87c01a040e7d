/**
 * ArtifactService's authorization of logged-model owners and the logged-model listing, on an in-memory
 * storage and owner table (no AWS): which model may be read or written under which path, and how a
 * listing is shaped and paged. The same behaviour over HTTP is in test/integration/artifacts.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import { ArtifactService } from '../../../shared/domain/artifacts/service.js';
import type { MlflowError } from '../../../shared/errors.js';
import { MemoryArtifactOwners, MemoryArtifactStorage } from '../../helpers/memory/artifacts.js';

const MODEL = `m-${'a'.repeat(32)}`;
const DELETED = `m-${'d'.repeat(32)}`;
const UNKNOWN = `m-${'0'.repeat(32)}`;
const RUN = 'f'.repeat(32);

function service() {
  const storage = new MemoryArtifactStorage();
  const owners = new MemoryArtifactOwners({
    runs: [{ runId: RUN, experimentId: '1', lifecycleStage: 'active', artifactUri: 'mlflow-artifacts:/x' }],
    models: [
      { modelId: MODEL, experimentId: '1', lifecycleStage: 'active' as const },
      { modelId: DELETED, experimentId: '1', lifecycleStage: 'deleted' as const },
    ].map((model) => ({ ...model, artifactUri: `mlflow-artifacts:/1/models/${model.modelId}/artifacts` })),
  });
  return { storage, artifacts: new ArtifactService(storage, owners, 'pre/') };
}

async function failure(promise: Promise<unknown>): Promise<MlflowError> {
  try {
    await promise;
  } catch (error) {
    return error as MlflowError;
  }
  throw new Error('expected a failure');
}

describe('logged-model owners of proxied artifact paths', () => {
  it('writes, reads, lists and deletes under an active model of the experiment the path names', async () => {
    const { storage, artifacts } = service();
    await artifacts.upload(`1/models/${MODEL}/artifacts/MLmodel`, new Uint8Array(3), 'text/plain');
    expect(storage.objects.get(`pre/1/models/${MODEL}/artifacts/MLmodel`)).toBe(3);
    expect(await artifacts.downloadUrl(`1/models/${MODEL}/artifacts/MLmodel`)).toEqual({
      url: `https://s3.example/pre/1/models/${MODEL}/artifacts/MLmodel?get`,
      size: 3,
    });
    expect(await artifacts.list(`1/models/${MODEL}/artifacts`)).toEqual([
      { path: 'MLmodel', isDir: false, fileSize: 3 },
    ]);
    await artifacts.delete(`1/models/${MODEL}/artifacts/MLmodel`);
    expect(storage.objects.size).toBe(0);
  });

  it.each([
    ['another experiment', `2/models/${MODEL}/artifacts/f`, MODEL, '2'],
    ['a deleted model', `1/models/${DELETED}/artifacts/f`, DELETED, '1'],
    ['an unknown model', `1/models/${UNKNOWN}/artifacts/f`, UNKNOWN, '1'],
  ])('answers 404 naming the model and experiment for %s, on reads and writes', async (_, path, id, exp) => {
    const { artifacts } = service();
    const attempts = [
      artifacts.upload(path, new Uint8Array(1), undefined),
      artifacts.downloadUrl(path),
      artifacts.list(path),
      artifacts.delete(path),
      artifacts.createMultipart(path, 'w.bin', 1),
      artifacts.abortMultipart(path, 'w.bin', 'u'),
    ];
    for (const attempt of attempts) {
      const error = await failure(attempt);
      expect(error.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(statusOf(error)).toBe(404);
      expect(error.message).toBe(`Logged model with id=${id} not found in experiment ${exp}`);
    }
  });
});

describe('listLoggedModel (logged-models/<id>/artifacts/directories)', () => {
  it('answers the root URI and paths relative to the model root, by path as MLflow lists them', async () => {
    const { artifacts } = service();
    const root = `1/models/${MODEL}/artifacts`;
    await artifacts.upload(`${root}/MLmodel`, new Uint8Array(5), undefined);
    await artifacts.upload(`${root}/data/model.pkl`, new Uint8Array(7), undefined);
    expect(await artifacts.listLoggedModel(MODEL, '', undefined)).toEqual({
      rootUri: `mlflow-artifacts:/1/models/${MODEL}/artifacts`,
      // Code-point order: upper case before lower case, as Python's sorted() has it.
      files: [
        { path: 'MLmodel', isDir: false, fileSize: 5 },
        { path: 'data', isDir: true },
      ],
    });
    expect((await artifacts.listLoggedModel(MODEL, 'data/', undefined)).files).toEqual([
      { path: 'data/model.pkl', isDir: false, fileSize: 7 },
    ]);
    expect((await artifacts.listLoggedModel(MODEL, 'nothing', undefined)).files).toEqual([]);
  });

  it('pages by the storage token, 1,000 entries a page', async () => {
    const { artifacts } = service();
    for (let i = 0; i < 1001; i++) {
      await artifacts.upload(
        `1/models/${MODEL}/artifacts/f${String(i).padStart(4, '0')}`,
        new Uint8Array(1),
        undefined,
      );
    }
    const first = await artifacts.listLoggedModel(MODEL, '', undefined);
    expect(first.files).toHaveLength(1000);
    expect(first.nextPageToken).toBeDefined();
    const second = await artifacts.listLoggedModel(MODEL, '', first.nextPageToken);
    expect(second.files.map((file) => file.path)).toEqual(['f1000']);
    expect(second.nextPageToken).toBeUndefined();
  });

  it('refuses traversal in artifact_directory_path with 400 naming the field', async () => {
    const { artifacts } = service();
    for (const bad of ['../x', '%2e%2e/x', 'a/../../b', '/etc', 'a\\b']) {
      const error = await failure(artifacts.listLoggedModel(MODEL, bad, undefined));
      expect(error.errorCode, bad).toBe('INVALID_PARAMETER_VALUE');
      expect(error.message, bad).toContain("'artifact_directory_path'");
    }
  });

  it('answers 404 for deleted, unknown and malformed model ids', async () => {
    const { artifacts } = service();
    for (const id of [DELETED, UNKNOWN, 'm-nothex', `${MODEL}/../x`]) {
      const error = await failure(artifacts.listLoggedModel(id, '', undefined));
      expect(error.errorCode, id).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(error.message, id).toBe(`Logged model with id=${id} not found`);
    }
  });
});

describe('loggedModelFileUrl (the UI file download)', () => {
  it('presigns a GET for an existing file, 404 for a missing one, 400 for traversal', async () => {
    const { artifacts } = service();
    await artifacts.upload(`1/models/${MODEL}/artifacts/MLmodel`, new Uint8Array(2), undefined);
    expect((await artifacts.loggedModelFileUrl(MODEL, 'MLmodel')).size).toBe(2);
    expect(statusOf(await failure(artifacts.loggedModelFileUrl(MODEL, 'missing')))).toBe(404);
    const traversal = await failure(artifacts.loggedModelFileUrl(MODEL, '../../1/x'));
    expect(statusOf(traversal)).toBe(400);
    expect(traversal.message).toContain("'artifact_file_path'");
    expect(statusOf(await failure(artifacts.loggedModelFileUrl(DELETED, 'MLmodel')))).toBe(404);
  });
});

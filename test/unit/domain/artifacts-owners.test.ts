/**
 * ArtifactService's authorization of logged-model owners and the logged-model listing, on an in-memory
 * storage and owner table (no AWS): which model may be read or written under which path, and how a
 * listing is shaped and paged. The same behaviour over HTTP is in test/integration/artifacts.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import {
  type ArtifactLoggedModel,
  type ArtifactRun,
  ArtifactService,
  type ArtifactStorage,
} from '../../../shared/domain/artifacts/service.js';
import type { MlflowError } from '../../../shared/errors.js';

const MODEL = `m-${'a'.repeat(32)}`;
const DELETED = `m-${'d'.repeat(32)}`;
const UNKNOWN = `m-${'0'.repeat(32)}`;
const RUN = 'f'.repeat(32);

/** Objects in a Map; pages of `maxKeys` keys with the next key as token, like S3's delimiter listing. */
class MemoryStorage implements ArtifactStorage {
  readonly objects = new Map<string, number>();

  async put(key: string, body: Uint8Array) {
    this.objects.set(key, body.length);
  }
  async size(key: string) {
    return this.objects.get(key);
  }
  async presignGet(key: string) {
    return `https://s3.example/${key}?get`;
  }
  async presignPut(key: string) {
    return `https://s3.example/${key}?put`;
  }
  async listPage(prefix: string, _delimiter: boolean, token?: string, maxKeys = 1000) {
    const entries = new Map<string, number | undefined>();
    for (const [key, size] of [...this.objects].sort(([a], [b]) => a.localeCompare(b))) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf('/', prefix.length);
      if (slash === -1) entries.set(key, size);
      else entries.set(key.slice(0, slash + 1), undefined);
    }
    const all = [...entries].filter(([key]) => token === undefined || key >= token);
    const page = all.slice(0, maxKeys);
    const next = all[maxKeys]?.[0];
    return {
      objects: page.filter(([, size]) => size !== undefined).map(([key, size]) => ({ key, size: size ?? 0 })),
      prefixes: page.filter(([, size]) => size === undefined).map(([key]) => key),
      ...(next === undefined ? {} : { nextToken: next }),
    };
  }
  async listAll(prefix: string, delimiter: boolean) {
    return this.listPage(prefix, delimiter, undefined, Number.MAX_SAFE_INTEGER);
  }
  async delete(key: string) {
    this.objects.delete(key);
  }
  async deletePrefix(prefix: string) {
    const doomed = [...this.objects.keys()].filter((key) => key.startsWith(prefix));
    for (const key of doomed) this.objects.delete(key);
    return doomed.length;
  }
  async createMultipart() {
    return 's3-upload';
  }
  async presignPart(key: string, _uploadId: string, part: number) {
    return `https://s3.example/${key}?part=${part}`;
  }
  async completeMultipart() {}
  async abortMultipart() {}
}

function service() {
  const storage = new MemoryStorage();
  const models = new Map<string, ArtifactLoggedModel>(
    [
      { modelId: MODEL, experimentId: '1', lifecycleStage: 'active' as const },
      { modelId: DELETED, experimentId: '1', lifecycleStage: 'deleted' as const },
    ].map((model) => [
      model.modelId,
      { ...model, artifactUri: `mlflow-artifacts:/1/models/${model.modelId}/artifacts` },
    ]),
  );
  const runs = new Map<string, ArtifactRun>([
    [RUN, { runId: RUN, experimentId: '1', lifecycleStage: 'active', artifactUri: 'mlflow-artifacts:/x' }],
  ]);
  const owners = {
    get: async (runId: string) => runs.get(runId),
    getLoggedModel: async (modelId: string) => models.get(modelId),
  };
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
  it('answers the root URI and paths relative to the model root, directories first', async () => {
    const { artifacts } = service();
    const root = `1/models/${MODEL}/artifacts`;
    await artifacts.upload(`${root}/MLmodel`, new Uint8Array(5), undefined);
    await artifacts.upload(`${root}/data/model.pkl`, new Uint8Array(7), undefined);
    expect(await artifacts.listLoggedModel(MODEL, '', undefined)).toEqual({
      rootUri: `mlflow-artifacts:/1/models/${MODEL}/artifacts`,
      files: [
        { path: 'data', isDir: true },
        { path: 'MLmodel', isDir: false, fileSize: 5 },
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

/**
 * ArtifactService's authorization of run owners and its multipart upload ids, on the in-memory storage
 * and owners (no AWS). The same behaviour over HTTP is in test/integration/artifacts.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import { ArtifactService } from '../../../shared/domain/artifacts/service.js';
import { MlflowError } from '../../../shared/errors.js';
import { MemoryArtifactOwners, MemoryArtifactStorage } from '../../helpers/memory/artifacts.js';

const ACTIVE = 'a'.repeat(32);
const DELETED = 'd'.repeat(32);
const OTHER = 'e'.repeat(32);

function service() {
  const storage = new MemoryArtifactStorage();
  const owners = new MemoryArtifactOwners({
    runs: [
      {
        runId: ACTIVE,
        experimentId: '1',
        lifecycleStage: 'active',
        artifactUri: `mlflow-artifacts:/1/${ACTIVE}/artifacts`,
      },
      {
        runId: DELETED,
        experimentId: '1',
        lifecycleStage: 'deleted',
        artifactUri: `mlflow-artifacts:/1/${DELETED}/artifacts`,
      },
      {
        runId: OTHER,
        experimentId: '1',
        lifecycleStage: 'active',
        artifactUri: `mlflow-artifacts:/1/${OTHER}/artifacts`,
      },
    ],
  });
  return { storage, artifacts: new ArtifactService(storage, owners, 'pre/') };
}

async function failure(promise: Promise<unknown>): Promise<MlflowError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MlflowError);
  return error as MlflowError;
}

describe('run owners of proxied artifact paths', () => {
  it("keys a run's file under the prefix, the experiment and the run, decoded once", async () => {
    const { storage, artifacts } = service();
    await artifacts.upload(`1/${ACTIVE}/artifacts/dir/my%20file.txt`, new Uint8Array(2), 'text/plain');
    expect([...storage.objects.keys()]).toEqual([`pre/1/${ACTIVE}/artifacts/dir/my file.txt`]);
  });

  it('reads but never writes the artifacts of a deleted run', async () => {
    const { storage, artifacts } = service();
    storage.objects.set(`pre/1/${DELETED}/artifacts/f`, 1);
    expect((await artifacts.downloadUrl(`1/${DELETED}/artifacts/f`)).size).toBe(1);
    const refused = await failure(artifacts.upload(`1/${DELETED}/artifacts/g`, new Uint8Array(1), undefined));
    expect(statusOf(refused)).toBe(400);
    expect(refused.message).toContain("must be in the 'active' state");
    expect(storage.objects.has(`pre/1/${DELETED}/artifacts/g`)).toBe(false);
  });

  it('answers 404 for a run under another experiment than the path names', async () => {
    const { artifacts } = service();
    const error = await failure(artifacts.downloadUrl(`2/${ACTIVE}/artifacts/f`));
    expect(statusOf(error)).toBe(404);
    expect(error.message).toBe(`Run with id=${ACTIVE} not found in experiment 2`);
  });

  it('refuses traversal and malformed encodings before any owner is read', async () => {
    const { artifacts } = service();
    for (const path of [`1/${ACTIVE}/artifacts/../../${OTHER}/artifacts/f`, `1/${ACTIVE}/artifacts/%zz`]) {
      expect(statusOf(await failure(artifacts.upload(path, new Uint8Array(1), undefined)))).toBe(400);
    }
  });

  it('binds a multipart upload id to the object it was created for', async () => {
    const { artifacts } = service();
    const { uploadId, credentials } = await artifacts.createMultipart(
      `1/${ACTIVE}/artifacts`,
      '/tmp/big.bin',
      2,
    );
    expect(credentials.map((c) => c.part_number)).toEqual([1, 2]);
    const parts = [{ partNumber: 1, etag: 'e1' }];
    await artifacts.completeMultipart(`1/${ACTIVE}/artifacts`, '/tmp/big.bin', uploadId, parts);
    const elsewhere = await failure(
      artifacts.completeMultipart(`1/${OTHER}/artifacts`, '/tmp/big.bin', uploadId, parts),
    );
    expect(elsewhere.message).toContain("'upload_id'");
  });
});

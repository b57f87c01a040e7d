/**
 * The experiments repository against a real table (dynalite, or DynamoDB Local in the fidelity lane):
 * name claims, their repair after interrupted writes, and the conditional updates.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewExperiment } from '../../../shared/domain/experiments/model.js';
import { ResourceAlreadyExistsError } from '../../../shared/errors.js';
import {
  CLAIM_TAKEOVER_MS,
  DynamoExperimentRepository,
} from '../../../shared/store/experiments/repository.js';
import { keys } from '../../../shared/store/keys.js';
import { createTestTable, type TestTable, usingDynamoDbLocal } from '../../helpers/dynamo.js';

let table: TestTable;
let now = 1_800_000_000_000;
const clock = () => now;
let repo: DynamoExperimentRepository;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoExperimentRepository(table.doc, table.tableName, clock);
});
afterAll(async () => {
  await table?.close();
});

const newExperiment = (name: string, tags: Record<string, string> = {}): NewExperiment => ({
  name,
  artifactLocation: (id) => `mlflow-artifacts:/${id}`,
  tags,
  now,
});

describe('lane', () => {
  it('runs on the emulator this lane names', async () => {
    const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
    // DynamoDB Local reports the region `ddblocal`; dynalite echoes the request's region.
    expect(Table?.TableArn?.includes(':ddblocal:')).toBe(usingDynamoDbLocal);
  });
});

describe('DynamoExperimentRepository', () => {
  it('creates the Default experiment once, idempotently', async () => {
    await repo.ensureDefault('mlflow-artifacts:/0', now);
    await repo.ensureDefault('mlflow-artifacts:/0', now + 5);
    const experiment = await repo.get('0');
    expect(experiment).toMatchObject({ experimentId: '0', name: 'Default', creationTime: now });
    expect((await repo.getByName('Default'))?.experimentId).toBe('0');
  });

  it('recreates nothing for a deleted Default experiment', async () => {
    expect(await repo.setLifecycle('0', 'active', 'deleted', now)).toBe(true);
    await repo.ensureDefault('mlflow-artifacts:/0', now);
    expect((await repo.get('0'))?.lifecycleStage).toBe('deleted');
    expect(await repo.setLifecycle('0', 'deleted', 'active', now)).toBe(true);
  });

  it('assigns distinct ids from the counter under concurrency', async () => {
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) => repo.create(newExperiment(`c-${i}`))),
    );
    expect(new Set(created.map((e) => e.experimentId)).size).toBe(10);
  });

  it('ignores a claim whose experiment was never written, and takes it over once it is stale', async () => {
    // An interrupted create: the claim exists, the experiment item does not.
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.experimentName('orphan'),
          type: 'experiment-name',
          experiment_id: '99999',
          claimed_at: now,
        },
      }),
    );
    expect(await repo.getByName('orphan')).toBeUndefined();
    await expect(repo.create(newExperiment('orphan'))).rejects.toBeInstanceOf(ResourceAlreadyExistsError);
    now += CLAIM_TAKEOVER_MS + 1;
    const created = await repo.create(newExperiment('orphan'));
    expect((await repo.getByName('orphan'))?.experimentId).toBe(created.experimentId);
  });

  it('never takes over a claim whose experiment carries the name, however old', async () => {
    await repo.create(newExperiment('owned'));
    now += 10 * CLAIM_TAKEOVER_MS;
    await expect(repo.create(newExperiment('owned'))).rejects.toBeInstanceOf(ResourceAlreadyExistsError);
  });

  it('repairs a rename interrupted before it released the old name', async () => {
    const experiment = await repo.create(newExperiment('before'));
    await repo.rename(experiment, 'after', now);
    // Simulate the crash: put the old claim back as if the release never happened.
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...keys.experimentName('before'),
          type: 'experiment-name',
          experiment_id: experiment.experimentId,
          claimed_at: now,
        },
      }),
    );
    expect(await repo.getByName('before')).toBeUndefined();
    expect((await repo.getByName('after'))?.experimentId).toBe(experiment.experimentId);
    now += CLAIM_TAKEOVER_MS + 1;
    const reused = await repo.create(newExperiment('before'));
    expect(reused.experimentId).not.toBe(experiment.experimentId);
  });

  it('releases the new name when the rename loses a race with a delete', async () => {
    const experiment = await repo.create(newExperiment('racing'));
    expect(await repo.setLifecycle(experiment.experimentId, 'active', 'deleted', now)).toBe(true);
    await expect(repo.rename(experiment, 'racing-new', now)).rejects.toMatchObject({
      errorCode: 'RESOURCE_CONFLICT',
    });
    const claim = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.experimentName('racing-new') }),
    );
    expect(claim.Item).toBeUndefined();
    expect((await repo.get(experiment.experimentId))?.name).toBe('racing');
  });

  it('guards tag writes and lifecycle moves with conditions', async () => {
    const experiment = await repo.create(newExperiment('guarded', { a: '1' }));
    expect(await repo.setTag(experiment.experimentId, 'b', '2')).toBe(true);
    expect(await repo.deleteTag(experiment.experimentId, 'missing')).toBe(false);
    expect(await repo.setLifecycle(experiment.experimentId, 'deleted', 'active', now)).toBe(false);
    expect(await repo.setLifecycle(experiment.experimentId, 'active', 'deleted', now)).toBe(true);
    expect(await repo.setTag(experiment.experimentId, 'c', '3')).toBe(false);
    expect(await repo.deleteTag(experiment.experimentId, 'a')).toBe(false);
    expect((await repo.get(experiment.experimentId))?.tags).toEqual({ a: '1', b: '2' });
    expect(await repo.setTag('123456789', 'x', 'y')).toBe(false);
  });

  it('lists every experiment through the index, across pages', async () => {
    const all = await repo.listAll();
    const names = all.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['Default', 'orphan', 'owned', 'after', 'guarded']));
    expect(new Set(all.map((e) => e.experimentId)).size).toBe(all.length);
  });

  it('leaves the name free when the experiment write fails after the claim', async () => {
    const failing = new DynamoExperimentRepository(table.doc, table.tableName, clock);
    await expect(
      failing.create({ ...newExperiment('half-done'), artifactLocation: () => 'x'.repeat(400 * 1024) }),
    ).rejects.toThrow();
    const claim = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.experimentName('half-done') }),
    );
    expect(claim.Item).toBeUndefined();
    expect((await repo.create(newExperiment('half-done'))).name).toBe('half-done');
  });
});

/**
 * Grants following their resources (issue 16) against a real table: the creator's MANAGE written before an
 * experiment or registered model can be found (a failed grant write creates nothing and a retry works),
 * a rename's grants copied to the new name and dropped from the old, a delete's dropped, stale grants on a
 * name cleared by whoever takes the name next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant } from '../../../shared/auth/permissions.js';
import { type GrantStore, StoredResourceGrants } from '../../../shared/auth/resource-grants.js';
import { ExperimentService } from '../../../shared/domain/experiments/service.js';
import { allowAllPromotions } from '../../../shared/domain/promotion/guard.js';
import { RegistryService } from '../../../shared/domain/registry/service.js';
import { DynamoExperimentRepository } from '../../../shared/store/experiments/repository.js';
import { DynamoPermissionRepository } from '../../../shared/store/permissions/repository.js';
import { DynamoRegistryRepository } from '../../../shared/store/registry/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let repo: DynamoPermissionRepository;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoPermissionRepository(table.doc, table.tableName, () => 1);
});
afterAll(async () => {
  await table?.close();
});

const on = (resource: string, kind: Grant['kind'] = 'registered_model') =>
  repo
    .grantsOn(kind, resource)
    .then((grants) => grants.map((grant) => `${grant.principal}:${grant.permission}`).sort());

/** A grant store whose puts fail while `failing` is set (a throttled or unreachable table). */
function flaky(store: GrantStore): GrantStore & { failing: boolean } {
  return {
    failing: false,
    put(grant) {
      if (this.failing) return Promise.reject(new Error('grant store unavailable'));
      return store.put(grant);
    },
    get: (principal, kind, resource) => store.get(principal, kind, resource),
    delete: (principal, kind, resource) => store.delete(principal, kind, resource),
    grantsOn: (kind, resource) => store.grantsOn(kind, resource),
  };
}

function registryWith(grants: GrantStore, invalidated: string[] = []) {
  return new RegistryService(
    new DynamoRegistryRepository(table.doc, table.tableName),
    { artifactRoot: 'mlflow-artifacts:/' },
    allowAllPromotions,
    { get: async () => undefined, getLoggedModel: async () => undefined },
    Date.now,
    undefined,
    undefined,
    new StoredResourceGrants(grants, (principal) => invalidated.push(principal)),
  );
}

describe('StoredResourceGrants', () => {
  it('copies grants to a new name, clearing stale ones there, and repeats harmlessly', async () => {
    const grants = new StoredResourceGrants(repo, () => {});
    await repo.put({ principal: 'bob', kind: 'registered_model', resource: 'old', permission: 'READ' });
    await repo.put({ principal: 'carol', kind: 'registered_model', resource: 'old', permission: 'MANAGE' });
    await repo.put({ principal: 'dave', kind: 'registered_model', resource: 'new', permission: 'EDIT' });
    await grants.copy('registered_model', 'old', 'new');
    await grants.copy('registered_model', 'old', 'new');
    expect(await on('new')).toEqual(['bob:READ', 'carol:MANAGE']);
    expect(await on('old')).toEqual(['bob:READ', 'carol:MANAGE']);
    await grants.drop('registered_model', 'old');
    await grants.drop('registered_model', 'old');
    expect(await on('old')).toEqual([]);
  });
});

describe('registered models', () => {
  it('gives the creator MANAGE, moves grants on rename, drops them on delete', async () => {
    const invalidated: string[] = [];
    const registry = registryWith(repo, invalidated);
    await registry.createModel({ name: 'fraud', tags: [], userId: 'alice' });
    expect(await repo.get('alice', 'registered_model', 'fraud')).toMatchObject({ permission: 'MANAGE' });
    expect(invalidated).toContain('alice');
    await repo.put({
      principal: 'bob',
      kind: 'registered_model',
      resource: 'fraud',
      permission: 'NO_PERMISSIONS',
    });

    await registry.renameModel('fraud', 'fraud-v2');
    expect(await on('fraud-v2')).toEqual(['alice:MANAGE', 'bob:NO_PERMISSIONS']);
    expect(await on('fraud')).toEqual([]);

    await registry.deleteModel('fraud-v2');
    expect(await on('fraud-v2')).toEqual([]);
  });

  it('clears grants a name kept from an interrupted delete before a new model takes it', async () => {
    await repo.put({
      principal: 'mallory',
      kind: 'registered_model',
      resource: 'churn',
      permission: 'MANAGE',
    });
    await registryWith(repo).createModel({ name: 'churn', tags: [], userId: 'alice' });
    expect(await on('churn')).toEqual(['alice:MANAGE']);
  });

  it('creates nothing when the creator grant cannot be written, and a retry then succeeds', async () => {
    const store = flaky(repo);
    const registry = registryWith(store);
    store.failing = true;
    await expect(registry.createModel({ name: 'ltv', tags: [], userId: 'alice' })).rejects.toThrow(
      'grant store unavailable',
    );
    await expect(registry.getModel('ltv')).rejects.toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    store.failing = false;
    await registry.createModel({ name: 'ltv', tags: [], userId: 'alice' });
    expect(await on('ltv')).toEqual(['alice:MANAGE']);
  });

  it('does not hand a would-be creator grants on a model that exists already', async () => {
    const registry = registryWith(repo);
    await registry.createModel({ name: 'owned', tags: [], userId: 'alice' });
    await expect(registry.createModel({ name: 'owned', tags: [], userId: 'eve' })).rejects.toMatchObject({
      errorCode: 'RESOURCE_ALREADY_EXISTS',
    });
    expect(await on('owned')).toEqual(['alice:MANAGE']);
  });

  it('keeps grants on the old name when a rename is refused', async () => {
    const registry = registryWith(repo);
    await registry.createModel({ name: 'a-model', tags: [], userId: 'alice' });
    await registry.createModel({ name: 'b-model', tags: [], userId: 'bob' });
    await expect(registry.renameModel('a-model', 'b-model')).rejects.toMatchObject({
      errorCode: 'RESOURCE_ALREADY_EXISTS',
    });
    expect(await on('a-model')).toEqual(['alice:MANAGE']);
    expect(await on('b-model')).toEqual(['bob:MANAGE']);
  });
});

describe('experiments', () => {
  const service = (grants: GrantStore) =>
    new ExperimentService(
      new DynamoExperimentRepository(table.doc, table.tableName),
      { artifactRoot: 'mlflow-artifacts:/', allowClientArtifactLocation: false },
      Date.now,
      undefined,
      new StoredResourceGrants(grants, () => {}),
    );

  it('gives the creator MANAGE on the new id; a delete keeps it', async () => {
    const experiments = service(repo);
    const id = await experiments.create({ name: 'exp-grants', tags: [], creator: 'alice' });
    expect(await on(id, 'experiment')).toEqual(['alice:MANAGE']);
    await experiments.delete(id);
    expect(await on(id, 'experiment')).toEqual(['alice:MANAGE']);
  });

  it('creates nothing when the grant cannot be written; a retry creates it; a taken name leaves no grant', async () => {
    const store = flaky(repo);
    const experiments = service(store);
    store.failing = true;
    await expect(experiments.create({ name: 'exp-flaky', tags: [], creator: 'alice' })).rejects.toThrow(
      'grant store unavailable',
    );
    await expect(experiments.getByName('exp-flaky')).rejects.toMatchObject({
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
    });
    store.failing = false;
    const id = await experiments.create({ name: 'exp-flaky', tags: [], creator: 'alice' });
    expect(await on(id, 'experiment')).toEqual(['alice:MANAGE']);

    await expect(experiments.create({ name: 'exp-flaky', tags: [], creator: 'eve' })).rejects.toMatchObject({
      errorCode: 'RESOURCE_ALREADY_EXISTS',
    });
    expect((await repo.grantsOf('eve')).filter((grant) => grant.kind === 'experiment')).toEqual([]);
  });
});

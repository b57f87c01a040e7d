/**
 * Grant bookkeeping (issue 16) without a table: what is written in which order, who is forgotten from the
 * grant caches, and that the creator's grant exists before the new experiment or model can be found.
 */
import { describe, expect, it } from 'vitest';
import type { Grant, ResourceKind } from '../../../shared/auth/permissions.js';
import { type GrantStore, StoredResourceGrants } from '../../../shared/auth/resource-grants.js';
import { ExperimentService } from '../../../shared/domain/experiments/service.js';
import { allowAllPromotions } from '../../../shared/domain/promotion/guard.js';
import { RegistryService } from '../../../shared/domain/registry/service.js';
import { MemoryExperimentRepository } from '../../helpers/memory/experiments.js';
import { MemoryRegistryRepository } from '../../helpers/memory/registry.js';

/** Grants in a map, with a log of every write, as the grant store keys them. */
class MemoryGrants implements GrantStore {
  readonly grants = new Map<string, Grant>();
  readonly log: string[] = [];
  private key = (principal: string, kind: ResourceKind, resource: string) =>
    `${principal}|${kind}|${resource}`;

  async put(grant: Grant) {
    this.log.push(`put ${grant.principal} ${grant.resource} ${grant.permission}`);
    this.grants.set(this.key(grant.principal, grant.kind, grant.resource), grant);
  }
  async get(principal: string, kind: ResourceKind, resource: string) {
    return this.grants.get(this.key(principal, kind, resource));
  }
  async delete(principal: string, kind: ResourceKind, resource: string) {
    this.log.push(`delete ${principal} ${resource}`);
    if (!this.grants.delete(this.key(principal, kind, resource))) {
      const error = new Error('gone');
      error.name = 'GrantNotFoundError';
      throw error;
    }
  }
  async grantsOn(kind: ResourceKind, resource: string) {
    return [...this.grants.values()].filter((grant) => grant.kind === kind && grant.resource === resource);
  }
  on(resource: string) {
    return [...this.grants.values()]
      .filter((grant) => grant.resource === resource)
      .map((grant) => `${grant.principal}:${grant.permission}`)
      .sort();
  }
}

describe('StoredResourceGrants', () => {
  it('forgets the cached grants of everyone whose grants changed', async () => {
    const store = new MemoryGrants();
    const forgotten: string[] = [];
    const grants = new StoredResourceGrants(store, (principal) => forgotten.push(principal));
    await grants.grantCreator('alice', 'registered_model', 'm');
    await store.put({ principal: 'bob', kind: 'registered_model', resource: 'm', permission: 'READ' });
    await grants.copy('registered_model', 'm', 'n');
    await grants.drop('registered_model', 'm');
    expect(forgotten.sort()).toEqual(['alice', 'alice', 'alice', 'bob', 'bob']);
    expect(store.on('n')).toEqual(['alice:MANAGE', 'bob:READ']);
    expect(store.on('m')).toEqual([]);
  });

  it('takes a grant already gone as removed, and reports other failures of a drop before throwing', async () => {
    const store = new MemoryGrants();
    const warned: string[] = [];
    const grants = new StoredResourceGrants(
      store,
      () => {},
      (message) => warned.push(message),
    );
    await grants.revoke('nobody', 'experiment', '1');
    store.grantsOn = async () => {
      throw new Error('throttled');
    };
    await expect(grants.drop('experiment', '1')).rejects.toThrow('throttled');
    expect(warned).toHaveLength(1);
  });
});

describe('creator grants in the services', () => {
  it('writes the experiment creator’s MANAGE before the experiment can be found', async () => {
    const store = new MemoryGrants();
    const repo = new MemoryExperimentRepository();
    const experiments = new ExperimentService(
      repo,
      { artifactRoot: 'mlflow-artifacts:/', allowClientArtifactLocation: false },
      () => 1,
      undefined,
      new StoredResourceGrants(
        {
          ...store,
          get: store.get.bind(store),
          delete: store.delete.bind(store),
          grantsOn: store.grantsOn.bind(store),
          put: async (grant) => {
            // At the moment of the grant, nobody can find the experiment by its name yet.
            expect(await repo.getByName('made')).toBeUndefined();
            await store.put(grant);
          },
        },
        () => {},
      ),
    );
    const id = await experiments.create({ name: 'made', tags: [], creator: 'alice' });
    expect(store.on(id)).toEqual(['alice:MANAGE']);
    // No creator (auth off): no grant.
    const anonymous = await experiments.create({ name: 'anonymous', tags: [] });
    expect(store.on(anonymous)).toEqual([]);
  });

  it('clears grants left on a model name, then grants its creator, and moves them on rename', async () => {
    const store = new MemoryGrants();
    const registry = new RegistryService(
      new MemoryRegistryRepository(),
      { artifactRoot: 'mlflow-artifacts:/' },
      allowAllPromotions,
      { get: async () => undefined, getLoggedModel: async () => undefined },
      () => 1,
      undefined,
      undefined,
      new StoredResourceGrants(store, () => {}),
    );
    await store.put({ principal: 'mallory', kind: 'registered_model', resource: 'm', permission: 'MANAGE' });
    store.log.length = 0;
    await registry.createModel({ name: 'm', tags: [], userId: 'alice' });
    expect(store.log).toEqual(['delete mallory m', 'put alice m MANAGE']);
    store.log.length = 0;
    await registry.renameModel('m', 'n');
    // Copied to the new name before the old one is dropped: never a moment with neither.
    expect(store.log).toEqual(['put alice n MANAGE', 'delete alice m']);
    await registry.deleteModel('n');
    expect(store.on('n')).toEqual([]);
  });
});

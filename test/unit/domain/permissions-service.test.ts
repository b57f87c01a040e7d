/**
 * The permission service's rules without a network: who may change grants, the order refusals come in,
 * nothing written by a refused call, the principal's cache forgotten after each change, and the keys
 * grants are stored under.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CallerPermissions,
  type Grant,
  PERMISSION_LEVELS,
  type ResourceKind,
} from '../../../shared/auth/permissions.js';
import type { Scope } from '../../../shared/auth/scopes.js';
import {
  PermissionService,
  parsePermission,
  parseResourceKind,
  resourceKey,
} from '../../../shared/domain/permissions/service.js';
import { MlflowError } from '../../../shared/errors.js';
import {
  GrantExistsError,
  GrantNotFoundError,
  MAX_RESOURCE_BYTES,
  type PermissionRepository,
} from '../../../shared/store/permissions/repository.js';

const SCOPES_BY_NAME: Record<string, Scope> = {
  alice: 'write',
  bob: 'read',
  root: 'write',
  admin: 'admin',
};

/** Grants in a map, with the repository's create/update/delete conditions. */
class MemoryGrants implements PermissionRepository {
  readonly items = new Map<string, Grant>();
  private key = (principal: string, kind: ResourceKind, resource: string) =>
    `${principal}|${kind}|${resource}`;

  async grantsOf(principal: string) {
    return [...this.items.values()].filter((g) => g.principal === principal);
  }
  async get(principal: string, kind: ResourceKind, resource: string) {
    return this.items.get(this.key(principal, kind, resource));
  }
  async create(grant: Grant) {
    if (this.items.has(this.key(grant.principal, grant.kind, grant.resource)))
      throw new GrantExistsError(grant);
    await this.put(grant);
  }
  async update(grant: Grant) {
    if (!this.items.has(this.key(grant.principal, grant.kind, grant.resource)))
      throw new GrantNotFoundError(grant);
    await this.put(grant);
  }
  async put(grant: Grant) {
    this.items.set(this.key(grant.principal, grant.kind, grant.resource), grant);
  }
  async delete(principal: string, kind: ResourceKind, resource: string) {
    if (!this.items.delete(this.key(principal, kind, resource)))
      throw new GrantNotFoundError({ principal, kind, resource });
  }
  async grantsOn(kind: ResourceKind, resource: string) {
    return [...this.items.values()].filter((g) => g.kind === kind && g.resource === resource);
  }
}

function setup() {
  const grants = new MemoryGrants();
  const changed: string[] = [];
  const service = new PermissionService({
    grants,
    principalScope: async (name) => SCOPES_BY_NAME[name],
    resources: {
      experiment: async (id) => (['0', '7'].includes(id) ? id : undefined),
      registered_model: async (name) => (name === 'fraud' || name.startsWith('long') ? name : undefined),
    },
    changed: (principal) => changed.push(principal),
  });
  return { grants, changed, service };
}

const writer = (grants: Grant[] = []) => new CallerPermissions('alice', 'write', grants);
const exp7 = { kind: 'experiment' as const, resource: '7', principal: 'bob' };

async function refusal(promise: Promise<unknown>): Promise<MlflowError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MlflowError);
  return error as MlflowError;
}

describe('PermissionService', () => {
  it('creates, reads, updates and deletes, forgetting the principal’s cached grants after each change', async () => {
    const { service, grants, changed } = setup();
    expect(await service.create(undefined, exp7, 'READ')).toEqual({ ...exp7, permission: 'READ' });
    expect(await service.get(undefined, exp7)).toMatchObject({ permission: 'READ' });
    await service.update(undefined, exp7, 'EDIT');
    expect((await grants.get('bob', 'experiment', '7'))?.permission).toBe('EDIT');
    await service.delete(undefined, exp7);
    expect(grants.items.size).toBe(0);
    expect(changed).toEqual(['bob', 'bob', 'bob']);
  });

  it('keys an experiment by its canonical id, whichever spelling the request used', async () => {
    const { service, grants } = setup();
    await service.create(undefined, { ...exp7, resource: '007' }, 'USE');
    expect(await grants.get('bob', 'experiment', '7')).toBeDefined();
    expect(await service.get(undefined, { ...exp7, resource: '+7' })).toMatchObject({ resource: '7' });
    expect(resourceKey('registered_model', '007')).toBe('007');
    expect((await refusal(service.get(undefined, { ...exp7, resource: 'seven' }))).errorCode).toBe(
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('asks MANAGE on the resource before anything else, so a refusal tells nothing more', async () => {
    const { service, grants, changed } = setup();
    for (const call of [
      service.create(writer(), { ...exp7, principal: 'nobody' }, 'BOGUS'),
      service.get(writer(), exp7),
      service.update(writer(), exp7, 'READ'),
      service.delete(writer(), exp7),
      service.grantsOn(writer(), 'experiment', '999'),
    ]) {
      const error = await refusal(call);
      expect(error.errorCode).toBe('PERMISSION_DENIED');
      expect(error.message).toContain("experiment '");
      expect(error.message).toContain('MANAGE');
    }
    expect(grants.items.size).toBe(0);
    expect(changed).toEqual([]);
  });

  it('lets MANAGE holders and admins act, whatever their scope or other grants', async () => {
    const { service } = setup();
    const manager = new CallerPermissions('alice', 'read', [
      { principal: 'alice', kind: 'experiment', resource: '7', permission: 'MANAGE' },
    ]);
    await service.create(manager, exp7, 'READ');
    expect((await refusal(service.create(manager, { ...exp7, resource: '0' }, 'READ'))).errorCode).toBe(
      'PERMISSION_DENIED',
    );
    const admin = new CallerPermissions('root', 'admin', [
      { principal: 'root', kind: 'experiment', resource: '0', permission: 'NO_PERMISSIONS' },
    ]);
    await service.create(admin, { ...exp7, resource: '0' }, 'EDIT');
  });

  it('refuses in MLflow’s order, the permission name, then the user, then the resource, and writes nothing', async () => {
    const { service, grants, changed } = setup();
    const bad = await refusal(
      service.create(undefined, { ...exp7, principal: 'nobody', resource: '9' }, 'ALL'),
    );
    expect(bad.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(bad.message).toContain("Invalid permission 'ALL'");
    const who = await refusal(
      service.create(undefined, { ...exp7, principal: 'nobody', resource: '9' }, 'READ'),
    );
    expect(who.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(who.message).toContain('username=nobody');
    const what = await refusal(service.put(undefined, { ...exp7, resource: '9' }, 'READ'));
    expect(what.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(what.message).toContain('id=9');
    const model = await refusal(
      service.create(undefined, { kind: 'registered_model', resource: 'churn', principal: 'bob' }, 'READ'),
    );
    expect(model.message).toContain('Registered Model with name=churn not found');
    const long = await refusal(
      service.create(
        undefined,
        { kind: 'registered_model', resource: `long${'x'.repeat(MAX_RESOURCE_BYTES)}`, principal: 'bob' },
        'READ',
      ),
    );
    expect(long.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(grants.items.size).toBe(0);
    expect(changed).toEqual([]);
  });

  it('tells create from put: create refuses an existing grant, put replaces it', async () => {
    const { service, grants } = setup();
    await service.create(undefined, exp7, 'READ');
    const twice = await refusal(service.create(undefined, exp7, 'MANAGE'));
    expect(twice.errorCode).toBe('RESOURCE_ALREADY_EXISTS');
    expect(twice.message).toContain('experiment_id=7, username=bob');
    expect((await grants.get('bob', 'experiment', '7'))?.permission).toBe('READ');
    await service.put(undefined, exp7, 'MANAGE');
    expect((await grants.get('bob', 'experiment', '7'))?.permission).toBe('MANAGE');
  });

  it('refuses a grant to an admin token, which holds MANAGE whatever a grant says, and writes nothing', async () => {
    const { service, grants, changed } = setup();
    const admin = { kind: 'experiment' as const, resource: '7', principal: 'admin' };
    for (const attempt of [
      service.create(undefined, admin, 'READ'),
      service.put(undefined, admin, 'NO_PERMISSIONS'),
    ]) {
      const error = await refusal(attempt);
      expect(error.errorCode).toBe('INVALID_PARAMETER_VALUE');
      expect(error.message).toContain("'username'");
      expect(error.message).toContain('admin token');
    }
    // One left from before the refusal can still be removed, never changed.
    await grants.put({ ...admin, permission: 'READ' });
    expect((await refusal(service.update(undefined, admin, 'EDIT'))).errorCode).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    expect((await grants.get('admin', 'experiment', '7'))?.permission).toBe('READ');
    expect(changed).toEqual([]);
    await service.delete(undefined, admin);
  });

  it('reads, changes and removes grants left by a revoked token or a purged resource', async () => {
    const { service, grants } = setup();
    await grants.put({ principal: 'gone', kind: 'experiment', resource: '55', permission: 'EDIT' });
    const orphan = { kind: 'experiment' as const, resource: '55', principal: 'gone' };
    expect(await service.get(undefined, orphan)).toMatchObject({ permission: 'EDIT' });
    await service.update(undefined, orphan, 'READ');
    expect(await service.grantsOn(undefined, 'experiment', '55')).toHaveLength(1);
    expect(await service.grantsOf('gone')).toHaveLength(1);
    await service.delete(undefined, orphan);
    expect((await refusal(service.grantsOn(undefined, 'experiment', '55'))).errorCode).toBe(
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect((await refusal(service.grantsOf('gone'))).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(await service.grantsOn(undefined, 'experiment', '7')).toEqual([]);
    expect(await service.grantsOf('alice')).toEqual([]);
  });

  it('answers the actor’s own level, MANAGE for an unrestricted one, and no level on nothing', async () => {
    const { service } = setup();
    const caller = writer([{ principal: 'alice', kind: 'experiment', resource: '7', permission: 'READ' }]);
    expect(await service.levelOf(caller, 'experiment', '07')).toBe('READ');
    expect(await service.levelOf(caller, 'experiment', '0')).toBe('EDIT');
    expect(await service.levelOf(undefined, 'registered_model', 'fraud')).toBe('MANAGE');
    // Not the scope default (EDIT) for an experiment that does not exist: the UI would offer actions.
    const missing = await refusal(service.levelOf(caller, 'experiment', '2'));
    expect(missing.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(missing.message).toContain('No Experiment with id=2 exists');
    expect((await refusal(service.levelOf(undefined, 'registered_model', 'x'))).errorCode).toBe(
      'RESOURCE_DOES_NOT_EXIST',
    );
  });
});

describe('parsers', () => {
  it('accepts exactly MLflow’s five permission names, as spelled', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...PERMISSION_LEVELS), fc.string()), (value) => {
        const known = (PERMISSION_LEVELS as readonly string[]).includes(value);
        if (known) expect(parsePermission(value)).toBe(value);
        else expect(() => parsePermission(value)).toThrow(/Invalid permission/);
      }),
    );
    expect(() => parsePermission('manage')).toThrow(
      /Valid permissions are: NO_PERMISSIONS, READ, USE, EDIT, MANAGE/,
    );
  });

  it('accepts the two resource kinds and names the field otherwise', () => {
    expect(parseResourceKind('kind', 'experiment')).toBe('experiment');
    expect(parseResourceKind('kind', 'registered_model')).toBe('registered_model');
    expect(() => parseResourceKind('kind', 'run')).toThrow(/'kind'/);
  });
});

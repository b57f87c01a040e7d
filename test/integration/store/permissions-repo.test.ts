/**
 * The grant store against a real table (dynalite, or DynamoDB Local in the fidelity lane): MLflow's
 * create/update/delete conditions, a principal's grants in one read, grants of a resource by the index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoPermissionRepository,
  GrantExistsError,
  GrantNotFoundError,
} from '../../../shared/store/permissions/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let repo: DynamoPermissionRepository;
const now = 1_800_000_000_000;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoPermissionRepository(table.doc, table.tableName, () => now);
});
afterAll(async () => {
  await table?.close();
});

describe('DynamoPermissionRepository', () => {
  it('creates once, then refuses a second create for the same principal and resource', async () => {
    await repo.create({ principal: 'bob', kind: 'experiment', resource: '1', permission: 'READ' });
    await expect(
      repo.create({ principal: 'bob', kind: 'experiment', resource: '1', permission: 'EDIT' }),
    ).rejects.toBeInstanceOf(GrantExistsError);
    expect(await repo.get('bob', 'experiment', '1')).toEqual({
      principal: 'bob',
      kind: 'experiment',
      resource: '1',
      permission: 'READ',
      updated: now,
    });
  });

  it('updates and deletes only grants that exist', async () => {
    await expect(
      repo.update({ principal: 'carol', kind: 'experiment', resource: '1', permission: 'EDIT' }),
    ).rejects.toBeInstanceOf(GrantNotFoundError);
    await expect(repo.delete('carol', 'experiment', '1')).rejects.toBeInstanceOf(GrantNotFoundError);
    expect(await repo.get('carol', 'experiment', '1')).toBeUndefined();

    await repo.put({ principal: 'carol', kind: 'registered_model', resource: 'm', permission: 'MANAGE' });
    await repo.update({ principal: 'carol', kind: 'registered_model', resource: 'm', permission: 'READ' });
    expect((await repo.get('carol', 'registered_model', 'm'))?.permission).toBe('READ');
    await repo.delete('carol', 'registered_model', 'm');
    expect(await repo.get('carol', 'registered_model', 'm')).toBeUndefined();
  });

  it('reads all of a principal’s grants, of both kinds, and none of another’s', async () => {
    await repo.put({ principal: 'dave', kind: 'experiment', resource: '7', permission: 'NO_PERMISSIONS' });
    await repo.put({ principal: 'dave', kind: 'registered_model', resource: 'a#b', permission: 'MANAGE' });
    await repo.put({ principal: 'dave2', kind: 'experiment', resource: '7', permission: 'READ' });
    const grants = await repo.grantsOf('dave');
    expect(grants.map((g) => [g.kind, g.resource, g.permission]).sort()).toEqual([
      ['experiment', '7', 'NO_PERMISSIONS'],
      ['registered_model', 'a#b', 'MANAGE'],
    ]);
  });

  it('lists who holds grants on one resource', async () => {
    await repo.put({ principal: 'erin', kind: 'experiment', resource: '9', permission: 'EDIT' });
    await repo.put({ principal: 'frank', kind: 'experiment', resource: '9', permission: 'READ' });
    await repo.put({ principal: 'frank', kind: 'experiment', resource: '90', permission: 'READ' });
    const holders = await repo.grantsOn('experiment', '9');
    expect(holders.map((g) => [g.principal, g.permission]).sort()).toEqual([
      ['erin', 'EDIT'],
      ['frank', 'READ'],
    ]);
  });
});

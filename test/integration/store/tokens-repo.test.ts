/** Token items on a real table (dynalite, or DynamoDB Local in the fidelity lane). */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../../shared/auth/issue.js';
import { hashSecret } from '../../../shared/auth/token.js';
import { keys } from '../../../shared/store/keys.js';
import { DynamoPrincipalDirectory } from '../../../shared/store/permissions/principals.js';
import {
  DynamoTokenRepository,
  TokenAlreadyExistsError,
  TokenNotFoundError,
} from '../../../shared/store/tokens/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let tokens: DynamoTokenRepository;

beforeAll(async () => {
  table = await createTestTable();
  tokens = new DynamoTokenRepository(table.client, table.tableName);
});
afterAll(() => table.close());

describe('token repository', () => {
  it('stores the secret only as its SHA-256, with creation time and expiry', async () => {
    const issued = await issueToken(tokens, { name: 'stored', scope: 'write', expiresInDays: 2 }, 1_000);
    const { Item } = await table.client.send(
      new GetItemCommand({
        TableName: table.tableName,
        Key: { pk: { S: 'TOKENS' }, sk: { S: 'TOKEN#stored' } },
      }),
    );
    expect(Item?.secretHash?.S).toBe(hashSecret(issued.secret));
    expect(JSON.stringify(Item)).not.toContain(issued.secret);
    expect(Item?.created?.N).toBe('1000');
    expect(Item?.expires?.N).toBe(String(1_000 + 2 * 86_400_000));
    expect(keys.token('stored')).toEqual({ pk: 'TOKENS', sk: 'TOKEN#stored' });
    expect(await tokens.get('stored')).toEqual({
      name: 'stored',
      scope: 'write',
      created: 1_000,
      expires: 1_000 + 2 * 86_400_000,
      secretHash: hashSecret(issued.secret),
    });
  });

  it('refuses a second token with the same name and keeps the first', async () => {
    const first = await issueToken(tokens, { name: 'twice', scope: 'read' });
    await expect(issueToken(tokens, { name: 'twice', scope: 'admin' })).rejects.toBeInstanceOf(
      TokenAlreadyExistsError,
    );
    expect(await tokens.get('twice')).toMatchObject({ scope: 'read', secretHash: hashSecret(first.secret) });
  });

  it('lists summaries without hashes', async () => {
    await issueToken(tokens, { name: 'listed', scope: 'admin' });
    const listed = await tokens.list();
    expect(listed.map((t) => t.name)).toEqual(expect.arrayContaining(['listed', 'stored', 'twice']));
    for (const summary of listed) expect(summary).not.toHaveProperty('secretHash');
  });

  it('revokes by deleting, and says so when there is nothing to revoke', async () => {
    await issueToken(tokens, { name: 'gone', scope: 'read' });
    await tokens.revoke('gone');
    expect(await tokens.get('gone')).toBeUndefined();
    await expect(tokens.revoke('gone')).rejects.toBeInstanceOf(TokenNotFoundError);
  });

  it('enters each token in the principal directory without its hash, and removes it on revoke', async () => {
    const directory = new DynamoPrincipalDirectory(table.client, table.tableName);
    const issued = await issueToken(tokens, { name: 'directed', scope: 'read' });
    expect(await directory.get('directed')).toEqual({ name: 'directed', scope: 'read' });
    const { Item } = await table.client.send(
      new GetItemCommand({
        TableName: table.tableName,
        Key: { pk: { S: 'PRINCIPALS' }, sk: { S: 'PRINCIPAL#directed' } },
      }),
    );
    expect(Object.keys(Item ?? {}).sort()).toEqual(['name', 'pk', 'scope', 'sk']);
    expect(JSON.stringify(Item)).not.toContain(hashSecret(issued.secret));
    await tokens.revoke('directed');
    expect(await directory.get('directed')).toBeUndefined();
    expect(await directory.get('never-issued')).toBeUndefined();
  });

  it('records use at most once per interval, and never for a revoked token', async () => {
    await issueToken(tokens, { name: 'used', scope: 'read' });
    expect(await tokens.recordUse('used', 100_000, 60_000)).toBe(true);
    expect(await tokens.recordUse('used', 159_999, 60_000)).toBe(false);
    expect(await tokens.recordUse('used', 130_000, 60_000)).toBe(false);
    expect((await tokens.get('used'))?.lastUsed).toBe(100_000);
    expect(await tokens.recordUse('used', 160_000, 60_000)).toBe(true);
    expect((await tokens.get('used'))?.lastUsed).toBe(160_000);
    await tokens.revoke('used');
    expect(await tokens.recordUse('used', 999_999, 60_000)).toBe(false);
    expect(await tokens.get('used')).toBeUndefined();
  });
});

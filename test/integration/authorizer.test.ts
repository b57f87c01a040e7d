/**
 * The authorizer's decisions against a real table: which headers get a principal, which are refused, and
 * when it writes `lastUsed`. (Over HTTP, through the local server's gate: auth.test.ts.)
 */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../functions/authorizer/authorizer.js';
import { basicAuthorization } from '../../shared/auth/credentials.js';
import { issueToken } from '../../shared/auth/issue.js';
import { formatToken, generateSecret } from '../../shared/auth/token.js';
import { DynamoTokenRepository } from '../../shared/store/tokens/repository.js';
import { createTestTable, type TestTable } from '../helpers/dynamo.js';

const DAY = 86_400_000;
let table: TestTable;
let tokens: DynamoTokenRepository;
let clock = 10 * DAY;
const logs: Record<string, unknown>[] = [];
let writes = 0;

function event(authorization: string): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/api/2.0/mlflow/experiments/get',
    identitySource: [authorization],
    routeKey: 'GET /api/2.0/mlflow/experiments/get',
    rawPath: '/api/2.0/mlflow/experiments/get',
    rawQueryString: '',
    cookies: [],
    headers: { authorization },
    requestContext: { requestId: 'req-1' },
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

let authorizer: ReturnType<typeof createAuthorizer>;
beforeAll(async () => {
  table = await createTestTable();
  tokens = new DynamoTokenRepository(table.client, table.tableName);
  const counting = {
    get: (name: string) => tokens.get(name),
    recordUse: async (name: string, now: number, interval: number) => {
      writes++;
      return tokens.recordUse(name, now, interval);
    },
  };
  authorizer = createAuthorizer({ tokens: counting, now: () => clock, log: (entry) => logs.push(entry) });
});
afterAll(() => table.close());

describe('authorizer', () => {
  it('accepts a bearer token and Basic (bare secret or whole token), answering the principal and scope', async () => {
    const issued = await issueToken(tokens, { name: 'writer', scope: 'write' }, clock);
    const expected = { isAuthorized: true, context: { principal: 'writer', scope: 'write' } };
    expect(await authorizer(event(`Bearer ${issued.token}`))).toEqual(expected);
    expect(await authorizer(event(basicAuthorization('writer', issued.secret)))).toEqual(expected);
    expect(await authorizer(event(basicAuthorization('writer', issued.token)))).toEqual(expected);
  });

  it('refuses malformed headers, unknown tokens and wrong secrets', async () => {
    const issued = await issueToken(tokens, { name: 'known', scope: 'admin' }, clock);
    const refused = [
      'Bearer',
      'Bearer not-a-token',
      `Token ${issued.token}`,
      `Bearer ${formatToken({ name: 'stranger', secret: generateSecret() })}`,
      `Bearer ${formatToken({ name: 'known', secret: generateSecret() })}`,
      basicAuthorization('known', generateSecret()),
      basicAuthorization('other', issued.secret),
    ];
    for (const header of refused)
      expect(await authorizer(event(header)), header).toEqual({ isAuthorized: false });
  });

  it('refuses a token from the moment it expires', async () => {
    const issued = await issueToken(tokens, { name: 'short-lived', scope: 'read', expiresInDays: 1 }, clock);
    const header = `Bearer ${issued.token}`;
    clock += DAY - 1;
    expect((await authorizer(event(header))).isAuthorized).toBe(true);
    clock += 1;
    expect(await authorizer(event(header))).toEqual({ isAuthorized: false });
  });

  it('refuses a revoked token', async () => {
    const issued = await issueToken(tokens, { name: 'revoked', scope: 'write' }, clock);
    expect((await authorizer(event(`Bearer ${issued.token}`))).isAuthorized).toBe(true);
    await tokens.revoke('revoked');
    expect(await authorizer(event(`Bearer ${issued.token}`))).toEqual({ isAuthorized: false });
  });

  it('records last use on first use and then at most once a minute', async () => {
    const issued = await issueToken(tokens, { name: 'busy', scope: 'read' }, clock);
    const header = `Bearer ${issued.token}`;
    writes = 0;
    await authorizer(event(header));
    expect((await tokens.get('busy'))?.lastUsed).toBe(clock);
    const firstUse = clock;
    for (let i = 0; i < 5; i++) {
      clock += 10_000;
      await authorizer(event(header));
    }
    expect(writes).toBe(1);
    expect((await tokens.get('busy'))?.lastUsed).toBe(firstUse);
    clock += 10_000; // 60 s after the first use
    await authorizer(event(header));
    expect(writes).toBe(2);
    expect((await tokens.get('busy'))?.lastUsed).toBe(clock);
  });

  it('never logs a token or a secret', async () => {
    const issued = await issueToken(tokens, { name: 'quiet', scope: 'read' }, clock);
    logs.length = 0;
    await authorizer(event(`Bearer ${issued.token}`));
    await authorizer(event(basicAuthorization('quiet', issued.secret)));
    await authorizer(event(`Bearer ${formatToken({ name: 'quiet', secret: generateSecret() })}`));
    const logged = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThanOrEqual(3);
    expect(logged).not.toContain(issued.secret);
    expect(logged).not.toContain('cairn_');
    expect(logs.map((entry) => entry.reason).filter(Boolean)).toEqual(['wrong-secret']);
  });

  it('fails (API Gateway answers 500, caches nothing) when the table cannot be read, rather than deny', async () => {
    const broken = createAuthorizer({
      tokens: new DynamoTokenRepository(table.client, 'no-such-table'),
      log: () => undefined,
    });
    const issued = await issueToken(tokens, { name: 'unlucky', scope: 'read' }, clock);
    await expect(broken(event(`Bearer ${issued.token}`))).rejects.toThrow();
  });
});

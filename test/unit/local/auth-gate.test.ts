import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { AuthorizerResult } from '../../../functions/authorizer/authorizer.js';
import { AuthorizerCache, createAuthGate } from '../../../local/auth-gate.js';

function event(routeKey: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const [method = 'GET', path = '/'] = routeKey === '$default' ? ['GET', '/nowhere'] : routeKey.split(' ');
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: 'a=1',
    headers,
    queryStringParameters: { a: '1' },
    requestContext: { apiId: 'local', stage: '$default', requestId: 'r', http: { method, path } },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const READ_ROUTE = 'GET /api/2.0/mlflow/experiments/get';

function recordingAuthorizer(answer: (header: string) => AuthorizerResult | Promise<AuthorizerResult>) {
  const calls: APIGatewayRequestAuthorizerEventV2[] = [];
  return {
    calls,
    authorizer: async (e: APIGatewayRequestAuthorizerEventV2) => {
      calls.push(e);
      return answer(e.identitySource[0] as string);
    },
  };
}

const allow = (principal: string): AuthorizerResult => ({
  isAuthorized: true,
  context: { principal, scope: 'read' },
});

describe('local authorizer gate', () => {
  it('answers 401 Unauthorized without calling the authorizer when the header is missing or empty', async () => {
    const { calls, authorizer } = recordingAuthorizer(() => allow('x'));
    const gate = createAuthGate({ authorizer, cacheTtlMs: 1000 });
    for (const headers of [{}, { authorization: '' }, { authorization: '   ' }] as Record<string, string>[]) {
      const answer = await gate(event(READ_ROUTE, headers));
      expect(answer?.statusCode).toBe(401);
      expect(JSON.parse(answer?.body ?? '')).toEqual({ message: 'Unauthorized' });
    }
    expect(calls).toHaveLength(0);
  });

  it('refuses an Authorization header over 1,024 characters without asking the authorizer or caching it', async () => {
    const { calls, authorizer } = recordingAuthorizer(() => allow('x'));
    const gate = createAuthGate({ authorizer, cacheTtlMs: 1000 });
    const long = `Bearer ${'a'.repeat(2000)}`;
    expect((await gate(event(READ_ROUTE, { authorization: long })))?.statusCode).toBe(403);
    expect(calls).toHaveLength(0);
    // A header the authorizer does read is still asked once, then answered from the cache.
    await gate(event(READ_ROUTE, { authorization: 'Bearer short' }));
    await gate(event(READ_ROUTE, { authorization: 'Bearer short' }));
    expect(calls).toHaveLength(1);
  });

  it('lets public routes through untouched, and guards $default like any other route', async () => {
    const { calls, authorizer } = recordingAuthorizer(() => allow('x'));
    const gate = createAuthGate({ authorizer, cacheTtlMs: 1000 });
    expect(await gate(event('GET /health'))).toBeUndefined();
    expect((await gate(event('GET /version')))?.statusCode).toBe(401);
    expect((await gate(event('$default')))?.statusCode).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('builds a payload 2.0 REQUEST event and passes the context on as requestContext.authorizer.lambda', async () => {
    const { calls, authorizer } = recordingAuthorizer(() => allow('ci'));
    const gate = createAuthGate({ authorizer, cacheTtlMs: 1000 });
    const request = event(READ_ROUTE, { authorization: 'Bearer t' });
    expect(await gate(request)).toBeUndefined();
    expect(calls[0]).toMatchObject({
      version: '2.0',
      type: 'REQUEST',
      identitySource: ['Bearer t'],
      routeKey: READ_ROUTE,
      rawPath: '/api/2.0/mlflow/experiments/get',
      rawQueryString: 'a=1',
      headers: { authorization: 'Bearer t' },
      queryStringParameters: { a: '1' },
    });
    expect(calls[0]?.routeArn).toMatch(/^arn:aws:execute-api:.*\/GET\/api\/2\.0\/mlflow\/experiments\/get$/);
    expect((request.requestContext as unknown as { authorizer: unknown }).authorizer).toEqual({
      lambda: { principal: 'ci', scope: 'read' },
    });
  });

  it('answers 403 Forbidden for a deny and 500 for an authorizer failure', async () => {
    const gate = createAuthGate({
      authorizer: async (e) => {
        if (e.identitySource[0] === 'Bearer boom') throw new Error('table unreachable');
        return { isAuthorized: false };
      },
      cacheTtlMs: 1000,
    });
    const denied = await gate(event(READ_ROUTE, { authorization: 'Bearer no' }));
    expect(denied?.statusCode).toBe(403);
    expect(JSON.parse(denied?.body ?? '')).toEqual({ message: 'Forbidden' });
    const failed = await gate(event(READ_ROUTE, { authorization: 'Bearer boom' }));
    expect(failed?.statusCode).toBe(500);
    expect(JSON.parse(failed?.body ?? '')).toEqual({ message: 'Internal Server Error' });
  });

  it('caches answers per header value for the TTL, denials included, and failures not at all', async () => {
    let clock = 0;
    let failNext = true;
    const { calls, authorizer } = recordingAuthorizer((header) => {
      if (header === 'Bearer flaky' && failNext) {
        failNext = false;
        throw new Error('hiccup');
      }
      return header === 'Bearer good' ? allow('good') : { isAuthorized: false };
    });
    const gate = createAuthGate({ authorizer, cacheTtlMs: 1000, now: () => clock });
    const ask = (header: string) => gate(event(READ_ROUTE, { authorization: header }));
    await ask('Bearer good');
    await ask('Bearer good');
    await ask('Bearer bad');
    await ask('Bearer bad');
    expect(calls).toHaveLength(2);
    clock = 999;
    await ask('Bearer good');
    expect(calls).toHaveLength(2);
    clock = 1000;
    await ask('Bearer good');
    expect(calls).toHaveLength(3);
    expect((await ask('Bearer flaky'))?.statusCode).toBe(500);
    expect((await ask('Bearer flaky'))?.statusCode).toBe(403);
    expect(calls).toHaveLength(5);
  });

  it('keeps its cache bounded, dropping the oldest answers first', () => {
    const cache = new AuthorizerCache(1000, () => 0, 3);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, { isAuthorized: false });
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('d')).toEqual({ isAuthorized: false });
  });

  it('caches nothing with a TTL of 0', () => {
    const cache = new AuthorizerCache(0, () => 0);
    cache.set('a', { isAuthorized: false });
    expect(cache.get('a')).toBeUndefined();
  });
});

import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  createHttpHandler,
  jsonResponse,
  type Operations,
} from '../../../functions/middleware/http-handler.js';
import type { PermissionCheckOptions } from '../../../functions/middleware/permission-check.js';
import { routesForFunction } from '../../../shared/api/routes.js';
import { ARTIFACTS_ROUTE_SPECS } from '../../../shared/api/routes-artifacts.js';

/** Every artifacts operation answers with the greedy path it was handed. */
const echo: Operations = Object.fromEntries(
  routesForFunction('artifacts').map((route) => [
    route.operation,
    async (request) => jsonResponse({ greedy: request.greedyPath ?? null }),
  ]),
);
/** No grants and lookups that find nothing: every check is decided by the scope's default. */
const noGrants: PermissionCheckOptions = {
  grants: { grantsOf: async () => [] },
  lookups: { runExperiments: async () => new Map(), loggedModelExperiments: async () => new Map() },
};
const handler = createHttpHandler('artifacts', ARTIFACTS_ROUTE_SPECS, echo, undefined, noGrants);

function event(rawPath: string, pathParameters?: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'GET /api/2.0/mlflow-artifacts/artifacts/{path+}',
    rawPath,
    rawQueryString: '',
    headers: {},
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      http: { method: 'GET', path: rawPath },
      requestId: 'test',
      authorizer: { lambda: { principal: 'test', scope: 'read' } },
    },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

async function greedy(e: APIGatewayProxyEventV2): Promise<unknown> {
  const result = await handler(e, {} as Context);
  return JSON.parse(result.body).greedy;
}

describe('greedy path parameters', () => {
  it("prefers API Gateway's path parameter, which has no stage or custom-domain prefix", async () => {
    expect(
      await greedy(
        event('/prod/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a.txt', {
          path: '1/r/artifacts/a.txt',
        }),
      ),
    ).toBe('1/r/artifacts/a.txt');
  });

  it('falls back to the path as sent when the parameter is absent (the local front sets it too)', async () => {
    expect(await greedy(event('/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/b%20c.txt'))).toBe(
      '1/r/artifacts/b%20c.txt',
    );
  });
});

describe('the caller', () => {
  it("hands the authorizer's principal to the operation (the registry's promotion guard needs it)", async () => {
    const whoHandler = createHttpHandler(
      'artifacts',
      ARTIFACTS_ROUTE_SPECS,
      Object.fromEntries(
        routesForFunction('artifacts').map((route) => [
          route.operation,
          async (request) => jsonResponse({ principal: request.principal ?? null }),
        ]),
      ),
      undefined,
      noGrants,
    );
    const result = await whoHandler(
      event('/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a.txt'),
      {} as Context,
    );
    expect(JSON.parse(result.body)).toEqual({ principal: 'test' });
  });
});

import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { authorize, principalOf } from '../../../functions/middleware/authorize.js';
import {
  createHttpHandler,
  jsonResponse,
  type Operations,
} from '../../../functions/middleware/http-handler.js';
import { statusOf } from '../../../shared/api/http.js';
import { ROUTES, type Route, routeByKey, routesForFunction } from '../../../shared/api/routes.js';
import { TRACKING_ROUTE_SPECS } from '../../../shared/api/routes-tracking.js';
import { SCOPES, scopeAllows } from '../../../shared/auth/scopes.js';
import { PermissionDeniedError, UnauthenticatedError } from '../../../shared/errors.js';

function event(route: Route, lambda?: Record<string, unknown>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: route.fullPath.replace('{path+}', '1/r/artifacts/a.txt'),
    rawQueryString: '',
    headers: {},
    requestContext: {
      http: { method: route.method, path: route.fullPath },
      requestId: 'test',
      ...(lambda ? { authorizer: { lambda } } : {}),
    },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const ENFORCED = {} as NodeJS.ProcessEnv;
const write = routeByKey('POST /api/2.0/mlflow/experiments/create') as Route;
const read = routeByKey('GET /api/2.0/mlflow/experiments/get') as Route;
const health = routeByKey('GET /health') as Route;

describe('authorize', () => {
  it('lets public routes through with no principal', () => {
    expect(() => authorize(health, event(health), ENFORCED)).not.toThrow();
  });

  it('refuses a request without a principal with UNAUTHENTICATED (default deny)', () => {
    expect(() => authorize(read, event(read), ENFORCED)).toThrow(UnauthenticatedError);
    // A context that is not a whole principal counts as none.
    for (const lambda of [
      {},
      { principal: 'ci' },
      { scope: 'admin' },
      { principal: '', scope: 'read' },
      { principal: 'ci', scope: 'root' },
    ]) {
      expect(() => authorize(read, event(read, lambda), ENFORCED)).toThrow(UnauthenticatedError);
    }
  });

  it('refuses an insufficient scope with PERMISSION_DENIED naming token, scope and route', () => {
    const denied = (() => {
      try {
        authorize(write, event(write, { principal: 'reader', scope: 'read' }), ENFORCED);
      } catch (error) {
        return error;
      }
    })();
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(statusOf(denied as PermissionDeniedError)).toBe(403);
    expect((denied as Error).message).toContain("'reader'");
    expect((denied as Error).message).toContain('POST /api/2.0/mlflow/experiments/create');
  });

  it('decides every route without access, and every admin route, by its permission and the scope lattice', () => {
    for (const route of ROUTES.filter((r) => !r.access || r.permission === 'admin')) {
      for (const scope of SCOPES) {
        const run = () => authorize(route, event(route, { principal: 'p', scope }), ENFORCED);
        if (scopeAllows(scope, route.permission)) expect(run, `${scope} on ${route.routeKey}`).not.toThrow();
        else expect(run, `${scope} on ${route.routeKey}`).toThrow(PermissionDeniedError);
      }
    }
  });

  it("leaves a route with access to the level check (a grant may raise a scope's default), never to no caller", () => {
    const guardedRoutes = ROUTES.filter((r) => r.access && r.permission !== 'admin');
    expect(guardedRoutes.length).toBeGreaterThan(50);
    for (const route of guardedRoutes) {
      for (const scope of SCOPES) {
        expect(authorize(route, event(route, { principal: 'p', scope }), ENFORCED)).toEqual({
          principal: 'p',
          scope,
        });
      }
      expect(() => authorize(route, event(route), ENFORCED)).toThrow(UnauthenticatedError);
    }
  });

  it('is off only for CAIRN_AUTH=off exactly', () => {
    expect(authorize(write, event(write), { CAIRN_AUTH: 'off' })).toBeUndefined();
    for (const value of ['on', 'OFF', 'false', '0', '']) {
      expect(() => authorize(write, event(write), { CAIRN_AUTH: value })).toThrow(UnauthenticatedError);
    }
  });

  it('reads the principal API Gateway passes as requestContext.authorizer.lambda', () => {
    expect(principalOf(event(read, { principal: 'ci', scope: 'write' }))).toEqual({
      principal: 'ci',
      scope: 'write',
    });
  });
});

describe('the shared handler', () => {
  const operations: Operations = Object.fromEntries(
    routesForFunction('tracking').map((route) => [route.operation, async () => jsonResponse({ ran: true })]),
  );
  const handler = createHttpHandler('tracking', TRACKING_ROUTE_SPECS, operations);
  const invoke = (e: APIGatewayProxyEventV2) => handler(e, {} as Context);

  it('answers 401 UNAUTHENTICATED and 403 PERMISSION_DENIED in MLflow shape without running the operation', async () => {
    const previous = process.env.CAIRN_AUTH;
    delete process.env.CAIRN_AUTH;
    try {
      const anonymous = await invoke(event(write));
      expect(anonymous.statusCode).toBe(401);
      expect(JSON.parse(anonymous.body)).toMatchObject({ error_code: 'UNAUTHENTICATED' });
      const reader = await invoke(event(write, { principal: 'reader', scope: 'read' }));
      expect(reader.statusCode).toBe(403);
      expect(JSON.parse(reader.body)).toMatchObject({ error_code: 'PERMISSION_DENIED' });
      const writer = await invoke(event(write, { principal: 'writer', scope: 'write' }));
      expect(JSON.parse(writer.body)).toEqual({ ran: true });
      expect((await invoke(event(health))).statusCode).toBe(200);
    } finally {
      if (previous === undefined) delete process.env.CAIRN_AUTH;
      else process.env.CAIRN_AUTH = previous;
    }
  });
});

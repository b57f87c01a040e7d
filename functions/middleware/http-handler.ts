/**
 * The shared shape of every function: a middy handler that maps API Gateway's route key to one
 * operation, and turns whatever the operation throws into MLflow's error JSON in one place.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type HttpResult, JSON_HEADERS, toErrorResponse } from '../../shared/api/http.js';
import { type ApiRequest, toApiRequest } from '../../shared/api/request.js';
import {
  DEFAULT_ROUTE_KEY,
  type FunctionName,
  type GreedySegment,
  greedyRemainder,
  greedySegment,
  type Route,
  type RouteSpec,
  toRoutes,
} from '../../shared/api/route-kit.js';
import { DeadlineExceededError, EndpointNotFoundError } from '../../shared/errors.js';
import { authEnforced, authorize } from './authorize.js';
import { createObservability, type Observability } from './observability.js';
import {
  assertLookupsCover,
  callerPermissions,
  checkAccess,
  type PermissionCheckOptions,
} from './permission-check.js';
import { cachedLookups } from './resource-resolution.js';

export type Operation = (request: ApiRequest) => Promise<HttpResult>;
export type Operations = Record<string, Operation>;

/**
 * How long before the invocation's deadline a hung operation is abandoned: time enough to serialize the
 * error, write the request's log line and metrics and hand the response back before Lambda stops the
 * function (middy's default, 5 ms, leaves none for a slow log write).
 */
export const DEADLINE_MARGIN_MS = 200;

export function jsonResponse(body: unknown, statusCode = 200): HttpResult {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

export function textResponse(body: string, statusCode = 200): HttpResult {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

/**
 * Builds a function's handler. Fails at module load when a route assigned to `fn` has no operation, so a
 * route table entry can never be deployed without its implementation. `observability` logs and counts
 * every request (./observability.ts); a function passes its own when its operations report metrics too.
 */
export function createHttpHandler(
  fn: FunctionName,
  specs: readonly RouteSpec[],
  operations: Operations,
  observability: Observability = createObservability(fn),
  /**
   * Grants and resource lookups for the per-resource check (./permission-check.ts). A function whose
   * routes declare `access` or `filters` and is built without them refuses those routes (500) when auth
   * is on, rather than serve them unchecked.
   */
  permissions?: PermissionCheckOptions,
) {
  // The function's own part of the route table (shared/api/routes-<area>.ts), not the whole table: each
  // bundle carries only its routes.
  const routes = toRoutes(specs);
  const foreign = routes.filter((route) => route.fn !== fn);
  if (foreign.length > 0) {
    throw new Error(
      `Function ${fn} was given routes of other functions: ${foreign.map((r) => r.routeKey).join(', ')}`,
    );
  }
  const missing = routes.filter((route) => !(route.operation in operations));
  if (missing.length > 0) {
    throw new Error(
      `Function ${fn} lacks operations for routes: ${missing.map((r) => r.routeKey).join(', ')}`,
    );
  }
  if (permissions) assertLookupsCover(routes, permissions.lookups);
  const lookups = permissions ? cachedLookups(permissions.lookups) : {};
  // API Gateway (or the local front) has matched the request and names the route in `routeKey`: the
  // function only looks it up, with everything it needs about the route read once, here.
  const byKey = new Map<string, { route: Route; operation: Operation; greedy?: GreedySegment }>(
    routes.map((route) => {
      const greedy = greedySegment(route);
      const operation = operations[route.operation] as Operation;
      return [route.routeKey, { route, operation, ...(greedy ? { greedy } : {}) }];
    }),
  );

  async function dispatch(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const found = byKey.get(event.routeKey);
    if (!found || event.routeKey === DEFAULT_ROUTE_KEY) {
      throw new EndpointNotFoundError(event.requestContext.http.method, event.rawPath);
    }
    const { route, operation, greedy } = found;
    const caller = authorize(route, event);
    // API Gateway fills the greedy parameter itself (rawPath also carries a stage or custom-domain
    // prefix where one is used); the path as sent is the fallback. Either form is canonicalized later.
    const greedyPath = greedy
      ? (event.pathParameters?.[greedy.name] ?? greedyRemainder(greedy, event.rawPath))
      : undefined;
    const request = toApiRequest(event, {
      ...(route.rawBody ? { rawBody: true } : {}),
      ...(greedyPath === undefined ? {} : { greedyPath }),
    });
    if (!caller) return operation(request);
    const authenticated: ApiRequest = { ...request, principal: caller.principal, scope: caller.scope };
    // Public routes check nothing; with auth off (local, no --auth) nobody's grants apply either.
    if (route.permission === 'public' || !authEnforced()) return operation(authenticated);
    // Fail closed: a route that names a resource is never served unchecked by a function built without
    // the check (a wiring mistake answers 500, not data).
    if (!permissions) {
      if (route.access || route.filters) {
        throw new Error(`Function ${fn} has no permission check for ${route.routeKey}`);
      }
      return operation(authenticated);
    }
    // Every authenticated request carries its caller's permissions (cached grants): searches filter by
    // them and operations check a second resource with requireLevel.
    authenticated.caller = await callerPermissions(permissions.grants, caller);
    await checkAccess(route, authenticated, lookups);
    return operation(authenticated);
  }

  // Middy runs onError handlers in reverse order: the error becomes MLflow's JSON first, and the
  // observability middleware then logs the request with the status the client got.
  return middy<APIGatewayProxyEventV2, HttpResult, Error, Context>({
    // Middy gives up on the operation shortly before the invocation's deadline (29 s on AWS, the front's
    // deadline locally) so that the function still answers. Its own answer would be a plain Error, a 500
    // INTERNAL_ERROR, logged with a stack; a deadline is MLflow's DEADLINE_EXCEEDED, 504, as API
    // Gateway's own timeout reads locally.
    timeoutEarlyInMillis: DEADLINE_MARGIN_MS,
    timeoutEarlyResponse: () => {
      throw new DeadlineExceededError();
    },
  })
    .use(observability.middleware)
    .use({
      onError: async function mlflowErrorResponse(request) {
        request.response = toErrorResponse(request.error);
      },
    })
    .handler(dispatch);
}

/**
 * The one route table (design decision 2). The CDK app builds the HTTP API's routes from it, the local
 * server dispatches from it, and each function's handler maps the route key API Gateway hands it back to
 * an operation. A route missing here does not exist: API Gateway sends it to `$default`, which answers
 * 404 ENDPOINT_NOT_FOUND in MLflow's JSON shape.
 *
 * The table is kept in one part per function (routes-<area>.ts, built from route-kit.ts) so that each
 * function's bundle carries only its own routes; this module joins them for the CDK app, the local
 * front and the tests.
 */

export type {
  FunctionName,
  HttpMethod,
  Mount,
  Permission,
  Route,
  RouteSpec,
} from './route-kit.js';
export { DEFAULT_ROUTE_KEY, greedyRemainder, toRoutes } from './route-kit.js';

import { type FunctionName, type Route, type RouteSpec, toRoutes } from './route-kit.js';
import { ARTIFACTS_ROUTE_SPECS } from './routes-artifacts.js';
import { REGISTRY_ROUTE_SPECS } from './routes-registry.js';
import { TRACKING_ROUTE_SPECS } from './routes-tracking.js';

export const ROUTE_SPECS: readonly RouteSpec[] = [
  ...TRACKING_ROUTE_SPECS,
  ...ARTIFACTS_ROUTE_SPECS,
  ...REGISTRY_ROUTE_SPECS,
];

export const ROUTES: readonly Route[] = toRoutes(ROUTE_SPECS);

const ROUTES_BY_KEY = new Map(ROUTES.map((route) => [route.routeKey, route]));

export function routeByKey(routeKey: string): Route | undefined {
  return ROUTES_BY_KEY.get(routeKey);
}

/**
 * Matches a request the way API Gateway does: exact paths, plus a trailing greedy `{name+}` segment.
 * Returns the route and its path parameters, or undefined (→ `$default`).
 */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; pathParameters?: Record<string, string> } | undefined {
  const exact = ROUTES_BY_KEY.get(`${method} ${path}`);
  if (exact) return { route: exact };
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const greedy = /^(.*)\/\{([A-Za-z_]+)\+\}$/.exec(route.fullPath);
    if (!greedy) continue;
    const [, base = '', name = ''] = greedy;
    if (path.startsWith(`${base}/`) && path.length > base.length + 1) {
      // Raw (still percent-encoded): handlers canonicalize paths themselves, decoding until stable.
      return { route, pathParameters: { [name]: path.slice(base.length + 1) } };
    }
  }
  return undefined;
}

export function routesForFunction(fn: FunctionName): Route[] {
  return ROUTES.filter((route) => route.fn === fn);
}

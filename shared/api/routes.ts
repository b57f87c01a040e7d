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
  GreedySegment,
  HttpMethod,
  Mount,
  Permission,
  Route,
  RouteSpec,
} from './route-kit.js';
export { DEFAULT_ROUTE_KEY, greedyRemainder, greedySegment, toRoutes } from './route-kit.js';

import { type FunctionName, type Route, type RouteSpec, toRoutes } from './route-kit.js';
import { ARTIFACTS_ROUTE_SPECS } from './routes-artifacts.js';
import { REGISTRY_ROUTE_SPECS } from './routes-registry.js';
import { TRACES_ROUTE_SPECS } from './routes-traces.js';
import { TRACKING_ROUTE_SPECS } from './routes-tracking.js';
import { UI_ROUTE_SPECS } from './routes-ui.js';

export const ROUTE_SPECS: readonly RouteSpec[] = [
  ...TRACKING_ROUTE_SPECS,
  ...ARTIFACTS_ROUTE_SPECS,
  ...REGISTRY_ROUTE_SPECS,
  ...UI_ROUTE_SPECS,
  ...TRACES_ROUTE_SPECS,
];

export const ROUTES: readonly Route[] = toRoutes(ROUTE_SPECS);

const ROUTES_BY_KEY = new Map(ROUTES.map((route) => [route.routeKey, route]));

export function routeByKey(routeKey: string): Route | undefined {
  return ROUTES_BY_KEY.get(routeKey);
}

interface Pattern {
  route: Route;
  regexp: RegExp;
  names: string[];
  greedy: boolean;
  /** Literal segments: API Gateway prefers the most specific route. */
  literals: number;
}

/** Routes with `{name}` or a trailing `{name+}` segment, most specific first. */
const PATTERNS: readonly Pattern[] = ROUTES.filter((route) => route.fullPath.includes('{'))
  .map((route): Pattern => {
    const names: string[] = [];
    const segments = route.fullPath.split('/');
    const source = segments
      .map((segment) => {
        const param = /^\{([A-Za-z_]+)(\+?)\}$/.exec(segment);
        if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(param[1] as string);
        return param[2] ? '(.+)' : '([^/]+)';
      })
      .join('/');
    return {
      route,
      regexp: new RegExp(`^${source}$`),
      names,
      greedy: route.fullPath.endsWith('+}'),
      literals: segments.filter((segment) => !segment.startsWith('{')).length,
    };
  })
  .sort((left, right) => Number(left.greedy) - Number(right.greedy) || right.literals - left.literals);

function decodeSegment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** A matched route and the values of its `{name}` and `{name+}` path segments. */
export interface RouteMatch {
  route: Route;
  pathParameters?: Record<string, string>;
}

/**
 * Matches a request the way API Gateway does: exact paths first, then `{name}` segments, then a trailing
 * greedy `{name+}` segment. Returns the route and its path parameters, or undefined (→ `$default`).
 * A `{name}` value is percent-decoded once, as HTTP APIs hand it to Lambda; a greedy value stays raw:
 * artifact handlers canonicalize paths themselves, decoding until stable.
 */
export function matchRoute(method: string, path: string): RouteMatch | undefined {
  const exact = ROUTES_BY_KEY.get(`${method} ${path}`);
  if (exact) return { route: exact };
  for (const pattern of PATTERNS) {
    if (pattern.route.method !== method) continue;
    const match = pattern.regexp.exec(path);
    if (!match) continue;
    const pathParameters: Record<string, string> = {};
    for (const [index, name] of pattern.names.entries()) {
      const value = match[index + 1] as string;
      pathParameters[name] =
        pattern.greedy && index === pattern.names.length - 1 ? value : decodeSegment(value);
    }
    return { route: pattern.route, pathParameters };
  }
  return undefined;
}

export function routesForFunction(fn: FunctionName): Route[] {
  return ROUTES.filter((route) => route.fn === fn);
}

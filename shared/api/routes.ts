/**
 * The one route table (design decision 2). The CDK app builds the HTTP API's routes from it, the local
 * server dispatches from it, and each function's handler maps the route key API Gateway hands it back to
 * an operation. A route missing here does not exist: API Gateway sends it to `$default`, which answers
 * 404 ENDPOINT_NOT_FOUND in MLflow's JSON shape.
 */

/** Lambda functions, one per area (design decision 3). */
export type FunctionName = 'tracking' | 'artifacts';

/** What a caller must hold. `public` needs no token (health checks). Default deny: there is no "none". */
export type Permission = 'public' | 'read' | 'write' | 'admin';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How a route's path is published: MLflow routes twice (`/api/2.0` and `/ajax-api/2.0`), root routes
 * once, Cairn's own additions once under `/api/2.0/cairn/` (never inside MLflow's paths; design decision 1).
 */
type Mount = 'mlflow-2.0' | 'cairn-2.0' | 'root';

export interface RouteSpec {
  operation: string;
  method: HttpMethod;
  /** Path below the mount point. MLflow routes start with `/mlflow/`. */
  path: string;
  fn: FunctionName;
  permission: Permission;
  mount: Mount;
  /** The body is raw bytes (artifact uploads), not a JSON request message. */
  rawBody?: boolean;
}

/** One published (method, path) pair, as API Gateway sees it. */
export interface Route extends RouteSpec {
  fullPath: string;
  /** API Gateway's route key, e.g. `POST /api/2.0/mlflow/experiments/create`; also the event's `routeKey`. */
  routeKey: string;
}

const mlflow = (
  operation: string,
  method: HttpMethod,
  path: string,
  permission: Permission,
  fn: FunctionName = 'tracking',
): RouteSpec => ({ operation, method, path: `/mlflow${path}`, fn, permission, mount: 'mlflow-2.0' });

/** MLflow's proxied-artifact service (`mlflow-artifacts`), served by the artifacts function. */
const proxied = (operation: string, method: HttpMethod, path: string, permission: Permission): RouteSpec => ({
  operation,
  method,
  path: `/mlflow-artifacts${path}`,
  fn: 'artifacts',
  permission,
  mount: 'mlflow-2.0',
});

/** Cairn's own endpoints: `/api/2.0/cairn/<area>/<resource>/<verb>`, in MLflow's request style. */
const cairn = (
  operation: string,
  method: HttpMethod,
  path: string,
  permission: Permission,
  fn: FunctionName = 'tracking',
): RouteSpec => ({ operation, method, path: `/cairn${path}`, fn, permission, mount: 'cairn-2.0' });

export const ROUTE_SPECS: readonly RouteSpec[] = [
  {
    operation: 'health',
    method: 'GET',
    path: '/health',
    fn: 'tracking',
    permission: 'public',
    mount: 'root',
  },
  // Behind a token like the MLflow routes: the stock client sends its credentials here too, and the
  // gateway opens nothing but the health probe (infra/stacks/api-stack.ts GATEWAY_OPEN_ROUTES).
  {
    operation: 'version',
    method: 'GET',
    path: '/version',
    fn: 'tracking',
    permission: 'read',
    mount: 'root',
  },

  mlflow('createExperiment', 'POST', '/experiments/create', 'write'),
  mlflow('getExperiment', 'GET', '/experiments/get', 'read'),
  mlflow('getExperimentByName', 'GET', '/experiments/get-by-name', 'read'),
  mlflow('searchExperiments', 'POST', '/experiments/search', 'read'),
  mlflow('searchExperiments', 'GET', '/experiments/search', 'read'),
  mlflow('updateExperiment', 'POST', '/experiments/update', 'write'),
  mlflow('deleteExperiment', 'POST', '/experiments/delete', 'write'),
  mlflow('restoreExperiment', 'POST', '/experiments/restore', 'write'),
  mlflow('setExperimentTag', 'POST', '/experiments/set-experiment-tag', 'write'),
  mlflow('deleteExperimentTag', 'POST', '/experiments/delete-experiment-tag', 'write'),

  mlflow('createRun', 'POST', '/runs/create', 'write'),
  mlflow('getRun', 'GET', '/runs/get', 'read'),
  mlflow('updateRun', 'POST', '/runs/update', 'write'),
  mlflow('deleteRun', 'POST', '/runs/delete', 'write'),
  mlflow('restoreRun', 'POST', '/runs/restore', 'write'),
  mlflow('logMetric', 'POST', '/runs/log-metric', 'write'),
  mlflow('logParam', 'POST', '/runs/log-parameter', 'write'),
  mlflow('setTag', 'POST', '/runs/set-tag', 'write'),
  mlflow('deleteTag', 'POST', '/runs/delete-tag', 'write'),
  mlflow('logBatch', 'POST', '/runs/log-batch', 'write'),
  mlflow('logInputs', 'POST', '/runs/log-inputs', 'write'),
  mlflow('logOutputs', 'POST', '/runs/outputs', 'write'),
  mlflow('searchRuns', 'POST', '/runs/search', 'read'),
  mlflow('getMetricHistory', 'GET', '/metrics/get-history', 'read'),
  mlflow('getMetricHistoryBulkInterval', 'GET', '/metrics/get-history-bulk-interval', 'read'),

  { ...proxied('uploadArtifact', 'PUT', '/artifacts/{path+}', 'write'), rawBody: true },
  proxied('downloadArtifact', 'GET', '/artifacts/{path+}', 'read'),
  proxied('listArtifacts', 'GET', '/artifacts', 'read'),
  proxied('deleteArtifact', 'DELETE', '/artifacts/{path+}', 'write'),
  proxied('presignedDownload', 'GET', '/presigned/{path+}', 'read'),
  proxied('createMultipartUpload', 'POST', '/mpu/create/{path+}', 'write'),
  proxied('completeMultipartUpload', 'POST', '/mpu/complete/{path+}', 'write'),
  proxied('abortMultipartUpload', 'POST', '/mpu/abort/{path+}', 'write'),
  mlflow('listRunArtifacts', 'GET', '/artifacts/list', 'read', 'artifacts'),
  mlflow('createPresignedUploadUrl', 'POST', '/artifacts/presigned-upload-url', 'write', 'artifacts'),

  // Promotion policies and their audit trail. On tracking until the registry function exists, then there.
  cairn('setPromotionPolicy', 'POST', '/registered-models/policies/set', 'admin'),
  cairn('getPromotionPolicies', 'GET', '/registered-models/policies/get', 'read'),
  cairn('deletePromotionPolicy', 'POST', '/registered-models/policies/delete', 'admin'),
  cairn('listPromotions', 'GET', '/registered-models/promotions/list', 'read'),
];

const MOUNT_PREFIXES: Record<Mount, readonly string[]> = {
  'mlflow-2.0': ['/api/2.0', '/ajax-api/2.0'],
  'cairn-2.0': ['/api/2.0'],
  root: [''],
};

export const ROUTES: readonly Route[] = ROUTE_SPECS.flatMap((spec) =>
  MOUNT_PREFIXES[spec.mount].map((prefix) => {
    const fullPath = `${prefix}${spec.path}`;
    return { ...spec, fullPath, routeKey: `${spec.method} ${fullPath}` };
  }),
);

/** API Gateway's catch-all route key; every function answers it with ENDPOINT_NOT_FOUND. */
export const DEFAULT_ROUTE_KEY = '$default';

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

/** The raw remainder of a greedy `{name+}` route's path, read from the request path itself. */
export function greedyRemainder(route: Route, rawPath: string): string | undefined {
  const greedy = /^(.*)\/\{[A-Za-z_]+\+\}$/.exec(route.fullPath);
  if (!greedy) return undefined;
  const base = `${greedy[1] ?? ''}/`;
  return rawPath.startsWith(base) ? rawPath.slice(base.length) : undefined;
}

export function routesForFunction(fn: FunctionName): Route[] {
  return ROUTES.filter((route) => route.fn === fn);
}

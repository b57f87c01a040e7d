/**
 * What every part of the route table is built from: the types, the spec builders, and how a spec is
 * published. Each function's bundle imports only this and its own area's routes (routes-<area>.ts); the
 * whole table is shared/api/routes.ts.
 */

import type { PermissionLevel, ResourceKind } from '../auth/permissions.js';

/** Lambda functions, one per area (design decision 3). `ui` serves the web UI's page and assets. */
export type FunctionName = 'tracking' | 'artifacts' | 'registry' | 'ui' | 'traces';

/**
 * What a caller must hold. `public` needs no token (the health probe, the web UI's page and assets, which a
 * browser loads before it holds one). Default deny: there is no "none".
 */
export type Permission = 'public' | 'read' | 'write' | 'admin';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How a route's path is published: MLflow routes twice (`/api/2.0` and `/ajax-api/2.0`), MLflow's UI-only
 * routes once under `/ajax-api/2.0`, root routes once, Cairn's own additions once under `/api/2.0/cairn/`
 * (never inside MLflow's paths; design decision 1).
 */
export type Mount = 'mlflow-2.0' | 'mlflow-3.0' | 'ajax-2.0' | 'cairn-2.0' | 'root';

/**
 * Where a route's experiment or registered model is named in the request (issue 16). The check
 * (functions/middleware/resource-resolution.ts) reads every place the operation may read the id from
 * (`run_id` and `run_uuid`, a path parameter and its body twin) and checks each one, so a request cannot
 * be checked on one id and served on another:
 * - `experiment_id`, `experiment_ids`: the field or path parameter itself; `experiment_name`: looked up.
 * - `run_id` (`run_id`/`run_uuid`), `run_ids` (`run_ids`/repeated `run_id`): the runs' experiment.
 * - `model_id`: the logged model's experiment; `trace_id` (path, `trace_id`, `request_id`), `trace_ids`:
 *   the traces' experiment; `trace_location`: MLflow 3's start-trace body; `otlp_experiment`: the
 *   `x-mlflow-experiment-id` header of an OTLP export.
 * - `artifact_path`: the experiment id that leads a proxied artifact path (the artifact service then
 *   refuses a run or logged model that is not in that experiment).
 * - `name`: a registered model's name.
 */
export type ResourceLocator =
  | 'experiment_id'
  | 'experiment_ids'
  | 'experiment_name'
  | 'run_id'
  | 'run_ids'
  | 'model_id'
  | 'trace_id'
  | 'trace_ids'
  | 'trace_location'
  | 'otlp_experiment'
  | 'artifact_path'
  | 'name';

/** What a route needs on the resource it touches: MLflow's level on one experiment or registered model. */
export interface Access {
  kind: ResourceKind;
  from: ResourceLocator;
  needs: PermissionLevel;
  /**
   * The resource the operation uses when the request names none (runs/create without an experiment_id
   * writes into the Default experiment, '0'): checked in its place, so an omitted id is not a way around
   * a grant on it.
   */
  orElse?: string;
}

/** `access` on an experiment (directly, or through the run, logged model, trace or artifact path named). */
export const onExperiment = (from: ResourceLocator, needs: PermissionLevel): Access => ({
  kind: 'experiment',
  from,
  needs,
});

/** `access` on a registered model, named by its `name` field (MLflow keys model permissions by name). */
export const onModel = (needs: PermissionLevel): Access => ({
  kind: 'registered_model',
  from: 'name',
  needs,
});

/** `spec` declaring the resource it touches and the level it needs there. */
export const guarded = (spec: RouteSpec, access: Access): RouteSpec => ({ ...spec, access });

/** `spec`, a search that leaves out the resources of `kind` the caller may not read. */
export const filtering = (spec: RouteSpec, kind: ResourceKind): RouteSpec => ({ ...spec, filters: kind });

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
  /**
   * The resource the route touches and the level it needs there. A route with `access` is decided by the
   * caller's level on that resource (a grant may raise or lower the scope's default); one without it by
   * `permission` (the scope) alone.
   */
  access?: Access;
  /** A search that leaves out, before paging, the resources of this kind the caller may not read. */
  filters?: ResourceKind;
}

/** One published (method, path) pair, as API Gateway sees it. */
export interface Route extends RouteSpec {
  fullPath: string;
  /** API Gateway's route key, e.g. `POST /api/2.0/mlflow/experiments/create`; also the event's `routeKey`. */
  routeKey: string;
}

export const mlflow = (
  operation: string,
  method: HttpMethod,
  path: string,
  permission: Permission,
  fn: FunctionName = 'tracking',
): RouteSpec => ({ operation, method, path: `/mlflow${path}`, fn, permission, mount: 'mlflow-2.0' });

/** MLflow 3's GenAI RPCs (traces v3, assessments), which MLflow publishes under `/api/3.0` and `/ajax-api/3.0`. */
export const mlflow3 = (
  operation: string,
  method: HttpMethod,
  path: string,
  permission: Permission,
  fn: FunctionName,
): RouteSpec => ({ operation, method, path: `/mlflow${path}`, fn, permission, mount: 'mlflow-3.0' });

/** MLflow's proxied-artifact service (`mlflow-artifacts`), served by the artifacts function. */
export const proxied = (
  operation: string,
  method: HttpMethod,
  path: string,
  permission: Permission,
): RouteSpec => ({
  operation,
  method,
  path: `/mlflow-artifacts${path}`,
  fn: 'artifacts',
  permission,
  mount: 'mlflow-2.0',
});

/** Cairn's own endpoints: `/api/2.0/cairn/<area>/<resource>/<verb>`, in MLflow's request style. */
export const cairn = (
  operation: string,
  method: HttpMethod,
  path: string,
  permission: Permission,
  fn: FunctionName = 'tracking',
): RouteSpec => ({ operation, method, path: `/cairn${path}`, fn, permission, mount: 'cairn-2.0' });

const MOUNT_PREFIXES: Record<Mount, readonly string[]> = {
  'mlflow-2.0': ['/api/2.0', '/ajax-api/2.0'],
  'mlflow-3.0': ['/api/3.0', '/ajax-api/3.0'],
  'ajax-2.0': ['/ajax-api/2.0'],
  'cairn-2.0': ['/api/2.0'],
  root: [''],
};

/** The routes a list of specs publishes (one per mount prefix). */
export function toRoutes(specs: readonly RouteSpec[]): Route[] {
  return specs.flatMap((spec) =>
    MOUNT_PREFIXES[spec.mount].map((prefix) => {
      const fullPath = `${prefix}${spec.path}`;
      return { ...spec, fullPath, routeKey: `${spec.method} ${fullPath}` };
    }),
  );
}

/** API Gateway's catch-all route key; every function answers it with ENDPOINT_NOT_FOUND. */
export const DEFAULT_ROUTE_KEY = '$default';

/** A route's trailing greedy `{name+}` segment: its parameter name, and the path before it. */
export interface GreedySegment {
  name: string;
  /** The route's path up to the greedy segment, with its trailing slash. */
  base: string;
}

/** The greedy segment of `route`, if it ends in one; read once per route, not per request. */
export function greedySegment(route: Route): GreedySegment | undefined {
  const greedy = /^(.*)\/\{([A-Za-z_]+)\+\}$/.exec(route.fullPath);
  return greedy ? { name: greedy[2] as string, base: `${greedy[1] ?? ''}/` } : undefined;
}

/** The raw remainder of a greedy route's path, read from the request path itself. */
export function greedyRemainder(greedy: GreedySegment, rawPath: string): string | undefined {
  return rawPath.startsWith(greedy.base) ? rawPath.slice(greedy.base.length) : undefined;
}

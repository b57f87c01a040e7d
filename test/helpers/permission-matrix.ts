/**
 * The permission matrix (issue 16), run against a local server with `--auth`: every route of the table that
 * declares `access`, called by one caller per permission situation, must be allowed exactly when the
 * caller's level on the route's experiment or registered model is enough for what the route declares it
 * needs: allowed → answered (2xx, or a 3xx to the bytes), denied → 403 PERMISSION_DENIED naming the
 * resource. test/integration/permissions-matrix.test.ts runs it on the handlers' sources,
 * test/infra/permissions-bundles.test.ts on the bundles `cdk synth` writes.
 *
 * The callers: an admin (bypasses every check), a read and a write token holding no grant (their scope's
 * default level, READ and EDIT), and five tokens each holding one level as an explicit grant on every
 * resource the requests touch. The grants are set against the scope's default so that only the grant can
 * explain the answer: NO_PERMISSIONS, READ and USE lower a write token, EDIT and MANAGE raise a read token.
 *
 * Two more checks ride on the same requests: a refused write must leave its target as it was (the builders'
 * `unchanged` probes, which must also see an allowed write's change, or they prove nothing), and each
 * filtered search (`filters`, no `access`) must find the shared item for every caller that may read it and
 * hide it from NO_PERMISSIONS (a 403 naming the experiment where the search names it).
 *
 * The expectation is written here from the issue's rules, not read from the check's code: the route's
 * declared `needs` (and its scope) are the only inputs taken from the table, the table the functions carry.
 *
 * Order, so that no grant cache is ever stale: everything is seeded first (by a separate admin token), then
 * the grants are written through the grant store, and only then does any matrix caller send a request. No
 * grant changes while requests run, so no cache TTL is waited on, and a server whose caches this process
 * cannot reach (the bundles carry their own) sees the grants from its first read.
 */
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import type { Route } from '../../shared/api/route-kit.js';
import { ROUTES } from '../../shared/api/routes.js';
import { issueToken } from '../../shared/auth/issue.js';
import { invalidateGrants } from '../../shared/auth/permission-cache.js';
import { defaultLevel, levelAllows, type PermissionLevel } from '../../shared/auth/permissions.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { mapWithLimit } from '../../shared/concurrency.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import {
  buildRequest,
  buildSearch,
  GRANTEE,
  type MatrixResource,
  REQUEST_BUILDERS,
  type RouteRequest,
  SEARCH_BUILDERS,
  type SearchRequest,
  type SentResponse,
  send,
  World,
} from './route-requests.js';

export interface Caller {
  name: string;
  scope: Scope;
  /** The level granted explicitly on every experiment and registered model; none: the scope's default. */
  grant?: PermissionLevel;
}

export const CALLERS: readonly Caller[] = [
  { name: 'matrix-admin', scope: 'admin' },
  { name: 'matrix-read', scope: 'read' },
  { name: 'matrix-write', scope: 'write' },
  { name: 'matrix-no-permissions', scope: 'write', grant: 'NO_PERMISSIONS' },
  { name: 'matrix-granted-read', scope: 'write', grant: 'READ' },
  { name: 'matrix-granted-use', scope: 'write', grant: 'USE' },
  { name: 'matrix-granted-edit', scope: 'read', grant: 'EDIT' },
  { name: 'matrix-granted-manage', scope: 'read', grant: 'MANAGE' },
];

/** Seeds the resources; holds no grant and is no caller of the matrix. */
const SEEDER: Caller = { name: 'matrix-seeder', scope: 'admin' };
/** Receives the grants the permission endpoints make; sends nothing. */
const GRANTEE_TOKEN: Caller = { name: GRANTEE, scope: 'read' };

export const describeCaller = (caller: Caller) =>
  caller.grant ? `${caller.scope} token granted ${caller.grant}` : `${caller.scope} token, no grant`;

/** What the caller holds on any resource of the matrix: admin MANAGE, else its grant, else its default. */
const levelOf = (caller: Caller): PermissionLevel =>
  caller.scope === 'admin' ? 'MANAGE' : (caller.grant ?? defaultLevel(caller.scope));

/**
 * Routes that keep an 'admin' scope beside their `access` (promotion policies) are refused to every other
 * token whatever its level: the scope is a rule above the model's own holders.
 */
const scopeAllows = (route: Route, caller: Caller) =>
  route.permission !== 'admin' || caller.scope === 'admin';

export function expectedAllowed(route: Route, caller: Caller): boolean {
  const needs = route.access?.needs;
  if (!needs) throw new Error(`${route.routeKey} declares no access`);
  return scopeAllows(route, caller) && levelAllows(levelOf(caller), needs);
}

/** Locators that name the resource only through something else (a run, logged model or trace). */
const INDIRECT: ReadonlySet<string> = new Set(['run_id', 'run_ids', 'model_id', 'trace_id', 'trace_ids']);

/**
 * The refusal names the experiment by id or the registered model by name; for a route that reaches its
 * experiment through a run, logged model or trace, the one the request named will do (a refusal decided
 * without looking it up cannot name the experiment, and the caller knows which run it sent).
 */
function namesResource(route: Route, message: string, request: RouteRequest): boolean {
  const { resource, via } = request;
  const noun = resource.kind === 'experiment' ? 'experiment' : 'registered model';
  if (message.includes(`${noun} '${resource.id}'`)) return true;
  return via !== undefined && INDIRECT.has(route.access?.from ?? '') && message.includes(via);
}

export const GUARDED_ROUTES: readonly Route[] = ROUTES.filter((route) => route.access);

/** Guarded routes whose operation has no request builder: each must get one. */
export const UNBUILDABLE_ROUTES: readonly Route[] = GUARDED_ROUTES.filter(
  (route) => !REQUEST_BUILDERS[route.operation],
);

export const BUILDABLE_ROUTES: readonly Route[] = GUARDED_ROUTES.filter(
  (route) => REQUEST_BUILDERS[route.operation],
);

/** Searches that leave out what the caller may not read (`filters`) and are not guarded themselves. */
export const FILTERED_ROUTES: readonly Route[] = ROUTES.filter((route) => route.filters && !route.access);

export const UNSEARCHABLE_ROUTES: readonly Route[] = FILTERED_ROUTES.filter(
  (route) => !SEARCH_BUILDERS[route.operation],
);

export interface SearchOutcome {
  caller: Caller;
  request: RouteRequest & Pick<SearchRequest, 'sees' | 'names'>;
  response: SentResponse;
}

/** Requests in flight at once: the machine is small and shared. */
const CONCURRENCY = 6;

export interface Outcome {
  caller: Caller;
  request: RouteRequest;
  response: SentResponse;
  /** What the request changed, by the builder's `unchanged` probe read after every request answered. */
  changed?: string;
  /** Whether the builder had a probe to read. */
  probed?: boolean;
}

/**
 * Runs every (route, caller) request on the server at `url`, whose data directory is `dataDir` (tokens
 * and grants are written through the endpoint it publishes). Answers the outcomes by route key.
 */
export async function runMatrix(
  url: string,
  dataDir: string,
): Promise<{ outcomes: Map<string, Outcome[]>; searches: Map<string, SearchOutcome[]> }> {
  let store: OpenTokenStore | undefined;
  try {
    store = await openLocalTokenStore(dataDir);
    const tokens = new Map<string, string>();
    for (const caller of [...CALLERS, SEEDER, GRANTEE_TOKEN]) {
      tokens.set(
        caller.name,
        (await issueToken(store.tokens, { name: caller.name, scope: caller.scope })).token,
      );
    }
    const world = new World(url, tokens.get(SEEDER.name) as string, 'm');

    const cases = BUILDABLE_ROUTES.flatMap((route) => CALLERS.map((caller) => ({ route, caller })));
    const built = await mapWithLimit(cases, CONCURRENCY, async ({ route, caller }, index) => ({
      route,
      caller,
      request: await buildRequest(world, route, index),
    }));
    const searchCases = FILTERED_ROUTES.filter((route) => SEARCH_BUILDERS[route.operation]).flatMap((route) =>
      CALLERS.map((caller) => ({ route, caller })),
    );
    const searchesBuilt = await mapWithLimit(searchCases, CONCURRENCY, async ({ route, caller }) => ({
      route,
      caller,
      request: await buildSearch(world, route),
    }));

    const grants = new DynamoPermissionRepository(createDocumentClient(store.client), store.tableName);
    const resources: MatrixResource[] = [
      ...world.experiments.map((id) => ({ kind: 'experiment' as const, id })),
      ...world.models.map((id) => ({ kind: 'registered_model' as const, id })),
    ];
    const writes = resources.flatMap((resource) =>
      CALLERS.flatMap((caller) => (caller.grant ? [{ resource, caller, permission: caller.grant }] : [])),
    );
    await mapWithLimit(writes, CONCURRENCY, ({ resource, caller, permission }) =>
      grants.put({ principal: caller.name, kind: resource.kind, resource: resource.id, permission }),
    );
    // No matrix caller has asked yet, so no cache holds its grants; dropped anyway, in case one did.
    invalidateGrants();

    const answered = await mapWithLimit(built, CONCURRENCY, async ({ route, caller, request }) => ({
      route,
      outcome: {
        caller,
        request,
        response: await send(url, tokens.get(caller.name) as string, request),
      } as Outcome,
    }));
    // Once every request has answered: a refused write must have left its target as it was, and an
    // allowed one must have changed it (or the probe proves nothing).
    await mapWithLimit(answered, CONCURRENCY, async ({ outcome }) => {
      if (!outcome.request.unchanged) return;
      outcome.probed = true;
      const changed = await outcome.request.unchanged();
      if (changed !== undefined) outcome.changed = changed;
    });
    const outcomes = new Map<string, Outcome[]>();
    for (const { route, outcome } of answered) {
      const list = outcomes.get(route.routeKey) ?? [];
      list.push(outcome);
      outcomes.set(route.routeKey, list);
    }
    const searches = new Map<string, SearchOutcome[]>();
    const searched = await mapWithLimit(searchesBuilt, CONCURRENCY, async ({ route, caller, request }) => ({
      route,
      outcome: { caller, request, response: await send(url, tokens.get(caller.name) as string, request) },
    }));
    for (const { route, outcome } of searched) {
      const list = searches.get(route.routeKey) ?? [];
      list.push(outcome);
      searches.set(route.routeKey, list);
    }
    return { outcomes, searches };
  } finally {
    await store?.close();
  }
}

/** What is wrong with `route`'s outcomes, one line per caller answered against the rules; empty: right. */
export function wrongAnswers(route: Route, outcomes: readonly Outcome[]): string[] {
  const wrong: string[] = [];
  const callers = outcomes.map((outcome) => outcome.caller.name).join(', ');
  if (callers !== CALLERS.map((caller) => caller.name).join(', ')) {
    wrong.push(`callers answered: ${callers || 'none'}`);
  }
  for (const { caller, request, response, changed, probed } of outcomes) {
    const who = describeCaller(caller);
    const message = String(response.body.message ?? '');
    if (expectedAllowed(route, caller)) {
      if (response.status < 200 || response.status > 399) {
        wrong.push(`${who}: expected an answer, got ${response.status} ${response.text.slice(0, 300)}`);
      } else if (probed && changed === undefined) {
        wrong.push(`${who}: allowed, yet the probe saw no change: the builder's probe proves nothing`);
      }
    } else if (response.status !== 403 || response.body.error_code !== 'PERMISSION_DENIED') {
      wrong.push(
        `${who}: expected 403 PERMISSION_DENIED, got ${response.status} ${response.text.slice(0, 300)}`,
      );
    } else if (changed !== undefined) {
      wrong.push(`${who}: refused, yet the request changed its target: ${changed}`);
    } else if (scopeAllows(route, caller) && !namesResource(route, message, request)) {
      // Refused for its level on the resource (not for its scope): the message says which resource.
      wrong.push(
        `${who}: the refusal does not name ${request.resource.kind} '${request.resource.id}': ${message}`,
      );
    }
  }
  return wrong;
}

/**
 * What is wrong with a filtered search's outcomes: a caller that may read the resource finds its item; one
 * that may not (NO_PERMISSIONS) is refused with 403 naming it when the search names its experiment, and
 * otherwise answered without it (never an error, never the item).
 */
export function wrongSearchAnswers(outcomes: readonly SearchOutcome[]): string[] {
  const wrong: string[] = [];
  if (outcomes.length !== CALLERS.length) wrong.push(`${outcomes.length} callers answered`);
  for (const { caller, request, response } of outcomes) {
    const who = describeCaller(caller);
    const reads = levelAllows(levelOf(caller), 'READ');
    const got = `${response.status} ${response.text.slice(0, 300)}`;
    if (reads || !request.names) {
      if (response.status !== 200) wrong.push(`${who}: expected 200, got ${got}`);
      else if (request.sees(response.body) !== reads) {
        wrong.push(`${who}: ${reads ? 'does not find' : 'finds'} ${request.resource.id}: ${got}`);
      }
    } else if (response.status !== 403 || response.body.error_code !== 'PERMISSION_DENIED') {
      wrong.push(`${who}: expected 403 PERMISSION_DENIED, got ${got}`);
    } else if (!String(response.body.message).includes(`'${request.resource.id}'`)) {
      wrong.push(`${who}: the refusal does not name '${request.resource.id}': ${got}`);
    }
  }
  return wrong;
}

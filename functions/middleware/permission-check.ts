/**
 * The per-resource check (issue 16), run by every function before the operation, after the scope check
 * (./authorize.ts):
 *
 * 1. The caller's grants: one strongly consistent Query per principal, cached per container for
 *    PERMISSION_CACHE_TTL_SECONDS (shared/auth/permission-cache.ts). This is the check's one extra
 *    DynamoDB read, and most requests make none (the cache answers).
 * 2. `decideWithoutResource`: most callers hold no grant that changes the answer for the route's kind, and
 *    are allowed or refused without knowing the resource (no read at all).
 * 3. Otherwise the resource is resolved (./resource-resolution.ts): experiment ids and model names are read
 *    from the request; a run, logged model or trace is looked up for its experiment. That read is the
 *    check's own, not shared with the operation's (the domain services read the run again); a run's
 *    experiment never changes, so the answer is kept per container and the read happens once per run
 *    per container. Worst case for a request: the grants Query and one owner read (a batch for lists).
 *
 * A refusal is 403 PERMISSION_DENIED naming the token, its level on the resource, the route and the level
 * it needs. With auth off (the local server without --auth) there is no caller and nothing is checked.
 */
import type { ApiRequest } from '../../shared/api/request.js';
import type { ResourceLocator, Route } from '../../shared/api/route-kit.js';
import {
  type GrantSource,
  PERMISSION_CACHE_TTL_SECONDS,
  PermissionCache,
  registerPermissionCache,
} from '../../shared/auth/permission-cache.js';
import {
  CallerPermissions,
  defaultLevel,
  describeResource,
  KIND_LABEL,
  levelAllows,
  type PermissionLevel,
  type ResourceKind,
} from '../../shared/auth/permissions.js';
import type { AuthorizerContext } from '../../shared/auth/scopes.js';
import { PermissionDeniedError } from '../../shared/errors.js';
import {
  LOOKUP_FOR,
  namedIds,
  type ResourceLookups,
  requireNamed,
  resolveResources,
} from './resource-resolution.js';

export type { ResourceLookups } from './resource-resolution.js';

/** What a function's handler needs to check permissions: where grants come from, and its lookups. */
export interface PermissionCheckOptions {
  grants: GrantSource;
  lookups: ResourceLookups;
}

/**
 * The container's grant cache over `source`. `CAIRN_PERMISSION_CACHE_TTL_MS` shortens the TTL for the
 * local server's tests (startLocalServer's `auth.permissionCacheTtlMs`); deployed functions keep the
 * default, which the README documents.
 */
export function grantCache(source: GrantSource, env: NodeJS.ProcessEnv = process.env): PermissionCache {
  const raw = env.CAIRN_PERMISSION_CACHE_TTL_MS;
  const ttlMs = raw === undefined || raw === '' ? PERMISSION_CACHE_TTL_SECONDS * 1000 : Number(raw);
  if (!Number.isInteger(ttlMs) || ttlMs < 0 || ttlMs > PERMISSION_CACHE_TTL_SECONDS * 1000) {
    throw new Error(
      `CAIRN_PERMISSION_CACHE_TTL_MS must be a whole number of milliseconds from 0 to ${PERMISSION_CACHE_TTL_SECONDS * 1000}, not '${raw}'`,
    );
  }
  return registerPermissionCache(new PermissionCache(source, ttlMs));
}

/**
 * Throws unless `lookups` can resolve every locator the routes declare: a function must not be deployed
 * with a route whose check cannot find its resource (the same rule as a route without an operation).
 */
export function assertLookupsCover(routes: readonly Route[], lookups: ResourceLookups): void {
  const lacking = routes.filter((route) => {
    const lookup = route.access ? LOOKUP_FOR[route.access.from] : undefined;
    return lookup !== undefined && lookups[lookup] === undefined;
  });
  if (lacking.length > 0) {
    throw new Error(
      `No lookup for the resource of routes: ${lacking
        .map((route) => `${route.routeKey} (${route.access?.from})`)
        .join(', ')}`,
    );
  }
}

/** The caller's permissions, from its cached grants. */
export async function callerPermissions(
  grants: GrantSource,
  caller: AuthorizerContext,
): Promise<CallerPermissions> {
  return new CallerPermissions(caller.principal, caller.scope, await grants.grantsOf(caller.principal));
}

function refusal(
  caller: CallerPermissions,
  held: string,
  target: string,
  request: ApiRequest,
  needs: PermissionLevel,
): PermissionDeniedError {
  return new PermissionDeniedError(
    `Permission denied: token '${caller.principal}' holds ${held} on ${target}; ${request.routeKey} needs ${needs}.`,
  );
}

/**
 * The refusal when every resource of the kind answers no: the resource itself is not looked up for it, so
 * the message names what the request named (the experiment, or the run whose experiment it is).
 */
function refusalUnresolved(
  caller: CallerPermissions,
  kind: ResourceKind,
  from: ResourceLocator,
  request: ApiRequest,
  needs: PermissionLevel,
): PermissionDeniedError {
  const named = namedIds(from, request);
  const first = named.ids[0];
  if (first === undefined) {
    return refusal(caller, defaultLevel(caller.scope), `every ${KIND_LABEL[kind]}`, request, needs);
  }
  if (named.direct) {
    const target = describeResource(kind, first);
    return refusal(caller, caller.levelOn(kind, first), target, request, needs);
  }
  const held = `at most ${defaultLevel(caller.scope)} (scope '${caller.scope}', no grant above it)`;
  const target =
    from === 'experiment_name'
      ? `the ${KIND_LABEL[kind]} named '${first}'`
      : `the ${KIND_LABEL[kind]} of ${named.noun} '${first}'`;
  return refusal(caller, held, target, request, needs);
}

/** Throws PERMISSION_DENIED unless the request's caller holds what `route.access` needs. */
export async function checkAccess(
  route: Route,
  request: ApiRequest,
  lookups: ResourceLookups,
): Promise<void> {
  const { caller } = request;
  if (!caller || !route.access) return;
  const { kind, from, needs } = route.access;
  const decision = caller.decideWithoutResource(kind, needs);
  if (decision === 'allow') return;
  // A caller no resource of this kind would let through is refused whatever the request names (the
  // scope's 403, as before per-resource grants existed).
  if (decision === 'deny') throw refusalUnresolved(caller, kind, from, request, needs);
  // A caller whose answer depends on the resource, on a request that names none where the operation needs
  // one: the operation's own 400 (not a 403 about "every experiment" for a field left out).
  if (route.access.orElse === undefined) requireNamed(from, request);
  let resolved = await resolveResources(from, request, lookups);
  if (resolved.length === 0 && route.access.orElse !== undefined) {
    resolved = [{ resource: route.access.orElse, via: 'the one used when the request names none' }];
  }
  if (resolved.length === 0 && namedIds(from, request).ids.length === 0) {
    // The request names no resource (the operation refuses it, or acts where the request cannot say): a
    // grant elsewhere must not let it through an empty loop, so the scope decides. Ids that are named but
    // not placed (malformed: the operation's own 400; unknown in a list: left out) touch nothing.
    if (levelAllows(defaultLevel(caller.scope), needs)) return;
    throw refusalUnresolved(caller, kind, from, request, needs);
  }
  for (const { resource, via } of resolved) {
    const held = caller.levelOn(kind, resource);
    if (!levelAllows(held, needs)) {
      const target = `${describeResource(kind, resource)}${via ? ` (${via})` : ''}`;
      throw refusal(caller, held, target, request, needs);
    }
  }
}

/**
 * For operations that touch a second resource beyond their route's (registering a version from a run
 * needs READ on the run's experiment too): throws PERMISSION_DENIED unless the caller holds `level` on
 * it. Nothing to check without a caller (auth off).
 */
export function requireLevel(
  request: ApiRequest,
  kind: ResourceKind,
  resource: string,
  level: PermissionLevel,
): void {
  const { caller } = request;
  if (!caller) return;
  const held = caller.levelOn(kind, resource);
  if (!levelAllows(held, level)) {
    throw refusal(caller, held, describeResource(kind, resource), request, level);
  }
}

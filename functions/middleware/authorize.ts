/**
 * Authorization in every function (default deny): the route table names the scope each route needs, and
 * the principal API Gateway's authorizer attached to the event (`requestContext.authorizer.lambda`) must
 * hold it. The authorizer only says who is calling; this says what they may do, per route.
 *
 * `CAIRN_AUTH=off` turns the check off; only the local server sets it, in its own process, when started
 * without `--auth` (and then it listens on loopback only). Any other value, or none, enforces the check:
 * a deployed function without an authorizer in front of it refuses everything but public routes.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Route } from '../../shared/api/routes.js';
import { type AuthorizerContext, isScope, scopeAllows } from '../../shared/auth/scopes.js';
import { PermissionDeniedError, UnauthenticatedError } from '../../shared/errors.js';

/** The principal of a request, when an authorizer vouched for one with a known scope. */
export function principalOf(event: APIGatewayProxyEventV2): AuthorizerContext | undefined {
  const context = (event.requestContext as { authorizer?: { lambda?: Record<string, unknown> } }).authorizer
    ?.lambda;
  const principal = context?.principal;
  const scope = context?.scope;
  if (typeof principal !== 'string' || principal === '' || !isScope(scope)) return undefined;
  return { principal, scope };
}

/** Whether requests are checked at all (CAIRN_AUTH=off: the local server without --auth). */
export function authEnforced(env: NodeJS.ProcessEnv = process.env): boolean {
  // Read per request, not at load: tests run servers with and without auth in one process.
  return env.CAIRN_AUTH !== 'off';
}

/**
 * Throws UNAUTHENTICATED (401) or PERMISSION_DENIED (403) unless the request may use `route`.
 *
 * A route that declares `access` (issue 16) is decided by the caller's level on its resource
 * (./permission-check.ts), not here: the scope is only the default level, which a grant may raise (a
 * read token granted EDIT on one experiment logs to it) or lower. Such a route still needs a caller, and
 * an 'admin' route keeps its scope requirement on top (promotion policies: admin, and MANAGE declared).
 */
export function authorize(
  route: Route,
  event: APIGatewayProxyEventV2,
  env: NodeJS.ProcessEnv = process.env,
): AuthorizerContext | undefined {
  if (route.permission === 'public') return principalOf(event);
  if (!authEnforced(env)) return principalOf(event);
  const caller = principalOf(event);
  if (!caller) throw new UnauthenticatedError();
  if (route.access && route.permission !== 'admin') return caller;
  if (!scopeAllows(caller.scope, route.permission)) {
    throw new PermissionDeniedError(
      `Token '${caller.principal}' has scope '${caller.scope}'; ${route.routeKey} needs '${route.permission}'.`,
    );
  }
  return caller;
}

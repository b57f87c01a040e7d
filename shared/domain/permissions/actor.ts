/**
 * Who is acting on a permission endpoint: the caller's permissions as the request-time check attached them
 * (`request.caller`), else built here from the caller's grants, else nobody (auth off: unrestricted).
 * The fallback keeps these endpoints from ever treating an authenticated caller as unrestricted, whatever
 * the check in front of them attached; it is one strongly consistent Query, only on such a request.
 */
import type { ApiRequest } from '../../api/request.js';
import type { GrantSource } from '../../auth/permission-cache.js';
import { CallerPermissions } from '../../auth/permissions.js';
import type { Actor } from './service.js';

export async function actorOf(
  request: Pick<ApiRequest, 'caller' | 'principal' | 'scope'>,
  grants: GrantSource,
): Promise<Actor> {
  if (request.caller) return request.caller;
  if (request.principal === undefined || request.scope === undefined) return undefined;
  return new CallerPermissions(request.principal, request.scope, await grants.grantsOf(request.principal));
}

/**
 * What a token may do. Scopes nest (admin ⊇ write ⊇ read); a route's `permission` in the route table is
 * the least scope it needs, and `public` routes need none. Anything unknown is refused (default deny).
 */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * What a caller must hold for a route (the route table's `permission`). `public` needs no token (the health
 * probe, the web UI's page and assets, which a browser loads before it holds one). Default deny: there is
 * no "none".
 */
export type Permission = 'public' | Scope;

const RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Whether a holder of `held` may use a route that needs `needed`. */
export function scopeAllows(held: Scope, needed: Permission): boolean {
  if (needed === 'public') return true;
  if (!isScope(held) || !isScope(needed)) return false;
  return RANK[held] >= RANK[needed];
}

/**
 * How long API Gateway (and the local server with `--auth`) caches an authorizer's answer per
 * `Authorization` value: a revoked or expired token keeps working for at most this long. 300 s is API
 * Gateway's default; the authorizer then runs about once per 5 minutes per token in steady use.
 */
export const AUTHORIZER_CACHE_TTL_SECONDS = 300;

/**
 * `lastUsed` is written at most once per this interval per token (a conditional UpdateItem), so a busy
 * token costs one write a minute at most, not one per authorizer call.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** What the authorizer hands the functions in `requestContext.authorizer.lambda` (the agreed contract). */
export interface AuthorizerContext {
  principal: string;
  scope: Scope;
}

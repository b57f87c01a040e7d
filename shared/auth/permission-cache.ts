/**
 * A principal's grants, cached per container for PERMISSION_CACHE_TTL_SECONDS: the permission check then
 * costs at most one DynamoDB Query per principal per TTL per container (most requests: none). A grant or
 * revoke made through this container is seen at once here; other containers see it within the TTL, the
 * same trade the authorizer's cache makes for tokens (documented beside it in the README).
 */
import type { Grant } from './permissions.js';

export const PERMISSION_CACHE_TTL_SECONDS = 30;

export interface GrantSource {
  grantsOf(principal: string): Promise<Grant[]>;
}

export class PermissionCache {
  private readonly entries = new Map<string, { at: number; grants: Promise<Grant[]> }>();

  constructor(
    private readonly source: GrantSource,
    private readonly ttlMs = PERMISSION_CACHE_TTL_SECONDS * 1000,
    private readonly now: () => number = Date.now,
    /** Principals kept at most; the oldest goes first (a container serves few principals). */
    private readonly capacity = 1000,
  ) {}

  grantsOf(principal: string): Promise<Grant[]> {
    const at = this.now();
    const cached = this.entries.get(principal);
    if (cached && at - cached.at < this.ttlMs) return cached.grants;
    const grants = this.source.grantsOf(principal);
    // A failed read is not kept: the next request tries again.
    grants.catch(() => {
      if (this.entries.get(principal)?.grants === grants) this.entries.delete(principal);
    });
    this.entries.delete(principal);
    this.entries.set(principal, { at, grants });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return grants;
  }

  /** Forgets a principal's grants (after this container changed them). */
  invalidate(principal?: string): void {
    if (principal === undefined) this.entries.clear();
    else this.entries.delete(principal);
  }
}

/**
 * Every cache in this process: the local server runs all functions in one process, so a grant made through
 * one function's endpoint reaches the check in another at once. On AWS each container has its own.
 */
const CACHES = new Set<PermissionCache>();

export function registerPermissionCache(cache: PermissionCache): PermissionCache {
  CACHES.add(cache);
  return cache;
}

/** Forgets a principal's grants in every cache of this process (after a grant changed). */
export function invalidateGrants(principal?: string): void {
  for (const cache of CACHES) cache.invalidate(principal);
}

/** The per-container cache of a principal's grants: one read per principal per TTL, failures not kept, invalidation. */
import { describe, expect, it } from 'vitest';
import {
  invalidateGrants,
  PermissionCache,
  registerPermissionCache,
} from '../../../shared/auth/permission-cache.js';
import type { Grant } from '../../../shared/auth/permissions.js';

function source(fail = false) {
  const reads: string[] = [];
  return {
    reads,
    async grantsOf(principal: string): Promise<Grant[]> {
      reads.push(principal);
      if (fail) throw new Error('throttled');
      return [{ principal, kind: 'experiment', resource: String(reads.length), permission: 'READ' }];
    },
  };
}

describe('PermissionCache', () => {
  it('reads a principal once per TTL, and again after it', async () => {
    let now = 0;
    const grants = source();
    const cache = new PermissionCache(grants, 30_000, () => now);
    await cache.grantsOf('bob');
    await cache.grantsOf('bob');
    now = 29_999;
    await cache.grantsOf('bob');
    expect(grants.reads).toEqual(['bob']);
    now = 30_000;
    const fresh = await cache.grantsOf('bob');
    expect(grants.reads).toEqual(['bob', 'bob']);
    expect(fresh[0]?.resource).toBe('2');
  });

  it('shares one read between concurrent requests', async () => {
    const grants = source();
    const cache = new PermissionCache(grants, 30_000, () => 0);
    await Promise.all([cache.grantsOf('bob'), cache.grantsOf('bob'), cache.grantsOf('eve')]);
    expect(grants.reads.sort()).toEqual(['bob', 'eve']);
  });

  it('does not keep a failed read', async () => {
    const grants = source(true);
    const cache = new PermissionCache(grants, 30_000, () => 0);
    await expect(cache.grantsOf('bob')).rejects.toThrow('throttled');
    await expect(cache.grantsOf('bob')).rejects.toThrow('throttled');
    expect(grants.reads).toEqual(['bob', 'bob']);
  });

  it('keeps at most its capacity, dropping the oldest principal', async () => {
    const grants = source();
    const cache = new PermissionCache(grants, 30_000, () => 0, 2);
    await cache.grantsOf('a');
    await cache.grantsOf('b');
    await cache.grantsOf('c');
    await cache.grantsOf('b');
    await cache.grantsOf('a');
    expect(grants.reads).toEqual(['a', 'b', 'c', 'a']);
  });

  it('forgets a principal in every registered cache of the process', async () => {
    const first = source();
    const second = source();
    const one = registerPermissionCache(new PermissionCache(first, 30_000, () => 0));
    const two = registerPermissionCache(new PermissionCache(second, 30_000, () => 0));
    await Promise.all([one.grantsOf('bob'), two.grantsOf('bob'), one.grantsOf('eve')]);
    invalidateGrants('bob');
    await Promise.all([one.grantsOf('bob'), two.grantsOf('bob'), one.grantsOf('eve')]);
    expect(first.reads).toEqual(['bob', 'eve', 'bob']);
    expect(second.reads).toEqual(['bob', 'bob']);
  });
});

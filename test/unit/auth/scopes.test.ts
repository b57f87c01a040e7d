import { describe, expect, it } from 'vitest';
import type { Permission } from '../../../shared/api/routes.js';
import { isScope, SCOPES, type Scope, scopeAllows } from '../../../shared/auth/scopes.js';

describe('scope lattice', () => {
  const expected: Record<Scope, Record<Permission, boolean>> = {
    read: { public: true, read: true, write: false, admin: false },
    write: { public: true, read: true, write: true, admin: false },
    admin: { public: true, read: true, write: true, admin: true },
  };

  it.each(SCOPES)('%s holds exactly what it nests', (held) => {
    for (const needed of ['public', 'read', 'write', 'admin'] as Permission[]) {
      expect(scopeAllows(held, needed), `${held} on ${needed}`).toBe(expected[held][needed]);
    }
  });

  it('refuses what it does not know (default deny)', () => {
    expect(scopeAllows('owner' as Scope, 'read')).toBe(false);
    expect(scopeAllows('admin', 'none' as Permission)).toBe(false);
    expect(isScope('READ')).toBe(false);
    expect(isScope('toString')).toBe(false);
    expect(isScope(undefined)).toBe(false);
  });
});

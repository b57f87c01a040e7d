/** The permission model (issue 16): levels, defaults per scope, grants up and down, and decisions before the resource is known. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CallerPermissions,
  defaultLevel,
  type Grant,
  isPermissionLevel,
  levelAllows,
  PERMISSION_LEVELS,
  type PermissionLevel,
  RESOURCE_KINDS,
  type ResourceKind,
} from '../../../shared/auth/permissions.js';
import { SCOPES, type Scope } from '../../../shared/auth/scopes.js';

const grant = (kind: ResourceKind, resource: string, permission: PermissionLevel): Grant => ({
  principal: 'bob',
  kind,
  resource,
  permission,
});

describe('levels', () => {
  it('orders MLflow’s five levels', () => {
    expect(levelAllows('MANAGE', 'EDIT')).toBe(true);
    expect(levelAllows('EDIT', 'MANAGE')).toBe(false);
    expect(levelAllows('USE', 'READ')).toBe(true);
    expect(levelAllows('READ', 'USE')).toBe(false);
    expect(levelAllows('NO_PERMISSIONS', 'READ')).toBe(false);
    expect(levelAllows('NO_PERMISSIONS', 'NO_PERMISSIONS')).toBe(true);
  });

  it('knows only MLflow’s names, case and all', () => {
    for (const level of PERMISSION_LEVELS) expect(isPermissionLevel(level)).toBe(true);
    for (const other of ['read', 'Manage', 'ADMIN', '', 'toString', '__proto__', 3, null]) {
      expect(isPermissionLevel(other)).toBe(false);
    }
  });

  it('gives each scope its default level', () => {
    expect(defaultLevel('read')).toBe('READ');
    expect(defaultLevel('write')).toBe('EDIT');
    expect(defaultLevel('admin')).toBe('MANAGE');
  });
});

describe('CallerPermissions', () => {
  it('uses a grant where there is one and the default elsewhere, down as well as up', () => {
    const caller = new CallerPermissions('bob', 'write', [
      grant('experiment', '1', 'NO_PERMISSIONS'),
      grant('experiment', '2', 'MANAGE'),
      grant('registered_model', '1', 'READ'),
    ]);
    expect(caller.levelOn('experiment', '1')).toBe('NO_PERMISSIONS');
    expect(caller.levelOn('experiment', '2')).toBe('MANAGE');
    expect(caller.levelOn('experiment', '3')).toBe('EDIT');
    // The same string names another resource under another kind.
    expect(caller.levelOn('registered_model', '1')).toBe('READ');
    expect(caller.levelOn('registered_model', '2')).toBe('EDIT');
  });

  it('gives admins MANAGE everywhere, a NO_PERMISSIONS grant notwithstanding, and hides nothing from them', () => {
    const caller = new CallerPermissions('root', 'admin', [grant('experiment', '1', 'NO_PERMISSIONS')]);
    expect(caller.levelOn('experiment', '1')).toBe('MANAGE');
    expect(caller.decideWithoutResource('experiment', 'MANAGE')).toBe('allow');
    expect(caller.hidden('experiment').size).toBe(0);
  });

  it('hides exactly the NO_PERMISSIONS grants of a kind', () => {
    const caller = new CallerPermissions('bob', 'read', [
      grant('experiment', '1', 'NO_PERMISSIONS'),
      grant('experiment', '2', 'READ'),
      grant('registered_model', 'm#1', 'NO_PERMISSIONS'),
    ]);
    expect([...caller.hidden('experiment')]).toEqual(['1']);
    expect([...caller.hidden('registered_model')]).toEqual(['m#1']);
  });

  const arbitraryGrants = fc.array(
    fc.record({
      kind: fc.constantFrom(...RESOURCE_KINDS),
      resource: fc.constantFrom('1', '2', '3', 'a'),
      permission: fc.constantFrom(...PERMISSION_LEVELS),
    }),
    { maxLength: 6 },
  );

  it('decides without the resource only when every resource would give that answer', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Scope>(...SCOPES),
        arbitraryGrants,
        fc.constantFrom(...RESOURCE_KINDS),
        fc.constantFrom(...PERMISSION_LEVELS),
        (scope, grants, kind, needs) => {
          const caller = new CallerPermissions(
            'bob',
            scope,
            grants.map((g) => ({ principal: 'bob', ...g })),
          );
          // Every resource the grants name, and one they do not (which takes the default).
          const resources = [...new Set(grants.map((g) => g.resource)), 'never-granted'];
          const answers = new Set(resources.map((r) => levelAllows(caller.levelOn(kind, r), needs)));
          const decision = caller.decideWithoutResource(kind, needs);
          if (decision === 'allow') expect([...answers]).toEqual([true]);
          if (decision === 'deny') expect([...answers]).toEqual([false]);
          // 'resolve' is only said when the answer really depends on the resource.
          if (decision === 'resolve') expect(answers.size).toBe(2);
        },
      ),
    );
  });
});

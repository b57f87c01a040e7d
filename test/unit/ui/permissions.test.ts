/**
 * The UI's mirror of the permission model (ui/src/lib/permissions.ts): which actions a level allows, held
 * to the server's own levels (shared/auth/permissions.ts) and to the route table's declared needs, so the
 * pages neither offer what the server refuses nor hide what it allows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUTE_SPECS } from '../../../shared/api/routes.js';
import {
  defaultLevel,
  PERMISSION_LEVELS,
  levelAllows as serverLevelAllows,
} from '../../../shared/auth/permissions.js';
import {
  type ActionRule,
  allows,
  asksLevel,
  defaultLevelOf,
  defaultStanding,
  EXPERIMENT_RULES,
  experimentActions,
  grantProblem,
  grantRows,
  LEVELS,
  type Level,
  levelAllows,
  MODEL_RULES,
  modelActions,
  type Scope,
  type Standing,
  standingOf,
} from '../../../ui/src/lib/permissions.js';

const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];
const level = fc.constantFrom(...LEVELS);
const scope = fc.constantFrom(...SCOPES);

const on = (level: Level | undefined, scope: Scope = 'write'): Standing => ({ auth: true, scope, level });

function allowedNames(actions: Record<string, boolean>): string[] {
  return Object.entries(actions)
    .filter(([, allowed]) => allowed)
    .map(([name]) => name)
    .sort();
}

describe('levels', () => {
  it('are the server’s five, in the same order, with the same defaults per scope', () => {
    expect(LEVELS).toEqual(PERMISSION_LEVELS);
    for (const each of SCOPES) expect(defaultLevelOf(each)).toBe(defaultLevel(each));
  });

  it('allow what the server’s levelAllows allows, for every pair', () => {
    fc.assert(
      fc.property(level, level, (held, needed) => {
        expect(levelAllows(held, needed)).toBe(serverLevelAllows(held, needed));
      }),
    );
  });
});

describe('experiment actions by level', () => {
  it('READ, USE and NO_PERMISSIONS change nothing', () => {
    for (const held of ['NO_PERMISSIONS', 'READ', 'USE'] as const) {
      expect(allowedNames(experimentActions(on(held)))).toEqual([]);
    }
  });

  it('EDIT renames, edits tags and the note, deletes and restores runs, but does not delete or grant', () => {
    expect(allowedNames(experimentActions(on('EDIT')))).toEqual([
      'deleteOrRestoreRuns',
      'editTags',
      'rename',
    ]);
  });

  it('MANAGE does everything, the Permissions section included', () => {
    expect(allowedNames(experimentActions(on('MANAGE')))).toEqual(Object.keys(EXPERIMENT_RULES).sort());
  });

  it('offers nothing while the level is still being asked', () => {
    expect(allowedNames(experimentActions(on(undefined, 'admin')))).toEqual([]);
  });
});

describe('registered-model actions by level', () => {
  it('EDIT changes the model and its versions but neither deletes it, grants nor edits policies', () => {
    expect(allowedNames(modelActions(on('EDIT')))).toEqual([
      'editDescription',
      'editTags',
      'rename',
      'setAliases',
      'transition',
    ]);
  });

  it('MANAGE from a grant deletes and grants; policies stay an admin token’s', () => {
    const names = allowedNames(modelActions(on('MANAGE', 'write')));
    expect(names).toContain('delete');
    expect(names).toContain('managePermissions');
    expect(names).not.toContain('editPolicies');
    expect(allowedNames(modelActions(on('MANAGE', 'admin')))).toEqual(Object.keys(MODEL_RULES).sort());
  });

  it('an admin-only action still needs the level it names', () => {
    expect(modelActions(on('READ', 'admin')).editPolicies).toBe(false);
  });
});

describe('a page’s standing from permissions/mine', () => {
  it('is asked only under --auth and only by tokens below admin', () => {
    expect(asksLevel({ scope: 'read' })).toBe(true);
    expect(asksLevel({ scope: 'write', auth: true })).toBe(true);
    expect(asksLevel({ scope: 'admin' })).toBe(false);
    expect(asksLevel({ scope: 'write', auth: false })).toBe(false);
  });

  it('is the server’s answer once there, nothing while pending, the scope’s default when asking failed', () => {
    expect(standingOf({ scope: 'write' }, { level: 'READ', loading: false })).toEqual({
      auth: true,
      scope: 'write',
      level: 'READ',
      source: 'server',
    });
    // A reload keeps the last answer on screen rather than hiding the actions meanwhile.
    expect(standingOf({ scope: 'write' }, { level: 'MANAGE', loading: true }).level).toBe('MANAGE');
    expect(standingOf({ scope: 'write' }, { level: undefined, loading: true })).toMatchObject({
      level: undefined,
      source: 'pending',
    });
    expect(standingOf({ scope: 'read' }, { level: undefined, loading: false })).toMatchObject({
      level: 'READ',
      source: 'scope',
    });
  });

  it('is MANAGE for admins and without --auth, whatever was answered', () => {
    fc.assert(
      fc.property(fc.option(level, { nil: undefined }), fc.boolean(), (answer, loading) => {
        expect(standingOf({ scope: 'admin' }, { level: answer, loading })).toMatchObject({
          auth: true,
          level: 'MANAGE',
        });
        expect(standingOf({ scope: 'read', auth: false }, { level: answer, loading })).toMatchObject({
          auth: false,
          level: 'MANAGE',
          source: 'auth-off',
        });
      }),
    );
  });
});

describe('without --auth', () => {
  it('offers every action, whatever the scope and level (no permissions exist there)', () => {
    fc.assert(
      fc.property(scope, fc.option(level, { nil: undefined }), (each, held) => {
        const standing: Standing = { auth: false, scope: each, level: held };
        expect(Object.values(experimentActions(standing)).every(Boolean)).toBe(true);
        expect(Object.values(modelActions(standing)).every(Boolean)).toBe(true);
      }),
    );
  });
});

describe('a higher level never allows less', () => {
  it('holds for every rule, scope and pair of levels', () => {
    const rules: ActionRule[] = [...Object.values(EXPERIMENT_RULES), ...Object.values(MODEL_RULES)];
    fc.assert(
      fc.property(scope, level, level, (each, a, b) => {
        const [low, high] = levelAllows(a, b) ? [b, a] : [a, b];
        for (const rule of rules) {
          if (allows(on(low, each), rule)) expect(allows(on(high, each), rule)).toBe(true);
        }
      }),
    );
  });
});

describe('list pages (the scope’s default level for every row)', () => {
  it('a read token gets no row action, a write token renames, an admin also deletes and restores', () => {
    expect(allowedNames(experimentActions(defaultStanding({ scope: 'read' })))).toEqual([]);
    const write = experimentActions(defaultStanding({ scope: 'write' }));
    expect([write.rename, write.deleteOrRestore]).toEqual([true, false]);
    const admin = experimentActions(defaultStanding({ scope: 'admin' }));
    expect([admin.rename, admin.deleteOrRestore]).toEqual([true, true]);
    expect(defaultStanding({ scope: 'read', auth: false }).auth).toBe(false);
  });
});

describe('the rules agree with the route table', () => {
  const rules: [string, ActionRule, 'experiment' | 'registered_model'][] = [
    ...Object.entries(EXPERIMENT_RULES).map(
      ([name, rule]) => [`experiment.${name}`, rule, 'experiment'] as [string, ActionRule, 'experiment'],
    ),
    ...Object.entries(MODEL_RULES).map(
      ([name, rule]) =>
        [`model.${name}`, rule, 'registered_model'] as [string, ActionRule, 'registered_model'],
    ),
  ];

  it('names operations the table has (the permission endpoints once they are in it)', () => {
    const known = new Set(ROUTE_SPECS.map((spec) => spec.operation));
    const named = rules.flatMap(([, rule]) => rule.operations);
    const found = named.filter((operation) => known.has(operation));
    // Every operation but the permission endpoints' is served today.
    const missing = named.filter((operation) => !known.has(operation) && !/Permission/.test(operation));
    expect(missing).toEqual([]);
    expect(found.length).toBeGreaterThan(10);
  });

  it('need on the resource what the route declares, and admin-only exactly where the route needs admin', () => {
    for (const [name, rule, kind] of rules) {
      for (const operation of rule.operations) {
        for (const spec of ROUTE_SPECS.filter((each) => each.operation === operation)) {
          const where = `${name} → ${spec.method} ${spec.path}`;
          if (spec.access) {
            expect({ where, kind: spec.access.kind, needs: spec.access.needs }).toEqual({
              where,
              kind,
              needs: rule.needs,
            });
          }
          // An 'admin' route keeps its scope on top of any level it declares (functions/middleware/authorize.ts).
          expect({ where, adminOnly: rule.adminOnly === true }).toEqual({
            where,
            adminOnly: spec.permission === 'admin',
          });
        }
      }
    }
  });
});

describe('grant rows', () => {
  it('take the principal or MLflow’s username, drop unknown levels and sort by user', () => {
    expect(
      grantRows([
        { principal: 'zoe', permission: 'READ' },
        { username: 'ann', permission: 'MANAGE' },
        { principal: 'bob', permission: 'OWNER' },
        { permission: 'EDIT' },
      ]),
    ).toEqual([
      { user: 'ann', level: 'MANAGE' },
      { user: 'zoe', level: 'READ' },
    ]);
    expect(grantRows(undefined)).toEqual([]);
  });

  it('a grant form needs a user and one of the five levels', () => {
    expect(grantProblem('  ', 'READ')).toMatch(/name of a token/);
    expect(grantProblem('ann', 'OWNER')).toMatch(/NO_PERMISSIONS, READ, USE, EDIT, MANAGE/);
    expect(grantProblem('ann', 'NO_PERMISSIONS')).toBeUndefined();
  });
});

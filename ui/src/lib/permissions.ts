/**
 * Which actions the caller's level on an experiment or registered model allows (issue 16), so the pages
 * offer only what the server would accept. The server decides (functions/middleware); this is its mirror,
 * kept beside the route table's operation names so a unit test can hold the two together
 * (test/unit/ui/permissions.test.ts). Pure: no fetch, no DOM.
 */

/** MLflow's five levels, lowest first (mlflow/server/auth/permissions.py; shared/auth/permissions.ts). */
export const LEVELS = ['NO_PERMISSIONS', 'READ', 'USE', 'EDIT', 'MANAGE'] as const;
export type Level = (typeof LEVELS)[number];

export type ResourceKind = 'experiment' | 'registered_model';

export type Scope = 'read' | 'write' | 'admin';

export function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && (LEVELS as readonly string[]).includes(value);
}

export function levelAllows(held: Level, needed: Level): boolean {
  return LEVELS.indexOf(held) >= LEVELS.indexOf(needed);
}

/** A token's level wherever it holds no grant: its scope's (read → READ, write → EDIT, admin → MANAGE). */
export function defaultLevelOf(scope: Scope): Level {
  return scope === 'admin' ? 'MANAGE' : scope === 'write' ? 'EDIT' : 'READ';
}

/**
 * What one action needs: a level on the resource, or (`adminOnly`) an admin token whatever the level, for
 * the routes the table still guards by scope alone. `operations` are the route table's names of the calls
 * the action makes.
 */
export interface ActionRule {
  needs: Level;
  adminOnly?: boolean;
  operations: readonly string[];
}

/**
 * Experiment actions. Deleting or restoring the experiment is MLflow's `can_delete` (MANAGE); everything
 * that writes into it (rename, tags, the note, deleting or restoring its runs) is EDIT.
 */
export const EXPERIMENT_RULES = {
  rename: { needs: 'EDIT', operations: ['updateExperiment'] },
  deleteOrRestore: { needs: 'MANAGE', operations: ['deleteExperiment', 'restoreExperiment'] },
  editTags: { needs: 'EDIT', operations: ['setExperimentTag', 'deleteExperimentTag'] },
  deleteOrRestoreRuns: { needs: 'EDIT', operations: ['deleteRun', 'restoreRun'] },
  managePermissions: {
    needs: 'MANAGE',
    operations: [
      'createExperimentPermission',
      'updateExperimentPermission',
      'deleteExperimentPermission',
      'listResourcePermissions',
    ],
  },
} as const satisfies Record<string, ActionRule>;

/**
 * Registered-model actions (MLflow keys them by the model's name). Renaming is an update (EDIT); deleting
 * the model is `can_delete` (MANAGE). Promotion policies are Cairn's own and, for now, admin only on the
 * server (routes-registry.ts), so the page offers them to admins only.
 */
export const MODEL_RULES = {
  rename: { needs: 'EDIT', operations: ['renameRegisteredModel'] },
  delete: { needs: 'MANAGE', operations: ['deleteRegisteredModel'] },
  editDescription: { needs: 'EDIT', operations: ['updateRegisteredModel', 'updateModelVersion'] },
  editTags: {
    needs: 'EDIT',
    operations: [
      'setRegisteredModelTag',
      'deleteRegisteredModelTag',
      'setModelVersionTag',
      'deleteModelVersionTag',
    ],
  },
  setAliases: { needs: 'EDIT', operations: ['setRegisteredModelAlias', 'deleteRegisteredModelAlias'] },
  transition: { needs: 'EDIT', operations: ['transitionModelVersionStage'] },
  editPolicies: {
    needs: 'MANAGE',
    adminOnly: true,
    operations: ['setPromotionPolicy', 'deletePromotionPolicy'],
  },
  managePermissions: {
    needs: 'MANAGE',
    operations: [
      'createRegisteredModelPermission',
      'updateRegisteredModelPermission',
      'deleteRegisteredModelPermission',
      'listResourcePermissions',
    ],
  },
} as const satisfies Record<string, ActionRule>;

export type ExperimentAction = keyof typeof EXPERIMENT_RULES;
export type ModelAction = keyof typeof MODEL_RULES;

/**
 * What the page knows of the caller on one resource. `auth: false` is the local server without `--auth`:
 * no principals, so no permissions either; everything is offered as before issue 16.
 */
export interface Standing {
  auth: boolean;
  scope: Scope;
  /** Undefined while it is being asked: nothing beyond reading is offered until it is known. */
  level: Level | undefined;
}

/**
 * The standing a list page assumes for every row: the scope's default level. A list does not ask the
 * level of each row (one request per row is the fan-out issue 16 rules out); a grant that lowers it shows
 * on the resource's own page, and the server refuses what it does not allow.
 */
export function defaultStanding(who: { auth?: boolean; scope: Scope }): Standing {
  return { auth: who.auth !== false, scope: who.scope, level: defaultLevelOf(who.scope) };
}

/** Where a page's standing came from: the server's answer, or the scope's default when it could not ask. */
export type StandingSource = 'server' | 'scope' | 'pending' | 'auth-off';

/** Whether a page asks the server for the caller's level: not without `--auth`, not for admins (MANAGE). */
export function asksLevel(who: { auth?: boolean; scope: Scope }): boolean {
  return who.auth !== false && who.scope !== 'admin';
}

/**
 * The standing from what the server answered so far. A failed question (an older server without
 * permissions/mine) falls back to the scope's default level, what the UI offered before issue 16; the
 * server still refuses what the caller may not do.
 */
export function standingOf(
  who: { auth?: boolean; scope: Scope },
  asked: { level: Level | undefined; loading: boolean },
): Standing & { source: StandingSource } {
  const { scope } = who;
  if (who.auth === false) return { auth: false, scope, level: 'MANAGE', source: 'auth-off' };
  if (scope === 'admin') return { auth: true, scope, level: 'MANAGE', source: 'server' };
  if (asked.level !== undefined) return { auth: true, scope, level: asked.level, source: 'server' };
  if (asked.loading) return { auth: true, scope, level: undefined, source: 'pending' };
  return { auth: true, scope, level: defaultLevelOf(scope), source: 'scope' };
}

export function allows(standing: Standing, rule: ActionRule): boolean {
  if (!standing.auth) return true;
  if (rule.adminOnly && standing.scope !== 'admin') return false;
  return standing.level !== undefined && levelAllows(standing.level, rule.needs);
}

/** Every experiment action, allowed or not, for one standing. */
export function experimentActions(standing: Standing): Record<ExperimentAction, boolean> {
  return mapRules(EXPERIMENT_RULES, standing);
}

export function modelActions(standing: Standing): Record<ModelAction, boolean> {
  return mapRules(MODEL_RULES, standing);
}

function mapRules<K extends string>(rules: Record<K, ActionRule>, standing: Standing): Record<K, boolean> {
  const result = {} as Record<K, boolean>;
  for (const key of Object.keys(rules) as K[]) result[key] = allows(standing, rules[key]);
  return result;
}

/** What the level badge says about a level, for its tooltip. */
export function levelMeaning(level: Level): string {
  switch (level) {
    case 'NO_PERMISSIONS':
      return 'No access';
    case 'READ':
      return 'Can read';
    case 'USE':
      return 'Can read and use';
    case 'EDIT':
      return 'Can read and change';
    case 'MANAGE':
      return 'Can read, change, delete and grant permissions';
  }
}

/** One grant as the permissions list answers it; `principal` or MLflow's `username` names the token. */
export interface GrantJson {
  principal?: string;
  username?: string;
  permission?: string;
}

export interface GrantRow {
  user: string;
  level: Level;
}

/**
 * The list endpoint's grants as rows, by user name; a grant whose level this UI does not know (a newer
 * server) is left out rather than shown as a level it is not.
 */
export function grantRows(grants: readonly GrantJson[] | undefined): GrantRow[] {
  const rows: GrantRow[] = [];
  for (const grant of grants ?? []) {
    const user = grant.principal ?? grant.username;
    if (user === undefined || user === '' || !isLevel(grant.permission)) continue;
    rows.push({ user, level: grant.permission });
  }
  return rows.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

/**
 * A grant form's input checked before it is sent: a user name and a level. Whether the user exists is
 * the server's answer (a 404 shown in place).
 */
export function grantProblem(user: string, level: string): string | undefined {
  if (user.trim() === '') return 'Give the name of a token (its user name).';
  if (!isLevel(level)) return `Choose a level: ${LEVELS.join(', ')}.`;
  return undefined;
}

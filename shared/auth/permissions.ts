/**
 * Per-resource permissions (issue 16), MLflow's model (`mlflow/server/auth/permissions.py`): five levels on
 * experiments and registered models. A token's scope is its default level everywhere (read → READ, write →
 * EDIT, admin → MANAGE); a grant for one principal on one resource replaces that default there, up or down.
 * Admin tokens hold MANAGE on everything whatever their grants say (MLflow's admins bypass every check).
 *
 * Pure logic, no I/O: the grants come from shared/store/permissions (cached per container,
 * ./permission-cache.ts) and the route table says which resource and level each route needs.
 */
import type { Scope } from './scopes.js';

export const PERMISSION_LEVELS = ['NO_PERMISSIONS', 'READ', 'USE', 'EDIT', 'MANAGE'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

/** The resources a grant can name; MLflow's scorer and gateway resources are GenAI platform (not served). */
export const RESOURCE_KINDS = ['experiment', 'registered_model'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** How a kind is named in messages. */
export const KIND_LABEL: Record<ResourceKind, string> = {
  experiment: 'experiment',
  registered_model: 'registered model',
};

/** How a resource is named in messages: `experiment '3'`, `registered model 'fraud'`. */
export function describeResource(kind: ResourceKind, resource: string): string {
  return `${KIND_LABEL[kind]} '${resource}'`;
}

const RANK: Record<PermissionLevel, number> = { NO_PERMISSIONS: 0, READ: 1, USE: 2, EDIT: 3, MANAGE: 4 };

export function isPermissionLevel(value: unknown): value is PermissionLevel {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Whether holding `held` is enough for something that needs `needed`. */
export function levelAllows(held: PermissionLevel, needed: PermissionLevel): boolean {
  return RANK[held] >= RANK[needed];
}

const DEFAULT_LEVEL: Record<Scope, PermissionLevel> = { read: 'READ', write: 'EDIT', admin: 'MANAGE' };

/** A token's level on every resource it holds no grant for. */
export function defaultLevel(scope: Scope): PermissionLevel {
  return DEFAULT_LEVEL[scope];
}

/** One grant: `principal` (a token's name) holds `permission` on one experiment or registered model. */
export interface Grant {
  principal: string;
  kind: ResourceKind;
  /** An experiment's id or a registered model's name (MLflow keys model permissions by name). */
  resource: string;
  permission: PermissionLevel;
  /** Epoch milliseconds of the last change. */
  updated?: number;
}

/**
 * What one caller may do, built once per request from its grants: the level on any resource, and what a
 * decision can tell without knowing the resource (most requests: a route needing EDIT from a write token
 * that holds no grant below EDIT on that kind is allowed before its run is even looked up).
 */
export class CallerPermissions {
  private readonly levels = new Map<string, PermissionLevel>();
  /** Per kind: the lowest and highest level any grant of that kind gives. */
  private readonly lowest = new Map<ResourceKind, PermissionLevel>();
  private readonly highest = new Map<ResourceKind, PermissionLevel>();

  constructor(
    readonly principal: string,
    readonly scope: Scope,
    grants: readonly Grant[],
  ) {
    for (const grant of grants) this.levels.set(slot(grant.kind, grant.resource), grant.permission);
    // From the map, not the list: a later grant on the same resource replaces an earlier one.
    for (const [key, level] of this.levels) {
      const kind = key.slice(0, key.indexOf('#')) as ResourceKind;
      const low = this.lowest.get(kind);
      if (low === undefined || RANK[level] < RANK[low]) this.lowest.set(kind, level);
      const high = this.highest.get(kind);
      if (high === undefined || RANK[level] > RANK[high]) this.highest.set(kind, level);
    }
  }

  get isAdmin(): boolean {
    return this.scope === 'admin';
  }

  /** The caller's level on one resource: admin → MANAGE, else its grant there, else its scope's default. */
  levelOn(kind: ResourceKind, resource: string): PermissionLevel {
    if (this.isAdmin) return 'MANAGE';
    return this.levels.get(slot(kind, resource)) ?? defaultLevel(this.scope);
  }

  /**
   * The decision when the resource is not known yet: `allow` or `deny` when every resource of `kind`
   * gives the same answer for this caller, `resolve` when a grant makes the answer depend on which one.
   */
  decideWithoutResource(kind: ResourceKind, needs: PermissionLevel): 'allow' | 'deny' | 'resolve' {
    if (this.isAdmin) return 'allow';
    const byDefault = levelAllows(defaultLevel(this.scope), needs);
    const low = this.lowest.get(kind);
    const high = this.highest.get(kind);
    if (byDefault && (low === undefined || levelAllows(low, needs))) return 'allow';
    if (!byDefault && (high === undefined || !levelAllows(high, needs))) return 'deny';
    return 'resolve';
  }

  /**
   * Resources of `kind` the caller may not read, for searches to leave out before they page. Defaults never
   * hide (every scope reads), so this is exactly the caller's NO_PERMISSIONS grants.
   */
  hidden(kind: ResourceKind): ReadonlySet<string> {
    const hidden = new Set<string>();
    if (this.isAdmin) return hidden;
    const prefix = `${kind}#`;
    for (const [key, level] of this.levels) {
      if (key.startsWith(prefix) && !levelAllows(level, 'READ')) hidden.add(key.slice(prefix.length));
    }
    return hidden;
  }
}

function slot(kind: ResourceKind, resource: string): string {
  return `${kind}#${resource}`;
}

/**
 * Granting and revoking per-resource permissions (issue 16): the one set of rules behind MLflow's
 * permission endpoints, Cairn's permission reads and `cairn permission`. Who may change grants on a
 * resource (MANAGE there; admins everywhere), which levels exist, that the principal and the resource exist
 * before anything is written, and MLflow's messages for each refusal.
 *
 * The `actor` of each call is the caller's permissions, or undefined for an unrestricted one: the local
 * server without --auth, and an operator's `cairn permission` (who holds the table itself).
 */
import {
  type CallerPermissions,
  defaultLevel,
  describeResource,
  type Grant,
  isPermissionLevel,
  KIND_LABEL,
  levelAllows,
  PERMISSION_LEVELS,
  type PermissionLevel,
  RESOURCE_KINDS,
  type ResourceKind,
} from '../../auth/permissions.js';
import { SCOPES, type Scope } from '../../auth/scopes.js';

import {
  InvalidParameterValueError,
  PermissionDeniedError,
  ResourceAlreadyExistsError,
  ResourceDoesNotExistError,
} from '../../errors.js';
import {
  GrantExistsError,
  GrantNotFoundError,
  MAX_RESOURCE_BYTES,
  type PermissionRepository,
} from '../../store/permissions/repository.js';
import { parseExperimentId } from '../ids.js';

/** An unrestricted actor: nobody authenticated (local, no --auth) or an operator's CLI. */
export type Actor = CallerPermissions | undefined;

/** One grant as a request names it: a principal on one resource. */
export interface GrantRef {
  kind: ResourceKind;
  resource: string;
  principal: string;
}

export interface PermissionServiceDeps {
  grants: PermissionRepository;
  /**
   * The scope of the token of that name, undefined when there is none (a grant names a principal, never
   * a guess; and an admin token's grant would do nothing).
   */
  principalScope(name: string): Promise<Scope | undefined>;
  /**
   * Per kind: the resource's key for grants (an experiment's id, a registered model's stored name), or
   * undefined when there is no such resource. May throw INVALID_PARAMETER_VALUE for a malformed id.
   */
  resources: Partial<Record<ResourceKind, (raw: string) => Promise<string | undefined>>>;
  /** After a grant changed: forget the principal's cached grants (shared/auth/permission-cache.ts). */
  changed(principal: string): void;
}

function isResourceKind(value: unknown): value is ResourceKind {
  return typeof value === 'string' && (RESOURCE_KINDS as readonly string[]).includes(value);
}

/** A `kind` field: one of RESOURCE_KINDS, else INVALID_PARAMETER_VALUE naming it. */
export function parseResourceKind(field: string, value: string): ResourceKind {
  if (!isResourceKind(value)) {
    throw new InvalidParameterValueError(
      `Invalid value '${value}' for parameter '${field}': use one of ${RESOURCE_KINDS.join(', ')}.`,
    );
  }
  return value;
}

/**
 * A resource as grants key it: an experiment id in its canonical decimal form (`07` is experiment 7, as
 * every experiment endpoint reads it; a malformed id is INVALID_PARAMETER_VALUE), a model name as given.
 */
export function resourceKey(kind: ResourceKind, raw: string, field = 'experiment_id'): string {
  return kind === 'experiment' ? parseExperimentId(field, raw) : raw;
}

/** A permission name, as MLflow validates it (`_validate_permission`): exact, upper case. */
export function parsePermission(value: string): PermissionLevel {
  if (!isPermissionLevel(value)) {
    throw new InvalidParameterValueError(
      `Invalid permission '${value}'. Valid permissions are: ${PERMISSION_LEVELS.join(', ')}.`,
    );
  }
  return value;
}

/** MLflow's message for a grant that is not there (its SqlAlchemyStore's wording, per kind). */
function grantNotFound({ kind, resource, principal }: GrantRef): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(
    kind === 'experiment'
      ? `Experiment permission with experiment_id=${resource} and username=${principal} not found`
      : `Registered model permission with name=${resource} and username=${principal} not found`,
  );
}

function grantExists({ kind, resource, principal }: GrantRef): ResourceAlreadyExistsError {
  return new ResourceAlreadyExistsError(
    kind === 'experiment'
      ? `Experiment permission (experiment_id=${resource}, username=${principal}) already exists.`
      : `Registered model permission (name=${resource}, username=${principal}) already exists.`,
  );
}

function resourceNotFound(kind: ResourceKind, resource: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(
    kind === 'experiment'
      ? `No Experiment with id=${resource} exists`
      : `Registered Model with name=${resource} not found`,
  );
}

/** The levels every token holds where it has no grant, by scope (README's table says the same). */
export const SCOPE_DEFAULTS: Readonly<Record<(typeof SCOPES)[number], PermissionLevel>> = Object.freeze(
  Object.fromEntries(SCOPES.map((scope) => [scope, defaultLevel(scope)])) as Record<
    (typeof SCOPES)[number],
    PermissionLevel
  >,
);

export class PermissionService {
  constructor(private readonly deps: PermissionServiceDeps) {}

  /**
   * The actor's level on a resource; an unrestricted actor holds MANAGE everywhere. A resource that does
   * not exist is RESOURCE_DOES_NOT_EXIST: a level on nothing (the scope default) would tell the UI it may
   * act there.
   */
  async levelOf(actor: Actor, kind: ResourceKind, raw: string): Promise<PermissionLevel> {
    const resource = resourceKey(kind, raw, 'resource');
    if ((await this.resolve(kind, resource)) === undefined) throw resourceNotFound(kind, resource);
    return actor ? actor.levelOn(kind, resource) : 'MANAGE';
  }

  /**
   * PERMISSION_DENIED unless the actor holds MANAGE on the resource (MLflow's `can_manage`), checked
   * before anything else is looked at: a refusal tells nothing about the resource or the principal.
   */
  requireManage(actor: Actor, kind: ResourceKind, resource: string): void {
    if (!actor || levelAllows(actor.levelOn(kind, resource), 'MANAGE')) return;
    throw new PermissionDeniedError(
      `Token '${actor.principal}' holds ${actor.levelOn(kind, resource)} on ${describeResource(kind, resource)}; changing or reading its permissions needs MANAGE.`,
    );
  }

  /** MLflow's create: the grant must not exist yet (RESOURCE_ALREADY_EXISTS). */
  async create(actor: Actor, given: GrantRef, permission: string): Promise<Grant> {
    const ref = keyed(given);
    this.requireManage(actor, ref.kind, ref.resource);
    const grant = await this.validated(ref, permission);
    try {
      await this.deps.grants.create(grant);
    } catch (error) {
      if (error instanceof GrantExistsError) throw grantExists(grant);
      throw error;
    }
    this.deps.changed(grant.principal);
    return grant;
  }

  /**
   * Adds or replaces a grant (`cairn permission grant`): the same checks as create, without its refusal
   * of an existing grant.
   */
  async put(actor: Actor, given: GrantRef, permission: string): Promise<Grant> {
    const ref = keyed(given);
    this.requireManage(actor, ref.kind, ref.resource);
    const grant = await this.validated(ref, permission);
    await this.deps.grants.put(grant);
    this.deps.changed(grant.principal);
    return grant;
  }

  /**
   * MLflow's get. Neither the principal nor the resource needs to exist any more: a grant left by a revoked
   * token or a purged experiment can still be read, changed and removed.
   */
  async get(actor: Actor, given: GrantRef): Promise<Grant> {
    const ref = keyed(given);
    this.requireManage(actor, ref.kind, ref.resource);
    const grant = await this.deps.grants.get(ref.principal, ref.kind, ref.resource);
    if (!grant) throw grantNotFound(ref);
    return grant;
  }

  /** MLflow's update: the grant must exist (RESOURCE_DOES_NOT_EXIST). */
  async update(actor: Actor, given: GrantRef, permission: string): Promise<Grant> {
    const ref = keyed(given);
    this.requireManage(actor, ref.kind, ref.resource);
    const level = parsePermission(permission);
    if ((await this.deps.principalScope(ref.principal)) === 'admin') throw adminGrant(ref.principal);
    const grant: Grant = { ...ref, permission: level };
    try {
      await this.deps.grants.update(grant);
    } catch (error) {
      if (error instanceof GrantNotFoundError) throw grantNotFound(ref);
      throw error;
    }
    this.deps.changed(ref.principal);
    return grant;
  }

  /** MLflow's delete: the grant must exist (RESOURCE_DOES_NOT_EXIST). */
  async delete(actor: Actor, given: GrantRef): Promise<void> {
    const ref = keyed(given);
    this.requireManage(actor, ref.kind, ref.resource);
    try {
      await this.deps.grants.delete(ref.principal, ref.kind, ref.resource);
    } catch (error) {
      if (error instanceof GrantNotFoundError) throw grantNotFound(ref);
      throw error;
    }
    this.deps.changed(ref.principal);
  }

  /**
   * Every grant on one resource, by principal (the UI's permissions panel, `cairn permission list`). A
   * resource that no longer exists is still listed while grants remain on it, so they can be removed.
   */
  async grantsOn(actor: Actor, kind: ResourceKind, raw: string): Promise<Grant[]> {
    const resource = resourceKey(kind, raw, 'resource');
    this.requireManage(actor, kind, resource);
    const grants = await this.deps.grants.grantsOn(kind, resource);
    if (grants.length === 0 && (await this.resolve(kind, resource)) === undefined) {
      throw resourceNotFound(kind, resource);
    }
    return grants.sort((a, b) => compare(a.principal, b.principal));
  }

  /** Every grant one principal holds (`cairn permission list --user`; operators only). */
  async grantsOf(principal: string): Promise<Grant[]> {
    const grants = await this.deps.grants.grantsOf(principal);
    if (grants.length === 0 && (await this.deps.principalScope(principal)) === undefined) {
      throw principalNotFound(principal);
    }
    return grants.sort((a, b) => compare(a.kind, b.kind) || compare(a.resource, b.resource));
  }

  private resolve(kind: ResourceKind, resource: string): Promise<string | undefined> {
    const find = this.deps.resources[kind];
    // A wiring mistake (a function serving a kind it cannot look up), never the caller's.
    if (!find) throw new Error(`This permission service cannot look up ${KIND_LABEL[kind]}s.`);
    return find(resource);
  }

  /**
   * The grant a create or put would write, after every check that can refuse it, in MLflow's order (the
   * permission name, then the user), then the resource: nothing is written unless all pass.
   */
  private async validated(ref: GrantRef, permission: string): Promise<Grant> {
    const level = parsePermission(permission);
    if (ref.principal === '') {
      throw new InvalidParameterValueError("Missing value for required parameter 'username'.");
    }
    const scope = await this.deps.principalScope(ref.principal);
    if (scope === undefined) throw principalNotFound(ref.principal);
    if (scope === 'admin') throw adminGrant(ref.principal);
    const resource = await this.resolve(ref.kind, ref.resource);
    if (resource === undefined) throw resourceNotFound(ref.kind, ref.resource);
    if (Buffer.byteLength(resource) > MAX_RESOURCE_BYTES) {
      throw new InvalidParameterValueError(
        `The ${KIND_LABEL[ref.kind]} name is ${Buffer.byteLength(resource)} bytes; a permission can name at most ${MAX_RESOURCE_BYTES}.`,
      );
    }
    return { principal: ref.principal, kind: ref.kind, resource, permission: level };
  }
}

/** MLflow's wording (`User with username=... not found`), and what a user is here. */
function principalNotFound(name: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(
    `User with username=${name} not found: no API token has that name (a token's name is its user name).`,
  );
}

/** An admin token holds MANAGE everywhere whatever a grant says: its grant would be accepted and ignored. */
function adminGrant(name: string): InvalidParameterValueError {
  return new InvalidParameterValueError(
    `Invalid value '${name}' for parameter 'username': '${name}' is an admin token, which holds MANAGE on every resource whatever a grant says; grant to a read or write token instead.`,
  );
}

function keyed(ref: GrantRef): GrantRef {
  return { ...ref, resource: resourceKey(ref.kind, ref.resource) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

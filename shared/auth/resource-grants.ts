/**
 * Grants follow the resources they name (issue 16): a creator gets MANAGE on what it creates, a renamed
 * registered model keeps its grants under its new name, a deleted registered model and a purged
 * experiment lose theirs. (A deleted experiment keeps them: it can be restored, and its id is never
 * reused. A registered model's name can be, which is why MLflow drops a deleted model's grants.)
 *
 * No transactions (design decision 5): each step is a single-item write that can be repeated, ordered so
 * that a step left undone never gives anyone more than they held:
 * - a grant on a name no resource holds is stale (the permission endpoints refuse unknown resources, so
 *   only an interrupted rename or delete leaves one); whoever takes the name next clears them first
 *   (`clearStale`), before its own grant is written;
 * - a rename copies the grants to the new name before the resource answers to it, then removes them from
 *   the old one.
 *
 * Listings of a resource's grants come from the grant store's index, which is eventually consistent: a
 * grant made in the same second as a rename or delete can be missed (it then stays on the old name, where
 * the next resource of that name clears it).
 */
import { invalidateGrants } from './permission-cache.js';
import type { Grant, ResourceKind } from './permissions.js';

/** The grant store, as far as bookkeeping needs it (shared/store/permissions/repository.ts). */
export interface GrantStore {
  put(grant: Grant): Promise<void>;
  get(principal: string, kind: ResourceKind, resource: string): Promise<Grant | undefined>;
  delete(principal: string, kind: ResourceKind, resource: string): Promise<void>;
  grantsOn(kind: ResourceKind, resource: string): Promise<Grant[]>;
}

/** What the domain services call; NO_RESOURCE_GRANTS where grants are not kept (unit tests, import). */
export interface ResourceGrants {
  /** MANAGE for `principal` on a resource it just created. */
  grantCreator(principal: string, kind: ResourceKind, resource: string): Promise<void>;
  /** Removes `principal`'s grant on the resource, if any (a create that did not happen). */
  revoke(principal: string, kind: ResourceKind, resource: string): Promise<void>;
  /** Whether `principal` holds any grant on the resource (consistent read). */
  holdsGrant(principal: string, kind: ResourceKind, resource: string): Promise<boolean>;
  /** Removes grants left on a resource name that no resource held until now. */
  clearStale(kind: ResourceKind, resource: string): Promise<void>;
  /**
   * Copies every grant on `from` to `to` (a rename, before the resource answers to `to`); grants already
   * on `to` are stale and go. `drop(from)` once the rename is done completes the move.
   */
  copy(kind: ResourceKind, from: string, to: string): Promise<void>;
  /**
   * Removes every grant on the resource (it is gone, or has another name now). Services call it after the
   * change itself and carry on if it fails: answering an error for a change that happened would make the
   * client's retry fail on the missing resource. What it leaves is stale and cleared by `clearStale`/`copy`.
   */
  drop(kind: ResourceKind, resource: string): Promise<void>;
}

export const NO_RESOURCE_GRANTS: ResourceGrants = {
  grantCreator: async () => {},
  revoke: async () => {},
  holdsGrant: async () => false,
  clearStale: async () => {},
  copy: async () => {},
  drop: async () => {},
};

export class StoredResourceGrants implements ResourceGrants {
  constructor(
    private readonly store: GrantStore,
    /** Forgets a principal's cached grants in this process once they changed. */
    private readonly invalidate: (principal: string) => void = invalidateGrants,
    /** Told of a drop that failed: the services carry on (see drop), so the log is where it shows. */
    private readonly warn: (message: string, details: Record<string, unknown>) => void = () => {},
  ) {}

  async grantCreator(principal: string, kind: ResourceKind, resource: string): Promise<void> {
    await this.store.put({ principal, kind, resource, permission: 'MANAGE' });
    this.invalidate(principal);
  }

  async revoke(principal: string, kind: ResourceKind, resource: string): Promise<void> {
    await this.removeAll([{ principal, kind, resource, permission: 'MANAGE' }]);
  }

  async holdsGrant(principal: string, kind: ResourceKind, resource: string): Promise<boolean> {
    return (await this.store.get(principal, kind, resource)) !== undefined;
  }

  async clearStale(kind: ResourceKind, resource: string): Promise<void> {
    await this.removeAll(await this.store.grantsOn(kind, resource));
  }

  async copy(kind: ResourceKind, from: string, to: string): Promise<void> {
    const moving = await this.store.grantsOn(kind, from);
    const movingPrincipals = new Set(moving.map((grant) => grant.principal));
    // Stale grants on the new name first: none of them may survive beside the copied ones.
    await this.removeAll(
      (await this.store.grantsOn(kind, to)).filter((grant) => !movingPrincipals.has(grant.principal)),
    );
    for (const grant of moving) {
      await this.store.put({ principal: grant.principal, kind, resource: to, permission: grant.permission });
      this.invalidate(grant.principal);
    }
  }

  async drop(kind: ResourceKind, resource: string): Promise<void> {
    try {
      await this.removeAll(await this.store.grantsOn(kind, resource));
    } catch (error) {
      this.warn('grants of a resource that is gone were not all removed', {
        kind,
        resource,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  private async removeAll(grants: readonly Grant[]): Promise<void> {
    for (const grant of grants) {
      try {
        await this.store.delete(grant.principal, grant.kind, grant.resource);
      } catch (error) {
        // Gone already (a repeated step, or the index listed it late): what was wanted.
        if (!(error instanceof Error && error.name === 'GrantNotFoundError')) throw error;
      }
      this.invalidate(grant.principal);
    }
  }
}

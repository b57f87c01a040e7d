/**
 * Grants (issue 16): one item per (principal, resource).
 *
 * | Item / access                  | Where | Key                                                        |
 * |--------------------------------|-------|------------------------------------------------------------|
 * | A principal's grants           | table | pk = `PERM#<principal>`, sk = `<kind>#<resource>`          |
 * | Who holds grants on a resource | gsi1  | gsi1pk = `PERMON#<kind>#<resource>`, gsi1sk = `<principal>` |
 *
 * The permission check reads a principal's whole partition with one strongly consistent Query (cached per
 * container, shared/auth/permission-cache.ts); a principal holds few grants, so it is one page. The index
 * serves listings for a resource (MANAGE holders, the CLI, renames and deletes): eventually consistent,
 * never on the check's path.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  type Grant,
  isPermissionLevel,
  type PermissionLevel,
  RESOURCE_KINDS,
  type ResourceKind,
} from '../../auth/permissions.js';
import { queryAll } from '../doc-commands.js';
import { isConditionFailure } from '../items.js';
import { keys } from '../keys.js';

const RESOURCE_PREFIX = 'PERMON#';

/**
 * A sort key holds at most 1,024 bytes; the kind and '#' take up to 17. Longer resource names (registered
 * models may be named freely) are refused when granted rather than truncated into a collision.
 */
export const MAX_RESOURCE_BYTES = 1000;

export const permissionKey = (principal: string, kind: ResourceKind, resource: string) => ({
  pk: keys.grantPartition(principal),
  sk: `${kind}#${resource}`,
});

export class GrantExistsError extends Error {
  constructor(readonly grant: Pick<Grant, 'principal' | 'kind' | 'resource'>) {
    super(`'${grant.principal}' already holds a permission on ${describe(grant)}.`);
    this.name = 'GrantExistsError';
  }
}

export class GrantNotFoundError extends Error {
  constructor(readonly grant: Pick<Grant, 'principal' | 'kind' | 'resource'>) {
    super(`'${grant.principal}' holds no permission on ${describe(grant)}.`);
    this.name = 'GrantNotFoundError';
  }
}

function describe(grant: Pick<Grant, 'kind' | 'resource'>): string {
  return grant.kind === 'experiment'
    ? `experiment '${grant.resource}'`
    : `registered model '${grant.resource}'`;
}

export interface PermissionRepository {
  /** Every grant `principal` holds, strongly consistent (the check's one read). */
  grantsOf(principal: string): Promise<Grant[]>;
  get(principal: string, kind: ResourceKind, resource: string): Promise<Grant | undefined>;
  /** Adds a grant; GrantExistsError when the principal already holds one there (MLflow's create). */
  create(grant: Grant): Promise<void>;
  /** Changes a grant; GrantNotFoundError when there is none (MLflow's update). */
  update(grant: Grant): Promise<void>;
  /** Adds or replaces (the creator's MANAGE, the CLI's grant). */
  put(grant: Grant): Promise<void>;
  /** Removes a grant; GrantNotFoundError when there is none (MLflow's delete). */
  delete(principal: string, kind: ResourceKind, resource: string): Promise<void>;
  /** Every grant on one resource (eventually consistent). */
  grantsOn(kind: ResourceKind, resource: string): Promise<Grant[]>;
}

interface GrantItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  principal: string;
  kind: string;
  resource: string;
  permission: string;
  updated?: number;
}

function toItem(grant: Grant, now: number): GrantItem {
  return {
    ...permissionKey(grant.principal, grant.kind, grant.resource),
    gsi1pk: `${RESOURCE_PREFIX}${grant.kind}#${grant.resource}`,
    gsi1sk: grant.principal,
    principal: grant.principal,
    kind: grant.kind,
    resource: grant.resource,
    permission: grant.permission,
    updated: grant.updated ?? now,
  };
}

/** An item as a grant, or undefined when it is not one this build understands (never trusted blindly). */
function fromItem(item: Record<string, unknown>): Grant | undefined {
  const { principal, kind, resource, permission, updated } = item;
  if (typeof principal !== 'string' || typeof resource !== 'string') return undefined;
  if (!(RESOURCE_KINDS as readonly unknown[]).includes(kind) || !isPermissionLevel(permission))
    return undefined;
  return {
    principal,
    kind: kind as ResourceKind,
    resource,
    permission: permission as PermissionLevel,
    ...(typeof updated === 'number' ? { updated } : {}),
  };
}

export class DynamoPermissionRepository implements PermissionRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async grantsOf(principal: string): Promise<Grant[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.grantPartition(principal) },
      ConsistentRead: true,
    });
    return items.map(fromItem).filter((grant): grant is Grant => grant !== undefined);
  }

  async get(principal: string, kind: ResourceKind, resource: string): Promise<Grant | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: permissionKey(principal, kind, resource),
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async create(grant: Grant): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(grant, this.clock()),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new GrantExistsError(grant);
      throw error;
    }
  }

  async update(grant: Grant): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(grant, this.clock()),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new GrantNotFoundError(grant);
      throw error;
    }
  }

  async put(grant: Grant): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: toItem(grant, this.clock()) }));
  }

  async delete(principal: string, kind: ResourceKind, resource: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: permissionKey(principal, kind, resource),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new GrantNotFoundError({ principal, kind, resource });
      throw error;
    }
  }

  async grantsOn(kind: ResourceKind, resource: string): Promise<Grant[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': `${RESOURCE_PREFIX}${kind}#${resource}` },
    });
    return items.map(fromItem).filter((grant): grant is Grant => grant !== undefined);
  }
}

/**
 * `cairn policy migrate`: moves promotion policies and audit entries that builds before the id-keyed
 * layout stored under the registered model's NAME (pk `POLICY#<name>`, `PROMOTIONS#<name>`) to the
 * model's immutable id (keys.promotionPolicy, keys.promotionAudit). Until they are moved the guard
 * refuses the model's promotions (PolicyPromotionGuard), so that an upgrade never leaves a model unguarded.
 *
 * Finding them takes a Scan of the table filtered on the pk prefix. That is acceptable here only because
 * this is an operator command run once after an upgrade, never a request path: the design forbids Scan on
 * request paths, not in maintenance commands.
 */

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { isRegisteredModelId } from '../../domain/ids.js';
import { describeTarget } from '../../domain/promotion/rules.js';
import { isConditionFailure } from '../items.js';
import { keys } from '../keys.js';
import { policyEntity } from './entity.js';

const POLICY_PREFIX = keys.promotionPoliciesPartitionPrefix;
const AUDIT_PREFIX = keys.promotionAuditPartitionPrefix;

/** What a promotion item's pk says: a policy or audit partition, and its suffix (a model id or a name). */
export function promotionPartition(pk: string): { kind: 'policy' | 'audit'; suffix: string } | undefined {
  if (pk.startsWith(POLICY_PREFIX)) return { kind: 'policy', suffix: pk.slice(POLICY_PREFIX.length) };
  if (pk.startsWith(AUDIT_PREFIX)) return { kind: 'audit', suffix: pk.slice(AUDIT_PREFIX.length) };
  return undefined;
}

/** What the migration needs of the registry (DynamoRegistryRepository fits). */
export interface ModelResolver {
  getModel(modelId: string): Promise<{ modelId: string; name: string } | undefined>;
  getModelByName(name: string): Promise<{ modelId: string; name: string } | undefined>;
}

/** Where a partition's suffix leads. */
export type SuffixResolution =
  | { kind: 'id' }
  | { kind: 'name'; modelId: string; modelName: string }
  | { kind: 'orphan' };

/**
 * An id-keyed partition stays as it is; a name that resolves through the name claim moves to its model's
 * id; any other name is an orphan (its model was deleted). The id is checked first: a model named after
 * another model's id must never take that model's policies. An id-shaped suffix that names no model is
 * left alone too (the id-keyed policies or audit trail of a deleted model, not an earlier build's).
 */
export async function resolveSuffix(suffix: string, models: ModelResolver): Promise<SuffixResolution> {
  if (await models.getModel(suffix)) return { kind: 'id' };
  const model = await models.getModelByName(suffix);
  if (model) return { kind: 'name', modelId: model.modelId, modelName: model.name };
  return isRegisteredModelId(suffix) ? { kind: 'id' } : { kind: 'orphan' };
}

export interface PolicyConflict {
  modelName: string;
  target: string;
  /** The name-keyed policy's condition, dropped. */
  legacyCondition: string;
  /** The id-keyed policy's condition, kept. */
  keptCondition: string;
}

export interface MigrationReport {
  dryRun: boolean;
  policies: number;
  auditEntries: number;
  /** Name-keyed items whose name resolves to no model. */
  orphaned: number;
  orphanedNames: string[];
  conflicts: PolicyConflict[];
}

type Item = Record<string, unknown> & { pk: string; sk: string };

/** Every item in a promotion partition (pk `POLICY#...` or `PROMOTIONS#...`), by Scan (see above). */
async function scanPromotionItems(doc: DynamoDBDocumentClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(pk, :policy) OR begins_with(pk, :audit)',
        ExpressionAttributeValues: { ':policy': POLICY_PREFIX, ':audit': AUDIT_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

export async function migrateLegacyPromotions(
  doc: DynamoDBDocumentClient,
  tableName: string,
  models: ModelResolver,
  options: { dryRun: boolean },
): Promise<MigrationReport> {
  const report: MigrationReport = {
    dryRun: options.dryRun,
    policies: 0,
    auditEntries: 0,
    orphaned: 0,
    orphanedNames: [],
    conflicts: [],
  };
  const items = await scanPromotionItems(doc, tableName);
  const resolved = new Map<string, SuffixResolution>();
  // Policies first: once a model has one under its id, the guard judges by it.
  const ordered = [...items].sort(
    (a, b) => Number(a.pk.startsWith(AUDIT_PREFIX)) - Number(b.pk.startsWith(AUDIT_PREFIX)),
  );
  for (const item of ordered) {
    const partition = promotionPartition(item.pk);
    if (!partition) continue;
    let resolution = resolved.get(partition.suffix);
    if (!resolution) {
      resolution = await resolveSuffix(partition.suffix, models);
      resolved.set(partition.suffix, resolution);
    }
    if (resolution.kind === 'id') continue;
    if (resolution.kind === 'orphan') {
      report.orphaned++;
      if (!report.orphanedNames.includes(partition.suffix)) report.orphanedNames.push(partition.suffix);
    } else if (partition.kind === 'policy') {
      const { target, condition } = policyEntity.fromItem(item);
      // The item as stored, keys and model moved: attributes this build does not know travel along.
      const moved = {
        ...item,
        ...policyEntity.key(resolution.modelId, target),
        modelId: resolution.modelId,
        modelName: resolution.modelName,
      };
      const kept = await putUnlessPresent(doc, tableName, moved, options.dryRun);
      if (kept) {
        report.conflicts.push({
          modelName: resolution.modelName,
          target: describeTarget(target),
          legacyCondition: condition,
          keptCondition: String(kept.condition),
        });
      } else {
        report.policies++;
      }
    } else {
      // Same sort key: the entry keeps its place in the trail, and a rerun overwrites it with itself.
      const moved = {
        ...item,
        pk: keys.promotionAuditPartition(resolution.modelId),
        modelId: resolution.modelId,
      };
      if (!options.dryRun) await doc.send(new PutCommand({ TableName: tableName, Item: moved }));
      report.auditEntries++;
    }
    if (!options.dryRun) {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk } }));
    }
  }
  return report;
}

/** Writes `item` unless its key holds an item already; returns that item when it does. */
async function putUnlessPresent(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Item,
  dryRun: boolean,
): Promise<Record<string, unknown> | undefined> {
  const existing = async () =>
    (
      await doc.send(
        new GetCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }),
      )
    ).Item;
  if (dryRun) return existing();
  try {
    await doc.send(
      new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return undefined;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return (await existing()) ?? {};
  }
}

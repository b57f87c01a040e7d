/**
 * Promotion policies and their audit trail, under the registered model's immutable id (a rename keeps
 * them; a reused name does not inherit them). A policy is one item per (model, alias or stage), so the
 * guard's lookup on every promotion is one Query of the model's few policies, and set and delete are single idempotent writes. The
 * audit trail is one item per decision under the model's own partition, sorted by time: it never grows
 * an item, and reads newest first a page at a time.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  DecisionPage,
  PromotionDecision,
  PromotionPolicy,
  PromotionRepository,
  PromotionTarget,
} from '../../domain/promotion/model.js';
import { InvalidParameterValueError } from '../../errors.js';
import { queryAll } from '../doc-commands.js';
import { keyConditions, keys } from '../keys.js';
import { AUDIT_SORT_KEY, decisionEntity, policyEntity } from './entity.js';

export class DynamoPromotionRepository implements PromotionRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getPolicy(modelId: string, target: PromotionTarget): Promise<PromotionPolicy | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: policyEntity.key(modelId, target),
        ConsistentRead: true,
      }),
    );
    return Item ? policyEntity.fromItem(Item) : undefined;
  }

  async listPolicies(modelId: string): Promise<PromotionPolicy[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      ...keyConditions.partition(keys.promotionPoliciesPartition(modelId)),
      ConsistentRead: true,
    });
    return items.map(policyEntity.fromItem);
  }

  async hasLegacyPolicies(modelName: string): Promise<boolean> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        // Earlier versions keyed policies by the model's name: keys.promotionPoliciesPartition(name).
        ...keyConditions.partition(keys.promotionPoliciesPartition(modelName)),
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).length > 0;
  }

  async putPolicy(policy: PromotionPolicy): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: policyEntity.toItem(policy) }));
  }

  async deletePolicy(modelId: string, target: PromotionTarget): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: policyEntity.key(modelId, target) }),
    );
  }

  async recordDecision(decision: PromotionDecision): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: decisionEntity.toItem(decision) }));
  }

  async listDecisions(modelId: string, limit: number, after?: string): Promise<DecisionPage> {
    const pk = keys.promotionAuditPartition(modelId);
    const decisions: PromotionDecision[] = [];
    if (after !== undefined && !AUDIT_SORT_KEY.test(after)) {
      throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
    }
    let startKey: Record<string, unknown> | undefined = after === undefined ? undefined : { pk, sk: after };
    // Limit counts items read, and every item is a decision: one Query per page unless DynamoDB's 1 MB
    // page ends it early.
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ...keyConditions.partition(pk),
          ScanIndexForward: false,
          Limit: limit - decisions.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      decisions.push(...(page.Items ?? []).map(decisionEntity.fromItem));
      startKey = page.LastEvaluatedKey;
    } while (startKey && decisions.length < limit);
    const last = startKey ? (startKey.sk as string) : undefined;
    return { decisions, ...(last ? { after: last } : {}) };
  }
}

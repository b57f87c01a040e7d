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
import { keys } from '../keys.js';

interface PolicyItem {
  modelId: string;
  modelName: string;
  kind: 'alias' | 'stage';
  target: string;
  condition: string;
  lastUpdated: number;
}

type DecisionItem = Omit<PromotionDecision, 'target'> & { kind: 'alias' | 'stage'; target: string };

const AUDIT_SK = /^\d{15}#[0-9a-f-]{36}$/;

function toPolicy(item: Record<string, unknown>): PromotionPolicy {
  const { modelId, modelName, kind, target, condition, lastUpdated } = item as unknown as PolicyItem;
  return { modelId, modelName, target: { kind, name: target }, condition, lastUpdated };
}

function toDecision(item: Record<string, unknown>): PromotionDecision {
  const { pk: _pk, sk: _sk, kind, target, ...rest } = item as unknown as DecisionItem & ItemKeys;
  return { ...rest, target: { kind, name: target }, failingClauses: rest.failingClauses ?? [] };
}

interface ItemKeys {
  pk: string;
  sk: string;
}

export class DynamoPromotionRepository implements PromotionRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getPolicy(modelId: string, target: PromotionTarget): Promise<PromotionPolicy | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.promotionPolicy(modelId, target),
        ConsistentRead: true,
      }),
    );
    return Item ? toPolicy(Item) : undefined;
  }

  async listPolicies(modelId: string): Promise<PromotionPolicy[]> {
    const policies: PromotionPolicy[] = [];
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.promotionPoliciesPartition(modelId) },
      ConsistentRead: true,
    });
    policies.push(...items.map(toPolicy));
    return policies;
  }

  async hasLegacyPolicies(modelName: string): Promise<boolean> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        // Earlier versions keyed policies by the model's name: keys.promotionPoliciesPartition(name).
        ExpressionAttributeValues: { ':pk': keys.promotionPoliciesPartition(modelName) },
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).length > 0;
  }

  async putPolicy(policy: PromotionPolicy): Promise<void> {
    const item: PolicyItem & ItemKeys = {
      ...keys.promotionPolicy(policy.modelId, policy.target),
      modelId: policy.modelId,
      modelName: policy.modelName,
      kind: policy.target.kind,
      target: policy.target.name,
      condition: policy.condition,
      lastUpdated: policy.lastUpdated,
    };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async deletePolicy(modelId: string, target: PromotionTarget): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.promotionPolicy(modelId, target) }),
    );
  }

  async recordDecision(decision: PromotionDecision): Promise<void> {
    const { target, ...rest } = decision;
    const item: DecisionItem & ItemKeys = {
      ...keys.promotionAudit(decision.modelId, decision.timestamp, decision.id),
      ...rest,
      kind: target.kind,
      target: target.name,
    };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async listDecisions(modelId: string, limit: number, after?: string): Promise<DecisionPage> {
    const pk = keys.promotionAuditPartition(modelId);
    const decisions: PromotionDecision[] = [];
    if (after !== undefined && !AUDIT_SK.test(after)) {
      throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
    }
    let startKey: Record<string, unknown> | undefined = after === undefined ? undefined : { pk, sk: after };
    // Limit counts items read, and every item is a decision: one Query per page unless DynamoDB's 1 MB
    // page ends it early.
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ScanIndexForward: false,
          Limit: limit - decisions.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      decisions.push(...(page.Items ?? []).map(toDecision));
      startKey = page.LastEvaluatedKey;
    } while (startKey && decisions.length < limit);
    const last = startKey ? (startKey.sk as string) : undefined;
    return { decisions, ...(last ? { after: last } : {}) };
  }
}

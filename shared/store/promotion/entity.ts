/**
 * The promotion items — a policy and an audit entry (one decision) — declared once: the stored shape, the
 * keys (keys.ts) and the mapping to and from the domain's types. Stored attribute names are camelCase
 * (as the first build wrote them) and never change: items written by any earlier build must keep reading.
 * The target is stored flat (`kind`, `target`), so that an item can be read without nested maps.
 */
import type { PromotionDecision, PromotionPolicy, PromotionTarget } from '../../domain/promotion/model.js';
import { type ItemKey, keys } from '../keys.js';

export interface PolicyItem extends ItemKey {
  modelId: string;
  modelName: string;
  kind: PromotionTarget['kind'];
  target: string;
  condition: string;
  lastUpdated: number;
}

export type DecisionItem = ItemKey &
  Omit<PromotionDecision, 'target'> & { kind: PromotionTarget['kind']; target: string };

/** An audit entry's sort key (keys.promotionAudit): zero-padded epoch ms, '#', a UUID. */
export const AUDIT_SORT_KEY = /^\d{15}#[0-9a-f-]{36}$/;

export const policyEntity = {
  key: keys.promotionPolicy,

  toItem(policy: PromotionPolicy): PolicyItem {
    return {
      ...keys.promotionPolicy(policy.modelId, policy.target),
      modelId: policy.modelId,
      modelName: policy.modelName,
      kind: policy.target.kind,
      target: policy.target.name,
      condition: policy.condition,
      lastUpdated: policy.lastUpdated,
    };
  },

  fromItem(item: Record<string, unknown>): PromotionPolicy {
    const { modelId, modelName, kind, target, condition, lastUpdated } = item as unknown as PolicyItem;
    return { modelId, modelName, target: { kind, name: target }, condition, lastUpdated };
  },
} as const;

export const decisionEntity = {
  toItem(decision: PromotionDecision): DecisionItem {
    const { target, ...rest } = decision;
    return {
      ...keys.promotionAudit(decision.modelId, decision.timestamp, decision.id),
      ...rest,
      kind: target.kind,
      target: target.name,
    };
  },

  /** Entries of the first builds may lack `failingClauses`: read as none. */
  fromItem(item: Record<string, unknown>): PromotionDecision {
    const { pk: _pk, sk: _sk, kind, target, ...rest } = item as unknown as DecisionItem;
    return { ...rest, target: { kind, name: target }, failingClauses: rest.failingClauses ?? [] };
  },
} as const;

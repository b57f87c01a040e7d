/**
 * An in-memory PromotionRepository, so that the guard's and the policy service's rules are tested without
 * DynamoDB. It keeps DynamoPromotionRepository's contract: policies by (model id, target), listed aliases
 * first then stages by name; decisions newest first, paged by an opaque position.
 */
import type {
  DecisionPage,
  PromotionDecision,
  PromotionPolicy,
  PromotionRepository,
  PromotionTarget,
} from '../../../shared/domain/promotion/model.js';

const targetKey = (target: PromotionTarget) =>
  `${target.kind === 'alias' ? 'ALIAS' : 'STAGE'}#${target.name}`;

export class MemoryPromotionRepository implements PromotionRepository {
  readonly policies = new Map<string, PromotionPolicy>();
  /** In the order recorded (oldest first). */
  readonly decisions: PromotionDecision[] = [];
  /** Model names with policies stored under the name by an earlier version. */
  readonly legacy = new Set<string>();

  private key = (modelId: string, target: PromotionTarget) => `${modelId}|${targetKey(target)}`;

  async getPolicy(modelId: string, target: PromotionTarget) {
    return this.policies.get(this.key(modelId, target));
  }

  async listPolicies(modelId: string) {
    return [...this.policies.values()]
      .filter((policy) => policy.modelId === modelId)
      .sort((a, b) => (targetKey(a.target) < targetKey(b.target) ? -1 : 1));
  }

  async hasLegacyPolicies(modelName: string) {
    return this.legacy.has(modelName);
  }

  async putPolicy(policy: PromotionPolicy) {
    this.policies.set(this.key(policy.modelId, policy.target), policy);
  }

  async deletePolicy(modelId: string, target: PromotionTarget) {
    this.policies.delete(this.key(modelId, target));
  }

  async recordDecision(decision: PromotionDecision) {
    this.decisions.push(decision);
  }

  /** The position is the index (into the newest-first list) of the next decision. */
  async listDecisions(modelId: string, limit: number, after?: string): Promise<DecisionPage> {
    const newestFirst = this.decisions.filter((decision) => decision.modelId === modelId).reverse();
    const start = after === undefined ? 0 : Number(after);
    const decisions = newestFirst.slice(start, start + limit);
    const next = start + decisions.length;
    return { decisions, ...(next < newestFirst.length ? { after: String(next) } : {}) };
  }
}

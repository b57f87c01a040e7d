/** Adapters for Cairn's promotion-policy endpoints (`/api/2.0/cairn/registered-models/...`). */
import { readOptionalInt, readString } from '../../shared/api/fields.js';
import type { FileDigests, PromotionDecision, PromotionPolicy } from '../../shared/domain/promotion/model.js';
import { parseTarget } from '../../shared/domain/promotion/rules.js';
import type { PromotionPolicyService } from '../../shared/domain/promotion/service.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';

const targetJson = (target: PromotionPolicy['target']) =>
  target.kind === 'alias' ? { alias: target.name } : { stage: target.name };

export function policyJson(policy: PromotionPolicy) {
  return {
    name: policy.modelName,
    ...targetJson(policy.target),
    condition: policy.condition,
    last_updated_timestamp: policy.lastUpdated,
  };
}

/** The version's files when the decision was made (Cairn's audit addition; absent in older entries). */
function filesJson(files: FileDigests) {
  return {
    location: files.location,
    count: files.count,
    total_bytes: files.totalBytes,
    manifest_sha256: files.manifestSha256,
    ...(files.truncated ? { truncated: true } : {}),
    ...(files.changedAfterRegistration ? { changed_after_registration: files.changedAfterRegistration } : {}),
    files: files.files.map((file) => ({
      path: file.path,
      etag: file.etag,
      size: file.size,
      ...(file.lastModified === undefined ? {} : { last_modified: file.lastModified }),
    })),
  };
}

export function decisionJson(decision: PromotionDecision) {
  return {
    id: decision.id,
    name: decision.modelName,
    version: decision.version,
    ...(decision.runId ? { run_id: decision.runId } : {}),
    ...targetJson(decision.target),
    ...(decision.principal ? { principal: decision.principal } : {}),
    timestamp: decision.timestamp,
    outcome: decision.outcome,
    ...(decision.condition ? { condition: decision.condition } : {}),
    failing_clauses: decision.failingClauses,
    ...(decision.files ? { files: filesJson(decision.files) } : {}),
  };
}

const targetOf = (fields: Record<string, unknown>) =>
  parseTarget(readString(fields, 'alias'), readString(fields, 'stage'));

export function promotionOperations(policies: PromotionPolicyService): Operations {
  return {
    async setPromotionPolicy({ fields }) {
      const name = readString(fields, 'name', true);
      const target = targetOf(fields);
      const condition = readString(fields, 'condition', true);
      return jsonResponse({ policy: policyJson(await policies.set(name, target, condition)) });
    },

    async getPromotionPolicies({ fields }) {
      const found = await policies.listWithLegacy(readString(fields, 'name', true));
      return jsonResponse({
        policies: found.policies.map(policyJson),
        // Policies an earlier Cairn stored under the model's name: promotions are refused until migrated.
        ...(found.legacyPoliciesPending ? { legacy_policies_pending: true } : {}),
      });
    },

    async deletePromotionPolicy({ fields }) {
      await policies.delete(readString(fields, 'name', true), targetOf(fields));
      return jsonResponse({});
    },

    async listPromotions({ fields }) {
      const page = await policies.decisions(
        readString(fields, 'name', true),
        readOptionalInt(fields, 'max_results'),
        readString(fields, 'page_token') || undefined,
      );
      return jsonResponse({
        promotions: page.decisions.map(decisionJson),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    },
  };
}

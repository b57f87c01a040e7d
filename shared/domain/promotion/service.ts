/**
 * Guarded promotion: a registered model may carry a policy per alias or stage, a condition in the runs
 * search-filter grammar (`metrics.accuracy >= 0.9 AND tags.data_version = 'v3'`) that a version's source
 * run must meet before the version gets that alias or stage. Every decision, allowed or refused, is
 * recorded in the model's audit trail. The grammar and its semantics are search-runs' own
 * (compileRunFilterClauses): a condition means exactly what the same filter means in runs/search.
 *
 * Policies and decisions belong to the registered model's immutable id, never its name: a rename keeps
 * them (renaming cannot shed a guard), and a new model that reuses a deleted model's name starts clean.
 * The API and the CLI name models by name; the service resolves the name to the id, and answers with the
 * model's current name.
 */
import { randomUUID } from 'node:crypto';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import { stageNamed, validateModelName } from '../registry/rules.js';
import { findByName, validateMaxResults } from '../rules.js';
import { decodePageToken, encodePageToken, queryFingerprint } from '../search/page-token.js';
import type { PromotionGuard, PromotionRequest } from './guard.js';
import type {
  PromotionDecision,
  PromotionPolicy,
  PromotionRepository,
  PromotionTarget,
  RegisteredModelLookup,
  RunLookup,
} from './model.js';
import {
  changedFilesClause,
  compileCondition,
  describeTarget,
  failingClauses,
  LEGACY_PENDING_CLAUSE,
  legacyPoliciesMessage,
  PROMOTION_LIMITS,
  unverifiedSourceClause,
  validateCondition,
} from './rules.js';

/**
 * Whether a model's promotions wait on `cairn policy migrate`: it has no policy under its id, and an
 * earlier version stored some under its name (one Query, made only when `policies` is empty).
 */
async function legacyPending(
  repo: PromotionRepository,
  policies: readonly PromotionPolicy[],
  modelName: string,
): Promise<boolean> {
  return policies.length === 0 && (await repo.hasLegacyPolicies(modelName));
}

/** Decides promotions from the model's policies and records every decision. */
export class PolicyPromotionGuard implements PromotionGuard {
  constructor(
    private readonly repo: PromotionRepository,
    private readonly runs: RunLookup,
    private readonly now: () => number = Date.now,
  ) {}

  async check(request: PromotionRequest): Promise<void> {
    const stage = request.target.kind === 'stage' ? stageNamed(request.target.name) : undefined;
    const target: PromotionTarget = stage ? { kind: 'stage', name: stage } : request.target;
    // One Query for all of the model's policies: no extra read when it has any. With none under its id,
    // one more Query looks for policies an earlier version stored under its name: unmigrated, they would
    // leave the model unguarded, so the promotion is refused until `cairn policy migrate` has run.
    const policies = await this.repo.listPolicies(request.modelId);
    const policy = policies.find((p) => p.target.kind === target.kind && p.target.name === target.name);
    const legacy = await legacyPending(this.repo, policies, request.modelName);
    const failing = legacy
      ? [LEGACY_PENDING_CLAUSE]
      : policy
        ? [
            ...(request.unverified
              ? [unverifiedSourceClause(request.unverified)]
              : await this.evaluate(policy.condition, request.runId)),
            ...changedFilesClause(request.files),
          ]
        : [];
    const decision: PromotionDecision = {
      id: randomUUID(),
      modelId: request.modelId,
      modelName: request.modelName,
      version: request.version,
      ...(request.runId ? { runId: request.runId } : {}),
      target,
      ...(request.principal ? { principal: request.principal } : {}),
      timestamp: this.now(),
      outcome: failing.length === 0 ? 'ALLOWED' : 'REFUSED',
      ...(policy ? { condition: policy.condition } : {}),
      failingClauses: failing,
      ...(request.files ? { files: request.files } : {}),
    };
    // Recorded before answering: a promotion the trail does not show never goes ahead.
    await this.repo.recordDecision(decision);
    if (legacy) throw new InvalidParameterValueError(legacyPoliciesMessage(request.modelName));
    if (failing.length > 0) {
      throw new InvalidParameterValueError(
        `Promotion of model '${request.modelName}' version ${request.version} to ${describeTarget(target)} refused by its promotion policy \`${policy?.condition}\`: ${failing.join('; ')}.`,
      );
    }
  }

  private async evaluate(condition: string, runId: string | undefined): Promise<string[]> {
    const clauses = compileCondition(condition);
    if (!runId) return ['the model version has no source run to check the policy against'];
    const run = await this.runs.get(runId);
    if (!run) return [`the model version's source run ${runId} does not exist`];
    return failingClauses(clauses, run);
  }
}

/** Setting, reading and deleting policies; reading the audit trail. Shared by the API and the CLI. */
export class PromotionPolicyService {
  constructor(
    private readonly repo: PromotionRepository,
    private readonly models: RegisteredModelLookup,
    private readonly now: () => number = Date.now,
  ) {}

  async set(modelName: string, target: PromotionTarget, condition: string): Promise<PromotionPolicy> {
    validateModelName('name', modelName);
    validateCondition(condition);
    const model = await this.requireModel(modelName);
    const policy = {
      modelId: model.modelId,
      modelName: model.name,
      target,
      condition,
      lastUpdated: this.now(),
    };
    await this.repo.putPolicy(policy);
    return policy;
  }

  async list(modelName: string): Promise<PromotionPolicy[]> {
    return (await this.listWithLegacy(modelName)).policies;
  }

  /**
   * The model's policies, and whether policies an earlier version stored under its name await
   * `cairn policy migrate` (checked, with one Query, only when it has none under its id: the guard's rule).
   */
  async listWithLegacy(
    modelName: string,
  ): Promise<{ policies: PromotionPolicy[]; legacyPoliciesPending: boolean }> {
    validateModelName('name', modelName);
    const model = await this.requireModel(modelName);
    const policies = await this.repo.listPolicies(model.modelId);
    const legacyPoliciesPending = await legacyPending(this.repo, policies, model.name);
    return {
      policies: policies.map((policy) => ({ ...policy, modelName: model.name })),
      legacyPoliciesPending,
    };
  }

  async delete(modelName: string, target: PromotionTarget): Promise<void> {
    validateModelName('name', modelName);
    const model = await this.requireModel(modelName);
    await this.repo.deletePolicy(model.modelId, target);
  }

  async decisions(
    modelName: string,
    maxResults: number = PROMOTION_LIMITS.defaultMaxResults,
    pageToken?: string,
  ): Promise<{ decisions: PromotionDecision[]; nextPageToken?: string }> {
    validateModelName('name', modelName);
    validateMaxResults(maxResults, PROMOTION_LIMITS.maxResultsCap);
    const model = await this.requireModel(modelName);
    // By id: a page token stays good across a rename.
    const fingerprint = queryFingerprint({ promotions: model.modelId });
    let after: string | undefined;
    if (pageToken) {
      const [position] = decodePageToken(pageToken, fingerprint);
      if (typeof position !== 'string') {
        throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
      }
      after = position;
    }
    const page = await this.repo.listDecisions(model.modelId, maxResults, after);
    return {
      decisions: page.decisions.map((decision) => ({ ...decision, modelName: model.name })),
      ...(page.after ? { nextPageToken: encodePageToken(fingerprint, [page.after]) } : {}),
    };
  }

  private async requireModel(name: string): Promise<{ modelId: string; name: string }> {
    const model = await findByName(name, (candidate) => this.models.getModelByName(candidate));
    if (!model) throw new ResourceDoesNotExistError(`Registered Model with name=${name} not found`);
    return model;
  }
}

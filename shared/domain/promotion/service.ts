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
import { validateMaxLength, validateMaxResults } from '../rules.js';
import type { Run } from '../runs/model.js';
import { type CompiledRunClause, compileRunFilter, compileRunFilterClauses } from '../runs/search.js';
import { decodePageToken, encodePageToken, queryFingerprint } from '../search/page-token.js';
import type { PromotionGuard, PromotionRequest } from './guard.js';

export type PromotionTarget = PromotionRequest['target'];

export interface PromotionPolicy {
  /** The registered model's id (the key); modelName is its name when read. */
  modelId: string;
  modelName: string;
  target: PromotionTarget;
  condition: string;
  /** Epoch milliseconds. */
  lastUpdated: number;
}

export type PromotionOutcome = 'ALLOWED' | 'REFUSED';

/** One audit entry: what the guard decided, for whom, and why. */
export interface PromotionDecision {
  id: string;
  /** The registered model's id (the key); modelName is its name at the time, its current name when read. */
  modelId: string;
  modelName: string;
  version: string;
  runId?: string;
  target: PromotionTarget;
  principal?: string;
  /** Epoch milliseconds. */
  timestamp: number;
  outcome: PromotionOutcome;
  /** The policy's condition at the time; absent when the target had no policy. */
  condition?: string;
  /** Each failing clause with the run's actual value; empty when allowed. */
  failingClauses: string[];
}

export interface DecisionPage {
  decisions: PromotionDecision[];
  /** The store's opaque position after the last decision, when there may be more. */
  after?: string;
}

/** Every method is keyed by the registered model's id (RegisteredModel.modelId). */
export interface PromotionRepository {
  /** One GetItem. */
  getPolicy(modelId: string, target: PromotionTarget): Promise<PromotionPolicy | undefined>;
  /**
   * Aliases first, then stages, each by name (code point order). The guard calls it on every promotion:
   * one Query of the model's few policies, as cheap as a GetItem, and it tells whether the model has any.
   */
  listPolicies(modelId: string): Promise<PromotionPolicy[]>;
  /**
   * Whether policies stored by an earlier Cairn version under the model's NAME (not its id) remain: one
   * Query with Limit 1. Such policies guard nothing until `cairn policy migrate` moves them.
   */
  hasLegacyPolicies(modelName: string): Promise<boolean>;
  /** Replaces the target's policy (idempotent). */
  putPolicy(policy: PromotionPolicy): Promise<void>;
  /** Removes the target's policy; removing none is not an error (a retried delete succeeds). */
  deletePolicy(modelId: string, target: PromotionTarget): Promise<void>;
  recordDecision(decision: PromotionDecision): Promise<void>;
  /** Newest first. */
  listDecisions(modelId: string, limit: number, after?: string): Promise<DecisionPage>;
}

/** Resolves a registered model's name to its id (the registry repository fits). */
export interface RegisteredModelLookup {
  getModelByName(name: string): Promise<{ modelId: string; name: string } | undefined>;
}

/** What the guard needs of the runs store (DynamoRunRepository fits). */
export interface RunLookup {
  get(runId: string): Promise<Run | undefined>;
}

export const PROMOTION_LIMITS = {
  modelName: 256,
  alias: 255,
  condition: 4000,
  defaultMaxResults: 100,
  maxResultsCap: 1000,
} as const;

/** MLflow's stages, in MLflow's spelling; requests may use any case, as MLflow's transition-stage does. */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;

export function canonicalStage(stage: string): string {
  const found = STAGES.find((name) => name.toLowerCase() === stage.toLowerCase());
  if (found === undefined) {
    throw new InvalidParameterValueError(
      `Invalid value '${stage}' for 'stage': one of ${STAGES.join(', ')} (any case).`,
    );
  }
  return found;
}

/** The target named by exactly one of `alias` and `stage`, validated and canonical. */
export function parseTarget(alias: string | undefined, stage: string | undefined): PromotionTarget {
  if ((alias === undefined || alias === '') === (stage === undefined || stage === '')) {
    throw new InvalidParameterValueError("Give exactly one of 'alias' and 'stage'.");
  }
  if (stage) return { kind: 'stage', name: canonicalStage(stage) };
  const name = alias as string;
  validateMaxLength('alias', name, PROMOTION_LIMITS.alias);
  // MLflow reserves these (mlflow/utils/validation.py): no version could ever carry them.
  if (name.toLowerCase() === 'latest' || /^v\d+$/i.test(name)) {
    throw new InvalidParameterValueError(
      `Invalid value '${name}' for 'alias': 'latest' and version-like names (v1, V2, ...) are reserved aliases.`,
    );
  }
  return { kind: 'alias', name };
}

export function validateModelName(name: string): void {
  if (name === '') throw new InvalidParameterValueError("Missing value for required parameter 'name'.");
  validateMaxLength('name', name, PROMOTION_LIMITS.modelName);
}

/** Validates a policy condition; an invalid one is a 400 naming the field and the position. */
export function validateCondition(condition: string): void {
  checkedCondition(condition, compileRunFilter);
}

/** A policy condition's clauses, each reporting whether a run meets it and the run's value; 400 as above. */
export function compileCondition(condition: string): CompiledRunClause[] {
  return checkedCondition(condition, compileRunFilterClauses);
}

/**
 * Both compilers apply the same checks; the API's bundle validates with the whole-filter one, so that
 * the per-clause reporting (the guard's) stays out of it.
 */
function checkedCondition<T>(condition: string, compile: (filter: string) => T): T {
  if (condition.trim() === '') {
    throw new InvalidParameterValueError(
      "Missing value for 'condition': a run filter such as `metrics.accuracy >= 0.9`.",
    );
  }
  validateMaxLength('condition', condition, PROMOTION_LIMITS.condition);
  try {
    return compile(condition);
  } catch (error) {
    if (error instanceof InvalidParameterValueError) {
      throw new InvalidParameterValueError(`Invalid value for 'condition': ${error.message}`);
    }
    throw error;
  }
}

function formatActual(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;
}

const MISSING_WHAT: Record<CompiledRunClause['entity'], string> = {
  metric: 'no such metric',
  param: 'no such param',
  tag: 'no such tag',
  dataset: 'no dataset inputs',
  attribute: 'no value for it',
};

/** The clauses of `clauses` that `run` fails, each with the run's actual value. */
export function failingClauses(clauses: readonly CompiledRunClause[], run: Run): string[] {
  return clauses
    .filter((clause) => !clause.matches(run))
    .map((clause) => {
      const actual = clause.actual(run);
      const has = actual === undefined ? MISSING_WHAT[clause.entity] : formatActual(actual);
      return `${clause.text} (run has ${has})`;
    });
}

/** The refusal of a promotion while the model's policies still wait under its name. */
export function legacyPoliciesMessage(modelName: string): string {
  return `Model '${modelName}' has promotion policies stored by an earlier Cairn version under its name; they must be migrated first with \`cairn policy migrate\` before its versions can be promoted.`;
}

function describeTarget(target: PromotionTarget): string {
  return `${target.kind} '${target.name}'`;
}

/** The audit trail's reason for a refusal while legacy (name-keyed) policies await migration. */
export const LEGACY_PENDING_CLAUSE =
  'promotion policies stored under the model name by an earlier Cairn version await `cairn policy migrate`';

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
    const target: PromotionTarget =
      request.target.kind === 'stage' &&
      STAGES.some((s) => s.toLowerCase() === request.target.name.toLowerCase())
        ? { kind: 'stage', name: canonicalStage(request.target.name) }
        : request.target;
    // One Query for all of the model's policies: no extra read when it has any. With none under its id,
    // one more Query looks for policies an earlier version stored under its name: unmigrated, they would
    // leave the model unguarded, so the promotion is refused until `cairn policy migrate` has run.
    const policies = await this.repo.listPolicies(request.modelId);
    const policy = policies.find((p) => p.target.kind === target.kind && p.target.name === target.name);
    const legacy = await legacyPending(this.repo, policies, request.modelName);
    const failing = legacy
      ? [LEGACY_PENDING_CLAUSE]
      : policy
        ? await this.evaluate(policy.condition, request.runId)
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
    validateModelName(modelName);
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
    validateModelName(modelName);
    const model = await this.requireModel(modelName);
    const policies = await this.repo.listPolicies(model.modelId);
    const legacyPoliciesPending = await legacyPending(this.repo, policies, model.name);
    return {
      policies: policies.map((policy) => ({ ...policy, modelName: model.name })),
      legacyPoliciesPending,
    };
  }

  async delete(modelName: string, target: PromotionTarget): Promise<void> {
    validateModelName(modelName);
    const model = await this.requireModel(modelName);
    await this.repo.deletePolicy(model.modelId, target);
  }

  async decisions(
    modelName: string,
    maxResults: number = PROMOTION_LIMITS.defaultMaxResults,
    pageToken?: string,
  ): Promise<{ decisions: PromotionDecision[]; nextPageToken?: string }> {
    validateModelName(modelName);
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
    const model = await this.models.getModelByName(name);
    if (!model) throw new ResourceDoesNotExistError(`Registered Model with name=${name} not found`);
    return model;
  }
}

/**
 * The seam between the model registry and promotion policies: the registry asks a guard before it sets an
 * alias on a model version or transitions a version's stage.
 */

import type { FileDigests } from './model.js';

/** One promotion the registry is about to make: a model version to an alias or a stage. */
export interface PromotionRequest {
  /** The registered model's immutable id: policies and the audit trail are keyed by it, not its name. */
  modelId: string;
  modelName: string;
  version: string;
  runId?: string;
  /** Why the version's source run cannot be verified: every policy refuses the version then. */
  unverified?: string;
  target: { kind: 'alias' | 'stage'; name: string };
  principal?: string;
  /** The version's source files as listed for this promotion (sealed first): recorded with the decision. */
  files?: FileDigests;
}

/** Decides whether a promotion may go ahead; `check` throws an MlflowError (400) to refuse it. */
export interface PromotionGuard {
  check(request: PromotionRequest): Promise<void>;
}

/** The guard that refuses nothing (no policies configured, tests of the registry alone). */
export const allowAllPromotions: PromotionGuard = { check: async () => {} };

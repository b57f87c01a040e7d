/**
 * The promotion hook: every request that points an alias or a stage at a model version asks the guard
 * first, before anything is written. The registry only knows this interface; the real policy (which
 * versions may be promoted, by whom) lives elsewhere and is passed to the registry service.
 */

export interface PromotionRequest {
  modelName: string;
  version: string;
  runId?: string;
  target: { kind: 'alias' | 'stage'; name: string };
  principal?: string;
}

/** Resolves to allow; throws an MlflowError (400) to refuse. */
export interface PromotionGuard {
  check(request: PromotionRequest): Promise<void>;
}

export const allowAllPromotions: PromotionGuard = { check: async () => {} };

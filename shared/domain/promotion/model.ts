/**
 * Promotion policies and their audit trail: the types, and what the policies read and write through
 * (repositories keyed by the registered model's immutable id, see service.ts).
 */
import type { Run } from '../runs/model.js';
import type { PromotionRequest } from './guard.js';

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

/** One file of a version's source as storage reported it when the promotion was decided. */
export interface FileDigest {
  /** Relative to the source's location. */
  path: string;
  /** S3's ETag (quotes included): MD5 of a single-part upload, a hash of the parts' for multipart. */
  etag: string;
  size: number;
  /** Epoch ms, as storage reports it (S3: to the second). */
  lastModified?: number;
}

/**
 * What a version's source held when a promotion was decided, so that "what passed the policy" can be
 * compared with what is served. Bounded (rules.ts FILE_DIGEST_LIMITS): the first files by path are listed
 * one by one, and `manifestSha256` covers every file listed.
 */
export interface FileDigests {
  /** The storage key (prefix) that was listed. */
  location: string;
  files: FileDigest[];
  /** Files listed; `files` holds the first of them by path. */
  count: number;
  totalBytes: number;
  /** SHA-256 (hex) of the sorted lines `<path> <etag> <size>` of every listed file. */
  manifestSha256: string;
  /** True when the source held more files than one promotion lists: the figures cover those listed. */
  truncated?: boolean;
  /**
   * Files written after the version was registered (the first few): only an upload URL issued before its
   * source was sealed can do that. A guarded promotion refuses the version then (rules.ts).
   */
  changedAfterRegistration?: string[];
}

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
  /** The version's files at the time; absent in entries of earlier builds, or when not locatable. */
  files?: FileDigests;
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

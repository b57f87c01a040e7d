/**
 * The seal item, stated once: a registered model version's source made immutable to the artifact API.
 * Written by the registry when a version is created (and again, idempotently, when one is promoted, which
 * seals versions registered before seals existed); read by the artifacts function with the owner's item
 * (run-reader.ts). One item per (owner, path): versions sharing a source share it, and the last writer's
 * version is recorded. Deleting a version leaves its seal: another version may serve the same files.
 */
import type { ArtifactOwner } from '../../domain/artifacts/paths.js';
import { artifactSealKey, type ItemKey, loggedModelKey, runKey } from '../keys.js';

export interface SealItem extends ItemKey {
  /** The sealed path relative to the owner's artifact root; '' seals all of it. */
  path: string;
  /** The registered model (its immutable id) and version that sealed it. */
  registered_model_id: string;
  version: number;
  sealed_at: number;
}

function ownerKey(owner: ArtifactOwner): ItemKey {
  return owner.kind === 'run' ? runKey(owner.runId) : loggedModelKey(owner.modelId);
}

export function toSealItem(
  owner: ArtifactOwner,
  path: string,
  by: { modelId: string; version: number },
  now: number,
): SealItem {
  return {
    ...artifactSealKey(ownerKey(owner), path),
    path,
    registered_model_id: by.modelId,
    version: by.version,
    sealed_at: now,
  };
}

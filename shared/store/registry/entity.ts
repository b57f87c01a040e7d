/**
 * The registry's two items — a registered model and a model version — declared once: the stored shape,
 * the keys (keys.ts) and the mapping to and from the domain's types. The repository only sends them.
 * Stored attribute names are MLflow's snake_case names and never change: items written by any earlier
 * build must keep reading.
 */
import type { ModelVersion, RegisteredModel, Stage } from '../../domain/registry/model.js';
import { fromStoredMap, toStoredMap } from '../items.js';
import { type ItemKey, keys } from '../keys.js';

export interface ModelItem extends ItemKey {
  gsi1pk: string;
  gsi1sk: string;
  type: 'registered-model';
  model_id: string;
  name: string;
  description?: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  tags: Record<string, string>;
  /** alias → version number. */
  aliases: Record<string, number>;
  /** The last version number handed out (atomic ADD); absent until the first version. */
  version_counter?: number;
}

export interface VersionItem extends ItemKey {
  gsi2pk: string;
  gsi2sk: string;
  type: 'model-version';
  model_id: string;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: Stage;
  description?: string;
  source: string;
  run_id?: string;
  run_link?: string;
  logged_model_id?: string;
  storage_location?: string;
  /** See ModelVersion.unverified. */
  unverified?: string;
  status: 'READY';
  tags: Record<string, string>;
}

export const modelEntity = {
  key: keys.registeredModel,

  toItem(model: RegisteredModel): ModelItem {
    return {
      ...keys.registeredModel(model.modelId),
      ...keys.registeredModelListing(model.modelId),
      type: 'registered-model',
      model_id: model.modelId,
      name: model.name,
      ...(model.description ? { description: model.description } : {}),
      creation_timestamp: model.creationTimestamp,
      last_updated_timestamp: model.lastUpdatedTimestamp,
      ...(model.userId ? { user_id: model.userId } : {}),
      tags: toStoredMap(model.tags),
      aliases: toStoredMap(model.aliases),
    };
  },

  fromItem(item: Record<string, unknown>): RegisteredModel {
    const stored = item as unknown as ModelItem;
    return {
      modelId: stored.model_id,
      name: stored.name,
      ...(stored.description ? { description: stored.description } : {}),
      creationTimestamp: stored.creation_timestamp,
      lastUpdatedTimestamp: stored.last_updated_timestamp,
      ...(stored.user_id ? { userId: stored.user_id } : {}),
      tags: fromStoredMap(stored.tags),
      aliases: fromStoredMap(stored.aliases),
    };
  },
} as const;

export const versionEntity = {
  key: keys.modelVersion,

  toItem(version: ModelVersion): VersionItem {
    return {
      ...keys.modelVersion(version.modelId, version.version),
      ...keys.modelVersionListing(version.modelId, version.version),
      type: 'model-version',
      model_id: version.modelId,
      version: version.version,
      creation_timestamp: version.creationTimestamp,
      last_updated_timestamp: version.lastUpdatedTimestamp,
      ...(version.userId ? { user_id: version.userId } : {}),
      current_stage: version.currentStage,
      ...(version.description ? { description: version.description } : {}),
      source: version.source,
      ...(version.runId ? { run_id: version.runId } : {}),
      ...(version.runLink ? { run_link: version.runLink } : {}),
      ...(version.loggedModelId ? { logged_model_id: version.loggedModelId } : {}),
      ...(version.storageLocation ? { storage_location: version.storageLocation } : {}),
      ...(version.unverified ? { unverified: version.unverified } : {}),
      status: version.status,
      tags: toStoredMap(version.tags),
    };
  },

  fromItem(item: Record<string, unknown>): ModelVersion {
    const stored = item as unknown as VersionItem;
    return {
      modelId: stored.model_id,
      version: stored.version,
      creationTimestamp: stored.creation_timestamp,
      lastUpdatedTimestamp: stored.last_updated_timestamp,
      ...(stored.user_id ? { userId: stored.user_id } : {}),
      currentStage: stored.current_stage,
      ...(stored.description ? { description: stored.description } : {}),
      source: stored.source,
      ...(stored.run_id ? { runId: stored.run_id } : {}),
      ...(stored.run_link ? { runLink: stored.run_link } : {}),
      ...(stored.logged_model_id ? { loggedModelId: stored.logged_model_id } : {}),
      ...(stored.storage_location ? { storageLocation: stored.storage_location } : {}),
      ...(stored.unverified ? { unverified: stored.unverified } : {}),
      status: stored.status,
      tags: fromStoredMap(stored.tags),
    };
  },
} as const;

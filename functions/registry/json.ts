/**
 * MLflow's registry JSON, derived in one place: a RegisteredModel and a ModelVersion as the protobuf JSON
 * printer writes them (empty lists and unset fields omitted), and the responses that carry one.
 */

import type { HttpResult } from '../../shared/api/http.js';
import type {
  ModelVersion,
  ModelView,
  RegisteredModel,
  VersionView,
} from '../../shared/domain/registry/model.js';
import { jsonResponse } from '../middleware/http-handler.js';

function tagList(tags: Record<string, string>) {
  const list = Object.entries(tags).map(([key, value]) => ({ key, value }));
  return list.length > 0 ? { tags: list } : {};
}

/** MLflow's ModelVersion JSON; empty lists are omitted, as protobuf's JSON printer does. */
export function modelVersionJson(model: RegisteredModel, version: ModelVersion) {
  const aliases = Object.entries(model.aliases)
    .filter(([, target]) => target === version.version)
    .map(([alias]) => alias)
    .sort();
  return {
    name: model.name,
    version: String(version.version),
    creation_timestamp: version.creationTimestamp,
    last_updated_timestamp: version.lastUpdatedTimestamp,
    ...(version.userId ? { user_id: version.userId } : {}),
    current_stage: version.currentStage,
    // MLflow's server stores an unset description as '' (proto2's default) and prints it: clients read ''.
    description: version.description ?? '',
    source: version.source,
    ...(version.runId ? { run_id: version.runId } : {}),
    status: version.status,
    ...tagList(version.tags),
    ...(version.runLink ? { run_link: version.runLink } : {}),
    ...(aliases.length > 0 ? { aliases } : {}),
    ...(version.loggedModelId ? { model_id: version.loggedModelId } : {}),
  };
}

export function registeredModelJson(model: RegisteredModel, latestVersions: readonly ModelVersion[]) {
  const aliases = Object.entries(model.aliases)
    .sort(([left], [right]) => (left < right ? -1 : 1))
    .map(([alias, version]) => ({ alias, version: String(version) }));
  return {
    name: model.name,
    creation_timestamp: model.creationTimestamp,
    last_updated_timestamp: model.lastUpdatedTimestamp,
    ...(model.userId ? { user_id: model.userId } : {}),
    ...(model.description ? { description: model.description } : {}),
    ...(latestVersions.length > 0
      ? { latest_versions: latestVersions.map((version) => modelVersionJson(model, version)) }
      : {}),
    ...tagList(model.tags),
    ...(aliases.length > 0 ? { aliases } : {}),
  };
}

/** `{ registered_model }`, the answer of every call that returns one model. */
export function modelResponse({ model, latestVersions }: ModelView): HttpResult {
  return jsonResponse({ registered_model: registeredModelJson(model, latestVersions) });
}

/** `{ model_version }`, the answer of every call that returns one version. */
export function versionResponse({ model, version }: VersionView): HttpResult {
  return jsonResponse({ model_version: modelVersionJson(model, version) });
}

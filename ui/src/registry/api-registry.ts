/**
 * The registry pages' calls that lib/api.ts does not wrap: MLflow's registry writes and Cairn's promotion
 * policies and audit trail. Request shapes as MLflow's client sends them (DELETE with a JSON body).
 */
import { type ModelVersion, paths, post, type RegisteredModel, request } from '../lib/api.js';
import type { PolicyJson, PolicyTarget, PromotionJson } from './logic.js';
import { targetFields } from './logic.js';

const { MLFLOW, CAIRN } = paths;

export const registryApi = {
  createModel: (name: string, description?: string) =>
    post<{ registered_model: RegisteredModel }>(`${MLFLOW}/registered-models/create`, {
      name,
      ...(description ? { description } : {}),
    }),
  renameModel: (name: string, newName: string) =>
    post<{ registered_model: RegisteredModel }>(`${MLFLOW}/registered-models/rename`, {
      name,
      new_name: newName,
    }),
  updateModel: (name: string, description: string) =>
    request<object>('PATCH', `${MLFLOW}/registered-models/update`, { body: { name, description } }),
  deleteModel: (name: string) =>
    request<object>('DELETE', `${MLFLOW}/registered-models/delete`, { body: { name } }),
  setModelTag: (name: string, key: string, value: string) =>
    post<object>(`${MLFLOW}/registered-models/set-tag`, { name, key, value }),
  deleteModelTag: (name: string, key: string) =>
    request<object>('DELETE', `${MLFLOW}/registered-models/delete-tag`, { body: { name, key } }),
  setAlias: (name: string, alias: string, version: string) =>
    post<object>(`${MLFLOW}/registered-models/alias`, { name, alias, version }),
  deleteAlias: (name: string, alias: string) =>
    request<object>('DELETE', `${MLFLOW}/registered-models/alias`, { body: { name, alias } }),

  updateVersion: (name: string, version: string, description: string) =>
    request<{ model_version: ModelVersion }>('PATCH', `${MLFLOW}/model-versions/update`, {
      body: { name, version, description },
    }),
  transitionStage: (name: string, version: string, stage: string, archiveExisting: boolean) =>
    post<{ model_version: ModelVersion }>(`${MLFLOW}/model-versions/transition-stage`, {
      name,
      version,
      stage,
      archive_existing_versions: archiveExisting,
    }),
  setVersionTag: (name: string, version: string, key: string, value: string) =>
    post<object>(`${MLFLOW}/model-versions/set-tag`, { name, version, key, value }),
  deleteVersionTag: (name: string, version: string, key: string) =>
    request<object>('DELETE', `${MLFLOW}/model-versions/delete-tag`, { body: { name, version, key } }),
  getPolicies: (name: string) =>
    request<{ policies?: PolicyJson[]; legacy_policies_pending?: boolean }>(
      'GET',
      `${CAIRN}/registered-models/policies/get`,
      { query: { name } },
    ),
  setPolicy: (name: string, target: PolicyTarget, condition: string) =>
    post<{ policy: PolicyJson }>(`${CAIRN}/registered-models/policies/set`, {
      name,
      ...targetFields(target),
      condition,
    }),
  deletePolicy: (name: string, target: PolicyTarget) =>
    post<object>(`${CAIRN}/registered-models/policies/delete`, { name, ...targetFields(target) }),
  listPromotions: (name: string, maxResults: number, pageToken?: string) =>
    request<{ promotions?: PromotionJson[]; next_page_token?: string }>(
      'GET',
      `${CAIRN}/registered-models/promotions/list`,
      { query: { name, max_results: maxResults, page_token: pageToken } },
    ),
};

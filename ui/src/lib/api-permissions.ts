/**
 * The permission calls (issue 16): Cairn's `permissions/mine` (the caller's level on one resource) and
 * `permissions/list` (the grants on it, for MANAGE holders), and MLflow's own permission endpoints for
 * granting, changing and revoking, in the shapes MLflow's AuthServiceClient sends (PATCH and DELETE with a
 * JSON body; experiments by `experiment_id`, registered models by `name`).
 */
import { get, paths, request } from './api.js';
import type { GrantJson, Level, ResourceKind } from './permissions.js';

const { MLFLOW, CAIRN } = paths;

/** MLflow's path part and the field that names the resource, per kind. */
const MLFLOW_RESOURCE: Record<ResourceKind, { path: string; field: 'experiment_id' | 'name' }> = {
  experiment: { path: 'experiments', field: 'experiment_id' },
  registered_model: { path: 'registered-models', field: 'name' },
};

function target(kind: ResourceKind, resource: string, username: string) {
  const { path, field } = MLFLOW_RESOURCE[kind];
  return { url: `${MLFLOW}/${path}/permissions`, body: { [field]: resource, username } };
}

export const permissionsApi = {
  mine: (kind: ResourceKind, resource: string, signal?: AbortSignal) =>
    get<{ permission?: { kind?: string; resource?: string; permission?: string } }>(
      `${CAIRN}/permissions/mine`,
      { kind, resource },
      signal,
    ),
  list: (kind: ResourceKind, resource: string, signal?: AbortSignal) =>
    get<{ permissions?: GrantJson[] }>(`${CAIRN}/permissions/list`, { kind, resource }, signal),
  grant: (kind: ResourceKind, resource: string, username: string, permission: Level) => {
    const { url, body } = target(kind, resource, username);
    return request<object>('POST', `${url}/create`, { body: { ...body, permission } });
  },
  change: (kind: ResourceKind, resource: string, username: string, permission: Level) => {
    const { url, body } = target(kind, resource, username);
    return request<object>('PATCH', `${url}/update`, { body: { ...body, permission } });
  },
  revoke: (kind: ResourceKind, resource: string, username: string) => {
    const { url, body } = target(kind, resource, username);
    return request<object>('DELETE', `${url}/delete`, { body });
  },
};

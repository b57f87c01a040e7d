/** The registry function's routes: MLflow's model registry and webhooks, and Cairn's promotion policies. */
import { cairn, filtering, guarded, mlflow, onModel, type RouteSpec } from './route-kit.js';

// Levels as MLflow's auth plugin: reads READ, writes (tags, aliases, stages, versions, renames) EDIT,
// deleting the registered model itself MANAGE (its `can_delete`). A version is part of its model and not
// a resource with permissions of its own: deleting one is EDIT, as deleting a run is.
const read = onModel('READ');
const edit = onModel('EDIT');

export const REGISTRY_ROUTE_SPECS: readonly RouteSpec[] = [
  mlflow('createRegisteredModel', 'POST', '/registered-models/create', 'write', 'registry'),
  guarded(mlflow('getRegisteredModel', 'GET', '/registered-models/get', 'read', 'registry'), read),
  guarded(mlflow('renameRegisteredModel', 'POST', '/registered-models/rename', 'write', 'registry'), edit),
  guarded(mlflow('updateRegisteredModel', 'PATCH', '/registered-models/update', 'write', 'registry'), edit),
  guarded(
    mlflow('deleteRegisteredModel', 'DELETE', '/registered-models/delete', 'write', 'registry'),
    onModel('MANAGE'),
  ),
  filtering(
    mlflow('searchRegisteredModels', 'GET', '/registered-models/search', 'read', 'registry'),
    'registered_model',
  ),
  guarded(
    mlflow('getLatestVersions', 'POST', '/registered-models/get-latest-versions', 'read', 'registry'),
    read,
  ),
  guarded(
    mlflow('getLatestVersions', 'GET', '/registered-models/get-latest-versions', 'read', 'registry'),
    read,
  ),
  guarded(mlflow('setRegisteredModelTag', 'POST', '/registered-models/set-tag', 'write', 'registry'), edit),
  guarded(
    mlflow('deleteRegisteredModelTag', 'DELETE', '/registered-models/delete-tag', 'write', 'registry'),
    edit,
  ),
  guarded(mlflow('setRegisteredModelAlias', 'POST', '/registered-models/alias', 'write', 'registry'), edit),
  guarded(
    mlflow('deleteRegisteredModelAlias', 'DELETE', '/registered-models/alias', 'write', 'registry'),
    edit,
  ),
  guarded(mlflow('getModelVersionByAlias', 'GET', '/registered-models/alias', 'read', 'registry'), read),
  guarded(mlflow('createModelVersion', 'POST', '/model-versions/create', 'write', 'registry'), edit),
  guarded(mlflow('getModelVersion', 'GET', '/model-versions/get', 'read', 'registry'), read),
  guarded(mlflow('updateModelVersion', 'PATCH', '/model-versions/update', 'write', 'registry'), edit),
  guarded(mlflow('deleteModelVersion', 'DELETE', '/model-versions/delete', 'write', 'registry'), edit),
  filtering(
    mlflow('searchModelVersions', 'GET', '/model-versions/search', 'read', 'registry'),
    'registered_model',
  ),
  guarded(
    mlflow('getModelVersionDownloadUri', 'GET', '/model-versions/get-download-uri', 'read', 'registry'),
    read,
  ),
  guarded(
    mlflow('transitionModelVersionStage', 'POST', '/model-versions/transition-stage', 'write', 'registry'),
    edit,
  ),
  guarded(mlflow('setModelVersionTag', 'POST', '/model-versions/set-tag', 'write', 'registry'), edit),
  guarded(mlflow('deleteModelVersionTag', 'DELETE', '/model-versions/delete-tag', 'write', 'registry'), edit),

  // Cairn's own: promotion policies and their audit trail, served by the registry. Setting or deleting a
  // policy keeps the 'admin' scope (a policy guards every promotion of the model, a rule set above its
  // editors) and declares MANAGE on the model too: an admin holds MANAGE everywhere, so nothing changes
  // today, but the table names the resource (for the permission matrix) and stays right if the scope is
  // ever relaxed to the model's MANAGE holders, as MLflow lets them manage the model's permissions.
  guarded(
    cairn('setPromotionPolicy', 'POST', '/registered-models/policies/set', 'admin', 'registry'),
    onModel('MANAGE'),
  ),
  guarded(cairn('getPromotionPolicies', 'GET', '/registered-models/policies/get', 'read', 'registry'), read),
  guarded(
    cairn('deletePromotionPolicy', 'POST', '/registered-models/policies/delete', 'admin', 'registry'),
    onModel('MANAGE'),
  ),
  guarded(cairn('listPromotions', 'GET', '/registered-models/promotions/list', 'read', 'registry'), read),
  // Registered-model permissions, MLflow's basic-auth endpoints (issue 16): MANAGE on the model decides
  // (admins always); the scope is only the default, as for every route with access.
  guarded(
    mlflow(
      'createRegisteredModelPermission',
      'POST',
      '/registered-models/permissions/create',
      'write',
      'registry',
    ),
    onModel('MANAGE'),
  ),
  guarded(
    mlflow('getRegisteredModelPermission', 'GET', '/registered-models/permissions/get', 'write', 'registry'),
    onModel('MANAGE'),
  ),
  guarded(
    mlflow(
      'updateRegisteredModelPermission',
      'PATCH',
      '/registered-models/permissions/update',
      'write',
      'registry',
    ),
    onModel('MANAGE'),
  ),
  guarded(
    mlflow(
      'deleteRegisteredModelPermission',
      'DELETE',
      '/registered-models/permissions/delete',
      'write',
      'registry',
    ),
    onModel('MANAGE'),
  ),

  // MLflow's registry webhooks (MLflow >= 3.3). Admin only, as MLflow's auth has it: a webhook hears every
  // registry event and makes the server send requests to a URL of the caller's choosing.
  mlflow('createWebhook', 'POST', '/webhooks', 'admin', 'registry'),
  mlflow('listWebhooks', 'GET', '/webhooks', 'admin', 'registry'),
  mlflow('getWebhook', 'GET', '/webhooks/{webhook_id}', 'admin', 'registry'),
  mlflow('updateWebhook', 'PATCH', '/webhooks/{webhook_id}', 'admin', 'registry'),
  mlflow('deleteWebhook', 'DELETE', '/webhooks/{webhook_id}', 'admin', 'registry'),
  mlflow('testWebhook', 'POST', '/webhooks/{webhook_id}/test', 'admin', 'registry'),
];

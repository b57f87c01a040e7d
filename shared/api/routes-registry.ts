/** The registry function's routes: MLflow's model registry and Cairn's promotion policies. */
import { cairn, mlflow, type RouteSpec } from './route-kit.js';

export const REGISTRY_ROUTE_SPECS: readonly RouteSpec[] = [
  mlflow('createRegisteredModel', 'POST', '/registered-models/create', 'write', 'registry'),
  mlflow('getRegisteredModel', 'GET', '/registered-models/get', 'read', 'registry'),
  mlflow('renameRegisteredModel', 'POST', '/registered-models/rename', 'write', 'registry'),
  mlflow('updateRegisteredModel', 'PATCH', '/registered-models/update', 'write', 'registry'),
  mlflow('deleteRegisteredModel', 'DELETE', '/registered-models/delete', 'write', 'registry'),
  mlflow('searchRegisteredModels', 'GET', '/registered-models/search', 'read', 'registry'),
  mlflow('getLatestVersions', 'POST', '/registered-models/get-latest-versions', 'read', 'registry'),
  mlflow('getLatestVersions', 'GET', '/registered-models/get-latest-versions', 'read', 'registry'),
  mlflow('setRegisteredModelTag', 'POST', '/registered-models/set-tag', 'write', 'registry'),
  mlflow('deleteRegisteredModelTag', 'DELETE', '/registered-models/delete-tag', 'write', 'registry'),
  mlflow('setRegisteredModelAlias', 'POST', '/registered-models/alias', 'write', 'registry'),
  mlflow('deleteRegisteredModelAlias', 'DELETE', '/registered-models/alias', 'write', 'registry'),
  mlflow('getModelVersionByAlias', 'GET', '/registered-models/alias', 'read', 'registry'),
  mlflow('createModelVersion', 'POST', '/model-versions/create', 'write', 'registry'),
  mlflow('getModelVersion', 'GET', '/model-versions/get', 'read', 'registry'),
  mlflow('updateModelVersion', 'PATCH', '/model-versions/update', 'write', 'registry'),
  mlflow('deleteModelVersion', 'DELETE', '/model-versions/delete', 'write', 'registry'),
  mlflow('searchModelVersions', 'GET', '/model-versions/search', 'read', 'registry'),
  mlflow('getModelVersionDownloadUri', 'GET', '/model-versions/get-download-uri', 'read', 'registry'),
  mlflow('transitionModelVersionStage', 'POST', '/model-versions/transition-stage', 'write', 'registry'),
  mlflow('setModelVersionTag', 'POST', '/model-versions/set-tag', 'write', 'registry'),
  mlflow('deleteModelVersionTag', 'DELETE', '/model-versions/delete-tag', 'write', 'registry'),

  // Cairn's own: promotion policies and their audit trail, served by the registry.
  cairn('setPromotionPolicy', 'POST', '/registered-models/policies/set', 'admin', 'registry'),
  cairn('getPromotionPolicies', 'GET', '/registered-models/policies/get', 'read', 'registry'),
  cairn('deletePromotionPolicy', 'POST', '/registered-models/policies/delete', 'admin', 'registry'),
  cairn('listPromotions', 'GET', '/registered-models/promotions/list', 'read', 'registry'),

  // Registered-model permissions, MLflow's basic-auth endpoints (issue 16): any token holding MANAGE on
  // the model (admins always), so the scope asked for is only 'read'.
  ...registeredModelPermissionSpecs(),
];

function registeredModelPermissionSpecs(): RouteSpec[] {
  const manage = { kind: 'registered_model', from: 'name', needs: 'MANAGE' } as const;
  const spec = (operation: string, method: RouteSpec['method'], verb: string): RouteSpec => ({
    ...mlflow(operation, method, `/registered-models/permissions/${verb}`, 'read', 'registry'),
    access: manage,
  });
  return [
    spec('createRegisteredModelPermission', 'POST', 'create'),
    spec('getRegisteredModelPermission', 'GET', 'get'),
    spec('updateRegisteredModelPermission', 'PATCH', 'update'),
    spec('deleteRegisteredModelPermission', 'DELETE', 'delete'),
  ];
}

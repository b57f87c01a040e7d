/**
 * The artifacts function's routes: MLflow's proxied-artifact service, the run and logged-model artifact
 * listings, the UI's logged-model file download and upload (MLflow serves those under /ajax-api only),
 * and MLflow's root file downloads `get-artifact` and `model-versions/get-artifact`.
 */
import { mlflow, proxied, type RouteSpec } from './route-kit.js';

export const ARTIFACTS_ROUTE_SPECS: readonly RouteSpec[] = [
  { ...proxied('uploadArtifact', 'PUT', '/artifacts/{path+}', 'write'), rawBody: true },
  proxied('downloadArtifact', 'GET', '/artifacts/{path+}', 'read'),
  proxied('listArtifacts', 'GET', '/artifacts', 'read'),
  proxied('deleteArtifact', 'DELETE', '/artifacts/{path+}', 'write'),
  proxied('presignedDownload', 'GET', '/presigned/{path+}', 'read'),
  proxied('createMultipartUpload', 'POST', '/mpu/create/{path+}', 'write'),
  proxied('completeMultipartUpload', 'POST', '/mpu/complete/{path+}', 'write'),
  proxied('abortMultipartUpload', 'POST', '/mpu/abort/{path+}', 'write'),
  mlflow('listRunArtifacts', 'GET', '/artifacts/list', 'read', 'artifacts'),
  mlflow('createPresignedUploadUrl', 'POST', '/artifacts/presigned-upload-url', 'write', 'artifacts'),
  mlflow(
    'listLoggedModelArtifacts',
    'GET',
    '/logged-models/{model_id}/artifacts/directories',
    'read',
    'artifacts',
  ),
  {
    ...mlflow(
      'getLoggedModelArtifact',
      'GET',
      '/logged-models/{model_id}/artifacts/files',
      'read',
      'artifacts',
    ),
    mount: 'ajax-2.0',
  },
  {
    ...mlflow('uploadRunArtifact', 'POST', '/upload-artifact', 'write', 'artifacts'),
    mount: 'ajax-2.0',
    rawBody: true,
  },
  {
    operation: 'getRunArtifact',
    method: 'GET',
    path: '/get-artifact',
    fn: 'artifacts',
    permission: 'read',
    mount: 'root',
  },
  {
    operation: 'getModelVersionArtifact',
    method: 'GET',
    path: '/model-versions/get-artifact',
    fn: 'artifacts',
    permission: 'read',
    mount: 'root',
  },
];

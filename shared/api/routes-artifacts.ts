/**
 * The artifacts function's routes: MLflow's proxied-artifact service, the run and logged-model artifact
 * listings, the UI's logged-model file download and upload (MLflow serves those under /ajax-api only),
 * and MLflow's root file downloads `get-artifact` and `model-versions/get-artifact`.
 */
import {
  guarded,
  mlflow,
  onExperiment,
  onModel,
  proxied,
  type ResourceLocator,
  type RouteSpec,
} from './route-kit.js';

// Artifacts belong to a run's or logged model's experiment: reading them needs READ there, writing and
// deleting them EDIT (MLflow's auth plugin checks the run's experiment the same way).
const read = (from: ResourceLocator) => onExperiment(from, 'READ');
const edit = (from: ResourceLocator) => onExperiment(from, 'EDIT');

export const ARTIFACTS_ROUTE_SPECS: readonly RouteSpec[] = [
  guarded(
    { ...proxied('uploadArtifact', 'PUT', '/artifacts/{path+}', 'write'), rawBody: true },
    edit('artifact_path'),
  ),
  guarded(proxied('downloadArtifact', 'GET', '/artifacts/{path+}', 'read'), read('artifact_path')),
  guarded(proxied('listArtifacts', 'GET', '/artifacts', 'read'), read('artifact_path')),
  guarded(proxied('deleteArtifact', 'DELETE', '/artifacts/{path+}', 'write'), edit('artifact_path')),
  guarded(proxied('presignedDownload', 'GET', '/presigned/{path+}', 'read'), read('artifact_path')),
  guarded(proxied('createMultipartUpload', 'POST', '/mpu/create/{path+}', 'write'), edit('artifact_path')),
  guarded(
    proxied('completeMultipartUpload', 'POST', '/mpu/complete/{path+}', 'write'),
    edit('artifact_path'),
  ),
  guarded(proxied('abortMultipartUpload', 'POST', '/mpu/abort/{path+}', 'write'), edit('artifact_path')),
  guarded(mlflow('listRunArtifacts', 'GET', '/artifacts/list', 'read', 'artifacts'), read('run_id')),
  guarded(
    mlflow('createPresignedUploadUrl', 'POST', '/artifacts/presigned-upload-url', 'write', 'artifacts'),
    edit('run_id'),
  ),
  guarded(
    mlflow(
      'listLoggedModelArtifacts',
      'GET',
      '/logged-models/{model_id}/artifacts/directories',
      'read',
      'artifacts',
    ),
    read('model_id'),
  ),
  guarded(
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
    read('model_id'),
  ),
  guarded(
    {
      ...mlflow('uploadRunArtifact', 'POST', '/upload-artifact', 'write', 'artifacts'),
      mount: 'ajax-2.0',
      rawBody: true,
    },
    edit('run_id'),
  ),
  {
    operation: 'getRunArtifact',
    method: 'GET',
    path: '/get-artifact',
    fn: 'artifacts',
    permission: 'read',
    mount: 'root',
    access: read('run_id'),
  },
  // A version's files are the registered model's: READ on the model (MLflow's USE adds nothing here: its
  // `can_use` gates AI gateway endpoints, not model downloads).
  {
    operation: 'getModelVersionArtifact',
    method: 'GET',
    path: '/model-versions/get-artifact',
    fn: 'artifacts',
    permission: 'read',
    mount: 'root',
    access: onModel('READ'),
  },
];

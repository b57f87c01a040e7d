/** The artifacts function's routes: MLflow's proxied-artifact service and the run artifact listing. */
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
];

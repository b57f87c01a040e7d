/** The tracking function's routes: health and version, experiments, runs, metrics, run search, logged models. */
import { cairn, mlflow, type RouteSpec } from './route-kit.js';

export const TRACKING_ROUTE_SPECS: readonly RouteSpec[] = [
  {
    operation: 'health',
    method: 'GET',
    path: '/health',
    fn: 'tracking',
    permission: 'public',
    mount: 'root',
  },
  // Behind a token like the MLflow routes: the stock client sends its credentials here too, and the
  // gateway opens nothing but the health probe (infra/stacks/api-stack.ts GATEWAY_OPEN_ROUTES).
  {
    operation: 'version',
    method: 'GET',
    path: '/version',
    fn: 'tracking',
    permission: 'read',
    mount: 'root',
  },

  mlflow('createExperiment', 'POST', '/experiments/create', 'write'),
  mlflow('getExperiment', 'GET', '/experiments/get', 'read'),
  mlflow('getExperimentByName', 'GET', '/experiments/get-by-name', 'read'),
  mlflow('searchExperiments', 'POST', '/experiments/search', 'read'),
  mlflow('searchExperiments', 'GET', '/experiments/search', 'read'),
  mlflow('updateExperiment', 'POST', '/experiments/update', 'write'),
  mlflow('deleteExperiment', 'POST', '/experiments/delete', 'write'),
  mlflow('restoreExperiment', 'POST', '/experiments/restore', 'write'),
  mlflow('setExperimentTag', 'POST', '/experiments/set-experiment-tag', 'write'),
  mlflow('deleteExperimentTag', 'POST', '/experiments/delete-experiment-tag', 'write'),
  // Active and deleted runs and last activity of a page of experiments (the web UI's list): counters kept
  // with the run writes, RUN_SHARDS small items per experiment, never a listing of runs.
  cairn('getExperimentRunStats', 'GET', '/experiments/run-stats', 'read'),

  mlflow('createRun', 'POST', '/runs/create', 'write'),
  mlflow('getRun', 'GET', '/runs/get', 'read'),
  mlflow('updateRun', 'POST', '/runs/update', 'write'),
  mlflow('deleteRun', 'POST', '/runs/delete', 'write'),
  mlflow('restoreRun', 'POST', '/runs/restore', 'write'),
  mlflow('logMetric', 'POST', '/runs/log-metric', 'write'),
  mlflow('logParam', 'POST', '/runs/log-parameter', 'write'),
  mlflow('setTag', 'POST', '/runs/set-tag', 'write'),
  mlflow('deleteTag', 'POST', '/runs/delete-tag', 'write'),
  mlflow('logBatch', 'POST', '/runs/log-batch', 'write'),
  mlflow('logInputs', 'POST', '/runs/log-inputs', 'write'),
  mlflow('logOutputs', 'POST', '/runs/outputs', 'write'),
  mlflow('searchRuns', 'POST', '/runs/search', 'read'),
  mlflow('getMetricHistory', 'GET', '/metrics/get-history', 'read'),
  mlflow('getMetricHistoryBulkInterval', 'GET', '/metrics/get-history-bulk-interval', 'read'),
  // MLflow's UI-only RPCs, which MLflow serves under /ajax-api alone.
  { ...mlflow('getMetricHistoryBulk', 'GET', '/metrics/get-history-bulk', 'read'), mount: 'ajax-2.0' },
  { ...mlflow('searchDatasets', 'POST', '/experiments/search-datasets', 'read'), mount: 'ajax-2.0' },
  // Min/max/last buckets over a step range, for charts that keep every spike (the web UI). Read cost is
  // bounded by the buckets: a chunk up to two buckets wide is counted whole, from its summary, in the
  // bucket of its last step; the envelope then says `exact: false` (see domain/runs/envelope.ts).
  cairn('getMetricEnvelope', 'GET', '/metrics/get-envelope', 'read'),

  // MLflow 3 logged models (their artifact listing is the artifacts function's: it needs S3).
  mlflow('createLoggedModel', 'POST', '/logged-models', 'write'),
  mlflow('searchLoggedModels', 'POST', '/logged-models/search', 'read'),
  mlflow('getLoggedModel', 'GET', '/logged-models/{model_id}', 'read'),
  mlflow('finalizeLoggedModel', 'PATCH', '/logged-models/{model_id}', 'write'),
  mlflow('deleteLoggedModel', 'DELETE', '/logged-models/{model_id}', 'write'),
  mlflow('setLoggedModelTags', 'PATCH', '/logged-models/{model_id}/tags', 'write'),
  mlflow('deleteLoggedModelTag', 'DELETE', '/logged-models/{model_id}/tags/{tag_key}', 'write'),
  mlflow('logLoggedModelParams', 'POST', '/logged-models/{model_id}/params', 'write'),

  // Experiment permissions, MLflow's basic-auth endpoints (issue 16): any token holding MANAGE on the
  // experiment (admins always), so the scope asked for is only 'read'.
  ...experimentPermissionSpecs(),
  // The web UI's reads: the caller's own level (any token), and every grant on a resource (MANAGE there;
  // the kind is in the query, so the permission service checks it rather than `access`).
  cairn('getMyPermission', 'GET', '/permissions/mine', 'read'),
  cairn('listResourcePermissions', 'GET', '/permissions/list', 'read'),
];

function experimentPermissionSpecs(): RouteSpec[] {
  const manage = { kind: 'experiment', from: 'experiment_id', needs: 'MANAGE' } as const;
  const spec = (operation: string, method: RouteSpec['method'], verb: string): RouteSpec => ({
    ...mlflow(operation, method, `/experiments/permissions/${verb}`, 'read'),
    access: manage,
  });
  return [
    spec('createExperimentPermission', 'POST', 'create'),
    spec('getExperimentPermission', 'GET', 'get'),
    spec('updateExperimentPermission', 'PATCH', 'update'),
    spec('deleteExperimentPermission', 'DELETE', 'delete'),
  ];
}

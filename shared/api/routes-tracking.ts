/** The tracking function's routes: health and version, experiments, runs, metrics, run search, logged models. */

import { DEFAULT_EXPERIMENT_ID } from '../domain/ids.js';
import {
  cairn,
  filtering,
  guarded,
  mlflow,
  onExperiment,
  type ResourceLocator,
  type RouteSpec,
} from './route-kit.js';

// Levels as MLflow's auth plugin (mlflow/server/auth): reads READ, writes EDIT, deleting or restoring an
// experiment MANAGE (its `can_delete`). Deleting or restoring a run is EDIT: the run is not a resource with
// permissions of its own, and the agreed model (issue 16) keeps MANAGE for the experiment itself.
const read = (from: ResourceLocator) => onExperiment(from, 'READ');
const edit = (from: ResourceLocator) => onExperiment(from, 'EDIT');

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
  guarded(mlflow('getExperiment', 'GET', '/experiments/get', 'read'), read('experiment_id')),
  guarded(mlflow('getExperimentByName', 'GET', '/experiments/get-by-name', 'read'), read('experiment_name')),
  filtering(mlflow('searchExperiments', 'POST', '/experiments/search', 'read'), 'experiment'),
  filtering(mlflow('searchExperiments', 'GET', '/experiments/search', 'read'), 'experiment'),
  guarded(mlflow('updateExperiment', 'POST', '/experiments/update', 'write'), edit('experiment_id')),
  guarded(
    mlflow('deleteExperiment', 'POST', '/experiments/delete', 'write'),
    onExperiment('experiment_id', 'MANAGE'),
  ),
  guarded(
    mlflow('restoreExperiment', 'POST', '/experiments/restore', 'write'),
    onExperiment('experiment_id', 'MANAGE'),
  ),
  guarded(
    mlflow('setExperimentTag', 'POST', '/experiments/set-experiment-tag', 'write'),
    edit('experiment_id'),
  ),
  guarded(
    mlflow('deleteExperimentTag', 'POST', '/experiments/delete-experiment-tag', 'write'),
    edit('experiment_id'),
  ),
  // Active and deleted runs and last activity of a page of experiments (the web UI's list): counters kept
  // with the run writes, RUN_SHARDS small items per experiment, never a listing of runs.
  guarded(cairn('getExperimentRunStats', 'GET', '/experiments/run-stats', 'read'), read('experiment_ids')),

  guarded(mlflow('createRun', 'POST', '/runs/create', 'write'), {
    ...edit('experiment_id'),
    orElse: DEFAULT_EXPERIMENT_ID,
  }),
  guarded(mlflow('getRun', 'GET', '/runs/get', 'read'), read('run_id')),
  guarded(mlflow('updateRun', 'POST', '/runs/update', 'write'), edit('run_id')),
  guarded(mlflow('deleteRun', 'POST', '/runs/delete', 'write'), edit('run_id')),
  guarded(mlflow('restoreRun', 'POST', '/runs/restore', 'write'), edit('run_id')),
  guarded(mlflow('logMetric', 'POST', '/runs/log-metric', 'write'), edit('run_id')),
  guarded(mlflow('logParam', 'POST', '/runs/log-parameter', 'write'), edit('run_id')),
  guarded(mlflow('setTag', 'POST', '/runs/set-tag', 'write'), edit('run_id')),
  guarded(mlflow('deleteTag', 'POST', '/runs/delete-tag', 'write'), edit('run_id')),
  guarded(mlflow('logBatch', 'POST', '/runs/log-batch', 'write'), edit('run_id')),
  guarded(mlflow('logInputs', 'POST', '/runs/log-inputs', 'write'), edit('run_id')),
  guarded(mlflow('logOutputs', 'POST', '/runs/outputs', 'write'), edit('run_id')),
  filtering(mlflow('searchRuns', 'POST', '/runs/search', 'read'), 'experiment'),
  guarded(mlflow('getMetricHistory', 'GET', '/metrics/get-history', 'read'), read('run_id')),
  guarded(
    mlflow('getMetricHistoryBulkInterval', 'GET', '/metrics/get-history-bulk-interval', 'read'),
    read('run_ids'),
  ),
  // MLflow's UI-only RPCs, which MLflow serves under /ajax-api alone.
  guarded(
    { ...mlflow('getMetricHistoryBulk', 'GET', '/metrics/get-history-bulk', 'read'), mount: 'ajax-2.0' },
    read('run_ids'),
  ),
  guarded(
    { ...mlflow('searchDatasets', 'POST', '/experiments/search-datasets', 'read'), mount: 'ajax-2.0' },
    read('experiment_ids'),
  ),
  // Min/max/last buckets over a step range, for charts that keep every spike (the web UI). Read cost is
  // bounded by the buckets: a chunk up to two buckets wide is counted whole, from its summary, in the
  // bucket of its last step; the envelope then says `exact: false` (see domain/runs/envelope.ts).
  guarded(cairn('getMetricEnvelope', 'GET', '/metrics/get-envelope', 'read'), read('run_ids')),

  // MLflow 3 logged models (their artifact listing is the artifacts function's: it needs S3).
  guarded(mlflow('createLoggedModel', 'POST', '/logged-models', 'write'), edit('experiment_id')),
  filtering(mlflow('searchLoggedModels', 'POST', '/logged-models/search', 'read'), 'experiment'),
  guarded(mlflow('getLoggedModel', 'GET', '/logged-models/{model_id}', 'read'), read('model_id')),
  guarded(mlflow('finalizeLoggedModel', 'PATCH', '/logged-models/{model_id}', 'write'), edit('model_id')),
  guarded(mlflow('deleteLoggedModel', 'DELETE', '/logged-models/{model_id}', 'write'), edit('model_id')),
  guarded(mlflow('setLoggedModelTags', 'PATCH', '/logged-models/{model_id}/tags', 'write'), edit('model_id')),
  guarded(
    mlflow('deleteLoggedModelTag', 'DELETE', '/logged-models/{model_id}/tags/{tag_key}', 'write'),
    edit('model_id'),
  ),
  guarded(
    mlflow('logLoggedModelParams', 'POST', '/logged-models/{model_id}/params', 'write'),
    edit('model_id'),
  ),

  // Experiment permissions, MLflow's basic-auth endpoints (issue 16): MANAGE on the experiment decides
  // (admins always); the scope is only the default, as for every route with access.
  guarded(
    mlflow('createExperimentPermission', 'POST', '/experiments/permissions/create', 'write'),
    onExperiment('experiment_id', 'MANAGE'),
  ),
  guarded(
    mlflow('getExperimentPermission', 'GET', '/experiments/permissions/get', 'write'),
    onExperiment('experiment_id', 'MANAGE'),
  ),
  guarded(
    mlflow('updateExperimentPermission', 'PATCH', '/experiments/permissions/update', 'write'),
    onExperiment('experiment_id', 'MANAGE'),
  ),
  guarded(
    mlflow('deleteExperimentPermission', 'DELETE', '/experiments/permissions/delete', 'write'),
    onExperiment('experiment_id', 'MANAGE'),
  ),
  // The web UI's reads: the caller's own level (any token), and every grant on a resource (MANAGE there;
  // the kind is in the query, so the permission service checks it rather than `access`).
  cairn('getMyPermission', 'GET', '/permissions/mine', 'read'),
  cairn('listResourcePermissions', 'GET', '/permissions/list', 'read'),
];

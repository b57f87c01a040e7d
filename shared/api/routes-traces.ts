/**
 * The traces function's routes: OTLP/HTTP span export (`/v1/traces`, the stock client's path since MLflow
 * 3.4), MLflow 3's trace RPCs under `/api/3.0` (trace info, search, batch get, tags, delete, assessments)
 * the `/api/2.0` trace RPCs that today's client still calls (tags, delete, link to a run), and MLflow 2's
 * trace protocol for older clients (start/end, info, search, `traces.json` upload and download). MLflow's
 * proto options decide the version prefix of each (mlflow-rest-contract.md 2.4.10).
 */
import {
  filtering,
  guarded,
  mlflow,
  mlflow3,
  onExperiment,
  type ResourceLocator,
  type RouteSpec,
} from './route-kit.js';

// A trace is its experiment's: reading it (info, spans, assessments) needs READ there, writing it (start,
// end, tags, assessments, deletes, links) EDIT, as MLflow's auth plugin checks traces by their experiment.
const read = (from: ResourceLocator) => onExperiment(from, 'READ');
const edit = (from: ResourceLocator) => onExperiment(from, 'EDIT');

export const TRACES_ROUTE_SPECS: readonly RouteSpec[] = [
  // The body is OTLP protobuf (or OTLP JSON): bytes, not a JSON request message.
  {
    operation: 'exportOtlpSpans',
    method: 'POST',
    path: '/v1/traces',
    fn: 'traces',
    permission: 'write',
    mount: 'root',
    rawBody: true,
    // The experiment comes in the `x-mlflow-experiment-id` header (the spans carry none of their own).
    access: edit('otlp_experiment'),
  },
  guarded(mlflow3('startTraceV3', 'POST', '/traces', 'write', 'traces'), edit('trace_location')),
  guarded(mlflow3('getTraceInfoV3', 'GET', '/traces/{trace_id}', 'read', 'traces'), read('trace_id')),
  guarded(mlflow3('getTrace', 'GET', '/traces/get', 'read', 'traces'), read('trace_id')),
  guarded(mlflow3('batchGetTraces', 'GET', '/traces/batchGet', 'read', 'traces'), read('trace_ids')),
  guarded(
    mlflow3('batchGetTraceInfos', 'POST', '/traces/batchGetInfos', 'read', 'traces'),
    read('trace_ids'),
  ),
  filtering(mlflow3('searchTracesV3', 'POST', '/traces/search', 'read', 'traces'), 'experiment'),
  guarded(mlflow3('deleteTraces', 'POST', '/traces/delete-traces', 'write', 'traces'), edit('experiment_id')),
  guarded(mlflow3('setTraceTag', 'PATCH', '/traces/{trace_id}/tags', 'write', 'traces'), edit('trace_id')),
  guarded(
    mlflow3('deleteTraceTag', 'DELETE', '/traces/{trace_id}/tags', 'write', 'traces'),
    edit('trace_id'),
  ),
  guarded(
    mlflow3('createAssessment', 'POST', '/traces/{trace_id}/assessments', 'write', 'traces'),
    edit('trace_id'),
  ),
  guarded(
    mlflow3('getAssessment', 'GET', '/traces/{trace_id}/assessments/{assessment_id}', 'read', 'traces'),
    read('trace_id'),
  ),
  guarded(
    mlflow3('updateAssessment', 'PATCH', '/traces/{trace_id}/assessments/{assessment_id}', 'write', 'traces'),
    edit('trace_id'),
  ),
  guarded(
    mlflow3(
      'deleteAssessment',
      'DELETE',
      '/traces/{trace_id}/assessments/{assessment_id}',
      'write',
      'traces',
    ),
    edit('trace_id'),
  ),
  // MLflow 3.11's client sends tag changes and deletes to the 2.0 paths (recorded traffic).
  guarded(mlflow('deleteTraces', 'POST', '/traces/delete-traces', 'write', 'traces'), edit('experiment_id')),
  guarded(mlflow('setTraceTag', 'PATCH', '/traces/{trace_id}/tags', 'write', 'traces'), edit('trace_id')),
  guarded(mlflow('deleteTraceTag', 'DELETE', '/traces/{trace_id}/tags', 'write', 'traces'), edit('trace_id')),
  // Checked on the run's experiment: a trace linked before its export arrives has no experiment yet to
  // check (the operation checks EDIT on the experiment of each trace that is here).
  guarded(mlflow('linkTracesToRun', 'POST', '/traces/link-to-run', 'write', 'traces'), edit('run_id')),
  // MLflow 2's trace RPCs (clients 2.14–2.21), which MLflow's server still answers. The path parameter
  // MLflow calls `request_id` is `trace_id` here, as on the routes beside it at the same depth.
  guarded(mlflow('startTraceV2', 'POST', '/traces', 'write', 'traces'), edit('experiment_id')),
  guarded(mlflow('endTraceV2', 'PATCH', '/traces/{trace_id}', 'write', 'traces'), edit('trace_id')),
  guarded(mlflow('getTraceInfoV2', 'GET', '/traces/{trace_id}/info', 'read', 'traces'), read('trace_id')),
  filtering(mlflow('searchTracesV2', 'GET', '/traces', 'read', 'traces'), 'experiment'),
  // MLflow serves it under /ajax-api only (its UI's call); /api/2.0 too, for scripts.
  guarded(mlflow('getTraceArtifact', 'GET', '/get-trace-artifact', 'read', 'traces'), read('trace_id')),
  // An MLflow 2 client writes and reads a trace's spans as `traces.json` at the trace's artifact location
  // (`mlflow-artifacts:/<experiment_id>/traces/<trace_id>/artifacts`). These exact paths are more specific
  // than the artifacts function's `{path+}`, so they reach the traces function, which keeps the file with
  // the trace's spans.
  {
    operation: 'uploadTraceData',
    method: 'PUT',
    path: '/mlflow-artifacts/artifacts/{experiment_id}/traces/{trace_id}/artifacts/traces.json',
    fn: 'traces',
    permission: 'write',
    mount: 'mlflow-2.0',
    rawBody: true,
    // The path's experiment, read without a lookup: the trace service refuses a trace not in it (404).
    access: edit('experiment_id'),
  },
  {
    operation: 'downloadTraceData',
    method: 'GET',
    path: '/mlflow-artifacts/artifacts/{experiment_id}/traces/{trace_id}/artifacts/traces.json',
    fn: 'traces',
    permission: 'read',
    mount: 'mlflow-2.0',
    access: read('experiment_id'),
  },
];

/**
 * The traces function's routes: OTLP/HTTP span export (`/v1/traces`, the stock client's path since MLflow
 * 3.4), MLflow 3's trace RPCs under `/api/3.0` (trace info, search, batch get, tags, delete, assessments)
 * the `/api/2.0` trace RPCs that today's client still calls (tags, delete, link to a run), and MLflow 2's
 * trace protocol for older clients (start/end, info, search, `traces.json` upload and download). MLflow's
 * proto options decide the version prefix of each (mlflow-rest-contract.md 2.4.10).
 */
import { mlflow, mlflow3, type RouteSpec } from './route-kit.js';

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
  },
  mlflow3('startTraceV3', 'POST', '/traces', 'write', 'traces'),
  mlflow3('getTraceInfoV3', 'GET', '/traces/{trace_id}', 'read', 'traces'),
  mlflow3('getTrace', 'GET', '/traces/get', 'read', 'traces'),
  mlflow3('batchGetTraces', 'GET', '/traces/batchGet', 'read', 'traces'),
  mlflow3('batchGetTraceInfos', 'POST', '/traces/batchGetInfos', 'read', 'traces'),
  mlflow3('searchTracesV3', 'POST', '/traces/search', 'read', 'traces'),
  mlflow3('deleteTraces', 'POST', '/traces/delete-traces', 'write', 'traces'),
  mlflow3('setTraceTag', 'PATCH', '/traces/{trace_id}/tags', 'write', 'traces'),
  mlflow3('deleteTraceTag', 'DELETE', '/traces/{trace_id}/tags', 'write', 'traces'),
  mlflow3('createAssessment', 'POST', '/traces/{trace_id}/assessments', 'write', 'traces'),
  mlflow3('getAssessment', 'GET', '/traces/{trace_id}/assessments/{assessment_id}', 'read', 'traces'),
  mlflow3('updateAssessment', 'PATCH', '/traces/{trace_id}/assessments/{assessment_id}', 'write', 'traces'),
  mlflow3('deleteAssessment', 'DELETE', '/traces/{trace_id}/assessments/{assessment_id}', 'write', 'traces'),
  // MLflow 3.11's client sends tag changes and deletes to the 2.0 paths (recorded traffic).
  mlflow('deleteTraces', 'POST', '/traces/delete-traces', 'write', 'traces'),
  mlflow('setTraceTag', 'PATCH', '/traces/{trace_id}/tags', 'write', 'traces'),
  mlflow('deleteTraceTag', 'DELETE', '/traces/{trace_id}/tags', 'write', 'traces'),
  mlflow('linkTracesToRun', 'POST', '/traces/link-to-run', 'write', 'traces'),
  // MLflow 2's trace RPCs (clients 2.14–2.21), which MLflow's server still answers. The path parameter
  // MLflow calls `request_id` is `trace_id` here, as on the routes beside it at the same depth.
  mlflow('startTraceV2', 'POST', '/traces', 'write', 'traces'),
  mlflow('endTraceV2', 'PATCH', '/traces/{trace_id}', 'write', 'traces'),
  mlflow('getTraceInfoV2', 'GET', '/traces/{trace_id}/info', 'read', 'traces'),
  mlflow('searchTracesV2', 'GET', '/traces', 'read', 'traces'),
  // MLflow serves it under /ajax-api only (its UI's call); /api/2.0 too, for scripts.
  mlflow('getTraceArtifact', 'GET', '/get-trace-artifact', 'read', 'traces'),
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
  },
  {
    operation: 'downloadTraceData',
    method: 'GET',
    path: '/mlflow-artifacts/artifacts/{experiment_id}/traces/{trace_id}/artifacts/traces.json',
    fn: 'traces',
    permission: 'read',
    mount: 'mlflow-2.0',
  },
];

/**
 * The traces function's routes: OTLP/HTTP span export (`/v1/traces`, the stock client's path since MLflow
 * 3.4), MLflow 3's trace RPCs under `/api/3.0` (trace info, search, batch get, tags, delete, assessments)
 * and the `/api/2.0` trace RPCs that today's client still calls (tags, delete, link to a run). MLflow's
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
];

/** Adapters for the trace routes (shared/api/routes-traces.ts): parse the request, call the service, answer. */

import type { HttpResult } from '../../shared/api/http.js';
import type { ApiRequest } from '../../shared/api/request.js';
import { experimentIdsNamed, requireReadableExperiments } from '../../shared/auth/search-visibility.js';
import type { TraceService } from '../../shared/domain/traces/service.js';
import { TRACE_DATA_FILE } from '../../shared/domain/traces/v2.js';
import { InvalidParameterValueError } from '../../shared/errors.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';
import { requireLevel } from '../middleware/permission-check.js';

function pathParameter(request: ApiRequest, name: string): string {
  const value = request.pathParameters[name];
  if (value === undefined || value === '') {
    throw new InvalidParameterValueError(`Missing value for required parameter '${name}'.`);
  }
  return value;
}

function queryString(request: ApiRequest, name: string): string | undefined {
  const value = request.fields[name];
  return Array.isArray(value) ? value[0] : typeof value === 'string' ? value : undefined;
}

/** `traces.json` as MLflow sends a file: an attachment, bytes as stored. */
function traceDataFile(bytes: Uint8Array): HttpResult {
  return {
    statusCode: 200,
    headers: {
      // MLflow guesses the type from the name (`_response_with_file_attachment_headers`).
      'content-type': 'application/json',
      'content-disposition': `attachment; filename=${TRACE_DATA_FILE}`,
      'x-content-type-options': 'nosniff',
    },
    body: Buffer.from(bytes).toString('base64'),
    isBase64Encoded: true,
  };
}

export function traceOperations(traces: TraceService): Operations {
  return {
    exportOtlpSpans: async (request) => {
      await traces.exportSpans(
        request.headers['x-mlflow-experiment-id'],
        request.rawBody ?? new Uint8Array(0),
        request.headers['content-type'],
        request.headers['content-encoding'],
      );
      // An empty ExportTraceServiceResponse: zero bytes of protobuf, as MLflow answers.
      return { statusCode: 200, headers: { 'content-type': 'application/x-protobuf' }, body: '' };
    },
    startTraceV3: async (request) => jsonResponse(await traces.startTrace(request.fields)),
    getTraceInfoV3: async (request) =>
      jsonResponse(await traces.getTraceInfo(pathParameter(request, 'trace_id'))),
    getTrace: async (request) => {
      const traceId = queryString(request, 'trace_id');
      if (!traceId) throw new InvalidParameterValueError("Missing value for required parameter 'trace_id'.");
      return jsonResponse(await traces.getTrace(traceId));
    },
    batchGetTraces: async (request) => jsonResponse(await traces.batchGetTraces(request.fields.trace_ids)),
    batchGetTraceInfos: async (request) =>
      jsonResponse(await traces.batchGetTraceInfos(request.fields.trace_ids)),
    searchTracesV3: async (request) => {
      requireReadableExperiments(request.caller, experimentIdsNamed(request.fields));
      return jsonResponse(await traces.search(request.fields));
    },
    deleteTraces: async (request) => jsonResponse(await traces.deleteTraces(request.fields)),
    setTraceTag: async (request) => {
      await traces.setTag(pathParameter(request, 'trace_id'), request.fields);
      return jsonResponse({});
    },
    deleteTraceTag: async (request) => {
      await traces.deleteTag(pathParameter(request, 'trace_id'), request.fields);
      return jsonResponse({});
    },
    startTraceV2: async (request) => jsonResponse(await traces.startTraceV2(request.fields)),
    endTraceV2: async (request) =>
      jsonResponse(await traces.endTraceV2(pathParameter(request, 'trace_id'), request.fields)),
    getTraceInfoV2: async (request) =>
      jsonResponse(await traces.getTraceInfoV2(pathParameter(request, 'trace_id'))),
    searchTracesV2: async (request) => {
      requireReadableExperiments(request.caller, experimentIdsNamed(request.fields));
      return jsonResponse(await traces.searchV2(request.fields));
    },
    getTraceArtifact: async (request) => {
      const requestId = queryString(request, 'request_id');
      if (!requestId) {
        throw new InvalidParameterValueError('Request must include the "request_id" query parameter.');
      }
      return traceDataFile(await traces.getTraceData(undefined, requestId, 'v3'));
    },
    uploadTraceData: async (request) => {
      await traces.putTraceData(
        pathParameter(request, 'experiment_id'),
        pathParameter(request, 'trace_id'),
        request.rawBody ?? new Uint8Array(0),
      );
      return jsonResponse({});
    },
    downloadTraceData: async (request) =>
      traceDataFile(
        await traces.getTraceData(
          pathParameter(request, 'experiment_id'),
          pathParameter(request, 'trace_id'),
          'v2',
        ),
      ),
    linkTracesToRun: async (request) => {
      // The route checks EDIT on the run's experiment; the traces already here are checked inside, as
      // one not yet here has no experiment to check (auth off: no caller, no check, no read for it).
      await traces.linkToRun(
        request.fields,
        request.caller ? (kind, resource) => requireLevel(request, kind, resource, 'EDIT') : undefined,
      );
      return jsonResponse({});
    },
    createAssessment: async (request) =>
      jsonResponse(await traces.createAssessment(pathParameter(request, 'trace_id'), request.fields)),
    getAssessment: async (request) =>
      jsonResponse(
        await traces.getAssessment(
          pathParameter(request, 'trace_id'),
          pathParameter(request, 'assessment_id'),
        ),
      ),
    updateAssessment: async (request) =>
      jsonResponse(
        await traces.updateAssessment(
          pathParameter(request, 'trace_id'),
          pathParameter(request, 'assessment_id'),
          request.fields,
        ),
      ),
    deleteAssessment: async (request) => {
      await traces.deleteAssessment(
        pathParameter(request, 'trace_id'),
        pathParameter(request, 'assessment_id'),
      );
      return jsonResponse({});
    },
  };
}

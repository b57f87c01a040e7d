/** Adapters for the artifact endpoints: parse, call the artifacts domain, answer as MLflow's server does. */

import {
  invalidValue,
  missingValue,
  readInt64,
  readOptionalInt,
  readString,
} from '../../shared/api/fields.js';
import type { HttpResult } from '../../shared/api/http.js';
import type { ApiRequest } from '../../shared/api/request.js';
import type { ArtifactPage, FileInfo } from '../../shared/domain/artifacts/model.js';
import { canonicalArtifactPath } from '../../shared/domain/artifacts/paths.js';
import type { ArtifactService } from '../../shared/domain/artifacts/service.js';
import { InvalidParameterValueError } from '../../shared/errors.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';
import { NO_TELEMETRY, type Telemetry } from '../middleware/observability.js';

/** `parts` of mpu/complete: `[{part_number, etag}]`. */
function readParts(fields: Record<string, unknown>): { partNumber: number; etag: string }[] {
  const parts = fields.parts;
  if (parts === undefined || parts === null) throw missingValue('parts');
  if (!Array.isArray(parts)) throw invalidValue('parts', parts);
  return parts.map((part, index) => {
    if (part === null || typeof part !== 'object') throw invalidValue(`parts[${index}]`, part);
    const entry = part as Record<string, unknown>;
    const etag = readString(entry, 'etag', true);
    if (entry.part_number === undefined) throw missingValue(`parts[${index}].part_number`);
    return { partNumber: readInt64(`parts[${index}].part_number`, entry.part_number), etag };
  });
}

function greedy(request: ApiRequest): string {
  if (request.greedyPath === undefined)
    throw new InvalidParameterValueError('Missing artifact path in the URL.');
  return request.greedyPath;
}

function fileInfoJson(file: FileInfo) {
  return {
    path: file.path,
    is_dir: file.isDir,
    ...(file.fileSize === undefined ? {} : { file_size: file.fileSize }),
  };
}

/** A listing page as protobuf JSON has it: empty lists and tokens left out. */
function pageJson(page: ArtifactPage) {
  return jsonResponse({
    root_uri: page.rootUri,
    ...(page.files.length > 0 ? { files: page.files.map(fileInfoJson) } : {}),
    ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
  });
}

/** 307 keeps the method; the stock client follows it and drops its Authorization header for S3. */
function redirect(url: string): HttpResult {
  return { statusCode: 307, headers: { location: url, 'cache-control': 'no-store' }, body: '' };
}

/**
 * A root download (`get-artifact`): the 307 says nosniff as MLflow's answer does; S3's answer, which
 * cannot carry that header, has the type and attachment disposition the URL signs.
 */
function labelledRedirect(url: string): HttpResult {
  const result = redirect(url);
  return { ...result, headers: { ...result.headers, 'x-content-type-options': 'nosniff' } };
}

/** MLflow's UI upload refuses with its own words (`upload_artifact_handler`). */
function uploadRefusal(what: string): InvalidParameterValueError {
  return new InvalidParameterValueError(`Request must specify ${what}.`);
}

/**
 * `artifactsFor` gives the service for one request: the same one on AWS; locally, one whose presigned
 * URLs point at the origin the request came in on (functions/artifacts/handler.ts).
 */
export function artifactOperations(
  artifactsFor: (request: ApiRequest) => ArtifactService,
  telemetry: Telemetry = NO_TELEMETRY,
): Operations {
  return {
    async uploadArtifact(request) {
      await artifactsFor(request).upload(
        greedy(request),
        request.rawBody ?? new Uint8Array(0),
        request.headers['content-type'],
      );
      return jsonResponse({});
    },

    async downloadArtifact(request) {
      const { url } = await artifactsFor(request).downloadUrl(greedy(request));
      telemetry.urlsPresigned(1);
      return redirect(url);
    },

    async listArtifacts(request) {
      const files = await artifactsFor(request).list(readString(request.fields, 'path') ?? '');
      return jsonResponse(files.length > 0 ? { files: files.map(fileInfoJson) } : {});
    },

    async deleteArtifact(request) {
      await artifactsFor(request).delete(greedy(request));
      return jsonResponse({});
    },

    async presignedDownload(request) {
      const { url, size } = await artifactsFor(request).downloadUrl(greedy(request));
      telemetry.urlsPresigned(1);
      return jsonResponse({ url, headers: {}, file_size: size });
    },

    async createMultipartUpload(request) {
      const { fields } = request;
      const { uploadId, credentials } = await artifactsFor(request).createMultipart(
        greedy(request),
        readString(fields, 'path', true),
        readOptionalInt(fields, 'num_parts') ?? 1,
      );
      telemetry.urlsPresigned(credentials.length);
      return jsonResponse({ upload_id: uploadId, credentials });
    },

    async completeMultipartUpload(request) {
      const { fields } = request;
      await artifactsFor(request).completeMultipart(
        greedy(request),
        readString(fields, 'path', true),
        readString(fields, 'upload_id', true),
        readParts(fields),
      );
      return jsonResponse({});
    },

    async abortMultipartUpload(request) {
      const { fields } = request;
      await artifactsFor(request).abortMultipart(
        greedy(request),
        readString(fields, 'path', true),
        readString(fields, 'upload_id', true),
      );
      return jsonResponse({});
    },

    async listRunArtifacts(request) {
      const { fields } = request;
      const runId = readString(fields, 'run_id') || readString(fields, 'run_uuid');
      if (!runId) {
        throw new InvalidParameterValueError(
          "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.",
        );
      }
      return pageJson(
        await artifactsFor(request).listRun(
          runId,
          readString(fields, 'path') ?? '',
          readString(fields, 'page_token') || undefined,
        ),
      );
    },

    async listLoggedModelArtifacts(request) {
      const { fields, pathParameters } = request;
      return pageJson(
        await artifactsFor(request).listLoggedModel(
          pathParameters.model_id ?? '',
          readString(fields, 'artifact_directory_path') ?? '',
          readString(fields, 'page_token') || undefined,
        ),
      );
    },

    async getLoggedModelArtifact(request) {
      const { fields, pathParameters } = request;
      const { url } = await artifactsFor(request).loggedModelFileUrl(
        pathParameters.model_id ?? '',
        readString(fields, 'artifact_file_path', true),
      );
      telemetry.urlsPresigned(1);
      return redirect(url);
    },

    async getRunArtifact(request) {
      const { fields } = request;
      const runId = readString(fields, 'run_id') || readString(fields, 'run_uuid');
      if (!runId) throw missingValue('run_id');
      const { url } = await artifactsFor(request).runFileUrl(runId, readString(fields, 'path', true));
      telemetry.urlsPresigned(1);
      return labelledRedirect(url);
    },

    async getModelVersionArtifact(request) {
      const { fields } = request;
      const { url } = await artifactsFor(request).versionFileUrl(
        readString(fields, 'name', true),
        readString(fields, 'version', true),
        readString(fields, 'path', true),
      );
      telemetry.urlsPresigned(1);
      return labelledRedirect(url);
    },

    async uploadRunArtifact(request) {
      const { fields } = request;
      // MLflow's UI sends `run_uuid`; `run_id` is read too, as everywhere else.
      const runId = readString(fields, 'run_uuid') || readString(fields, 'run_id');
      if (!runId) throw uploadRefusal('run_uuid');
      const path = readString(fields, 'path');
      if (!path) throw uploadRefusal('path');
      canonicalArtifactPath(path, 'path');
      const body = request.rawBody ?? new Uint8Array(0);
      if (body.length === 0) throw uploadRefusal('data');
      await artifactsFor(request).uploadRunFile(runId, path, body, request.headers['content-type']);
      return jsonResponse({});
    },

    async createPresignedUploadUrl(request) {
      const { fields } = request;
      const { url, headers } = await artifactsFor(request).presignedUploadUrl(
        readString(fields, 'run_id', true),
        readString(fields, 'path', true),
        readOptionalInt(fields, 'expiration'),
        // Cairn's addition to the message: a size known in advance is bound into the signature.
        readOptionalInt(fields, 'content_length'),
      );
      telemetry.urlsPresigned(1);
      return jsonResponse({ presigned_url: url, headers });
    },
  };
}

/** Adapters for the artifact endpoints: parse, call the artifacts domain, answer as MLflow's server does. */
import * as v from 'valibot';
import { InvalidParameterValueError } from '../../shared/api/errors.js';
import type { ApiRequest } from '../../shared/api/request.js';
import { int64, parseMessage, requiredString, str } from '../../shared/api/schema.js';
import type { ArtifactService, FileInfo } from '../../shared/domain/artifacts.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';

const ListArtifacts = v.object({ path: v.optional(str, '') });
const MultipartCreate = v.object({ path: requiredString, num_parts: v.optional(int64, 1) });
const MultipartComplete = v.object({
  path: requiredString,
  upload_id: requiredString,
  parts: v.array(v.object({ part_number: int64, etag: requiredString })),
});
const MultipartAbort = v.object({ path: requiredString, upload_id: requiredString });
const ListRun = v.object({
  run_id: v.optional(str),
  run_uuid: v.optional(str),
  path: v.optional(str, ''),
  page_token: v.optional(str),
});
const PresignedUpload = v.object({
  run_id: requiredString,
  path: requiredString,
  expiration: v.optional(int64),
});

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

export function artifactOperations(artifacts: ArtifactService): Operations {
  return {
    async uploadArtifact(request) {
      await artifacts.upload(
        greedy(request),
        request.rawBody ?? new Uint8Array(0),
        request.headers['content-type'],
      );
      return jsonResponse({});
    },

    async downloadArtifact(request) {
      // 307 keeps the method; the stock client follows it and drops its Authorization header for S3.
      const { url } = await artifacts.downloadUrl(greedy(request));
      return { statusCode: 307, headers: { location: url, 'cache-control': 'no-store' }, body: '' };
    },

    async listArtifacts({ fields }) {
      const { path } = parseMessage(ListArtifacts, fields);
      const files = await artifacts.list(path);
      return jsonResponse(files.length > 0 ? { files: files.map(fileInfoJson) } : {});
    },

    async deleteArtifact(request) {
      await artifacts.delete(greedy(request));
      return jsonResponse({});
    },

    async presignedDownload(request) {
      const { url, size } = await artifacts.downloadUrl(greedy(request));
      return jsonResponse({ url, headers: {}, file_size: size });
    },

    async createMultipartUpload(request) {
      const message = parseMessage(MultipartCreate, request.fields);
      const { uploadId, credentials } = await artifacts.createMultipart(
        greedy(request),
        message.path,
        message.num_parts,
      );
      return jsonResponse({ upload_id: uploadId, credentials });
    },

    async completeMultipartUpload(request) {
      const message = parseMessage(MultipartComplete, request.fields);
      await artifacts.completeMultipart(
        greedy(request),
        message.path,
        message.upload_id,
        message.parts.map((part) => ({ partNumber: part.part_number, etag: part.etag })),
      );
      return jsonResponse({});
    },

    async abortMultipartUpload(request) {
      const message = parseMessage(MultipartAbort, request.fields);
      await artifacts.abortMultipart(greedy(request), message.path, message.upload_id);
      return jsonResponse({});
    },

    async listRunArtifacts({ fields }) {
      const message = parseMessage(ListRun, fields);
      const runId = message.run_id || message.run_uuid;
      if (!runId) {
        throw new InvalidParameterValueError(
          "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.",
        );
      }
      const page = await artifacts.listRun(runId, message.path, message.page_token || undefined);
      return jsonResponse({
        root_uri: page.rootUri,
        ...(page.files.length > 0 ? { files: page.files.map(fileInfoJson) } : {}),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    },

    async createPresignedUploadUrl({ fields }) {
      const message = parseMessage(PresignedUpload, fields);
      const { url, headers } = await artifacts.presignedUploadUrl(
        message.run_id,
        message.path,
        message.expiration,
      );
      return jsonResponse({ presigned_url: url, headers });
    },
  };
}

/**
 * The artifacts domain: MLflow's proxied-artifact protocol (contract 2.4.9 and 4) answered with
 * presigned S3 URLs wherever the protocol allows, so that bytes do not flow through the function.
 *
 * Every path is canonicalized once (artifact-paths.ts), parsed into its owner (a run, or a logged model)
 * and a relative path, and the owner is checked (it exists; writes need it active) before a key is
 * derived. Keys are only ever derived here, and checked to stay under the owner's root.
 */

import { createHash } from 'node:crypto';
import { InvalidParameterValueError, MlflowError, ResourceDoesNotExistError } from '../../errors.js';
import { isLoggedModelId, validateRunId } from '../ids.js';
import type { LoggedModelStatus } from '../logged-models/model.js';
import { parseVersion, REGISTRY_LIMITS } from '../registry/rules.js';
import { locateSource } from '../registry/sources.js';
import { findByName, validateMaxLength } from '../rules.js';
import { attachmentDisposition, guessMimeType } from './mime.js';
import type {
  ArtifactLoggedModel,
  ArtifactOwners,
  ArtifactPage,
  ArtifactRun,
  ArtifactStorage,
  FileInfo,
  Sealed,
  VersionSources,
} from './model.js';
import {
  type ArtifactOwner,
  artifactKey,
  canonicalArtifactPath,
  isUnder,
  ownerRoot,
  parseArtifactPath,
  sealedPathTouched,
} from './paths.js';

export const ARTIFACT_LIMITS = {
  /** S3's limit on parts per multipart upload. */
  maxParts: 10_000,
  /** presigned-upload-url: MLflow's default expiration, and Cairn's ceiling (URLs die with their credentials anyway). */
  defaultUploadExpirationSeconds: 900,
  maxUploadExpirationSeconds: 3600,
  /** Part URLs outlive ordinary presigned URLs: every part of a large upload is signed at create time. */
  partUrlSeconds: 3600,
  /** `artifacts/list` page size. */
  listPageSize: 1000,
  /** S3's limit for one PUT. */
  maxSinglePutBytes: 5 * 1024 ** 3,
  /** Room for one JSON answer under Lambda's 6 MB response limit (the body is escaped once more there). */
  responseBudgetBytes: 5 * 1024 * 1024,
} as const;

/**
 * The longest any presigned URL this code signs stays valid, given the deployment's presign lifetime: the
 * bucket policy refuses signatures older than this (infra/stacks/data-stack.ts), so it must cover them all.
 */
export function longestPresignSeconds(presignExpiresSeconds: number): number {
  return Math.max(
    presignExpiresSeconds,
    ARTIFACT_LIMITS.partUrlSeconds,
    ARTIFACT_LIMITS.maxUploadExpirationSeconds,
  );
}

/**
 * The upload id handed to clients binds S3's upload id to the object key it was created for, so that
 * complete and abort can only act on an upload for the path they name (S3 itself checks this; the local
 * stand-in does not, and would complete another run's upload).
 */
function issueUploadId(s3UploadId: string, key: string): string {
  return Buffer.from(
    JSON.stringify({ u: s3UploadId, k: createHash('sha256').update(key).digest('base64url') }),
  ).toString('base64url');
}

function redeemUploadId(uploadId: string, key: string): string {
  const refuse = () =>
    new InvalidParameterValueError(`Invalid value for parameter 'upload_id': not an upload of this path.`);
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(uploadId)) throw refuse();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(uploadId, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const { u, k } = (body ?? {}) as { u?: unknown; k?: unknown };
  if (typeof u !== 'string' || u === '' || k !== createHash('sha256').update(key).digest('base64url'))
    throw refuse();
  return u;
}

/**
 * What a request does to its path: `write` creates or replaces a file, `delete` removes a file or a
 * directory, `abort` discards an unfinished multipart upload (it changes no stored file, so sealed paths
 * allow it).
 */
type Access = 'read' | 'write' | 'delete' | 'abort';

const FINALIZED_STATUS: LoggedModelStatus = 'LOGGED_MODEL_READY';

/**
 * 409: the files a registered version or a finalized logged model was made from are what it serves, so
 * they are never replaced or deleted (issue 11, item 5). Not retried by the stock client.
 */
function immutableError(relative: string, change: 'write' | 'delete', why: string): MlflowError {
  const verb = change === 'write' ? 'written' : 'deleted';
  return new MlflowError(
    'RESOURCE_CONFLICT',
    `Artifact '${relative || '.'}' cannot be ${verb}: ${why}. The files of a finalized logged model and of a registered model version's source are immutable; log changed files under a new path.`,
  );
}

function refuseSealed(relative: string, sealedPaths: readonly string[], change: 'write' | 'delete'): void {
  const sealed = sealedPathTouched(relative, sealedPaths, change);
  if (sealed !== undefined) {
    throw immutableError(relative, change, `'${sealed || '.'}' is the source of a registered model version`);
  }
}

interface Resolved {
  owner: ArtifactOwner;
  relative: string;
  root: string;
  key: string;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** MLflow's listings: every entry by path, directories among the files (not first). */
function byPath(files: FileInfo[]): FileInfo[] {
  return files.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
}

/** What `model-versions/get-artifact` needs of the registry, and the root its sources are read under. */
export interface RegistryAccess {
  versions: VersionSources;
  artifactRoot: string;
}

export class ArtifactService {
  constructor(
    private readonly storage: ArtifactStorage,
    private readonly owners: ArtifactOwners,
    private readonly keyPrefix: string,
    private readonly registry?: RegistryAccess,
  ) {}

  /**
   * Canonicalizes, parses and authorizes a proxied-artifact path (`<exp>/<run>/artifacts/...` or
   * `<exp>/models/<model_id>/artifacts/...`).
   */
  async resolve(rawPath: string, field: string, access: Access): Promise<Resolved> {
    const canonical = canonicalArtifactPath(rawPath, field);
    const { owner, relative } = parseArtifactPath(canonical, field);
    await this.checkOwner(owner, relative, access);
    return this.locate(owner, relative, rawPath, field);
  }

  /** The key of a canonical `relative` path under an owner already authorized. */
  private locate(owner: ArtifactOwner, relative: string, rawPath: string, field: string): Resolved {
    const root = ownerRoot(this.keyPrefix, owner);
    const key = artifactKey(this.keyPrefix, owner, relative);
    if (!isUnder(key, root))
      throw new InvalidParameterValueError(`Invalid path '${rawPath}' for parameter '${field}'.`);
    return { owner, relative, root, key };
  }

  /**
   * The owner exists in the experiment its path names; writes need it active, and must not change a
   * finalized logged model's files or a registered version's source (sealed paths).
   */
  private async checkOwner(owner: ArtifactOwner, relative: string, access: Access): Promise<void> {
    const changes = access === 'write' || access === 'delete' ? access : undefined;
    if (owner.kind === 'model') {
      // A deleted logged model is gone for reads and writes alike, as MLflow's store answers for it.
      const model: (ArtifactLoggedModel & Partial<Sealed>) | undefined =
        access === 'read'
          ? await this.owners.getLoggedModel(owner.modelId)
          : await this.owners.getLoggedModelForWrite(owner.modelId);
      if (!model || model.experimentId !== owner.experimentId || model.lifecycleStage !== 'active') {
        throw new ResourceDoesNotExistError(
          `Logged model with id=${owner.modelId} not found in experiment ${owner.experimentId}`,
        );
      }
      if (changes && model.status === FINALIZED_STATUS) {
        throw immutableError(
          relative,
          changes,
          `logged model ${owner.modelId} is finalized (${FINALIZED_STATUS})`,
        );
      }
      if (changes) refuseSealed(relative, model.sealedPaths ?? [], changes);
      return;
    }
    const run: (ArtifactRun & Partial<Sealed>) | undefined =
      access === 'read' ? await this.owners.get(owner.runId) : await this.owners.getRunForWrite(owner.runId);
    if (!run || run.experimentId !== owner.experimentId) {
      throw new ResourceDoesNotExistError(
        `Run with id=${owner.runId} not found in experiment ${owner.experimentId}`,
      );
    }
    if (access !== 'read' && run.lifecycleStage !== 'active') {
      throw new InvalidParameterValueError(
        `The run ${owner.runId} must be in the 'active' state. Current state is ${run.lifecycleStage}.`,
      );
    }
    if (changes) refuseSealed(relative, run.sealedPaths ?? [], changes);
  }

  async upload(rawPath: string, body: Uint8Array, contentType: string | undefined): Promise<void> {
    const target = await this.resolve(rawPath, 'path', 'write');
    if (target.relative === '') {
      throw new InvalidParameterValueError(
        `Invalid path '${rawPath}': an upload needs a file name under the artifact root.`,
      );
    }
    await this.storage.put(target.key, body, contentType);
  }

  /** A presigned GET URL for an existing file, or 404. */
  async downloadUrl(rawPath: string): Promise<{ url: string; size: number }> {
    return this.presignedGet(await this.resolve(rawPath, 'path', 'read'), rawPath);
  }

  private async presignedGet(
    target: Resolved,
    rawPath: string,
    labelled = false,
  ): Promise<{ url: string; size: number; contentType?: string }> {
    const size = target.relative === '' ? undefined : await this.storage.size(target.key);
    if (size === undefined) throw new ResourceDoesNotExistError(`Artifact '${rawPath}' not found`);
    const fileName = lastSegment(target.relative);
    if (!labelled) return { url: await this.storage.presignGet(target.key, fileName), size };
    const contentType = guessMimeType(fileName);
    const url = await this.storage.presignGet(target.key, fileName, {
      contentType,
      contentDisposition: attachmentDisposition(fileName),
    });
    return { url, size, contentType };
  }

  /**
   * MLflow's `GET /get-artifact`: a run's file by its path under the run's artifact root, as a presigned
   * GET that S3 answers with MLflow's type for the file and as an attachment.
   */
  async runFileUrl(runId: string, rawPath: string) {
    validateRunId(runId);
    const run = await this.owners.get(runId);
    if (!run) throw new ResourceDoesNotExistError(`Run with id=${runId} not found`);
    const owner: ArtifactOwner = { kind: 'run', experimentId: run.experimentId, runId };
    return this.presignedGet(
      this.locate(owner, canonicalArtifactPath(rawPath, 'path'), rawPath, 'path'),
      rawPath,
      true,
    );
  }

  /**
   * MLflow's `GET /model-versions/get-artifact`: a file under a version's source. Only sources in a run's
   * or logged model's files here can be served (the server reads nothing anywhere else); others are 404.
   */
  async versionFileUrl(name: string, rawVersion: string, rawPath: string) {
    if (!this.registry) throw new Error('model-versions/get-artifact needs the registry');
    const { versions, artifactRoot } = this.registry;
    if (name === '') throw new InvalidParameterValueError("Missing value for required parameter 'name'.");
    validateMaxLength('name', name, REGISTRY_LIMITS.modelName);
    const number = parseVersion('version', rawVersion);
    const relative = canonicalArtifactPath(rawPath, 'path');
    const modelId = await findByName(name, (candidate) => versions.modelId(candidate));
    if (!modelId) throw new ResourceDoesNotExistError(`Registered Model with name=${name} not found`);
    const source = await versions.source(modelId, number);
    if (source === undefined)
      throw new ResourceDoesNotExistError(`Model Version (name=${name}, version=${number}) not found`);
    const location = await locateSource(source, artifactRoot, this.owners);
    if (!location) {
      throw new ResourceDoesNotExistError(
        `Artifact '${rawPath}' of model version ${number} not found: its source ${source} is not in this deployment's artifact store.`,
      );
    }
    await this.checkOwner(location.owner, location.relative, 'read');
    const joined = [location.relative, relative].filter(Boolean).join('/');
    return this.presignedGet(this.locate(location.owner, joined, rawPath, 'path'), rawPath, true);
  }

  /**
   * MLflow's UI upload (`ajax-api/2.0/mlflow/upload-artifact`): bytes to a path under a run's artifact
   * root, checked as every write is (the run active, sealed paths kept).
   */
  async uploadRunFile(runId: string, rawPath: string, body: Uint8Array, contentType: string | undefined) {
    validateRunId(runId);
    const relative = canonicalArtifactPath(rawPath, 'path');
    const run = await this.owners.get(runId);
    if (!run) throw new ResourceDoesNotExistError(`Run with id=${runId} not found`);
    const owner: ArtifactOwner = { kind: 'run', experimentId: run.experimentId, runId };
    await this.checkOwner(owner, relative, 'write');
    if (relative === '') {
      throw new InvalidParameterValueError(
        `Invalid path '${rawPath}': an upload needs a file name under the artifact root.`,
      );
    }
    await this.storage.put(this.locate(owner, relative, rawPath, 'path').key, body, contentType);
  }

  /**
   * The mlflow-artifacts listing: the entries directly under `path` (basenames, as MLflow's server
   * answers), or the file itself when `path` names a file.
   */
  async list(rawPath: string): Promise<FileInfo[]> {
    // A directory may be named with a trailing slash in a listing.
    const target = await this.resolve(rawPath.replace(/\/+$/, ''), 'path', 'read');
    const directory = target.relative === '' ? target.root : `${target.key}/`;
    const { objects, prefixes } = await this.storage.listAll(directory, true);
    if (objects.length === 0 && prefixes.length === 0 && target.relative !== '') {
      const size = await this.storage.size(target.key);
      return size === undefined ? [] : [{ path: lastSegment(target.relative), isDir: false, fileSize: size }];
    }
    return byPath([
      ...prefixes.map((prefix) => ({ path: lastSegment(prefix.slice(0, -1)), isDir: true })),
      ...objects
        .filter((object) => object.key !== directory)
        .map((object) => ({ path: lastSegment(object.key), isDir: false, fileSize: object.size })),
    ]);
  }

  /** Deletes a file, or everything under a directory. */
  async delete(rawPath: string): Promise<void> {
    const target = await this.resolve(rawPath, 'path', 'delete');
    if (target.relative !== '' && (await this.storage.size(target.key)) !== undefined) {
      await this.storage.delete(target.key);
      return;
    }
    const removed = await this.storage.deletePrefix(target.relative === '' ? target.root : `${target.key}/`);
    if (removed === 0) throw new ResourceDoesNotExistError(`Artifact '${rawPath}' not found`);
  }

  /**
   * The `artifacts/list` RPC: entries under `path` of a run's artifact root, with paths relative to that
   * root, paged by S3 continuation tokens.
   */
  async listRun(runId: string, rawPath: string, pageToken: string | undefined): Promise<ArtifactPage> {
    validateRunId(runId);
    const run = await this.owners.get(runId);
    if (!run) throw new ResourceDoesNotExistError(`Run with id=${runId} not found`);
    const owner: ArtifactOwner = { kind: 'run', experimentId: run.experimentId, runId };
    return this.listPage(owner, run.artifactUri, rawPath, 'path', pageToken);
  }

  /**
   * The `logged-models/<model_id>/artifacts/directories` RPC (listLoggedModelArtifacts): `artifacts/list`
   * for a logged model, under `artifact_directory_path`. Deleted models are not found.
   */
  async listLoggedModel(
    modelId: string,
    rawPath: string,
    pageToken: string | undefined,
  ): Promise<ArtifactPage> {
    const model = await this.loggedModel(modelId);
    const owner: ArtifactOwner = { kind: 'model', experimentId: model.experimentId, modelId };
    return this.listPage(owner, model.artifactUri, rawPath, 'artifact_directory_path', pageToken);
  }

  /** The UI's logged-model file download (`artifact_file_path`): a presigned GET for an existing file. */
  async loggedModelFileUrl(modelId: string, rawPath: string): Promise<{ url: string; size: number }> {
    const model = await this.loggedModel(modelId);
    const field = 'artifact_file_path';
    const owner: ArtifactOwner = { kind: 'model', experimentId: model.experimentId, modelId };
    return this.presignedGet(
      this.locate(owner, canonicalArtifactPath(rawPath, field), rawPath, field),
      rawPath,
    );
  }

  private async loggedModel(modelId: string): Promise<ArtifactLoggedModel> {
    // An id of another form cannot exist: it is not looked up, nor put into a path.
    const model = isLoggedModelId(modelId) ? await this.owners.getLoggedModel(modelId) : undefined;
    if (model?.lifecycleStage !== 'active') {
      throw new ResourceDoesNotExistError(`Logged model with id=${modelId.slice(0, 300)} not found`);
    }
    return model;
  }

  /** One page of entries under `rawPath` (relative to an authorized owner's root), paths relative to it. */
  private async listPage(
    owner: ArtifactOwner,
    rootUri: string,
    rawPath: string,
    field: string,
    pageToken: string | undefined,
  ): Promise<ArtifactPage> {
    const relative = canonicalArtifactPath(rawPath.replace(/\/+$/, ''), field);
    const target = this.locate(owner, relative, rawPath, field);
    const directory = target.relative === '' ? target.root : `${target.key}/`;
    const page = await this.storage.listPage(directory, true, pageToken, ARTIFACT_LIMITS.listPageSize);
    const relativeOf = (key: string) => key.slice(target.root.length).replace(/\/$/, '');
    return {
      rootUri,
      // By path within a page; S3 orders keys, where `dir.txt` sorts before `dir/`, so at a page's edge
      // the order can differ from MLflow's by such a pair.
      files: byPath([
        ...page.prefixes.map((prefix) => ({ path: relativeOf(prefix), isDir: true })),
        ...page.objects
          .filter((object) => object.key !== directory)
          .map((object) => ({ path: relativeOf(object.key), isDir: false, fileSize: object.size })),
      ]),
      ...(page.nextToken ? { nextPageToken: page.nextToken } : {}),
    };
  }

  /** `mpu/create`: the object is `<dir>/<basename of the client's local path>`; one presigned URL per part. */
  async createMultipart(rawDir: string, localPath: string, numParts: number) {
    if (!Number.isInteger(numParts) || numParts < 1 || numParts > ARTIFACT_LIMITS.maxParts) {
      throw new InvalidParameterValueError(
        `Invalid value ${numParts} for parameter 'num_parts': it must be between 1 and ${ARTIFACT_LIMITS.maxParts}.`,
      );
    }
    const target = await this.multipartTarget(rawDir, localPath);
    // All part URLs go back in one answer, which must fit Lambda's 6 MB response: URLs signed with the
    // function's session credentials are ~1.5 KB each, so very many parts cannot be served at once.
    const [sample] = await this.storage.presignParts(target.key, 'x'.repeat(64), [ARTIFACT_LIMITS.maxParts]);
    const estimate = numParts * (Buffer.byteLength(JSON.stringify(sample)) + 60);
    if (estimate > ARTIFACT_LIMITS.responseBudgetBytes) {
      throw new InvalidParameterValueError(
        `Invalid value ${numParts} for parameter 'num_parts': the part URLs would not fit one answer (about ${estimate} bytes). Use fewer, larger parts: raise MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE on the client.`,
      );
    }
    const s3UploadId = await this.storage.createMultipart(target.key);
    const partNumbers = Array.from({ length: numParts }, (_, index) => index + 1);
    const urls = await this.storage.presignParts(target.key, s3UploadId, partNumbers);
    const credentials = partNumbers.map((partNumber, index) => ({
      url: urls[index] as string,
      part_number: partNumber,
      headers: {},
    }));
    return { uploadId: issueUploadId(s3UploadId, target.key), credentials };
  }

  async completeMultipart(
    rawDir: string,
    localPath: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    if (parts.length === 0) throw new InvalidParameterValueError("'parts' must list the uploaded parts.");
    const numbers = new Set(parts.map((part) => part.partNumber));
    if (
      numbers.size !== parts.length ||
      parts.some(
        (part) =>
          !Number.isInteger(part.partNumber) ||
          part.partNumber < 1 ||
          part.partNumber > ARTIFACT_LIMITS.maxParts,
      )
    ) {
      throw new InvalidParameterValueError(
        `Invalid value for parameter 'parts': part numbers must be distinct, from 1 to ${ARTIFACT_LIMITS.maxParts}.`,
      );
    }
    const target = await this.multipartTarget(rawDir, localPath);
    await this.storage.completeMultipart(target.key, redeemUploadId(uploadId, target.key), parts);
  }

  async abortMultipart(rawDir: string, localPath: string, uploadId: string): Promise<void> {
    const target = await this.multipartTarget(rawDir, localPath, 'abort');
    await this.storage.abortMultipart(target.key, redeemUploadId(uploadId, target.key));
  }

  private async multipartTarget(
    rawDir: string,
    localPath: string,
    access: 'write' | 'abort' = 'write',
  ): Promise<Resolved> {
    // The client sends its own local file path; only its last segment names the object.
    const name = localPath.split(/[/\\]/).at(-1) ?? '';
    // The client's local path arrives as plain JSON, never percent-encoded: a '%' would be decoded away.
    if (name === '' || name.includes('%')) {
      throw new InvalidParameterValueError(
        `Invalid value '${localPath}' for parameter 'path': unusable file name.`,
      );
    }
    const directory = canonicalArtifactPath(rawDir, 'path');
    const file = canonicalArtifactPath(name, 'path');
    return this.resolve(directory ? `${directory}/${file}` : file, 'path', access);
  }

  /** A presigned PUT for any HTTP client (curl, a browser, a Node job): one key, short-lived. */
  async presignedUploadUrl(
    runId: string,
    rawPath: string,
    expiration: number | undefined,
    contentLength?: number,
  ): Promise<{ url: string; headers: Record<string, string> }> {
    if (
      contentLength !== undefined &&
      (!Number.isSafeInteger(contentLength) ||
        contentLength < 0 ||
        contentLength > ARTIFACT_LIMITS.maxSinglePutBytes)
    ) {
      throw new InvalidParameterValueError(`Invalid value ${contentLength} for parameter 'content_length'.`);
    }
    const seconds = expiration ?? ARTIFACT_LIMITS.defaultUploadExpirationSeconds;
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > ARTIFACT_LIMITS.maxUploadExpirationSeconds) {
      throw new InvalidParameterValueError(
        `Invalid value ${seconds} for parameter 'expiration': it must be between 1 and ${ARTIFACT_LIMITS.maxUploadExpirationSeconds} seconds.`,
      );
    }
    validateRunId(runId);
    const run = await this.owners.get(runId);
    if (!run) throw new ResourceDoesNotExistError(`Run with id=${runId} not found`);
    const relative = canonicalArtifactPath(rawPath, 'path');
    if (relative === '')
      throw new InvalidParameterValueError("'path' must name a file under the run's artifacts.");
    const target = await this.resolve(`${run.experimentId}/${runId}/artifacts/${relative}`, 'path', 'write');
    // A size given up front is signed into the URL: S3 then refuses a body of any other length.
    return {
      url: await this.storage.presignPut(target.key, seconds, contentLength),
      headers: contentLength === undefined ? {} : { 'Content-Length': String(contentLength) },
    };
  }
}

/**
 * The 413 a too-large upload through the API gets. `bodyBytes` is the file's size; `receivedBytes` the
 * request as Lambda counts it (a binary body travels base64-encoded, a third larger), so the message
 * names both. The stock client can switch to direct multipart uploads; the UI's form upload cannot.
 */
export function uploadTooLargeError(
  receivedBytes: number,
  limitBytes: number,
  bodyBytes: number,
  fromUi: boolean,
): MlflowError {
  const size =
    bodyBytes === receivedBytes
      ? `Artifact upload of ${receivedBytes} bytes exceeds`
      : `Artifact upload of ${bodyBytes} bytes (${receivedBytes} bytes as the function receives it, base64-encoded) exceeds`;
  return new MlflowError(
    'RESOURCE_LIMIT_EXCEEDED',
    `${size} the ${limitBytes}-byte limit for uploads through the API. ` +
      (fromUi
        ? 'Log files of this size with the MLflow client, which uploads them straight to storage.'
        : 'Upload large files straight to storage with multipart: set MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true and ' +
          'MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE=4194304 (or lower) on the client.'),
  );
}

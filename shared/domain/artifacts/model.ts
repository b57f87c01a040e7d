/**
 * The artifacts domain's types: what it reads of artifact owners (runs, logged models) and what it needs
 * of object storage, both implemented outside the domain (DynamoRunReader, S3ArtifactStore).
 */
import type { LifecycleStage } from '../experiments/model.js';

/** The run fields authorization needs. */
export interface ArtifactRun {
  runId: string;
  experimentId: string;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
}

/** The logged model (MLflow 3) fields authorization needs. */
export interface ArtifactLoggedModel {
  modelId: string;
  experimentId: string;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
  /** `LOGGED_MODEL_READY` once finalized: its files are then immutable. */
  status?: string;
}

/**
 * What a write needs to know besides the owner: the paths under its artifact root that registered model
 * versions' sources seal ('' is the whole root), relative to that root.
 */
export interface Sealed {
  sealedPaths: string[];
}

/** Where the owners of artifact paths are looked up (DynamoRunReader implements it). */
export interface ArtifactOwners {
  get(runId: string): Promise<ArtifactRun | undefined>;
  getLoggedModel(modelId: string): Promise<ArtifactLoggedModel | undefined>;
  /** The run and its sealed paths, in one read: every write asks this instead of `get`. */
  getRunForWrite(runId: string): Promise<(ArtifactRun & Sealed) | undefined>;
  getLoggedModelForWrite(modelId: string): Promise<(ArtifactLoggedModel & Sealed) | undefined>;
}

export interface ArtifactPage {
  rootUri: string;
  files: FileInfo[];
  nextPageToken?: string;
}

/** One page of a storage listing under a prefix. */
export interface StorageListing {
  /** `etag` (S3's, quotes included) and `lastModified` (epoch ms) when the storage reports them. */
  objects: { key: string; size: number; etag?: string; lastModified?: number }[];
  /** Common prefixes (sub-directories), each ending in `/`; only with a delimiter. */
  prefixes: string[];
  nextToken?: string;
}

/** What the domain needs from object storage (S3ArtifactStore implements it). */
export interface ArtifactStorage {
  put(key: string, body: Uint8Array, contentType: string | undefined): Promise<void>;
  size(key: string): Promise<number | undefined>;
  /**
   * A GET URL for one key, answered as an attachment named `fileName`; `headers` has S3 answer with that
   * type and disposition instead (response-content-type / response-content-disposition, both signed).
   */
  presignGet(
    key: string,
    fileName: string,
    headers?: { contentType: string; contentDisposition: string },
  ): Promise<string>;
  presignPut(key: string, expiresSeconds: number, contentLength?: number): Promise<string>;
  listPage(prefix: string, delimiter: boolean, token?: string, maxKeys?: number): Promise<StorageListing>;
  listAll(prefix: string, delimiter: boolean): Promise<Omit<StorageListing, 'nextToken'>>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<number>;
  createMultipart(key: string): Promise<string>;
  /** One UploadPart URL per part number, in order. */
  presignParts(key: string, uploadId: string, partNumbers: readonly number[]): Promise<string[]>;
  completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}

export interface FileInfo {
  path: string;
  isDir: boolean;
  fileSize?: number;
}

/** The registry, as far as serving a model version's files needs it (store/registry/version-reader.ts). */
export interface VersionSources {
  /** The registered model's id by its exact name, or undefined. */
  modelId(name: string): Promise<string | undefined>;
  /** The source a version was registered with, or undefined when there is no such version. */
  source(modelId: string, version: number): Promise<string | undefined>;
}

/** The registry's entities. Types only, so that search and store modules need not import the service. */
import type { ResourceKind } from '../../auth/permissions.js';
import type { ArtifactOwner } from '../artifacts/paths.js';
import type { FileDigest } from '../promotion/model.js';

/** MLflow's model version stages (rules.ts lists them in STAGES). */
export type Stage = 'None' | 'Staging' | 'Production' | 'Archived';

export interface RegisteredModel {
  /** Immutable internal id; the name can change (rename), the id never does. */
  modelId: string;
  name: string;
  description?: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId?: string;
  tags: Record<string, string>;
  /** alias → version number. */
  aliases: Record<string, number>;
}

export interface ModelVersion {
  modelId: string;
  version: number;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId?: string;
  currentStage: Stage;
  description?: string;
  source: string;
  runId?: string;
  runLink?: string;
  /** The logged model (`m-<hex>`) this version was registered from, if any. */
  loggedModelId?: string;
  /**
   * Where the version's files are, when not at `source`: a `models:/m-<id>` source is stored at the
   * logged model's artifact location (what get-download-uri answers).
   */
  storageLocation?: string;
  /**
   * Why the run that produced the version's files cannot be verified (a foreign source, a source run that
   * does not exist, ids that contradict the source): every promotion policy refuses such a version. Absent
   * for verified versions, and for every version registered before unverified ones were accepted.
   */
  unverified?: string;
  status: 'READY';
  tags: Record<string, string>;
}

/** A version together with its model, the shape every response needs. */
export interface VersionView {
  model: RegisteredModel;
  version: ModelVersion;
}

export interface ModelView {
  model: RegisteredModel;
  latestVersions: ModelVersion[];
}

export interface NewRegisteredModel {
  name: string;
  description?: string;
  tags: Record<string, string>;
  now: number;
  userId?: string;
  /**
   * Called once the name is this model's (its claim won) and before the model can be found: the creator's
   * MANAGE grant is written here (issue 16). If it throws, the name is released and nothing is created.
   */
  beforeVisible?: () => Promise<void>;
}

export interface VersionChanges {
  description?: string;
  stage?: Stage;
}

export interface CreateVersionInput {
  name: string;
  /** The authenticated principal creating the version (MLflow's user_id); unset without auth. */
  userId?: string;
  source: string;
  runId?: string;
  runLink?: string;
  description?: string;
  loggedModelId?: string;
  tags: { key: string; value: string }[];
  /**
   * Called, before anything is written, with each resource the version's files are read from: the
   * experiment of the source's run or logged model, or the registered model a `models:/<name>/<version>`
   * source copies. Throws to refuse (issue 16: registering needs READ there, or a version would serve files
   * its creator may not read). Unset without auth.
   */
  mayRead?: (kind: ResourceKind, resource: string) => void;
  /**
   * Called, before anything is written, with the experiment of the logged model `model_id` names: the
   * version tags it (`mlflow.modelVersions`), a write there, so it needs EDIT. Unset without auth.
   */
  mayEdit?: (kind: ResourceKind, resource: string) => void;
}

export interface RegistryRepository {
  getModelByName(name: string): Promise<RegisteredModel | undefined>;
  createModel(input: NewRegisteredModel): Promise<RegisteredModel>;
  /**
   * `beforeVisible` runs once the new name is the model's (its claim won) and before the model can be found
   * under it: the model's grants are copied to the new name there (issue 16). If it throws, nothing changes.
   */
  renameModel(
    model: RegisteredModel,
    newName: string,
    now: number,
    beforeVisible?: () => Promise<void>,
  ): Promise<void>;
  updateModel(modelId: string, description: string, now: number): Promise<boolean>;
  /** The model's last_updated_timestamp becomes `now` (a change to one of its versions, as MLflow's stores). */
  touchModel(modelId: string, now: number): Promise<boolean>;
  deleteModel(model: RegisteredModel): Promise<void>;
  setModelTag(modelId: string, key: string, value: string): Promise<boolean>;
  deleteModelTag(modelId: string, key: string): Promise<boolean>;
  listModels(): Promise<RegisteredModel[]>;
  /** Next version number of a model (atomic counter); undefined when the model is gone. */
  nextVersion(modelId: string, now: number): Promise<number | undefined>;
  putVersion(version: ModelVersion): Promise<void>;
  getVersion(modelId: string, version: number): Promise<ModelVersion | undefined>;
  listVersions(modelId: string): Promise<ModelVersion[]>;
  listAllVersions(): Promise<ModelVersion[]>;
  updateVersion(modelId: string, version: number, changes: VersionChanges, now: number): Promise<boolean>;
  /** With `now`, the model's last_updated_timestamp becomes it (MLflow's stores do so on a delete). */
  deleteVersion(modelId: string, version: number, now?: number): Promise<void>;
  setVersionTag(modelId: string, version: number, key: string, value: string): Promise<boolean>;
  deleteVersionTag(modelId: string, version: number, key: string): Promise<boolean>;
  setAlias(modelId: string, alias: string, version: number, now: number): Promise<boolean>;
  /** Removes the alias; with `onlyIfVersion`, only while it still points at that version. */
  deleteAlias(modelId: string, alias: string, onlyIfVersion?: number): Promise<boolean>;
}

/**
 * What the registry reads of the tracking store to check a new version's source (DynamoRunReader fits):
 * runs named by `runs:/` sources or `run_id`, and logged models named by `models:/` sources or `model_id`.
 */
export interface VersionSourceLookup {
  get(runId: string): Promise<{ experimentId: string; artifactUri: string } | undefined>;
  getLoggedModel(modelId: string): Promise<
    | {
        experimentId: string;
        lifecycleStage: string;
        artifactUri: string;
        sourceRunId?: string;
        /** Why the logged model's source run could not be verified when it was created. */
        unverified?: string;
      }
    | undefined
  >;
}

/** Where a version's files are: the run or logged model that holds them, and the path under its root. */
export interface SourceLocation {
  owner: ArtifactOwner;
  /** Canonical, relative to the owner's artifact root; '' for all of it. */
  relative: string;
}

/** Sealing a version's files against change, and listing them for the promotion audit. */
export interface VersionFiles {
  /** Makes `location` immutable to the artifact API (idempotent). */
  seal(location: SourceLocation, by: { modelId: string; version: number }): Promise<void>;
  /** Up to `max` files under `location`, paths relative to it; undefined when storage is not reachable. */
  list(
    location: SourceLocation,
    max: number,
  ): Promise<{ location: string; files: FileDigest[]; truncated: boolean } | undefined>;
}

/**
 * Tells the logged model a version was registered from (MLflow's `mlflow.modelVersions` tag): called after
 * the version is stored. A logged model gone meanwhile is no error (the version stands).
 */
export interface VersionRegistrations {
  record(loggedModelId: string, name: string, version: number): Promise<void>;
}

export const NO_REGISTRATIONS: VersionRegistrations = { record: async () => {} };

/** For services built without storage (unit tests of the registry alone): nothing sealed, nothing listed. */
export const NO_VERSION_FILES: VersionFiles = { seal: async () => {}, list: async () => undefined };

export interface RegistryConfig {
  /** This deployment's artifact root, e.g. `mlflow-artifacts:/`; version sources may point under it. */
  artifactRoot: string;
}

export interface PromotionContext {
  principal?: string;
}

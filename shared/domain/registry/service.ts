/**
 * The model registry domain: MLflow's rules for registered models, model versions, stages and aliases
 * on top of a RegistryRepository. Everything is validated before the first write, so a refused request
 * changes nothing.
 */

import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import { canonicalArtifactPath, parseArtifactPath } from '../artifacts/paths.js';
import { isLoggedModelId, isRunId } from '../ids.js';
import type { PromotionGuard } from '../promotion/guard.js';
import { validateKey, validateMaxLength, validateMaxResults } from '../rules.js';
import { type ModelVersion, type RegisteredModel, STAGES, type Stage } from './model.js';
import {
  type ModelPage,
  type RegistrySearch,
  searchModels,
  searchVersions,
  type VersionPage,
} from './search.js';

export const REGISTRY_LIMITS = {
  tagValue: 100_000,
  alias: 255,
  source: 2048,
  description: 100_000,
  modelsDefaultMaxResults: 100,
  modelsMaxResultsCap: 1000,
  versionsDefaultMaxResults: 10_000,
  versionsMaxResultsCap: 200_000,
} as const;

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
}

export interface VersionChanges {
  description?: string;
  stage?: Stage;
}

export interface RegistryRepository {
  getModelByName(name: string): Promise<RegisteredModel | undefined>;
  createModel(input: NewRegisteredModel): Promise<RegisteredModel>;
  renameModel(model: RegisteredModel, newName: string, now: number): Promise<void>;
  updateModel(modelId: string, description: string, now: number): Promise<boolean>;
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
  deleteVersion(modelId: string, version: number): Promise<void>;
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
  get(runId: string): Promise<object | undefined>;
  getLoggedModel(
    modelId: string,
  ): Promise<{ lifecycleStage: string; artifactUri: string; sourceRunId?: string } | undefined>;
}

export interface RegistryConfig {
  /** This deployment's artifact root, e.g. `mlflow-artifacts:/`; version sources may point under it. */
  artifactRoot: string;
}

export interface PromotionContext {
  principal?: string;
}

// ---------------------------------------------------------------------------------------------------
// Validation

export function validateModelName(field: string, name: string): void {
  if (name.trim() === '') {
    throw new InvalidParameterValueError(`Registered model name cannot be empty ('${field}').`);
  }
  if (name.includes('/') || name.includes(':')) {
    throw new InvalidParameterValueError(
      `Invalid model name: '${name}'. Names cannot contain '/' or ':' ('${field}').`,
    );
  }
  if (name === '.' || name === '..' || name.includes('\\')) {
    throw new InvalidParameterValueError(`Invalid model name: '${name}' ('${field}').`);
  }
  validateMaxLength(field, name, 500);
}

export function validateRegistryTag(keyField: string, key: string, valueField: string, value: string): void {
  validateKey(keyField, key);
  validateMaxLength(valueField, value, REGISTRY_LIMITS.tagValue);
}

export function parseVersion(field: string, raw: string): number {
  if (!/^\s*\+?\d{1,15}\s*$/.test(raw)) {
    throw new InvalidParameterValueError(
      `Parameter '${field}' must be an integer, got '${raw}'. Model versions are whole numbers.`,
    );
  }
  return Number(raw.trim());
}

export function parseStage(raw: string): Stage {
  const stage = STAGES.find((name) => name.toLowerCase() === raw.trim().toLowerCase());
  if (!stage) {
    throw new InvalidParameterValueError(
      `Invalid Model Version stage: ${raw}. Value must be one of ${STAGES.join(', ')}.`,
    );
  }
  return stage;
}

export function validateAlias(alias: string): void {
  // Unicode \w like Python's re (MLflow's `^[\w\-]*$`).
  if (!/^[\p{L}\p{N}\p{Mn}\p{Mc}\p{Pc}-]+$/u.test(alias)) {
    throw new InvalidParameterValueError(
      `Invalid alias name: '${alias}'. Aliases may only contain alphanumerics, underscores and dashes.`,
    );
  }
  validateMaxLength('alias', alias, REGISTRY_LIMITS.alias);
  if (alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
    throw new InvalidParameterValueError(
      `'${alias}' is a reserved alias name ('latest' and 'v<number>' refer to versions) and cannot be set.`,
    );
  }
}

function fullyDecoded(value: string): string {
  let current = value;
  for (let i = 0; i < 5; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return current;
    }
    if (next === current) return current;
    current = next;
  }
  return current;
}

function isSafeRelativePath(path: string): boolean {
  const decoded = fullyDecoded(path);
  if (/[\\#?\0]/.test(decoded)) return false;
  if (decoded.startsWith('/') || /^[a-zA-Z]:/.test(decoded)) return false;
  return !decoded.split('/').some((segment) => segment === '..' || segment === '.');
}

/**
 * A model version's source must name something this deployment owns (security.md: CVE-2023-1177 and
 * its bypasses): `runs:/<run_id>[/<path>]`, `models:/m-<32 hex>`, or a location under this deployment's
 * artifact root. Everything else — `file:`, bare paths, `http(s):`, other buckets or schemes, traversal —
 * is refused, with no exception for tags such as `mlflow.prompt.is_prompt`.
 */
export function validateSource(source: string, artifactRoot: string): void {
  const refuse = (why: string): never => {
    throw new InvalidParameterValueError(
      `Invalid model version source '${source}': ${why}. Sources must be runs:/<run_id>/<path>, models:/<model_id> or a location under ${artifactRoot}.`,
    );
  };
  if (source.length > REGISTRY_LIMITS.source) refuse('too long');
  if (/[\s\0]/.test(source)) refuse('it contains whitespace or control characters');
  if (source.startsWith('runs:/')) {
    const rest = source.slice('runs:/'.length);
    const slash = rest.indexOf('/');
    const runId = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash + 1);
    if (!isRunId(runId)) refuse('the run id is not valid');
    if (path !== '' && !isSafeRelativePath(path)) refuse('the path escapes the run');
    return;
  }
  if (source.startsWith('models:/')) {
    const id = source.slice('models:/'.length);
    if (!isLoggedModelId(id)) refuse("a models:/ source must name a logged model id ('m-' + 32 hex)");
    return;
  }
  const root = artifactRoot.endsWith('/') ? artifactRoot : `${artifactRoot}/`;
  if (source.startsWith(root)) {
    const path = source.slice(root.length);
    // `mlflow-artifacts://host/...` would name another server.
    if (path === '' || path.startsWith('/')) refuse('it names no path under the artifact root');
    if (!isSafeRelativePath(path)) refuse('the path escapes the artifact root');
    return;
  }
  refuse('this scheme or location is not allowed');
}

// ---------------------------------------------------------------------------------------------------
// Service

function modelNotFound(name: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Registered Model with name=${name} not found`);
}

function versionNotFound(name: string, version: number | string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Model Version (name=${name}, version=${version}) not found`);
}

function tagMapOf(tags: readonly { key: string; value: string }[]): Record<string, string> {
  const map = new Map<string, string>();
  for (const [index, tag] of tags.entries()) {
    validateRegistryTag(`tags[${index}].key`, tag.key, `tags[${index}].value`, tag.value);
    map.set(tag.key, tag.value);
  }
  return Object.fromEntries(map);
}

/** The newest version per stage (MLflow's latest_versions), optionally only for `stages`. */
export function latestPerStage(versions: readonly ModelVersion[], stages?: readonly Stage[]): ModelVersion[] {
  const latest = new Map<Stage, ModelVersion>();
  for (const version of versions) {
    const current = latest.get(version.currentStage);
    if (!current || version.version > current.version) latest.set(version.currentStage, version);
  }
  const wanted = stages && stages.length > 0 ? stages : STAGES;
  return wanted
    .map((stage) => latest.get(stage))
    .filter((version): version is ModelVersion => version !== undefined)
    .sort((left, right) => left.version - right.version);
}

/** Aliases that point at versions that exist: an alias left behind by a half-done delete is not shown. */
function liveAliases(model: RegisteredModel, versions: readonly ModelVersion[]): RegisteredModel {
  const existing = new Set(versions.map((version) => version.version));
  const aliases = Object.fromEntries(
    Object.entries(model.aliases).filter(([, version]) => existing.has(version)),
  );
  return { ...model, aliases };
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
}

export class RegistryService {
  constructor(
    private readonly repo: RegistryRepository,
    private readonly config: RegistryConfig,
    private readonly guard: PromotionGuard,
    private readonly sources: VersionSourceLookup,
    private readonly clock: () => number = Date.now,
  ) {}

  // Registered models -------------------------------------------------------------------------------

  async createModel(input: {
    name: string;
    description?: string;
    tags: { key: string; value: string }[];
    /** The authenticated principal creating the model (MLflow's user_id); unset without auth. */
    userId?: string;
  }): Promise<ModelView> {
    validateModelName('name', input.name);
    const tags = tagMapOf(input.tags);
    if (input.description !== undefined)
      validateMaxLength('description', input.description, REGISTRY_LIMITS.description);
    const model = await this.repo.createModel({
      name: input.name,
      ...(input.description ? { description: input.description } : {}),
      tags,
      now: this.clock(),
      ...(input.userId ? { userId: input.userId } : {}),
    });
    return { model, latestVersions: [] };
  }

  async getModel(name: string): Promise<ModelView> {
    const model = await this.requireModel(name);
    const versions = await this.repo.listVersions(model.modelId);
    return { model: liveAliases(model, versions), latestVersions: latestPerStage(versions) };
  }

  async renameModel(name: string, newName: string): Promise<ModelView> {
    validateModelName('new_name', newName);
    const model = await this.requireModel(name);
    await this.repo.renameModel(model, newName, this.clock());
    return this.getModel(newName);
  }

  async updateModel(name: string, description: string | undefined): Promise<ModelView> {
    validateMaxLength('description', description ?? '', REGISTRY_LIMITS.description);
    const model = await this.requireModel(name);
    if (description !== undefined && !(await this.repo.updateModel(model.modelId, description, this.clock())))
      throw modelNotFound(name);
    return this.getModel(name);
  }

  async deleteModel(name: string): Promise<void> {
    const model = await this.requireModel(name);
    await this.repo.deleteModel(model);
  }

  async setModelTag(name: string, key: string, value: string): Promise<void> {
    validateRegistryTag('key', key, 'value', value);
    const model = await this.requireModel(name);
    if (!(await this.repo.setModelTag(model.modelId, key, value))) throw modelNotFound(name);
  }

  async deleteModelTag(name: string, key: string): Promise<void> {
    validateKey('key', key);
    const model = await this.requireModel(name);
    if (!(await this.repo.deleteModelTag(model.modelId, key))) {
      throw new ResourceDoesNotExistError(`No tag with name: ${key} in registered model ${name}`);
    }
  }

  async searchModels(search: RegistrySearch): Promise<{ page: ModelPage; views: ModelView[] }> {
    const maxResults = search.maxResults ?? REGISTRY_LIMITS.modelsDefaultMaxResults;
    validateMaxResults(maxResults, REGISTRY_LIMITS.modelsMaxResultsCap);
    searchModels([], { ...search, maxResults }); // a bad filter or order costs no read
    const page = searchModels(await this.repo.listModels(), { ...search, maxResults });
    const views = await Promise.all(
      page.models.map(async (model) => {
        const versions = await this.repo.listVersions(model.modelId);
        return { model: liveAliases(model, versions), latestVersions: latestPerStage(versions) };
      }),
    );
    return { page, views };
  }

  async getLatestVersions(name: string, rawStages: readonly string[]): Promise<VersionView[]> {
    const stages = rawStages.map(parseStage);
    const model = await this.requireModel(name);
    const versions = await this.repo.listVersions(model.modelId);
    const live = liveAliases(model, versions);
    return latestPerStage(versions, stages).map((version) => ({ model: live, version }));
  }

  // Model versions ----------------------------------------------------------------------------------

  async createVersion(input: CreateVersionInput): Promise<VersionView> {
    validateModelName('name', input.name);
    validateSource(input.source, this.config.artifactRoot);
    if (input.runId !== undefined && input.runId !== '' && !isRunId(input.runId)) {
      throw new InvalidParameterValueError(`Invalid value '${input.runId}' for parameter 'run_id'.`);
    }
    if (
      input.loggedModelId !== undefined &&
      input.loggedModelId !== '' &&
      !isLoggedModelId(input.loggedModelId)
    ) {
      throw new InvalidParameterValueError(
        `Invalid value '${input.loggedModelId}' for parameter 'model_id'.`,
      );
    }
    const tags = tagMapOf(input.tags);
    if (input.description !== undefined)
      validateMaxLength('description', input.description, REGISTRY_LIMITS.description);
    const model = await this.requireModel(input.name);
    // Every read before the first write (the version counter): a refused source changes nothing.
    const resolved = await this.resolveSource(input);
    const now = this.clock();
    const number = await this.repo.nextVersion(model.modelId, now);
    if (number === undefined) throw modelNotFound(input.name);
    const version: ModelVersion = {
      modelId: model.modelId,
      version: number,
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      ...(input.userId ? { userId: input.userId } : {}),
      currentStage: 'None',
      source: input.source,
      ...(resolved.runId ? { runId: resolved.runId } : {}),
      ...(resolved.storageLocation ? { storageLocation: resolved.storageLocation } : {}),
      ...(input.runLink ? { runLink: input.runLink } : {}),
      ...(input.description ? { description: input.description } : {}),
      ...(input.loggedModelId ? { loggedModelId: input.loggedModelId } : {}),
      status: 'READY',
      tags,
    };
    await this.repo.putVersion(version);
    return { model, version };
  }

  /**
   * Checks what a new version's source, run_id and model_id name, as MLflow's create_model_version does:
   * runs must exist; a logged model must exist and not be deleted, and its artifact location becomes the
   * version's storage location.
   *
   * The version's run is the run that produced its files — the `runs:/` run, the logged model's source
   * run, or the run (or logged model) an artifact-root path lies under — because promotion policies judge
   * a version by it. MLflow takes any `run_id` the request names; here a `run_id` (or a `model_id` whose
   * source run) that contradicts the source is refused, so a version cannot borrow a run that passes a
   * policy its own files' run fails.
   */
  private async resolveSource(
    input: CreateVersionInput,
  ): Promise<{ runId?: string; storageLocation?: string }> {
    const owner = this.sourceOwner(input.source);
    const refuse = (field: string, why: string): never => {
      throw new InvalidParameterValueError(
        `Invalid value for '${field}': ${why}. A version's run is the run that produced its source, and its logged model the one its source names.`,
      );
    };
    if (owner.kind === 'model' && input.loggedModelId && input.loggedModelId !== owner.modelId)
      refuse(
        'model_id',
        `'${input.loggedModelId}' is not ${owner.modelId}, the logged model source '${input.source}' names`,
      );
    const runIds = new Set(
      [input.runId, owner.kind === 'run' ? owner.runId : undefined].filter((id): id is string => !!id),
    );
    const [sourceModel, paramModel] = await Promise.all([
      owner.kind === 'model' ? this.requireLoggedModel(owner.modelId, `source '${input.source}'`) : undefined,
      owner.kind === 'run' && input.loggedModelId
        ? this.requireLoggedModel(input.loggedModelId, "'model_id'")
        : undefined,
      ...[...runIds].map(async (runId) => {
        if (!(await this.sources.get(runId)))
          throw new ResourceDoesNotExistError(`Run with id=${runId} not found`);
      }),
    ]);
    if (owner.kind === 'run' && paramModel && paramModel.sourceRunId !== owner.runId)
      refuse(
        'model_id',
        `logged model '${input.loggedModelId}' was not logged from run ${owner.runId}, which source '${input.source}' names`,
      );
    // A logged model's run is its source run or none: never one the request (or another model) brings.
    const runId = owner.kind === 'run' ? owner.runId : sourceModel?.sourceRunId;
    if (input.runId && input.runId !== runId) {
      refuse(
        'run_id',
        runId
          ? `source '${input.source}' comes from run ${runId}`
          : `source '${input.source}' was not logged from a run`,
      );
    }
    return {
      ...(runId ? { runId } : {}),
      // MLflow's storage location for `models:/m-<id>`; a path under a model's artifacts is its own location.
      ...(sourceModel && input.source.startsWith('models:/')
        ? { storageLocation: sourceModel.artifactUri }
        : {}),
    };
  }

  /**
   * The run or logged model a source lies under: `runs:/<run>/...`, `models:/m-<id>`, or a path under this
   * deployment's artifact root in MLflow's layout (`<exp>/<run>/artifacts/...`,
   * `<exp>/models/<id>/artifacts/...`), read as the artifacts function reads paths (decoded until stable,
   * trailing slashes dropped). Any other path under the root holds nothing a client can have uploaded,
   * and is refused.
   */
  private sourceOwner(source: string): { kind: 'run'; runId: string } | { kind: 'model'; modelId: string } {
    if (source.startsWith('runs:/')) return { kind: 'run', runId: source.slice(6).split('/')[0] as string };
    if (source.startsWith('models:/')) return { kind: 'model', modelId: source.slice(8) };
    const root = this.config.artifactRoot.endsWith('/')
      ? this.config.artifactRoot
      : `${this.config.artifactRoot}/`;
    try {
      const canonical = canonicalArtifactPath(source.slice(root.length).replace(/\/+$/, ''), 'source');
      const { owner } = parseArtifactPath(canonical, 'source');
      return owner.kind === 'run'
        ? { kind: 'run', runId: owner.runId }
        : { kind: 'model', modelId: owner.modelId };
    } catch {
      throw new InvalidParameterValueError(
        `Invalid value for 'source' ('${source}'): a location under ${root} must lie in a run's or a logged model's artifacts ('<experiment_id>/<run_id>/artifacts/...' or '<experiment_id>/models/<model_id>/artifacts/...').`,
      );
    }
  }

  private async requireLoggedModel(modelId: string, namedBy: string) {
    const logged = await this.sources.getLoggedModel(modelId);
    if (!logged || logged.lifecycleStage === 'deleted') {
      throw new ResourceDoesNotExistError(`Logged model '${modelId}' named by ${namedBy} not found`);
    }
    return logged;
  }

  async getVersion(name: string, rawVersion: string): Promise<VersionView> {
    const number = parseVersion('version', rawVersion);
    const model = await this.requireModel(name);
    const version = await this.repo.getVersion(model.modelId, number);
    if (!version) throw versionNotFound(name, number);
    return { model, version };
  }

  async updateVersion(
    name: string,
    rawVersion: string,
    description: string | undefined,
  ): Promise<VersionView> {
    validateMaxLength('description', description ?? '', REGISTRY_LIMITS.description);
    const { model, version } = await this.getVersion(name, rawVersion);
    if (description !== undefined) {
      if (!(await this.repo.updateVersion(model.modelId, version.version, { description }, this.clock())))
        throw versionNotFound(name, version.version);
    }
    return this.getVersion(name, rawVersion);
  }

  async deleteVersion(name: string, rawVersion: string): Promise<void> {
    const { model, version } = await this.getVersion(name, rawVersion);
    await this.repo.deleteVersion(model.modelId, version.version);
    // Aliases after the version: readers already hide aliases whose version is gone (liveAliases).
    await Promise.all(
      Object.entries(model.aliases)
        .filter(([, target]) => target === version.version)
        .map(([alias]) => this.repo.deleteAlias(model.modelId, alias, version.version)),
    );
  }

  async setVersionTag(name: string, rawVersion: string, key: string, value: string): Promise<void> {
    validateRegistryTag('key', key, 'value', value);
    const { model, version } = await this.getVersion(name, rawVersion);
    if (!(await this.repo.setVersionTag(model.modelId, version.version, key, value)))
      throw versionNotFound(name, version.version);
  }

  async deleteVersionTag(name: string, rawVersion: string, key: string): Promise<void> {
    validateKey('key', key);
    const { model, version } = await this.getVersion(name, rawVersion);
    if (!(await this.repo.deleteVersionTag(model.modelId, version.version, key))) {
      throw new ResourceDoesNotExistError(
        `No tag with name: ${key} for model version (name=${name}, version=${version.version})`,
      );
    }
  }

  async transitionStage(
    name: string,
    rawVersion: string,
    rawStage: string,
    archiveExisting: boolean,
    context: PromotionContext = {},
  ): Promise<VersionView> {
    const stage = parseStage(rawStage);
    if (archiveExisting && stage !== 'Staging' && stage !== 'Production') {
      throw new InvalidParameterValueError(
        `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are Staging, Production.`,
      );
    }
    const { model, version } = await this.getVersion(name, rawVersion);
    await this.guard.check({
      modelId: model.modelId,
      modelName: model.name,
      version: String(version.version),
      ...(version.runId ? { runId: version.runId } : {}),
      target: { kind: 'stage', name: stage },
      ...(context.principal ? { principal: context.principal } : {}),
    });
    const now = this.clock();
    if (!(await this.repo.updateVersion(model.modelId, version.version, { stage }, now)))
      throw versionNotFound(name, version.version);
    if (archiveExisting) {
      const others = (await this.repo.listVersions(model.modelId)).filter(
        (other) => other.version !== version.version && other.currentStage === stage,
      );
      await Promise.all(
        others.map((other) =>
          this.repo.updateVersion(model.modelId, other.version, { stage: 'Archived' }, now),
        ),
      );
    }
    return this.getVersion(name, rawVersion);
  }

  async getDownloadUri(name: string, rawVersion: string): Promise<string> {
    const { version } = await this.getVersion(name, rawVersion);
    return version.storageLocation ?? version.source;
  }

  async searchVersions(
    search: RegistrySearch,
  ): Promise<{ page: VersionPage; models: Map<string, RegisteredModel> }> {
    const maxResults = search.maxResults ?? REGISTRY_LIMITS.versionsDefaultMaxResults;
    validateMaxResults(maxResults, REGISTRY_LIMITS.versionsMaxResultsCap);
    const plan = searchVersions([], new Map(), { ...search, maxResults });
    // `name = 'x'` (what the stock client sends) reads one model's versions only.
    let models: RegisteredModel[];
    let versions: ModelVersion[];
    if (plan.exactName !== undefined) {
      const model = await this.repo.getModelByName(plan.exactName);
      models = model ? [model] : [];
      versions = model ? await this.repo.listVersions(model.modelId) : [];
    } else {
      [models, versions] = await Promise.all([this.repo.listModels(), this.repo.listAllVersions()]);
    }
    const byId = new Map(models.map((model) => [model.modelId, model]));
    for (const model of models) {
      byId.set(
        model.modelId,
        liveAliases(
          model,
          versions.filter((v) => v.modelId === model.modelId),
        ),
      );
    }
    return { page: searchVersions(versions, byId, { ...search, maxResults }), models: byId };
  }

  // Aliases -----------------------------------------------------------------------------------------

  async setAlias(
    name: string,
    alias: string,
    rawVersion: string,
    context: PromotionContext = {},
  ): Promise<void> {
    validateAlias(alias);
    const { model, version } = await this.getVersion(name, rawVersion);
    await this.guard.check({
      modelId: model.modelId,
      modelName: model.name,
      version: String(version.version),
      ...(version.runId ? { runId: version.runId } : {}),
      target: { kind: 'alias', name: alias },
      ...(context.principal ? { principal: context.principal } : {}),
    });
    if (!(await this.repo.setAlias(model.modelId, alias, version.version, this.clock())))
      throw modelNotFound(name);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    const model = await this.requireModel(name);
    // MLflow answers 200 for an alias that is not set.
    await this.repo.deleteAlias(model.modelId, alias);
  }

  async getVersionByAlias(name: string, alias: string): Promise<VersionView> {
    const model = await this.requireModel(name);
    const number = model.aliases[alias];
    const version = number === undefined ? undefined : await this.repo.getVersion(model.modelId, number);
    if (!version) {
      throw new ResourceDoesNotExistError(`Registered model alias ${alias} not found.`);
    }
    return { model, version };
  }

  private async requireModel(name: string): Promise<RegisteredModel> {
    if (name === '') throw new InvalidParameterValueError("Missing value for required parameter 'name'.");
    const model = await this.repo.getModelByName(name);
    if (!model) throw modelNotFound(name);
    return model;
  }
}

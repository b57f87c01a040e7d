/**
 * The model registry: MLflow's operations on registered models, model versions, stages and aliases, on
 * top of a RegistryRepository. Everything is validated (rules.ts, sources.ts) before the first write, so
 * a refused request changes nothing. Promotions (an alias, a stage) are asked of the promotion guard first.
 */

import { NO_RESOURCE_GRANTS, type ResourceGrants } from '../../auth/resource-grants.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import { isLoggedModelId } from '../ids.js';
import type { PromotionGuard, PromotionRequest } from '../promotion/guard.js';
import { FILE_DIGEST_LIMITS, summarizeFiles } from '../promotion/rules.js';
import { findByName, validateKey, validateMaxLength, validateMaxResults } from '../rules.js';
import {
  type CreateVersionInput,
  type ModelVersion,
  type ModelView,
  NO_REGISTRATIONS,
  NO_VERSION_FILES,
  type PromotionContext,
  type RegisteredModel,
  type RegistryConfig,
  type RegistryRepository,
  type VersionFiles,
  type VersionRegistrations,
  type VersionSourceLookup,
  type VersionView,
} from './model.js';
import {
  canonicalAlias,
  canonicalModelName,
  latestPerStage,
  parseStage,
  parseVersion,
  REGISTRY_LIMITS,
  registryTagMap,
  validateArchiveExisting,
  validateDescription,
  validateModelName,
  validateRegistryTag,
} from './rules.js';
import {
  type ModelPage,
  type RegistrySearch,
  searchModels,
  searchVersions,
  type VersionPage,
} from './search.js';
import {
  confirmPathOwner,
  locateSource,
  readingOnce,
  resolveVersionSource,
  validateSource,
  validateVersionIds,
} from './sources.js';

/** The key under which `model` holds the alias a client names: as given (an alias set before names were normalised), else its NFC form (findByName's order). */
function aliasIn(model: RegisteredModel, alias: string): string {
  return Object.hasOwn(model.aliases, alias) ? alias : alias.normalize('NFC');
}

function modelNotFound(name: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Registered Model with name=${name} not found`);
}

function versionNotFound(name: string, version: number | string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Model Version (name=${name}, version=${version}) not found`);
}

/** Aliases that point at versions that exist: an alias left behind by a half-done delete is not shown. */
function liveAliases(model: RegisteredModel, versions: readonly ModelVersion[]): RegisteredModel {
  const existing = new Set(versions.map((version) => version.version));
  const aliases = Object.fromEntries(
    Object.entries(model.aliases).filter(([, version]) => existing.has(version)),
  );
  return { ...model, aliases };
}

export class RegistryService {
  constructor(
    private readonly repo: RegistryRepository,
    private readonly config: RegistryConfig,
    private readonly guard: PromotionGuard,
    private readonly sources: VersionSourceLookup,
    private readonly clock: () => number = Date.now,
    private readonly files: VersionFiles = NO_VERSION_FILES,
    private readonly registrations: VersionRegistrations = NO_REGISTRATIONS,
    private readonly grants: ResourceGrants = NO_RESOURCE_GRANTS,
  ) {}

  // Registered models -------------------------------------------------------------------------------

  async createModel(input: {
    name: string;
    description?: string;
    tags: { key: string; value: string }[];
    /** The authenticated principal creating the model (MLflow's user_id); unset without auth. */
    userId?: string;
  }): Promise<ModelView> {
    const name = canonicalModelName('name', input.name);
    const tags = registryTagMap(input.tags);
    validateDescription(input.description);
    const creator = input.userId;
    let granted = false;
    try {
      const model = await this.repo.createModel({
        name,
        ...(input.description ? { description: input.description } : {}),
        tags,
        now: this.clock(),
        ...(creator ? { userId: creator } : {}),
        // The name is ours and nobody can find the model yet: grants left on the name by an interrupted
        // rename or delete go first, then the creator's MANAGE (issue 16). A failure here fails the create
        // with nothing created, so the client's retry simply creates it again.
        beforeVisible: async () => {
          await this.grants.clearStale('registered_model', name);
          if (creator) {
            await this.grants.grantCreator(creator, 'registered_model', name);
            granted = true;
          }
        },
      });
      return { model, latestVersions: [] };
    } catch (error) {
      // The model item was not written: the name is free again, and so must be its grants.
      if (creator && granted)
        await this.grants.revoke(creator, 'registered_model', name).catch(() => undefined);
      throw error;
    }
  }

  async getModel(name: string): Promise<ModelView> {
    const model = await this.requireModel(name);
    const versions = await this.repo.listVersions(model.modelId);
    return { model: liveAliases(model, versions), latestVersions: latestPerStage(versions) };
  }

  async renameModel(name: string, newName: string): Promise<ModelView> {
    const canonical = canonicalModelName('new_name', newName);
    const model = await this.requireModel(name);
    // The grants follow the model (issue 16): copied to the new name once the name is the model's and
    // before the model answers to it, then removed from the old name. An interruption leaves them on both
    // names, the old one stale (cleared by whoever takes that name next), never on neither.
    await this.repo.renameModel(model, canonical, this.clock(), () =>
      this.grants.copy('registered_model', model.name, canonical),
    );
    if (canonical !== model.name)
      await this.grants.drop('registered_model', model.name).catch(() => undefined);
    return this.getModel(canonical);
  }

  async updateModel(name: string, description: string | undefined): Promise<ModelView> {
    validateDescription(description);
    const model = await this.requireModel(name);
    if (description !== undefined && !(await this.repo.updateModel(model.modelId, description, this.clock())))
      throw modelNotFound(name);
    return this.getModel(name);
  }

  async deleteModel(name: string): Promise<void> {
    const model = await this.requireModel(name);
    await this.repo.deleteModel(model);
    // A later model may take the name: MLflow drops a deleted model's grants so that none applies to it.
    await this.grants.drop('registered_model', model.name).catch(() => undefined);
  }

  /** Returns the model as read before the write (webhook events tell prompts by its tags). */
  async setModelTag(name: string, key: string, value: string): Promise<RegisteredModel> {
    validateRegistryTag('key', key, 'value', value);
    const model = await this.requireModel(name);
    if (!(await this.repo.setModelTag(model.modelId, key, value))) throw modelNotFound(name);
    return model;
  }

  async deleteModelTag(name: string, key: string): Promise<RegisteredModel> {
    validateKey('key', key);
    const model = await this.requireModel(name);
    if (!(await this.repo.deleteModelTag(model.modelId, key))) {
      throw new ResourceDoesNotExistError(`No tag with name: ${key} in registered model ${name}`);
    }
    return model;
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
    const declared = validateSource(input.source, this.config.artifactRoot);
    validateVersionIds(input);
    const tags = registryTagMap(input.tags);
    validateDescription(input.description);
    const model = await this.requireModel(input.name);
    // Every read before the first write (the version counter): a refused source changes nothing.
    const sources = readingOnce(this.sources);
    const kind = await confirmPathOwner(declared, sources);
    const resolved = await resolveVersionSource(input, kind, sources, this.config.artifactRoot);
    const location = await locateSource(input.source, this.config.artifactRoot, sources);
    if (location) input.mayRead?.('experiment', location.owner.experimentId);
    if (input.loggedModelId) {
      // The version tags the logged model it names: a write in that model's experiment.
      const tagged = await sources.getLoggedModel(input.loggedModelId);
      if (tagged) input.mayEdit?.('experiment', tagged.experimentId);
    }
    const copied = await this.copiedFrom(input.source, input.mayRead);
    const now = this.clock();
    const number = await this.repo.nextVersion(model.modelId, now);
    if (number === undefined) throw modelNotFound(input.name);
    // Sealed before the version exists: no moment in which a version serves files that can still change.
    if (location) await this.files.seal(location, { modelId: model.modelId, version: number });
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
      ...(copied ? { storageLocation: copied } : {}),
      ...(resolved.unverified ? { unverified: resolved.unverified } : {}),
      ...(input.runLink ? { runLink: input.runLink } : {}),
      ...(input.description ? { description: input.description } : {}),
      ...(input.loggedModelId ? { loggedModelId: input.loggedModelId } : {}),
      status: 'READY',
      tags,
    };
    await this.repo.putVersion(version);
    // As MLflow's server: only a `model_id` the request names is told (a models:/ source alone is not).
    if (input.loggedModelId) await this.registrations.record(input.loggedModelId, model.name, number);
    return { model, version };
  }

  /**
   * A `models:/<name>/<version>` source (what `copy_model_version` registers) is stored where that version's
   * files are, as MLflow's stores resolve it: get-download-uri answers the copied version's location. The
   * copy stays unverified (a registered model URI names no run), so promotion policies refuse it. A
   * version that does not exist leaves the source as given.
   */
  private async copiedFrom(
    source: string,
    mayRead?: CreateVersionInput['mayRead'],
  ): Promise<string | undefined> {
    const match = /^models:\/([^/]+)\/(\d{1,15})$/.exec(source);
    if (!match || isLoggedModelId(match[1] as string)) return undefined;
    mayRead?.('registered_model', match[1] as string);
    try {
      const { version } = await this.getVersion(match[1] as string, match[2] as string);
      return version.storageLocation ?? version.source;
    } catch (error) {
      // MLflow refuses (with a 500); Cairn stores such a source as given, as it stores any foreign one.
      if (error instanceof ResourceDoesNotExistError) return undefined;
      throw error;
    }
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
    validateDescription(description);
    const { model, version } = await this.getVersion(name, rawVersion);
    if (description !== undefined) {
      if (!(await this.repo.updateVersion(model.modelId, version.version, { description }, this.clock())))
        throw versionNotFound(name, version.version);
    }
    return this.getVersion(name, rawVersion);
  }

  async deleteVersion(name: string, rawVersion: string): Promise<void> {
    const { model, version } = await this.getVersion(name, rawVersion);
    await this.repo.deleteVersion(model.modelId, version.version, this.clock());
    // Aliases after the version: readers already hide aliases whose version is gone (liveAliases).
    await Promise.all(
      Object.entries(model.aliases)
        .filter(([, target]) => target === version.version)
        .map(([alias]) => this.repo.deleteAlias(model.modelId, alias, version.version)),
    );
  }

  async setVersionTag(
    name: string,
    rawVersion: string,
    key: string,
    value: string,
  ): Promise<RegisteredModel> {
    validateRegistryTag('key', key, 'value', value);
    const { model, version } = await this.getVersion(name, rawVersion);
    if (!(await this.repo.setVersionTag(model.modelId, version.version, key, value)))
      throw versionNotFound(name, version.version);
    return model;
  }

  async deleteVersionTag(name: string, rawVersion: string, key: string): Promise<RegisteredModel> {
    validateKey('key', key);
    const { model, version } = await this.getVersion(name, rawVersion);
    if (!(await this.repo.deleteVersionTag(model.modelId, version.version, key))) {
      throw new ResourceDoesNotExistError(
        `No tag with name: ${key} for model version (name=${name}, version=${version.version})`,
      );
    }
    return model;
  }

  async transitionStage(
    name: string,
    rawVersion: string,
    rawStage: string,
    archiveExisting: boolean,
    context: PromotionContext = {},
  ): Promise<VersionView> {
    const stage = parseStage(rawStage);
    validateArchiveExisting(stage, archiveExisting);
    const { model, version } = await this.getVersion(name, rawVersion);
    await this.askGuard({ model, version }, { kind: 'stage', name: stage }, context);
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
    // A stage change is a change to the model too (MLflow's stores; the UI lists models by it).
    await this.repo.touchModel(model.modelId, now);
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
  ): Promise<RegisteredModel> {
    const canonical = canonicalAlias(alias);
    const { model, version } = await this.getVersion(name, rawVersion);
    await this.askGuard({ model, version }, { kind: 'alias', name: canonical }, context);
    if (!(await this.repo.setAlias(model.modelId, canonical, version.version, this.clock())))
      throw modelNotFound(name);
    return model;
  }

  async deleteAlias(name: string, alias: string): Promise<RegisteredModel> {
    const model = await this.requireModel(name);
    // MLflow answers 200 for an alias that is not set.
    await this.repo.deleteAlias(model.modelId, aliasIn(model, alias));
    return model;
  }

  async getVersionByAlias(name: string, alias: string): Promise<VersionView> {
    const model = await this.requireModel(name);
    const number = model.aliases[aliasIn(model, alias)];
    const version = number === undefined ? undefined : await this.repo.getVersion(model.modelId, number);
    if (!version) {
      throw new ResourceDoesNotExistError(`Registered model alias ${alias} not found.`);
    }
    return { model, version };
  }

  /**
   * The guard judges a version by its source run; it throws to refuse, before anything is written. The
   * version's files are sealed first (versions registered before seals existed get theirs here) and then
   * listed, so the decision records exactly the files the version serves from then on.
   */
  private async askGuard(
    { model, version }: VersionView,
    target: PromotionRequest['target'],
    context: PromotionContext,
  ): Promise<void> {
    const location = await locateSource(version.source, this.config.artifactRoot, this.sources);
    let files: PromotionRequest['files'];
    if (location) {
      await this.files.seal(location, { modelId: model.modelId, version: version.version });
      const listed = await this.files.list(location, FILE_DIGEST_LIMITS.listedFiles);
      if (listed)
        files = summarizeFiles(listed.location, listed.files, listed.truncated, version.creationTimestamp);
    }
    return this.guard.check({
      modelId: model.modelId,
      modelName: model.name,
      version: String(version.version),
      ...(version.runId ? { runId: version.runId } : {}),
      ...(version.unverified ? { unverified: version.unverified } : {}),
      target,
      ...(context.principal ? { principal: context.principal } : {}),
      ...(files ? { files } : {}),
    });
  }

  private async requireModel(name: string): Promise<RegisteredModel> {
    if (name === '') throw new InvalidParameterValueError("Missing value for required parameter 'name'.");
    // No model can carry a longer name, and its claim key would exceed DynamoDB's (a 500).
    validateMaxLength('name', name, REGISTRY_LIMITS.modelName);
    const model = await findByName(name, (candidate) => this.repo.getModelByName(candidate));
    if (!model) throw modelNotFound(name);
    return model;
  }
}

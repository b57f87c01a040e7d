/**
 * An in-memory RegistryRepository, so that the registry service's rules are tested without DynamoDB. It
 * keeps DynamoRegistryRepository's contract: unique names (409 on a taken one), ids that survive a rename,
 * gap-free version numbers from a per-model counter, `false` from a conditional update whose item is gone,
 * and copies out (a caller mutating what it read changes nothing stored).
 */
import { newRegisteredModelId } from '../../../shared/domain/ids.js';
import type {
  ModelVersion,
  NewRegisteredModel,
  RegisteredModel,
  RegistryRepository,
  VersionChanges,
} from '../../../shared/domain/registry/model.js';
import { ResourceAlreadyExistsError } from '../../../shared/errors.js';

const copy = <T>(value: T): T => structuredClone(value);
const versionKey = (modelId: string, version: number) => `${modelId}#${version}`;

export class MemoryRegistryRepository implements RegistryRepository {
  readonly models = new Map<string, RegisteredModel>();
  readonly versions = new Map<string, ModelVersion>();
  private readonly counters = new Map<string, number>();

  private byName(name: string): RegisteredModel | undefined {
    return [...this.models.values()].find((model) => model.name === name);
  }

  private taken(name: string): never {
    throw new ResourceAlreadyExistsError(`Registered Model (name=${name}) already exists.`);
  }

  async getModelByName(name: string) {
    const model = this.byName(name);
    return model && copy(model);
  }

  async createModel(input: NewRegisteredModel) {
    if (this.byName(input.name)) this.taken(input.name);
    await input.beforeVisible?.();
    const model: RegisteredModel = {
      modelId: newRegisteredModelId(),
      name: input.name,
      ...(input.description ? { description: input.description } : {}),
      creationTimestamp: input.now,
      lastUpdatedTimestamp: input.now,
      ...(input.userId ? { userId: input.userId } : {}),
      tags: { ...input.tags },
      aliases: {},
    };
    this.models.set(model.modelId, model);
    return copy(model);
  }

  async renameModel(
    model: RegisteredModel,
    newName: string,
    now: number,
    beforeVisible?: () => Promise<void>,
  ) {
    if (newName === model.name) return;
    if (this.byName(newName)) this.taken(newName);
    await beforeVisible?.();
    const stored = this.models.get(model.modelId);
    if (stored) Object.assign(stored, { name: newName, lastUpdatedTimestamp: now });
  }

  async updateModel(modelId: string, description: string, now: number) {
    const stored = this.models.get(modelId);
    if (stored) Object.assign(stored, { description, lastUpdatedTimestamp: now });
    return stored !== undefined;
  }

  async touchModel(modelId: string, now: number) {
    const stored = this.models.get(modelId);
    if (stored) stored.lastUpdatedTimestamp = now;
    return stored !== undefined;
  }

  async deleteModel(model: RegisteredModel) {
    for (const version of await this.listVersions(model.modelId)) {
      this.versions.delete(versionKey(model.modelId, version.version));
    }
    this.models.delete(model.modelId);
  }

  async setModelTag(modelId: string, key: string, value: string) {
    const stored = this.models.get(modelId);
    if (stored) stored.tags[key] = value;
    return stored !== undefined;
  }

  async deleteModelTag(modelId: string, key: string) {
    const stored = this.models.get(modelId);
    if (!stored || !Object.hasOwn(stored.tags, key)) return false;
    delete stored.tags[key];
    return true;
  }

  async listModels() {
    return [...this.models.values()].map(copy);
  }

  async nextVersion(modelId: string, now: number) {
    const stored = this.models.get(modelId);
    if (!stored) return undefined;
    const next = (this.counters.get(modelId) ?? 0) + 1;
    this.counters.set(modelId, next);
    stored.lastUpdatedTimestamp = now;
    return next;
  }

  async putVersion(version: ModelVersion) {
    const key = versionKey(version.modelId, version.version);
    if (this.versions.has(key)) throw new Error(`Version ${key} already stored`);
    this.versions.set(key, copy(version));
  }

  async getVersion(modelId: string, version: number) {
    const stored = this.versions.get(versionKey(modelId, version));
    return stored && copy(stored);
  }

  async listVersions(modelId: string) {
    return (await this.listAllVersions()).filter((version) => version.modelId === modelId);
  }

  async listAllVersions() {
    return [...this.versions.values()]
      .sort((a, b) => (a.modelId === b.modelId ? a.version - b.version : a.modelId < b.modelId ? -1 : 1))
      .map(copy);
  }

  async updateVersion(modelId: string, version: number, changes: VersionChanges, now: number) {
    const stored = this.versions.get(versionKey(modelId, version));
    if (!stored) return false;
    if (changes.description !== undefined) stored.description = changes.description;
    if (changes.stage !== undefined) stored.currentStage = changes.stage;
    stored.lastUpdatedTimestamp = now;
    return true;
  }

  async deleteVersion(modelId: string, version: number, now?: number) {
    this.versions.delete(versionKey(modelId, version));
    const model = now === undefined ? undefined : this.models.get(modelId);
    if (model && now !== undefined) model.lastUpdatedTimestamp = now;
  }

  async setVersionTag(modelId: string, version: number, key: string, value: string) {
    const stored = this.versions.get(versionKey(modelId, version));
    if (stored) stored.tags[key] = value;
    return stored !== undefined;
  }

  async deleteVersionTag(modelId: string, version: number, key: string) {
    const stored = this.versions.get(versionKey(modelId, version));
    if (!stored || !Object.hasOwn(stored.tags, key)) return false;
    delete stored.tags[key];
    return true;
  }

  async setAlias(modelId: string, alias: string, version: number, now: number) {
    const stored = this.models.get(modelId);
    if (stored)
      Object.assign(stored, { aliases: { ...stored.aliases, [alias]: version }, lastUpdatedTimestamp: now });
    return stored !== undefined;
  }

  async deleteAlias(modelId: string, alias: string, onlyIfVersion?: number) {
    const stored = this.models.get(modelId);
    if (!stored || !Object.hasOwn(stored.aliases, alias)) return false;
    if (onlyIfVersion !== undefined && stored.aliases[alias] !== onlyIfVersion) return false;
    delete stored.aliases[alias];
    return true;
  }
}

/**
 * In-memory stand-ins for the artifacts service's dependencies (no AWS): object storage in a Map, and
 * the runs and logged models that own artifact paths.
 */
import type {
  ArtifactLoggedModel,
  ArtifactOwners,
  ArtifactRun,
  ArtifactStorage,
} from '../../../shared/domain/artifacts/model.js';

export /** Objects in a Map; pages of `maxKeys` keys with the next key as token, like S3's delimiter listing. */
class MemoryArtifactStorage implements ArtifactStorage {
  readonly objects = new Map<string, number>();

  async put(key: string, body: Uint8Array) {
    this.objects.set(key, body.length);
  }
  async size(key: string) {
    return this.objects.get(key);
  }
  async presignGet(key: string) {
    return `https://s3.example/${key}?get`;
  }
  async presignPut(key: string) {
    return `https://s3.example/${key}?put`;
  }
  async listPage(prefix: string, _delimiter: boolean, token?: string, maxKeys = 1000) {
    const entries = new Map<string, number | undefined>();
    for (const [key, size] of [...this.objects].sort(([a], [b]) => a.localeCompare(b))) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf('/', prefix.length);
      if (slash === -1) entries.set(key, size);
      else entries.set(key.slice(0, slash + 1), undefined);
    }
    const all = [...entries].filter(([key]) => token === undefined || key >= token);
    const page = all.slice(0, maxKeys);
    const next = all[maxKeys]?.[0];
    return {
      objects: page.filter(([, size]) => size !== undefined).map(([key, size]) => ({ key, size: size ?? 0 })),
      prefixes: page.filter(([, size]) => size === undefined).map(([key]) => key),
      ...(next === undefined ? {} : { nextToken: next }),
    };
  }
  async listAll(prefix: string, delimiter: boolean) {
    return this.listPage(prefix, delimiter, undefined, Number.MAX_SAFE_INTEGER);
  }
  async delete(key: string) {
    this.objects.delete(key);
  }
  async deletePrefix(prefix: string) {
    const doomed = [...this.objects.keys()].filter((key) => key.startsWith(prefix));
    for (const key of doomed) this.objects.delete(key);
    return doomed.length;
  }
  async createMultipart() {
    return 's3-upload';
  }
  async presignParts(key: string, _uploadId: string, parts: readonly number[]) {
    return parts.map((part) => `https://s3.example/${key}?part=${part}`);
  }
  async completeMultipart() {}
  async abortMultipart() {}
}

/** Runs and logged models by id, as DynamoRunReader answers for them. */
export class MemoryArtifactOwners implements ArtifactOwners {
  readonly runs = new Map<string, ArtifactRun>();
  readonly models = new Map<string, ArtifactLoggedModel>();

  constructor(owners: { runs?: ArtifactRun[]; models?: ArtifactLoggedModel[] } = {}) {
    for (const run of owners.runs ?? []) this.runs.set(run.runId, run);
    for (const model of owners.models ?? []) this.models.set(model.modelId, model);
  }

  async get(runId: string) {
    return this.runs.get(runId);
  }

  async getLoggedModel(modelId: string) {
    return this.models.get(modelId);
  }

  /** Sealed paths per run or logged model id, as the registry's seal items hold them. */
  readonly seals = new Map<string, string[]>();

  async getRunForWrite(runId: string) {
    const run = this.runs.get(runId);
    return run && { ...run, sealedPaths: this.seals.get(runId) ?? [] };
  }

  async getLoggedModelForWrite(modelId: string) {
    const model = this.models.get(modelId);
    return model && { ...model, sealedPaths: this.seals.get(modelId) ?? [] };
  }
}

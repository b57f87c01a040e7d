/** Logged models in memory, behind the same interface as the DynamoDB repository. */
import type { LoggedModel } from '../../../shared/domain/logged-models/model.js';
import type {
  LoggedModelMutation,
  LoggedModelRepository,
} from '../../../shared/domain/logged-models/service.js';
import { InvalidParameterValueError } from '../../../shared/errors.js';

export class MemoryLoggedModelRepository implements LoggedModelRepository {
  readonly models = new Map<string, LoggedModel>();

  /** A stand-in for DynamoDB's item limit: the model's JSON at most this many characters. */
  constructor(private readonly maxJsonLength = 380_000) {}

  async create(model: LoggedModel): Promise<void> {
    this.assertFits(model);
    this.models.set(model.modelId, structuredClone(model));
  }

  async get(modelId: string): Promise<LoggedModel | undefined> {
    const model = this.models.get(modelId);
    return model ? structuredClone(model) : undefined;
  }

  async mutate(modelId: string, mutation: LoggedModelMutation): Promise<LoggedModel | undefined> {
    const current = await this.get(modelId);
    if (!current) return undefined;
    const next = mutation(current);
    if (next === null) return current;
    this.assertFits(next);
    this.models.set(modelId, structuredClone(next));
    return next;
  }

  async listByExperiment(experimentId: string): Promise<LoggedModel[]> {
    return [...this.models.values()]
      .filter((model) => model.experimentId === experimentId)
      .map((model) => structuredClone(model));
  }

  assertFits(model: LoggedModel): void {
    if (JSON.stringify(model).length > this.maxJsonLength) {
      throw new InvalidParameterValueError(`Logged model ${model.modelId} cannot hold this.`);
    }
  }
}

/**
 * Experiments in memory, behind the same interface as the DynamoDB repository: service rules are unit
 * tested on it without HTTP or a table. Names are unique across lifecycle stages, as the name claims make
 * them; ids count from 1, experiment "0" is the Default one.
 */
import type {
  Experiment,
  ExperimentRepository,
  ExperimentRunStats,
  LifecycleStage,
  NewExperiment,
} from '../../../shared/domain/experiments/model.js';
import type { Run } from '../../../shared/domain/runs/model.js';
import { ResourceAlreadyExistsError } from '../../../shared/errors.js';

export class MemoryExperimentRepository implements ExperimentRepository {
  readonly experiments = new Map<string, Experiment>();
  private nextId = 1;

  /**
   * `runs` lists every stored run (memoryTracking passes the run repository's): counters are counted here
   * rather than kept, which is exact for counts; last activity is the latest start or end time, without
   * the moments of deletes and restores that the DynamoDB counters also record.
   */
  constructor(private readonly runs: () => Iterable<Run> = () => []) {}

  async get(experimentId: string): Promise<Experiment | undefined> {
    const experiment = this.experiments.get(experimentId);
    return experiment ? structuredClone(experiment) : undefined;
  }

  async getByName(name: string): Promise<Experiment | undefined> {
    const experiment = [...this.experiments.values()].find((candidate) => candidate.name === name);
    return experiment ? structuredClone(experiment) : undefined;
  }

  async create(input: NewExperiment): Promise<Experiment> {
    const experimentId = String(this.nextId++);
    await input.beforeVisible?.(experimentId);
    this.claim(input.name);
    const experiment: Experiment = {
      experimentId,
      name: input.name,
      artifactLocation: input.artifactLocation(experimentId),
      lifecycleStage: 'active',
      creationTime: input.now,
      lastUpdateTime: input.now,
      tags: { ...input.tags },
    };
    this.experiments.set(experimentId, experiment);
    return structuredClone(experiment);
  }

  async ensureDefault(artifactLocation: string, now: number): Promise<void> {
    if (this.experiments.has('0')) return;
    this.experiments.set('0', {
      experimentId: '0',
      name: 'Default',
      artifactLocation,
      lifecycleStage: 'active',
      creationTime: now,
      lastUpdateTime: now,
      tags: {},
    });
  }

  async rename(experiment: Experiment, newName: string, now: number): Promise<void> {
    const stored = this.experiments.get(experiment.experimentId);
    if (!stored) return;
    if (newName !== stored.name) this.claim(newName);
    stored.name = newName;
    stored.lastUpdateTime = now;
  }

  async setLifecycle(
    experimentId: string,
    from: LifecycleStage,
    to: LifecycleStage,
    now: number,
  ): Promise<boolean> {
    const stored = this.experiments.get(experimentId);
    if (stored?.lifecycleStage !== from) return false;
    stored.lifecycleStage = to;
    stored.lastUpdateTime = now;
    return true;
  }

  async setTag(experimentId: string, key: string, value: string): Promise<boolean> {
    const stored = this.experiments.get(experimentId);
    if (stored?.lifecycleStage !== 'active') return false;
    Object.defineProperty(stored.tags, key, { value, enumerable: true, writable: true, configurable: true });
    return true;
  }

  async deleteTag(experimentId: string, key: string): Promise<boolean> {
    const stored = this.experiments.get(experimentId);
    if (stored?.lifecycleStage !== 'active' || !Object.hasOwn(stored.tags, key)) return false;
    delete stored.tags[key];
    return true;
  }

  async listAll(): Promise<Experiment[]> {
    return [...this.experiments.values()].map((experiment) => structuredClone(experiment));
  }

  async readRunStats(experimentIds: readonly string[]): Promise<ExperimentRunStats[]> {
    const runs = [...this.runs()];
    return experimentIds.map((experimentId) => {
      const own = runs.filter((run) => run.experimentId === experimentId);
      const times = own.flatMap((run) => [run.startTime, run.endTime ?? 0]).filter((time) => time > 0);
      return {
        experimentId,
        activeRuns: own.filter((run) => run.lifecycleStage === 'active').length,
        deletedRuns: own.filter((run) => run.lifecycleStage === 'deleted').length,
        ...(times.length > 0 ? { lastActivity: Math.max(...times) } : {}),
      };
    });
  }

  private claim(name: string): void {
    if ([...this.experiments.values()].some((experiment) => experiment.name === name)) {
      throw new ResourceAlreadyExistsError(`Experiment(name=${name}) already exists.`);
    }
  }
}

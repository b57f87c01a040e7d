/** The experiment entity and what the experiments service needs from storage. No AWS imports (design decision 4). */

export type LifecycleStage = 'active' | 'deleted';

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
  tags: Record<string, string>;
  /** Epoch ms a purge (`cairn gc`, the daily purge) began removing this deleted experiment: no restore. */
  purgingSince?: number;
}

export interface NewExperiment {
  name: string;
  /** Builds the location from the id the store assigns. */
  artifactLocation: (experimentId: string) => string;
  tags: Record<string, string>;
  now: number;
  /**
   * Called with the new id before the experiment can be found by anyone (before its name is claimed): the
   * creator's MANAGE grant is written here, so that no moment exists in which the experiment stands
   * without it. If it throws, nothing is created (the id is skipped).
   */
  beforeVisible?: (experimentId: string) => Promise<void>;
}

/** An experiment's run counters (the experiments page): kept with the writes, never counted by a scan. */
export interface ExperimentRunStats {
  experimentId: string;
  /** Absent for an experiment from before counters, until `cairn migrate` counts its runs. */
  activeRuns?: number;
  deletedRuns?: number;
  /** Epoch ms of the latest run created, deleted or restored; absent when none was recorded. */
  lastActivity?: number;
}

/** What the experiments domain needs from storage. Conditional writes live behind these methods. */
export interface ExperimentRepository {
  get(experimentId: string): Promise<Experiment | undefined>;
  getByName(name: string): Promise<Experiment | undefined>;
  /** Assigns the id; throws ResourceAlreadyExistsError when the name is taken (deleted experiments too). */
  create(input: NewExperiment): Promise<Experiment>;
  /** Creates experiment "0" (`Default`) unless it exists. Idempotent. */
  ensureDefault(artifactLocation: string, now: number): Promise<void>;
  /** Renames an active experiment; throws ResourceAlreadyExistsError when the new name is taken. */
  rename(experiment: Experiment, newName: string, now: number): Promise<void>;
  /** Moves `from` → `to`; false when the experiment is missing, not in `from`, or (to active) being purged. */
  setLifecycle(experimentId: string, from: LifecycleStage, to: LifecycleStage, now: number): Promise<boolean>;
  /** Upserts a tag on an active experiment; false when it is missing or not active. */
  setTag(experimentId: string, key: string, value: string): Promise<boolean>;
  /** Removes a tag from an active experiment; false when the experiment is missing, not active, or lacks it. */
  deleteTag(experimentId: string, key: string): Promise<boolean>;
  /** Every experiment, any lifecycle stage. */
  listAll(): Promise<Experiment[]>;
  /** Run counters per id, in the order given; zeros for an experiment with none (or none that exists). */
  readRunStats(experimentIds: readonly string[]): Promise<ExperimentRunStats[]>;
}

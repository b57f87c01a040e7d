/**
 * The experiments domain: MLflow's rules for experiments on top of an ExperimentRepository. Validation
 * happens before any write, so a refused request changes nothing.
 */

import { NO_RESOURCE_GRANTS, type ResourceGrants } from '../../auth/resource-grants.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import { parseExperimentId } from '../ids.js';
import {
  canonicalExperimentName,
  findByName,
  LIMITS,
  validateArtifactLocation,
  validateExperimentTag,
  validateMaxLength,
  validateMaxResults,
} from '../rules.js';
import type { Experiment, ExperimentRepository, ExperimentRunStats, LifecycleStage } from './model.js';
import { type ExperimentPage, type ExperimentSearch, searchExperiments } from './search.js';

/** Experiment ids per run-stats request: the experiments page's page size. */
export const RUN_STATS_MAX_EXPERIMENTS = 100;

export interface ExperimentsConfig {
  /** Root under which the server assigns each experiment's artifact location, e.g. `mlflow-artifacts:/`. */
  artifactRoot: string;
  /**
   * Whether a client may choose any `artifact_location` on create that passes validateArtifactLocation
   * (off by default: see README); without it, only checkClientArtifactLocation's.
   */
  allowClientArtifactLocation: boolean;
}

export interface CreateExperimentInput {
  name: string;
  artifactLocation?: string;
  tags: { key: string; value: string }[];
  /** The authenticated principal creating it, who gets MANAGE on it (issue 16); unset without auth. */
  creator?: string;
}

/** A purge has begun removing the experiment for good: restoring it could only bring back part of it. */
function beingPurged(experimentId: string): InvalidParameterValueError {
  return new InvalidParameterValueError(
    `Experiment with id=${experimentId} is being purged (cairn gc or the daily purge is under way) and cannot be restored.`,
  );
}

function experimentNotFound(experimentId: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`No Experiment with id=${experimentId} exists`);
}

/**
 * Object stores the stock client writes to directly with its own credentials. The server never reads an
 * experiment's artifact location (artifact keys are derived from run and model ids), so such a location
 * is only ever used by the client that logs there, as with MLflow's server.
 */
export const CLIENT_ARTIFACT_SCHEMES = [
  's3',
  's3a',
  's3n',
  'gs',
  'wasb',
  'wasbs',
  'abfs',
  'abfss',
  'hdfs',
  'viewfs',
  'dbfs',
] as const;

/**
 * An `artifact_location` a client may choose: one under this deployment's artifact root (no other
 * server's authority), or in an object store (CLIENT_ARTIFACT_SCHEMES). Refused: http(s), ftp, sftp, an
 * `mlflow-artifacts://` of another server (the stock client would send its tracking credentials there, and
 * the UI would show links into it) and local paths (the server has no disk a client shares, and MLflow
 * resolves a relative one against its own working directory).
 */
export function checkClientArtifactLocation(location: string, artifactRoot: string): void {
  validateArtifactLocation(location);
  const root = artifactRoot.endsWith('/') ? artifactRoot : `${artifactRoot}/`;
  if (location.startsWith(root) && !location.slice(root.length).startsWith('/')) return;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/[^/\s]+/.exec(location)?.[1]?.toLowerCase();
  if (scheme && (CLIENT_ARTIFACT_SCHEMES as readonly string[]).includes(scheme)) return;
  throw new InvalidParameterValueError(
    `Invalid value '${location}' for parameter 'artifact_location': this server stores a location under its artifact root (${artifactRoot}) or in an object store the client writes itself (${CLIENT_ARTIFACT_SCHEMES.map((s) => `${s}://`).join(', ')}). http(s), ftp, another server's mlflow-artifacts and local paths are refused: clients would send their credentials to, or write to, places this server cannot vouch for.`,
  );
}

export function artifactLocationFor(root: string, experimentId: string): string {
  return root.endsWith('/') ? `${root}${experimentId}` : `${root}/${experimentId}`;
}

export class ExperimentService {
  private defaultReady: Promise<void> | undefined;

  constructor(
    private readonly repo: ExperimentRepository,
    private readonly config: ExperimentsConfig,
    private readonly clock: () => number = Date.now,
    /** Applies an experiment's delete or restore to its runs (MLflow cascades both). */
    private readonly cascadeToRuns?: (
      experimentId: string,
      from: LifecycleStage,
      to: LifecycleStage,
    ) => Promise<void>,
    private readonly grants: ResourceGrants = NO_RESOURCE_GRANTS,
  ) {}

  /**
   * Experiment "0" must exist before the first request is served (the stock client logs to it by default).
   * Checked once per process; a failed attempt is retried by the next request.
   */
  ready(): Promise<void> {
    this.defaultReady ??= this.repo
      .ensureDefault(artifactLocationFor(this.config.artifactRoot, '0'), this.clock())
      .catch((error: unknown) => {
        this.defaultReady = undefined;
        throw error;
      });
    return this.defaultReady;
  }

  async create(input: CreateExperimentInput): Promise<string> {
    const name = canonicalExperimentName('name', input.name);
    const tagMap = new Map<string, string>();
    for (const [index, tag] of input.tags.entries()) {
      validateExperimentTag(`tags[${index}].key`, tag.key, `tags[${index}].value`, tag.value);
      if (tagMap.has(tag.key)) {
        throw new InvalidParameterValueError(`Duplicate tag key '${tag.key}' in 'tags'.`);
      }
      tagMap.set(tag.key, tag.value);
    }
    // fromEntries defines own properties, so keys like `__proto__` stay ordinary tag keys.
    const tags = Object.fromEntries(tagMap);
    const requested = input.artifactLocation;
    if (requested) {
      if (this.config.allowClientArtifactLocation) validateArtifactLocation(requested);
      else checkClientArtifactLocation(requested, this.config.artifactRoot);
    }
    await this.ready();
    const creator = input.creator;
    let granted: string | undefined;
    try {
      const experiment = await this.repo.create({
        name,
        artifactLocation: (id) => requested || artifactLocationFor(this.config.artifactRoot, id),
        tags,
        now: this.clock(),
        // The creator's MANAGE is written on the new id before the experiment can be found: a failed grant
        // write fails the create with nothing created, so the client's retry simply creates it again.
        ...(creator === undefined
          ? {}
          : {
              beforeVisible: async (experimentId: string) => {
                await this.grants.grantCreator(creator, 'experiment', experimentId);
                granted = experimentId;
              },
            }),
      });
      return experiment.experimentId;
    } catch (error) {
      // The name was taken (or the write failed): the grant names an id no experiment will ever have
      // (ids are never reused), so removing it is tidiness, not safety.
      if (creator !== undefined && granted !== undefined)
        await this.grants.revoke(creator, 'experiment', granted).catch(() => undefined);
      throw error;
    }
  }

  async get(rawExperimentId: string): Promise<Experiment> {
    const experimentId = parseExperimentId('experiment_id', rawExperimentId);
    await this.ready();
    const experiment = await this.repo.get(experimentId);
    if (!experiment) throw experimentNotFound(experimentId);
    return experiment;
  }

  async getByName(name: string, field = 'experiment_name'): Promise<Experiment> {
    // No experiment can carry a longer name, and its claim key would exceed DynamoDB's (a 500).
    validateMaxLength(field, name, LIMITS.experimentName);
    await this.ready();
    const experiment = await findByName(name, (candidate) => this.repo.getByName(candidate));
    if (!experiment) throw new ResourceDoesNotExistError(`Could not find experiment with name '${name}'`);
    return experiment;
  }

  async search(
    search: Omit<ExperimentSearch, 'maxResults'> & { maxResults?: number },
  ): Promise<ExperimentPage> {
    const maxResults = search.maxResults ?? LIMITS.defaultMaxResults;
    validateMaxResults(maxResults, LIMITS.maxResultsCap);
    // Parse everything before reading, so a bad filter costs no read.
    searchExperiments([], { ...search, maxResults });
    await this.ready();
    return searchExperiments(await this.repo.listAll(), { ...search, maxResults });
  }

  /**
   * Run counters of up to RUN_STATS_MAX_EXPERIMENTS experiments (one page of the experiments list), in
   * the order asked, duplicates once. Unknown experiments answer zeros: checking existence would cost a
   * read per experiment, and the caller has just listed them.
   */
  async runStats(rawExperimentIds: readonly string[]): Promise<ExperimentRunStats[]> {
    if (rawExperimentIds.length === 0) {
      throw new InvalidParameterValueError(
        "Missing value for required parameter 'experiment_ids'. See the API docs for more information about request parameters.",
      );
    }
    if (rawExperimentIds.length > RUN_STATS_MAX_EXPERIMENTS) {
      throw new InvalidParameterValueError(
        `Invalid value for parameter 'experiment_ids': ${rawExperimentIds.length} experiment ids given, at most ${RUN_STATS_MAX_EXPERIMENTS} per request.`,
      );
    }
    const experimentIds = [...new Set(rawExperimentIds.map((id) => parseExperimentId('experiment_ids', id)))];
    return this.repo.readRunStats(experimentIds);
  }

  async rename(rawExperimentId: string, newName: string): Promise<void> {
    const name = canonicalExperimentName('new_name', newName);
    const experiment = await this.get(rawExperimentId);
    if (experiment.lifecycleStage !== 'active') {
      // MLflow answers INVALID_STATE (a 500 the client retries for minutes); this never succeeds on retry.
      throw new InvalidParameterValueError('Cannot rename a non-active experiment.');
    }
    await this.repo.rename(experiment, name, this.clock());
  }

  async delete(rawExperimentId: string): Promise<void> {
    await this.moveLifecycle(rawExperimentId, 'active', 'deleted');
  }

  async restore(rawExperimentId: string): Promise<void> {
    await this.moveLifecycle(rawExperimentId, 'deleted', 'active');
  }

  async setTag(rawExperimentId: string, key: string, value: string): Promise<void> {
    validateExperimentTag('key', key, 'value', value);
    const experimentId = parseExperimentId('experiment_id', rawExperimentId);
    await this.ready();
    if (!(await this.repo.setTag(experimentId, key, value))) {
      throw await this.notActive(experimentId);
    }
  }

  async deleteTag(rawExperimentId: string, key: string): Promise<void> {
    const experimentId = parseExperimentId('experiment_id', rawExperimentId);
    await this.ready();
    if (await this.repo.deleteTag(experimentId, key)) return;
    const experiment = await this.repo.get(experimentId);
    if (experiment?.lifecycleStage === 'active') {
      throw new ResourceDoesNotExistError(`No tag with name: ${key} in experiment with id ${experimentId}`);
    }
    throw await this.notActive(experimentId);
  }

  private async moveLifecycle(
    rawExperimentId: string,
    from: LifecycleStage,
    to: LifecycleStage,
  ): Promise<void> {
    const experimentId = parseExperimentId('experiment_id', rawExperimentId);
    await this.ready();
    // MLflow looks the experiment up among `from` experiments only: anything else is "no such experiment".
    const experiment = await this.repo.get(experimentId);
    if (experiment?.lifecycleStage !== from) throw experimentNotFound(experimentId);
    if (to === 'active' && experiment.purgingSince !== undefined) throw beingPurged(experimentId);
    // Runs first: if this request dies half way, the experiment is still in `from` and a retry redoes it.
    await this.cascadeToRuns?.(experimentId, from, to);
    if (!(await this.repo.setLifecycle(experimentId, from, to, this.clock()))) {
      const now = await this.repo.get(experimentId);
      if (to === 'active' && now?.purgingSince !== undefined) throw beingPurged(experimentId);
      throw experimentNotFound(experimentId);
    }
  }

  /** The error for a conditional write on an experiment that failed: missing, or not active. */
  private async notActive(experimentId: string): Promise<Error> {
    const experiment = await this.repo.get(experimentId);
    if (!experiment) return experimentNotFound(experimentId);
    return new InvalidParameterValueError(
      `The experiment ${experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`,
    );
  }
}

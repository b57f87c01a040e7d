/**
 * The experiment item, stated once: its type, its keys (from keys.ts) and its item ↔ domain mappers. The
 * name claim (`EXPNAME#<name>`) and the id counter are name-claims.ts's and the repository's.
 */
import type { Experiment, LifecycleStage } from '../../domain/experiments/model.js';
import { fromStoredMap, toStoredMap } from '../items.js';
import { keys, RUN_INDEX_VERSION, RUN_SUMMARIES_VERSION, VALUE_INDEX_VERSION } from '../keys.js';

export interface ExperimentItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  type: 'experiment';
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
  tags: Record<string, string>;
  /** RUN_INDEX_VERSION when every run of the experiment carries the order keys (keys.ts). */
  run_index?: number;
  /**
   * VALUE_INDEX_VERSION when every run of the experiment is in the value-entry layout (keys.ts: entries for
   * ended runs' metrics and every param, open runs' LATEST in `EXPOPEN#…`).
   */
  value_index?: number;
  /** RUN_SUMMARIES_VERSION when every run of the experiment has a summary row or mark (runs/run-summaries.ts). */
  run_summaries?: number;
  /** Set by a purge before it touches the experiment's runs (purge.ts): restore refuses from then on. */
  purging?: number;
}

export function toExperimentItem(experiment: Experiment): ExperimentItem {
  return {
    ...keys.experiment(experiment.experimentId),
    ...keys.experimentListing(experiment.experimentId),
    type: 'experiment',
    experiment_id: experiment.experimentId,
    name: experiment.name,
    artifact_location: experiment.artifactLocation,
    lifecycle_stage: experiment.lifecycleStage,
    creation_time: experiment.creationTime,
    last_update_time: experiment.lastUpdateTime,
    tags: toStoredMap(experiment.tags),
    // A new experiment has no runs, so all of them are keyed for index-order listings.
    run_index: RUN_INDEX_VERSION,
    // Nor any value: every write keeps the value-entry layout, so all its runs are in it.
    value_index: VALUE_INDEX_VERSION,
    // Nor a run to summarize: every write marks its run for the summaries.
    run_summaries: RUN_SUMMARIES_VERSION,
  };
}

export function toExperiment(item: ExperimentItem): Experiment {
  return {
    experimentId: item.experiment_id,
    name: item.name,
    artifactLocation: item.artifact_location,
    lifecycleStage: item.lifecycle_stage,
    creationTime: item.creation_time,
    lastUpdateTime: item.last_update_time,
    tags: fromStoredMap(item.tags),
    ...(item.purging !== undefined ? { purgingSince: item.purging } : {}),
  };
}

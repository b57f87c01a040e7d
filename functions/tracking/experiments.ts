/** Adapters for the experiments endpoints: parse the request message, call the domain, shape MLflow's JSON. */
import * as v from 'valibot';
import {
  int64,
  keyValue,
  parseMessage,
  repeatedString,
  requiredString,
  str,
  viewType,
} from '../../shared/api/schema.js';
import { hiddenFrom } from '../../shared/auth/search-visibility.js';
import type { Experiment, ExperimentRunStats } from '../../shared/domain/experiments/model.js';
import type { ExperimentService } from '../../shared/domain/experiments/service.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';

const CreateExperiment = v.object({
  name: requiredString,
  artifact_location: v.optional(str),
  tags: v.optional(v.array(keyValue), []),
});
const ExperimentById = v.object({ experiment_id: requiredString });
const GetExperimentByName = v.object({ experiment_name: requiredString });
const SearchExperiments = v.object({
  max_results: v.optional(int64),
  page_token: v.optional(str),
  filter: v.optional(str),
  order_by: v.optional(repeatedString, []),
  view_type: v.optional(viewType, 'ACTIVE_ONLY'),
});
const UpdateExperiment = v.object({ experiment_id: requiredString, new_name: requiredString });
const SetExperimentTag = v.object({
  experiment_id: requiredString,
  key: requiredString,
  value: v.optional(str, ''),
});
const DeleteExperimentTag = v.object({ experiment_id: requiredString, key: requiredString });
const ExperimentRunStatsRequest = v.object({ experiment_ids: v.optional(repeatedString, []) });

/** MLflow's Experiment JSON; `tags` is omitted when empty, as protobuf's JSON printer does. */
export function experimentJson(experiment: Experiment) {
  const tags = Object.entries(experiment.tags).map(([key, value]) => ({ key, value }));
  return {
    experiment_id: experiment.experimentId,
    name: experiment.name,
    artifact_location: experiment.artifactLocation,
    lifecycle_stage: experiment.lifecycleStage,
    last_update_time: experiment.lastUpdateTime,
    creation_time: experiment.creationTime,
    ...(tags.length > 0 ? { tags } : {}),
  };
}

/**
 * Cairn's run counters of one experiment as JSON; the counts only once counted (not for an experiment from
 * before counters, until `cairn migrate`), `last_activity` only when some activity was recorded.
 */
function runStatsJson(stats: ExperimentRunStats) {
  return {
    experiment_id: stats.experimentId,
    ...(stats.activeRuns !== undefined ? { active_runs: stats.activeRuns } : {}),
    ...(stats.deletedRuns !== undefined ? { deleted_runs: stats.deletedRuns } : {}),
    ...(stats.lastActivity !== undefined ? { last_activity: stats.lastActivity } : {}),
  };
}

const EMPTY = {};

export function experimentOperations(experiments: ExperimentService): Operations {
  return {
    async createExperiment({ fields, caller, principal }) {
      const message = parseMessage(CreateExperiment, fields);
      // The creator gets MANAGE on it (issue 16); an admin holds MANAGE everywhere already, and a grant to
      // an admin is refused as meaningless, so none is written for one.
      const creator = caller?.isAdmin ? undefined : (caller?.principal ?? principal);
      const experimentId = await experiments.create({
        name: message.name,
        artifactLocation: message.artifact_location,
        tags: message.tags,
        ...(creator ? { creator } : {}),
      });
      return jsonResponse({ experiment_id: experimentId });
    },

    async getExperiment({ fields }) {
      const { experiment_id } = parseMessage(ExperimentById, fields);
      return jsonResponse({ experiment: experimentJson(await experiments.get(experiment_id)) });
    },

    async getExperimentByName({ fields }) {
      const { experiment_name } = parseMessage(GetExperimentByName, fields);
      return jsonResponse({ experiment: experimentJson(await experiments.getByName(experiment_name)) });
    },

    async searchExperiments({ fields, caller }) {
      const message = parseMessage(SearchExperiments, fields);
      const page = await experiments.search({
        maxResults: message.max_results,
        pageToken: message.page_token || undefined,
        filter: message.filter,
        orderBy: message.order_by,
        viewType: message.view_type,
        hidden: hiddenFrom(caller, 'experiment'),
      });
      return jsonResponse({
        ...(page.experiments.length > 0 ? { experiments: page.experiments.map(experimentJson) } : {}),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    },

    async updateExperiment({ fields }) {
      const message = parseMessage(UpdateExperiment, fields);
      await experiments.rename(message.experiment_id, message.new_name);
      return jsonResponse(EMPTY);
    },

    async deleteExperiment({ fields }) {
      const { experiment_id } = parseMessage(ExperimentById, fields);
      await experiments.delete(experiment_id);
      return jsonResponse(EMPTY);
    },

    async restoreExperiment({ fields }) {
      const { experiment_id } = parseMessage(ExperimentById, fields);
      await experiments.restore(experiment_id);
      return jsonResponse(EMPTY);
    },

    async setExperimentTag({ fields }) {
      const message = parseMessage(SetExperimentTag, fields);
      await experiments.setTag(message.experiment_id, message.key, message.value);
      return jsonResponse(EMPTY);
    },

    async getExperimentRunStats({ fields }) {
      const { experiment_ids } = parseMessage(ExperimentRunStatsRequest, fields);
      return jsonResponse({ stats: (await experiments.runStats(experiment_ids)).map(runStatsJson) });
    },

    async deleteExperimentTag({ fields }) {
      const message = parseMessage(DeleteExperimentTag, fields);
      await experiments.deleteTag(message.experiment_id, message.key);
      return jsonResponse(EMPTY);
    },
  };
}

/** Adapters for MLflow 3's logged-model endpoints (`/mlflow/logged-models...`), but for artifact listing. */
import * as v from 'valibot';
import type { ApiRequest } from '../../shared/api/request.js';
import {
  bool,
  int64,
  keyValue,
  parseMessage,
  repeatedString,
  requiredString,
  str,
} from '../../shared/api/schema.js';
import { requireReadableExperiments } from '../../shared/auth/search-visibility.js';
import type { LoggedModel } from '../../shared/domain/logged-models/model.js';
import {
  type LoggedModelService,
  parseLoggedModelStatus,
} from '../../shared/domain/logged-models/service.js';
import { metricValueJson } from '../../shared/domain/runs/metrics.js';
import { InvalidParameterValueError } from '../../shared/errors.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';
import { searchAnswer, searchSerializer } from './search-answer.js';

const CreateLoggedModel = v.object({
  experiment_id: requiredString,
  name: v.optional(str),
  model_type: v.optional(str),
  source_run_id: v.optional(str),
  params: v.optional(v.array(keyValue), []),
  tags: v.optional(v.array(keyValue), []),
});
const GetLoggedModel = v.object({ allow_deleted: v.optional(bool, false) });
const statusField = v.pipe(
  v.union([v.string(), v.pipe(v.number(), v.integer()), v.undefined(), v.null()]),
  v.check((value) => value !== undefined && value !== null && value !== '', 'missing'),
  v.transform((value) => value as string | number),
);
const FinalizeLoggedModel = v.object({ model_id: v.optional(str), status: statusField });
const SetTags = v.object({ model_id: v.optional(str), tags: v.optional(v.array(keyValue), []) });
const LogParams = v.object({ model_id: v.optional(str), params: v.optional(v.array(keyValue), []) });
const SearchLoggedModels = v.object({
  experiment_ids: v.optional(repeatedString, []),
  filter: v.optional(str),
  datasets: v.optional(
    v.array(v.object({ dataset_name: v.optional(str, ''), dataset_digest: v.optional(str) })),
    [],
  ),
  max_results: v.optional(int64),
  order_by: v.optional(
    v.array(
      v.object({
        field_name: requiredString,
        ascending: v.optional(bool, true),
        dataset_name: v.optional(str),
        dataset_digest: v.optional(str),
      }),
    ),
    [],
  ),
  page_token: v.optional(str),
});

/** The model named by the path; a body that names another model is refused rather than ignored. */
function modelIdOf(request: ApiRequest, bodyModelId?: string): string {
  const modelId = request.pathParameters.model_id ?? '';
  if (bodyModelId && bodyModelId !== modelId) {
    throw new InvalidParameterValueError(
      `The body's 'model_id' ('${bodyModelId}') does not match the model in the path ('${modelId}').`,
    );
  }
  return modelId;
}

const nonEmpty = <T>(name: string, items: T[]) => (items.length > 0 ? { [name]: items } : {});

/** MLflow's LoggedModel JSON: `info` and `data`, empty lists omitted as protobuf's JSON printer does. */
export function loggedModelJson(model: LoggedModel) {
  return {
    info: {
      model_id: model.modelId,
      experiment_id: model.experimentId,
      name: model.name,
      creation_timestamp_ms: model.creationTimestamp,
      last_updated_timestamp_ms: model.lastUpdatedTimestamp,
      artifact_uri: model.artifactUri,
      status: model.status,
      ...(model.modelType ? { model_type: model.modelType } : {}),
      ...(model.sourceRunId ? { source_run_id: model.sourceRunId } : {}),
      ...(model.statusMessage ? { status_message: model.statusMessage } : {}),
      ...nonEmpty(
        'tags',
        Object.entries(model.tags).map(([key, value]) => ({ key, value })),
      ),
    },
    data: {
      ...nonEmpty(
        'params',
        Object.entries(model.params).map(([key, value]) => ({ key, value })),
      ),
      ...nonEmpty(
        'metrics',
        model.metrics.map((metric) => ({
          key: metric.key,
          value: metricValueJson(metric.value),
          timestamp: metric.timestamp,
          step: metric.step,
          ...(metric.datasetName ? { dataset_name: metric.datasetName } : {}),
          ...(metric.datasetDigest ? { dataset_digest: metric.datasetDigest } : {}),
          model_id: model.modelId,
          ...(metric.runId ? { run_id: metric.runId } : {}),
        })),
      ),
    },
  };
}

const EMPTY = {};

export function loggedModelOperations(models: LoggedModelService): Operations {
  return {
    async createLoggedModel({ fields }) {
      const message = parseMessage(CreateLoggedModel, fields);
      const model = await models.create({
        experimentId: message.experiment_id,
        // proto3 cannot tell an empty name from none; MLflow then generates one.
        ...(message.name ? { name: message.name } : {}),
        ...(message.model_type ? { modelType: message.model_type } : {}),
        ...(message.source_run_id ? { sourceRunId: message.source_run_id } : {}),
        params: message.params,
        tags: message.tags,
      });
      return jsonResponse({ model: loggedModelJson(model) });
    },

    async getLoggedModel(request) {
      const { allow_deleted } = parseMessage(GetLoggedModel, request.fields);
      return jsonResponse({ model: loggedModelJson(await models.get(modelIdOf(request), allow_deleted)) });
    },

    async finalizeLoggedModel(request) {
      const message = parseMessage(FinalizeLoggedModel, request.fields);
      const model = await models.finalize(
        modelIdOf(request, message.model_id),
        parseLoggedModelStatus('status', message.status),
      );
      return jsonResponse({ model: loggedModelJson(model) });
    },

    async deleteLoggedModel(request) {
      await models.delete(modelIdOf(request));
      return jsonResponse(EMPTY);
    },

    async setLoggedModelTags(request) {
      const message = parseMessage(SetTags, request.fields);
      const model = await models.setTags(modelIdOf(request, message.model_id), message.tags);
      return jsonResponse({ model: loggedModelJson(model) });
    },

    async deleteLoggedModelTag(request) {
      await models.deleteTag(modelIdOf(request), request.pathParameters.tag_key ?? '');
      return jsonResponse(EMPTY);
    },

    async logLoggedModelParams(request) {
      const message = parseMessage(LogParams, request.fields);
      await models.logParams(modelIdOf(request, message.model_id), message.params);
      return jsonResponse(EMPTY);
    },

    async searchLoggedModels({ fields, caller }) {
      const message = parseMessage(SearchLoggedModels, fields);
      requireReadableExperiments(caller, message.experiment_ids);
      const serializer = searchSerializer(loggedModelJson, 0);
      const page = await models.search({
        experimentIds: message.experiment_ids,
        ...(message.filter ? { filter: message.filter } : {}),
        datasets: message.datasets.map((dataset) => ({
          datasetName: dataset.dataset_name,
          ...(dataset.dataset_digest ? { datasetDigest: dataset.dataset_digest } : {}),
        })),
        orderBy: message.order_by.map((order) => ({
          fieldName: order.field_name,
          ascending: order.ascending,
          ...(order.dataset_name ? { datasetName: order.dataset_name } : {}),
          ...(order.dataset_digest ? { datasetDigest: order.dataset_digest } : {}),
        })),
        ...(message.max_results === undefined ? {} : { maxResults: message.max_results }),
        ...(message.page_token ? { pageToken: message.page_token } : {}),
        sizeOf: serializer.sizeOf,
      });
      // The page's models were serialized to be measured: the answer is joined from those strings.
      return searchAnswer('models', page.models.map(serializer.json), page.nextPageToken);
    },
  };
}

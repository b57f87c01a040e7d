/** Adapters for the model registry endpoints: parse the request message, call the domain, shape MLflow's JSON. */
import * as v from 'valibot';
import {
  bool,
  int64,
  keyValue,
  parseMessage,
  repeatedString,
  requiredString,
  str,
} from '../../shared/api/schema.js';
import { hiddenFrom } from '../../shared/auth/search-visibility.js';
import type { RegistryService } from '../../shared/domain/registry/service.js';
import { isPrompt, registryEvents } from '../../shared/domain/webhooks/payloads.js';
import { NO_EVENTS, type RegistryEventSink } from '../../shared/domain/webhooks/service.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';
import { requireLevel } from '../middleware/permission-check.js';
import { modelResponse, modelVersionJson, registeredModelJson, versionResponse } from './json.js';

const ByName = v.object({ name: requiredString });
const CreateModel = v.object({
  name: requiredString,
  tags: v.optional(v.array(keyValue), []),
  description: v.optional(str),
});
const RenameModel = v.object({ name: requiredString, new_name: requiredString });
const UpdateModel = v.object({ name: requiredString, description: v.optional(str) });
const Search = v.object({
  filter: v.optional(str),
  max_results: v.optional(int64),
  order_by: v.optional(repeatedString, []),
  page_token: v.optional(str),
});
const LatestVersions = v.object({ name: requiredString, stages: v.optional(repeatedString, []) });
const ModelTag = v.object({ name: requiredString, key: requiredString, value: v.optional(str, '') });
const ModelTagKey = v.object({ name: requiredString, key: requiredString });
const SetAlias = v.object({ name: requiredString, alias: requiredString, version: requiredString });
const Alias = v.object({ name: requiredString, alias: requiredString });
// int64 versions arrive as numbers from some clients; MLflow's proto field is a string.
const versionField = v.pipe(
  v.union([v.string(), v.pipe(v.number(), v.integer()), v.undefined(), v.null()]),
  v.check((value) => value !== undefined && value !== null && value !== '', 'missing'),
  v.transform((value) => String(value)),
);
const CreateVersion = v.object({
  name: requiredString,
  source: requiredString,
  run_id: v.optional(str),
  tags: v.optional(v.array(keyValue), []),
  run_link: v.optional(str),
  description: v.optional(str),
  model_id: v.optional(str),
});
const ByVersion = v.object({ name: requiredString, version: versionField });
const UpdateVersion = v.object({ name: requiredString, version: versionField, description: v.optional(str) });
const TransitionStage = v.object({
  name: requiredString,
  version: versionField,
  stage: requiredString,
  archive_existing_versions: v.optional(bool, false),
});
const VersionTag = v.object({
  name: requiredString,
  version: versionField,
  key: requiredString,
  value: v.optional(str, ''),
});
const VersionTagKey = v.object({ name: requiredString, version: versionField, key: requiredString });

const EMPTY = {};

/**
 * `events` hears of every successful write MLflow makes a webhook event of (after the write, as MLflow
 * delivers after it; the sink never fails the request).
 */
export function registryOperations(
  registry: RegistryService,
  events: RegistryEventSink = NO_EVENTS,
  clock: () => number = Date.now,
): Operations {
  return {
    async createRegisteredModel({ fields, caller, principal }) {
      const message = parseMessage(CreateModel, fields);
      // The creator (MLflow's user_id) also gets MANAGE on the model (issue 16).
      const creator = caller?.principal ?? principal;
      const created = await registry.createModel({
        name: message.name,
        ...(creator ? { userId: creator } : {}),
        tags: message.tags,
        ...(message.description === undefined ? {} : { description: message.description }),
      });
      await events.emit(registryEvents.modelCreated(clock(), message));
      return modelResponse(created);
    },

    async getRegisteredModel({ fields }) {
      const { name } = parseMessage(ByName, fields);
      return modelResponse(await registry.getModel(name));
    },

    async renameRegisteredModel({ fields }) {
      const message = parseMessage(RenameModel, fields);
      return modelResponse(await registry.renameModel(message.name, message.new_name));
    },

    async updateRegisteredModel({ fields }) {
      const message = parseMessage(UpdateModel, fields);
      return modelResponse(await registry.updateModel(message.name, message.description));
    },

    async deleteRegisteredModel({ fields }) {
      const { name } = parseMessage(ByName, fields);
      await registry.deleteModel(name);
      return jsonResponse(EMPTY);
    },

    async searchRegisteredModels({ fields, caller }) {
      const message = parseMessage(Search, fields);
      const { page, views } = await registry.searchModels({
        filter: message.filter,
        orderBy: message.order_by,
        maxResults: message.max_results,
        pageToken: message.page_token || undefined,
        hidden: hiddenFrom(caller, 'registered_model'),
      });
      return jsonResponse({
        ...(views.length > 0
          ? { registered_models: views.map((view) => registeredModelJson(view.model, view.latestVersions)) }
          : {}),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    },

    async getLatestVersions({ fields }) {
      const message = parseMessage(LatestVersions, fields);
      const views = await registry.getLatestVersions(message.name, message.stages);
      return jsonResponse(
        views.length > 0
          ? { model_versions: views.map((view) => modelVersionJson(view.model, view.version)) }
          : {},
      );
    },

    async setRegisteredModelTag({ fields }) {
      const message = parseMessage(ModelTag, fields);
      const model = await registry.setModelTag(message.name, message.key, message.value);
      const prompt = isPrompt({ ...model.tags, [message.key]: message.value });
      await events.emit(registryEvents.modelTagSet(clock(), prompt, message));
      return jsonResponse(EMPTY);
    },

    async deleteRegisteredModelTag({ fields }) {
      const message = parseMessage(ModelTagKey, fields);
      const model = await registry.deleteModelTag(message.name, message.key);
      const { [message.key]: _deleted, ...remaining } = model.tags;
      await events.emit(registryEvents.modelTagDeleted(clock(), isPrompt(remaining), message));
      return jsonResponse(EMPTY);
    },

    async setRegisteredModelAlias({ fields, principal }) {
      const message = parseMessage(SetAlias, fields);
      const model = await registry.setAlias(
        message.name,
        message.alias,
        message.version,
        principal ? { principal } : {},
      );
      await events.emit(registryEvents.aliasCreated(clock(), isPrompt(model.tags), message));
      return jsonResponse(EMPTY);
    },

    async deleteRegisteredModelAlias({ fields }) {
      const message = parseMessage(Alias, fields);
      const model = await registry.deleteAlias(message.name, message.alias);
      await events.emit(registryEvents.aliasDeleted(clock(), isPrompt(model.tags), message));
      return jsonResponse(EMPTY);
    },

    async getModelVersionByAlias({ fields }) {
      const message = parseMessage(Alias, fields);
      return versionResponse(await registry.getVersionByAlias(message.name, message.alias));
    },

    async createModelVersion(request) {
      const { fields, principal } = request;
      const message = parseMessage(CreateVersion, fields);
      const created = await registry.createVersion({
        // The route needs EDIT on the model; the files it will serve need READ where they come from.
        mayRead: (kind, resource) => requireLevel(request, kind, resource, 'READ'),
        mayEdit: (kind, resource) => requireLevel(request, kind, resource, 'EDIT'),
        name: message.name,
        ...(principal ? { userId: principal } : {}),
        source: message.source,
        tags: message.tags,
        ...(message.run_id ? { runId: message.run_id } : {}),
        ...(message.run_link ? { runLink: message.run_link } : {}),
        ...(message.description ? { description: message.description } : {}),
        ...(message.model_id ? { loggedModelId: message.model_id } : {}),
      });
      await events.emit(
        registryEvents.versionCreated(clock(), {
          name: message.name,
          version: String(created.version.version),
          source: message.source,
          runId: message.run_id,
          tags: message.tags,
          description: message.description,
        }),
      );
      return versionResponse(created);
    },

    async getModelVersion({ fields }) {
      const message = parseMessage(ByVersion, fields);
      return versionResponse(await registry.getVersion(message.name, message.version));
    },

    async updateModelVersion({ fields }) {
      const message = parseMessage(UpdateVersion, fields);
      return versionResponse(
        await registry.updateVersion(message.name, message.version, message.description),
      );
    },

    async deleteModelVersion({ fields }) {
      const message = parseMessage(ByVersion, fields);
      await registry.deleteVersion(message.name, message.version);
      return jsonResponse(EMPTY);
    },

    async searchModelVersions({ fields, caller }) {
      const message = parseMessage(Search, fields);
      const { page, models } = await registry.searchVersions({
        filter: message.filter,
        orderBy: message.order_by,
        maxResults: message.max_results,
        pageToken: message.page_token || undefined,
        hidden: hiddenFrom(caller, 'registered_model'),
      });
      const versions = page.versions.flatMap((version) => {
        const model = models.get(version.modelId);
        return model ? [modelVersionJson(model, version)] : [];
      });
      return jsonResponse({
        ...(versions.length > 0 ? { model_versions: versions } : {}),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    },

    async getModelVersionDownloadUri({ fields }) {
      const message = parseMessage(ByVersion, fields);
      return jsonResponse({ artifact_uri: await registry.getDownloadUri(message.name, message.version) });
    },

    async transitionModelVersionStage({ fields, principal }) {
      const message = parseMessage(TransitionStage, fields);
      return versionResponse(
        await registry.transitionStage(
          message.name,
          message.version,
          message.stage,
          message.archive_existing_versions,
          principal ? { principal } : {},
        ),
      );
    },

    async setModelVersionTag({ fields }) {
      const message = parseMessage(VersionTag, fields);
      const model = await registry.setVersionTag(message.name, message.version, message.key, message.value);
      await events.emit(registryEvents.versionTagSet(clock(), isPrompt(model.tags), message));
      return jsonResponse(EMPTY);
    },

    async deleteModelVersionTag({ fields }) {
      const message = parseMessage(VersionTagKey, fields);
      const model = await registry.deleteVersionTag(message.name, message.version, message.key);
      await events.emit(registryEvents.versionTagDeleted(clock(), isPrompt(model.tags), message));
      return jsonResponse(EMPTY);
    },
  };
}

/**
 * Adapters for MLflow's webhook endpoints (`/api/2.0/mlflow/webhooks`, MLflow ≥ 3.3): parse the request
 * message, call the webhook service, answer MLflow's JSON (a Webhook as protobuf's JSON printer writes it:
 * enums by name, unset fields left out, never the secret). Admin scope only, as MLflow's auth requires
 * an admin for every webhook call: a webhook sees every registry event and makes the server send requests.
 */
import * as v from 'valibot';
import type { ApiRequest } from '../../shared/api/request.js';
import { int64, parseMessage, requiredString, str } from '../../shared/api/schema.js';
import type { WebhookEventName } from '../../shared/domain/webhooks/contracts.js';
import type { Webhook } from '../../shared/domain/webhooks/model.js';
import {
  parseWebhookEvent,
  parseWebhookEvents,
  parseWebhookStatus,
} from '../../shared/domain/webhooks/rules.js';
import type { WebhookService } from '../../shared/domain/webhooks/service.js';
import { InvalidParameterValueError } from '../../shared/errors.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';

const CreateWebhook = v.object({
  name: requiredString,
  url: requiredString,
  description: v.optional(str),
  secret: v.optional(str),
});
const UpdateWebhook = v.object({
  name: v.optional(str),
  url: v.optional(str),
  description: v.optional(str),
  secret: v.optional(str),
});
const ListWebhooks = v.object({ max_results: v.optional(int64), page_token: v.optional(str) });

function eventJson(event: WebhookEventName) {
  return { entity: event.entity.toUpperCase(), action: event.action.toUpperCase() };
}

export function webhookJson(webhook: Webhook) {
  return {
    webhook_id: webhook.webhookId,
    name: webhook.name,
    ...(webhook.description ? { description: webhook.description } : {}),
    url: webhook.url,
    events: webhook.events.map(eventJson),
    status: webhook.status,
    creation_timestamp: webhook.creationTimestamp,
    last_updated_timestamp: webhook.lastUpdatedTimestamp,
  };
}

function webhookId(request: ApiRequest): string {
  const id = request.pathParameters.webhook_id;
  if (!id) throw new InvalidParameterValueError("Missing value for required parameter 'webhook_id'.");
  return id;
}

/** MLflow's handler reads an empty string as the field left out (`request_message.x or None`). */
const given = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** An optional enum field: absent, null or protobuf's zero value are all "not given". */
const givenField = (fields: Record<string, unknown>, name: string) => {
  const value = fields[name];
  return value === undefined || value === null || value === 0 || value === '' ? undefined : value;
};

export function webhookOperations(webhooks: WebhookService): Operations {
  return {
    async createWebhook({ fields }) {
      const message = parseMessage(CreateWebhook, fields);
      const events = parseWebhookEvents(fields.events);
      const status = givenField(fields, 'status');
      const description = given(message.description);
      const secret = given(message.secret);
      const webhook = await webhooks.create({
        name: message.name,
        url: message.url,
        events,
        ...(description ? { description } : {}),
        ...(secret ? { secret } : {}),
        ...(status === undefined ? {} : { status: parseWebhookStatus(status) }),
      });
      return jsonResponse({ webhook: webhookJson(webhook) });
    },

    async listWebhooks({ fields }) {
      const message = parseMessage(ListWebhooks, fields);
      const page = await webhooks.list(message.max_results, given(message.page_token));
      return jsonResponse({
        ...(page.webhooks.length > 0 ? { webhooks: page.webhooks.map(webhookJson) } : {}),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      });
    },

    async getWebhook(request) {
      return jsonResponse({ webhook: webhookJson(await webhooks.get(webhookId(request))) });
    },

    async updateWebhook(request) {
      const { fields } = request;
      const message = parseMessage(UpdateWebhook, fields);
      const rawEvents = fields.events;
      // An empty list leaves the events as they are (MLflow: `events if request_message.events else None`).
      const events =
        rawEvents === undefined || rawEvents === null || (Array.isArray(rawEvents) && rawEvents.length === 0)
          ? undefined
          : parseWebhookEvents(rawEvents);
      const status = givenField(fields, 'status');
      const name = given(message.name);
      const url = given(message.url);
      const description = given(message.description);
      const secret = given(message.secret);
      const webhook = await webhooks.update(webhookId(request), {
        ...(name ? { name } : {}),
        // MLflow checks a URL of only spaces (and refuses it) rather than reading it as left out.
        ...(url !== undefined ? { url } : {}),
        ...(events ? { events } : {}),
        ...(description ? { description } : {}),
        ...(secret ? { secret } : {}),
        ...(status === undefined ? {} : { status: parseWebhookStatus(status) }),
      });
      return jsonResponse({ webhook: webhookJson(webhook) });
    },

    async deleteWebhook(request) {
      await webhooks.delete(webhookId(request));
      return jsonResponse({});
    },

    async testWebhook(request) {
      const raw = givenField(request.fields, 'event');
      const event = raw === undefined ? undefined : parseWebhookEvent(raw, 'event');
      const result = await webhooks.test(webhookId(request), event);
      return jsonResponse({
        result: {
          success: result.success,
          ...(result.responseStatus === undefined ? {} : { response_status: result.responseStatus }),
          ...(result.responseBody === undefined ? {} : { response_body: result.responseBody }),
          ...(result.errorMessage === undefined ? {} : { error_message: result.errorMessage }),
        },
      });
    },
  };
}

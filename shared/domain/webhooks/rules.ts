/**
 * What a webhook may be: MLflow's rules (`mlflow/utils/validation.py`: `_validate_webhook_name`,
 * `_validate_webhook_url`, `_validate_webhook_events`), with MLflow's messages, which its client tests
 * match, plus Cairn's length limits. Every rule here is pure; resolving a URL's host is the guard's
 * (./url-guard.ts).
 */
import { InvalidParameterValueError } from '../../errors.js';
import type { WebhookEventName } from './contracts.js';
import {
  VALID_ENTITY_ACTIONS,
  WEBHOOK_ACTIONS,
  WEBHOOK_ENTITIES,
  WEBHOOK_LIMITS,
  WEBHOOK_STATUSES,
  type WebhookAction,
  type WebhookEntity,
  type WebhookStatus,
} from './model.js';

const NAME = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i;

export function validateWebhookName(name: string): void {
  if (name.length > WEBHOOK_LIMITS.nameLength || !NAME.test(name)) {
    throw new InvalidParameterValueError(
      `Webhook name ${JSON.stringify(name)} is invalid. It must start and end with a letter or digit, ` +
        `be at most ${WEBHOOK_LIMITS.nameLength} characters long, and contain only letters, digits, dots (.), ` +
        'underscores (_), and hyphens (-).',
    );
  }
}

/** The URL's parts that delivery needs, once its syntax and scheme are known to be acceptable. */
export interface WebhookTarget {
  url: URL;
  /** The host as DNS or the socket takes it: an IPv6 literal without its brackets. */
  hostname: string;
}

/**
 * Checks a webhook URL's syntax: not blank, parseable, a scheme from `allowedSchemes` (MLflow allows only
 * https unless told otherwise), a host, no credentials (they would be sent to the receiver and shown to
 * every admin who reads the webhook) and at most WEBHOOK_LIMITS.urlLength characters.
 */
export function parseWebhookUrl(raw: string, allowedSchemes: readonly string[]): WebhookTarget {
  if (raw.trim() === '') {
    throw new InvalidParameterValueError(
      `Webhook URL cannot be empty or just whitespace: ${JSON.stringify(raw)}`,
    );
  }
  if (raw.length > WEBHOOK_LIMITS.urlLength) {
    throw new InvalidParameterValueError(
      `Invalid webhook URL: it is ${raw.length} characters long; the limit is ${WEBHOOK_LIMITS.urlLength}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidParameterValueError(
      `Invalid webhook URL ${JSON.stringify(raw)}: it does not parse as a URL.`,
    );
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!allowedSchemes.includes(scheme)) {
    throw new InvalidParameterValueError(
      `Invalid webhook URL scheme: ${JSON.stringify(scheme)}. Allowed schemes are: ${allowedSchemes.join(', ')}.`,
    );
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (hostname === '') {
    throw new InvalidParameterValueError(`Webhook URL must include a hostname: ${JSON.stringify(raw)}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidParameterValueError(
      'Invalid webhook URL: it must not carry a user name or password; use the webhook secret to authenticate deliveries.',
    );
  }
  return { url, hostname };
}

export function validateWebhookDescription(description: string): void {
  if (description.length > WEBHOOK_LIMITS.descriptionLength) {
    throw new InvalidParameterValueError(
      `Webhook description is ${description.length} characters long; the limit is ${WEBHOOK_LIMITS.descriptionLength}.`,
    );
  }
}

export function validateWebhookSecret(secret: string): void {
  if (secret.length > WEBHOOK_LIMITS.secretLength) {
    throw new InvalidParameterValueError(
      `Webhook secret is ${secret.length} characters long; the limit is ${WEBHOOK_LIMITS.secretLength}.`,
    );
  }
}

/** A WebhookEvent message's field: an enum by (upper-case) name or by number, as protobuf's JSON takes it. */
function enumValue<T extends string>(names: readonly T[], raw: unknown, field: string, kind: string): T {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= names.length) {
    return names[raw - 1] as T;
  }
  if (typeof raw === 'string') {
    const name = names.find((candidate) => candidate.toUpperCase() === raw);
    if (name) return name;
  }
  if (raw === undefined || raw === null || raw === 0 || raw === `${kind}_UNSPECIFIED`) {
    throw new InvalidParameterValueError(`Missing value for required parameter '${field}'.`);
  }
  throw new InvalidParameterValueError(
    `Invalid value ${JSON.stringify(raw)} for parameter '${field}' supplied. Valid values are: ${names
      .map((name) => name.toUpperCase())
      .join(', ')}.`,
  );
}

/**
 * One WebhookEvent message (`{"entity": "MODEL_VERSION", "action": "CREATED"}`) → the event, refusing a
 * pair MLflow does not define (e.g. `registered_model.deleted`) with MLflow's message.
 */
export function parseWebhookEvent(raw: unknown, field: string): WebhookEventName {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidParameterValueError(
      `Invalid value ${JSON.stringify(raw)} for parameter '${field}' supplied: a WebhookEvent is an object with 'entity' and 'action'.`,
    );
  }
  const message = raw as Record<string, unknown>;
  const entity = enumValue<WebhookEntity>(WEBHOOK_ENTITIES, message.entity, `${field}.entity`, 'ENTITY');
  const action = enumValue<WebhookAction>(WEBHOOK_ACTIONS, message.action, `${field}.action`, 'ACTION');
  const valid = VALID_ENTITY_ACTIONS[entity];
  if (!valid.includes(action)) {
    throw new InvalidParameterValueError(
      `Invalid action '${action}' for entity '${entity}'. Valid actions are: [${[...valid]
        .sort()
        .map((name) => `'${name}'`)
        .join(', ')}]`,
    );
  }
  return { entity, action };
}

/**
 * The `events` field: a non-empty list of WebhookEvent messages, duplicates dropped (MLflow's table keys
 * them by (webhook, entity, action), so a repeated one is stored once).
 */
export function parseWebhookEvents(raw: unknown, field = 'events'): WebhookEventName[] {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    throw new InvalidParameterValueError(`Missing value for required parameter '${field}'.`);
  }
  if (!Array.isArray(raw)) {
    throw new InvalidParameterValueError(
      `Invalid value ${JSON.stringify(raw)} for parameter '${field}' supplied: it must be a list of WebhookEvent objects.`,
    );
  }
  const events: WebhookEventName[] = [];
  for (const [index, item] of raw.entries()) {
    const event = parseWebhookEvent(item, `${field}[${index}]`);
    if (!events.some((seen) => seen.entity === event.entity && seen.action === event.action))
      events.push(event);
  }
  return events;
}

/** `ACTIVE`/`DISABLED` by name or protobuf number. */
export function parseWebhookStatus(raw: unknown, field = 'status'): WebhookStatus {
  return enumValue<WebhookStatus>(WEBHOOK_STATUSES, raw, field, 'STATUS');
}

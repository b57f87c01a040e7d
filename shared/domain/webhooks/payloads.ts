/**
 * MLflow's webhook payloads (`mlflow/webhooks/types.py`) and the registry events that carry them, built the
 * way MLflow's server builds them (`mlflow/server/handlers.py`): from the request as the client sent it,
 * keys in MLflow's order. A registered model tagged `mlflow.prompt.is_prompt` is a prompt, and its events
 * are the prompt ones, as in MLflow.
 */
import type { RegistryEvent, WebhookEventName } from './contracts.js';
import type { WebhookAction, WebhookEntity } from './model.js';
import { eventLabel } from './model.js';

export const IS_PROMPT_TAG_KEY = 'mlflow.prompt.is_prompt';
const PROMPT_TEXT_TAG_KEY = 'mlflow.prompt.text';
const PROMPT_TYPE_TAG_KEY = '_mlflow_prompt_type';

/** MLflow's `_is_prompt()`: the model's tags say it is a prompt. */
export function isPrompt(tags: Readonly<Record<string, string>>): boolean {
  return (tags[IS_PROMPT_TAG_KEY] ?? 'false').toLowerCase() === 'true';
}

type Tag = { key: string; value: string };

function tagMap(tags: readonly Tag[], leaveOut: readonly string[] = []): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { key, value } of tags) if (!leaveOut.includes(key)) map[key] = value;
  return map;
}

const event = (
  entity: WebhookEntity,
  action: WebhookAction,
  timestamp: number,
  payload: Record<string, unknown>,
): RegistryEvent => ({ entity, action, timestamp, payload });

/**
 * The events of the registry's writes. Each takes the request's own values (MLflow's payloads carry what
 * the client sent: the name as spelled, the version as a string) and the time the write succeeded.
 */
export const registryEvents = {
  modelCreated(
    at: number,
    request: { name: string; tags: readonly Tag[]; description?: string | undefined },
  ): RegistryEvent {
    // MLflow decides by the request: any is_prompt tag, whatever its value, makes a prompt.
    if (request.tags.some((tag) => tag.key === IS_PROMPT_TAG_KEY)) {
      return event('prompt', 'created', at, {
        name: request.name,
        tags: tagMap(request.tags, [IS_PROMPT_TAG_KEY, PROMPT_TYPE_TAG_KEY]),
        description: request.description ?? '',
      });
    }
    // proto2's unset string reads '' in MLflow's handler, which passes it on as is.
    return event('registered_model', 'created', at, {
      name: request.name,
      tags: tagMap(request.tags),
      description: request.description ?? '',
    });
  },

  versionCreated(
    at: number,
    request: {
      name: string;
      version: string;
      source: string;
      runId?: string | undefined;
      tags: readonly Tag[];
      description?: string | undefined;
    },
  ): RegistryEvent {
    if (request.tags.some((tag) => tag.key === IS_PROMPT_TAG_KEY)) {
      const template = request.tags.find((tag) => tag.key === PROMPT_TEXT_TAG_KEY)?.value ?? null;
      return event('prompt_version', 'created', at, {
        name: request.name,
        version: request.version,
        template,
        tags: tagMap(request.tags, [PROMPT_TEXT_TAG_KEY, IS_PROMPT_TAG_KEY, PROMPT_TYPE_TAG_KEY]),
        description: request.description || null,
      });
    }
    return event('model_version', 'created', at, {
      name: request.name,
      version: request.version,
      source: request.source,
      run_id: request.runId || null,
      tags: tagMap(request.tags),
      description: request.description || null,
    });
  },

  /** Only a prompt's model tags are events (MLflow has none for a plain registered model's tags). */
  modelTagSet(at: number, prompt: boolean, request: { name: string; key: string; value: string }) {
    return prompt
      ? event('prompt_tag', 'set', at, { name: request.name, key: request.key, value: request.value })
      : undefined;
  },

  modelTagDeleted(at: number, prompt: boolean, request: { name: string; key: string }) {
    return prompt ? event('prompt_tag', 'deleted', at, { name: request.name, key: request.key }) : undefined;
  },

  versionTagSet(
    at: number,
    prompt: boolean,
    request: { name: string; version: string; key: string; value: string },
  ): RegistryEvent {
    return event(prompt ? 'prompt_version_tag' : 'model_version_tag', 'set', at, {
      name: request.name,
      version: request.version,
      key: request.key,
      value: request.value,
    });
  },

  versionTagDeleted(
    at: number,
    prompt: boolean,
    request: { name: string; version: string; key: string },
  ): RegistryEvent {
    return event(prompt ? 'prompt_version_tag' : 'model_version_tag', 'deleted', at, {
      name: request.name,
      version: request.version,
      key: request.key,
    });
  },

  aliasCreated(
    at: number,
    prompt: boolean,
    request: { name: string; alias: string; version: string },
  ): RegistryEvent {
    return event(prompt ? 'prompt_alias' : 'model_version_alias', 'created', at, {
      name: request.name,
      alias: request.alias,
      version: request.version,
    });
  },

  aliasDeleted(at: number, prompt: boolean, request: { name: string; alias: string }): RegistryEvent {
    return event(prompt ? 'prompt_alias' : 'model_version_alias', 'deleted', at, {
      name: request.name,
      alias: request.alias,
    });
  },
};

/** MLflow's example payload per event (`<Payload>.example()`), what the test endpoint sends. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'registered_model.created': {
    name: 'example_model',
    tags: { example_key: 'example_value' },
    description: 'An example registered model',
  },
  'model_version.created': {
    name: 'example_model',
    version: '1',
    source: 'models:/123',
    run_id: 'abcd1234abcd5678',
    tags: { example_key: 'example_value' },
    description: 'An example model version',
  },
  'model_version_tag.set': {
    name: 'example_model',
    version: '1',
    key: 'example_key',
    value: 'example_value',
  },
  'model_version_tag.deleted': { name: 'example_model', version: '1', key: 'example_key' },
  'model_version_alias.created': { name: 'example_model', alias: 'example_alias', version: '1' },
  'model_version_alias.deleted': { name: 'example_model', alias: 'example_alias' },
  'prompt.created': {
    name: 'example_prompt',
    tags: { example_key: 'example_value' },
    description: 'An example prompt',
  },
  'prompt_version.created': {
    name: 'example_prompt',
    version: '1',
    template: 'Hello {{name}}!',
    tags: { example_key: 'example_value' },
    description: 'An example prompt version',
  },
  'prompt_tag.set': { name: 'example_prompt', key: 'example_key', value: 'example_value' },
  'prompt_tag.deleted': { name: 'example_prompt', key: 'example_key' },
  'prompt_version_tag.set': {
    name: 'example_prompt',
    version: '1',
    key: 'example_key',
    value: 'example_value',
  },
  'prompt_version_tag.deleted': { name: 'example_prompt', version: '1', key: 'example_key' },
  'prompt_alias.created': { name: 'example_prompt', alias: 'example_alias', version: '1' },
  'prompt_alias.deleted': { name: 'example_prompt', alias: 'example_alias' },
  'budget_policy.exceeded': {
    budget_policy_id: 'bp-abc123',
    budget_unit: 'USD',
    budget_amount: 100.0,
    current_spend: 105.5,
    duration_unit: 'MONTHS',
    duration_value: 1,
    target_scope: 'WORKSPACE',
    workspace: 'default',
    window_start: 1704067200000,
  },
};

export function examplePayload(name: WebhookEventName): Record<string, unknown> {
  const example = EXAMPLES[eventLabel(name)];
  if (!example) throw new Error(`No example payload for ${eventLabel(name)}`);
  return structuredClone(example);
}

/**
 * JSON exactly as Python's `json.dumps` writes it with its defaults (what MLflow signs and sends):
 * `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`, and floats with a decimal point or
 * exponent in Python's spelling. Receivers verify the signature over the body bytes, so any JSON would
 * verify; writing MLflow's bytes keeps receivers that compare or log raw bodies unsurprised.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pythonNumber(value);
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
    return `{${entries.map(([key, item]) => `${pythonString(key)}: ${pythonJson(item)}`).join(', ')}}`;
  }
  throw new Error(`Cannot write ${typeof value} as JSON`);
}

function pythonNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  // Payload numbers are integers (timestamps, counts) or Python floats; an integral value prints without
  // a fraction, as Python prints the int it would be.
  return String(value);
}

function pythonString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const char = value[i] as string;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char === '\b') out += '\\b';
    else if (char === '\f') out += '\\f';
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

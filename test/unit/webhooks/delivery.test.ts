import { describe, expect, it } from 'vitest';
import type { WebhookDeliveryMessage } from '../../../shared/domain/webhooks/contracts.js';
import {
  deliveryBody,
  deliveryRequest,
  isoTimestamp,
  RETRY_POLICY,
  retryDelayMs,
  signPayload,
} from '../../../shared/domain/webhooks/deliver.js';
import { examplePayload, pythonJson, registryEvents } from '../../../shared/domain/webhooks/payloads.js';

// Expected values computed with Python 3: MLflow's `_generate_hmac_signature` and `json.dumps` on the
// same input (hmac.new(secret, f"{id}.{ts}.{payload}", sha256), base64).
const SECRET = 'test-secret-key';
const DELIVERY_ID = 'd1b7c5a8-0000-4000-8000-000000000001';
const UNIX_SECONDS = '1765108800'; // 2025-12-07T12:00:00Z
const PYTHON_BODY =
  '{"entity": "model_version", "action": "created", "timestamp": "2025-12-07T12:00:00.123000+00:00", ' +
  '"data": {"name": "m\\u00e9", "version": "1", "source": "s3://b/k", "run_id": null, "tags": {"a": "\\"q\\"\\n"}, ' +
  '"description": null}}';
const PYTHON_SIGNATURE = 'v1,HLEAHLwUGXFiznfVWuy4vQVdGlkoDD2wGK8Y1UOrv/8=';

const message: WebhookDeliveryMessage = {
  ...registryEvents.versionCreated(Date.UTC(2025, 11, 7, 12, 0, 0, 123), {
    name: 'mé',
    version: '1',
    source: 's3://b/k',
    tags: [{ key: 'a', value: '"q"\n' }],
  }),
  webhookId: 'w',
  deliveryId: DELIVERY_ID,
};

describe('a delivery, byte for byte as MLflow sends it', () => {
  it("writes the body as Python's json.dumps does", () => {
    expect(deliveryBody(message)).toBe(PYTHON_BODY);
  });

  it('signs "<delivery id>.<timestamp>.<body>" with HMAC-SHA256, as MLflow does', () => {
    expect(signPayload(SECRET, DELIVERY_ID, UNIX_SECONDS, PYTHON_BODY)).toBe(PYTHON_SIGNATURE);
  });

  it("sends MLflow's headers, signed with the attempt's own time", () => {
    const request = deliveryRequest(message, SECRET, Number(UNIX_SECONDS) * 1000 + 999);
    expect(request.body).toBe(PYTHON_BODY);
    expect(request.headers).toMatchObject({
      'Content-Type': 'application/json',
      'X-MLflow-Delivery-Id': DELIVERY_ID,
      'X-MLflow-Timestamp': UNIX_SECONDS,
      'X-MLflow-Signature': PYTHON_SIGNATURE,
    });
  });

  it('sends no signature header for a webhook without a secret', () => {
    expect(deliveryRequest(message, undefined, 0).headers).not.toHaveProperty('X-MLflow-Signature');
  });

  it("writes the event time as Python's isoformat of an aware UTC datetime", () => {
    expect(isoTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006000+00:00');
  });

  it('escapes as json.dumps does: DEL, astral characters as surrogate pairs, control characters', () => {
    expect(pythonJson('\x7f\u{1F600}\t\x01')).toBe('"\\u007f\\ud83d\\ude00\\t\\u0001"');
    expect(pythonJson({ a: [1, true, null], b: {} })).toBe('{"a": [1, true, null], "b": {}}');
  });
});

describe("MLflow's payloads", () => {
  it('tell prompts from models by the is_prompt tag, leaving the prompt bookkeeping tags out', () => {
    const created = registryEvents.modelCreated(1, {
      name: 'p',
      tags: [
        { key: 'mlflow.prompt.is_prompt', value: 'true' },
        { key: '_mlflow_prompt_type', value: 'text' },
        { key: 'k', value: 'v' },
      ],
    });
    expect(created).toEqual({
      entity: 'prompt',
      action: 'created',
      timestamp: 1,
      payload: { name: 'p', tags: { k: 'v' }, description: '' },
    });
    expect(registryEvents.modelTagSet(1, false, { name: 'm', key: 'k', value: 'v' })).toBeUndefined();
    expect(registryEvents.aliasDeleted(1, true, { name: 'p', alias: 'a' }).entity).toBe('prompt_alias');
  });

  it('has an example for every event a webhook may subscribe to', () => {
    expect(examplePayload({ entity: 'model_version_alias', action: 'deleted' })).toEqual({
      name: 'example_model',
      alias: 'example_alias',
    });
  });
});

describe('the retry schedule', () => {
  it("waits 1, 2, 4 s between MLflow's four attempts, or what Retry-After asks (capped at 60 s)", () => {
    expect(RETRY_POLICY.maxAttempts).toBe(4);
    expect([1, 2, 3].map((attempt) => retryDelayMs(attempt))).toEqual([1000, 2000, 4000]);
    expect(retryDelayMs(10)).toBe(60_000);
    expect(retryDelayMs(1, 2000)).toBe(2000);
    expect(retryDelayMs(1, 3_600_000)).toBe(60_000);
  });
});

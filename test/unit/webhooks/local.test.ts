import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type {
  RegistryEvent,
  WebhookDeliveryMessage,
  WebhookQueue,
} from '../../../shared/domain/webhooks/contracts.js';
import type { AttemptOutcome } from '../../../shared/domain/webhooks/deliver.js';
import type { Webhook } from '../../../shared/domain/webhooks/model.js';
import { newWebhookId, WebhookFanOut } from '../../../shared/domain/webhooks/service.js';
import { webhookSettingsFromEnv } from '../../../shared/store/webhooks/from-env.js';
import {
  InProcessWebhookQueue,
  LocalEventPublisher,
  LocalSecretSealer,
} from '../../../shared/store/webhooks/local.js';

const event: RegistryEvent = {
  entity: 'model_version',
  action: 'created',
  timestamp: 1,
  payload: { name: 'm' },
};
const message: WebhookDeliveryMessage = { ...event, webhookId: 'w', deliveryId: 'd' };
const noWarn = () => undefined;

describe('InProcessWebhookQueue', () => {
  it('retries a retryable failure with the same message, until delivered', async () => {
    const outcomes: AttemptOutcome[] = [
      { kind: 'retry', reason: '500', status: 500 },
      { kind: 'retry', reason: 'reset' },
      { kind: 'delivered', status: 200, body: '' },
    ];
    const seen: WebhookDeliveryMessage[] = [];
    const queue = new InProcessWebhookQueue(
      async (sent) => {
        seen.push(sent);
        return outcomes.shift() as AttemptOutcome;
      },
      noWarn,
      4,
      () => 0,
    );
    await queue.send([message]);
    await queue.idle();
    expect(seen).toEqual([message, message, message]);
    expect(queue.deadLetters).toEqual([]);
  });

  it('gives up after the last attempt, or at once on a permanent failure, and keeps a dead letter', async () => {
    const warnings: string[] = [];
    let attempts = 0;
    const retrying = new InProcessWebhookQueue(
      async () => {
        attempts++;
        return { kind: 'retry', reason: 'still down' };
      },
      (text) => warnings.push(text),
      4,
      () => 0,
    );
    await retrying.send([message]);
    await retrying.idle();
    expect(attempts).toBe(4);
    expect(retrying.deadLetters).toEqual([{ message, attempts: 4, reason: 'still down' }]);
    expect(warnings).toEqual(['webhook delivery given up']);

    const permanent = new InProcessWebhookQueue(
      async () => ({ kind: 'failed', reason: 'The webhook was deleted.' }),
      noWarn,
      4,
      () => 0,
    );
    await permanent.send([message]);
    await permanent.idle();
    expect(permanent.deadLetters).toEqual([{ message, attempts: 1, reason: 'The webhook was deleted.' }]);
  });

  it('answers send before the first attempt starts (deliveries leave the request path)', async () => {
    let started = false;
    const queue = new InProcessWebhookQueue(async () => {
      started = true;
      return { kind: 'delivered', status: 200, body: '' };
    }, noWarn);
    await queue.send([message]);
    expect(started).toBe(false);
    await queue.idle();
    expect(started).toBe(true);
  });
});

describe('LocalSecretSealer', () => {
  it('opens what it sealed, for the same webhook only, and never stores the plain text', async () => {
    const sealer = new LocalSecretSealer(randomBytes(32));
    const sealed = await sealer.seal('my_secret', 'webhook-a');
    expect(sealed).not.toContain('my_secret');
    expect(await sealer.open(sealed, 'webhook-a')).toBe('my_secret');
    await expect(sealer.open(sealed, 'webhook-b')).rejects.toThrow();
    await expect(new LocalSecretSealer(randomBytes(32)).open(sealed, 'webhook-a')).rejects.toThrow();
  });
});

const webhook = (overrides: Partial<Webhook>): Webhook => ({
  webhookId: 'w1',
  name: 'n',
  url: 'https://example.com',
  events: [{ entity: 'model_version', action: 'created' }],
  status: 'ACTIVE',
  creationTimestamp: 1,
  lastUpdatedTimestamp: 1,
  ...overrides,
});

describe('WebhookFanOut', () => {
  it('queues one delivery per active subscribed webhook and publishes every event', async () => {
    const sent: WebhookDeliveryMessage[] = [];
    const queue: WebhookQueue = { send: async (messages) => void sent.push(...messages) };
    const publisher = new LocalEventPublisher();
    let ids = 0;
    const fanOut = new WebhookFanOut(
      {
        listAll: async () => [
          webhook({ webhookId: 'subscribed' }),
          webhook({ webhookId: 'disabled', status: 'DISABLED' }),
          webhook({ webhookId: 'other', events: [{ entity: 'registered_model', action: 'created' }] }),
        ],
      },
      queue,
      publisher,
      noWarn,
      () => `delivery-${++ids}`,
    );
    await fanOut.emit(event);
    expect(sent).toEqual([{ ...event, webhookId: 'subscribed', deliveryId: 'delivery-1' }]);
    expect(publisher.published).toEqual([event]);
  });

  it('never fails the write it reports: a queue or bus that fails is logged', async () => {
    const warnings: string[] = [];
    const fanOut = new WebhookFanOut(
      { listAll: async () => [webhook({})] },
      {
        send: async () => {
          throw new Error('queue down');
        },
      },
      {
        publish: async () => {
          throw new Error('bus down');
        },
      },
      (text) => warnings.push(text),
    );
    await expect(fanOut.emit(event)).resolves.toBeUndefined();
    expect(warnings.sort()).toEqual(['registry event not published', 'webhook deliveries not queued']);
  });
});

describe('newWebhookId', () => {
  it('is a UUIDv7 whose text sorts by creation time', () => {
    const earlier = newWebhookId(1_700_000_000_000, Buffer.alloc(10, 0xff));
    const later = newWebhookId(1_700_000_000_001, Buffer.alloc(10, 0));
    expect(earlier).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(later).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(earlier < later).toBe(true);
  });
});

describe('webhookSettingsFromEnv', () => {
  it("defaults to MLflow's: https only, private targets refused, 30 s", () => {
    expect(webhookSettingsFromEnv({})).toEqual({
      policy: { allowedSchemes: ['https'], allowPrivateNetworks: false },
      timeoutMs: 30_000,
      testTimeoutMs: 20_000,
    });
  });

  it('refuses settings it cannot honour', () => {
    expect(() => webhookSettingsFromEnv({ CAIRN_WEBHOOK_ALLOWED_SCHEMES: 'ftp' })).toThrow(
      /http and https only/,
    );
    expect(() => webhookSettingsFromEnv({ CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'yes' })).toThrow(
      /true or false/,
    );
    expect(() => webhookSettingsFromEnv({ CAIRN_WEBHOOK_TIMEOUT_SECONDS: '0' })).toThrow(/1 to 300/);
  });
});

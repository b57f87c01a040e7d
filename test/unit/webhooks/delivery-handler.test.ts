/**
 * The delivery function's batch logic (functions/webhooks/delivery-handler.ts): an SQS batch in, the
 * messages to try again out (ReportBatchItemFailures), whatever each delivery came to.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createDeliveryHandler,
  type DeliveryLog,
  type DeliveryOutcome,
  parseDeliveryMessage,
} from '../../../functions/webhooks/delivery-handler.js';
import type { WebhookDeliveryMessage } from '../../../shared/domain/webhooks/contracts.js';

function message(webhookId: string, deliveryId = `d-${webhookId}`): WebhookDeliveryMessage {
  return {
    entity: 'model_version',
    action: 'created',
    timestamp: 1_765_000_000_000,
    payload: { name: 'model', version: '1' },
    webhookId,
    deliveryId,
  };
}

function record(messageId: string, body: string, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1765000000000',
      SenderId: 'AROA:registry',
      ApproximateFirstReceiveTimestamp: '1765000000001',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123:deliveries',
    awsRegion: 'eu-west-1',
  };
}

function batch(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

function recordingLog() {
  const lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (text: string, attributes: Record<string, unknown>): void => {
      lines.push({ level, message: text, attributes });
    };
  const log: DeliveryLog = { info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, log };
}

describe('the delivery handler', () => {
  it('reports back only the deliveries to try again, each by its message id', async () => {
    const outcomes: Record<string, DeliveryOutcome | Error> = {
      ok: { kind: 'delivered', status: 200 },
      gone: { kind: 'failed', reason: 'The webhook was deleted.' },
      busy: { kind: 'retry', reason: 'The receiver answered 503.', status: 503 },
      down: new Error('KMS is unreachable'),
    };
    const seen: WebhookDeliveryMessage[] = [];
    const { lines, log } = recordingLog();
    const handler = createDeliveryHandler(async (delivery) => {
      seen.push(delivery);
      const outcome = outcomes[delivery.webhookId];
      if (outcome instanceof Error) throw outcome;
      return outcome as DeliveryOutcome;
    }, log);
    const response = await handler(
      batch(
        ...['ok', 'gone', 'busy', 'down'].map((id, index) =>
          record(`m${index}`, JSON.stringify(message(id)), index + 1),
        ),
      ),
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }] });
    expect(seen).toEqual(['ok', 'gone', 'busy', 'down'].map((id) => message(id)));
    expect(lines.map((line) => [line.level, line.message, line.attributes.webhookId])).toEqual([
      ['info', 'webhook delivered', 'ok'],
      ['warn', 'webhook delivery failed for good', 'gone'],
      ['warn', 'webhook delivery to be retried', 'busy'],
      ['error', 'webhook delivery failed', 'down'],
    ]);
    expect(lines[2]?.attributes).toMatchObject({
      messageId: 'm2',
      deliveryId: 'd-busy',
      event: 'model_version.created',
      receiveCount: 3,
      status: 503,
      reason: 'The receiver answered 503.',
    });
    expect(lines[3]?.attributes.error).toBe('KMS is unreachable');
  });

  it('answers an empty list when every delivery is done', async () => {
    const { log } = recordingLog();
    const handler = createDeliveryHandler(async () => ({ kind: 'delivered', status: 204 }), log);
    const records = Array.from({ length: 10 }, (_, index) =>
      record(`m${index}`, JSON.stringify(message(`w${index}`))),
    );
    expect(await handler(batch(...records))).toEqual({ batchItemFailures: [] });
  });

  it('sends the deliveries of a batch side by side, not one after another', async () => {
    const { log } = recordingLog();
    let inFlight = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const handler = createDeliveryHandler(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
      return { kind: 'delivered' };
    }, log);
    const pending = handler(
      batch(
        ...Array.from({ length: 5 }, (_, index) => record(`m${index}`, JSON.stringify(message(`w${index}`)))),
      ),
    );
    // Every delivery has started before any is let finish.
    while (release.length < 5) await new Promise((resolve) => setImmediate(resolve));
    for (const resolve of release) resolve();
    await pending;
    expect(most).toBe(5);
  });

  it('keeps an unreadable message for the dead-letter queue without calling the delivery', async () => {
    const { lines, log } = recordingLog();
    let calls = 0;
    const handler = createDeliveryHandler(async () => {
      calls++;
      return { kind: 'delivered' };
    }, log);
    const unreadable = [
      'not json',
      '[]',
      '{"webhookId":"w"}',
      JSON.stringify({ ...message('w'), payload: [] }),
    ];
    const response = await handler(
      batch(
        ...unreadable.map((body, index) => record(`bad${index}`, body)),
        record('good', JSON.stringify(message('w'))),
      ),
    );
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      'bad0',
      'bad1',
      'bad2',
      'bad3',
    ]);
    expect(calls).toBe(1);
    expect(lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual(
      Array(4).fill('webhook delivery message unreadable'),
    );
  });
});

describe('parseDeliveryMessage', () => {
  it('reads back every message the queue writes', () => {
    const text = fc.string({ minLength: 1 });
    fc.assert(
      fc.property(
        fc.record({
          entity: text,
          action: text,
          timestamp: fc.integer({ min: 0 }),
          payload: fc.dictionary(fc.string(), fc.jsonValue()),
          webhookId: text,
          deliveryId: text,
        }),
        (delivery) => {
          // JSON drops -0 and undefined as the queue's JSON.stringify does.
          const written = JSON.stringify(delivery);
          expect(parseDeliveryMessage(written)).toEqual(JSON.parse(written));
        },
      ),
    );
  });

  it('refuses anything missing a field or with a field of the wrong type', () => {
    const complete = message('w') as unknown as Record<string, unknown>;
    for (const field of Object.keys(complete)) {
      const { [field]: _, ...without } = complete;
      expect(parseDeliveryMessage(JSON.stringify(without)), `without ${field}`).toBeUndefined();
      expect(
        parseDeliveryMessage(JSON.stringify({ ...complete, [field]: true })),
        `${field}: true`,
      ).toBeUndefined();
    }
    expect(parseDeliveryMessage(JSON.stringify({ ...complete, webhookId: '' }))).toBeUndefined();
    expect(parseDeliveryMessage('null')).toBeUndefined();
  });
});

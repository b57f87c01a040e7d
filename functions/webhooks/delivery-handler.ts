/**
 * The delivery function's work, apart from its wiring (handler.ts) so that tests drive it with SQS
 * events and a delivery of their own. One SQS batch holds up to ten deliveries, each to its own webhook;
 * they are sent side by side, and each one that should be tried again is reported back by its message id
 * (ReportBatchItemFailures): SQS then redelivers only those once their visibility timeout ends, and moves
 * one that keeps failing to the dead-letter queue. The rest of the batch is deleted as done.
 */
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { WebhookDeliveryMessage } from '../../shared/domain/webhooks/contracts.js';
import { eventLabel } from '../../shared/domain/webhooks/model.js';

/**
 * What became of one attempt (shared/domain/webhooks/deliver.ts's AttemptOutcome): `delivered`, `failed`
 * for good (the webhook was deleted or disabled, its URL is refused, the receiver answered a 4xx), or
 * `retry` (no answer, 429 or 5xx).
 */
export interface DeliveryOutcome {
  kind: 'delivered' | 'failed' | 'retry';
  reason?: string;
  status?: number;
}

export type DeliverOne = (message: WebhookDeliveryMessage) => Promise<DeliveryOutcome>;

export interface DeliveryLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** A message body as the queue (shared/store/webhooks/aws.ts) wrote it, or undefined. */
export function parseDeliveryMessage(body: string): WebhookDeliveryMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const message = value as Record<string, unknown>;
  const text = (key: string) => typeof message[key] === 'string' && message[key] !== '';
  const payload = message.payload;
  if (
    !text('webhookId') ||
    !text('deliveryId') ||
    !text('entity') ||
    !text('action') ||
    typeof message.timestamp !== 'number' ||
    !Number.isFinite(message.timestamp) ||
    typeof payload !== 'object' ||
    payload === null ||
    Array.isArray(payload)
  ) {
    return undefined;
  }
  return message as unknown as WebhookDeliveryMessage;
}

export function createDeliveryHandler(deliver: DeliverOne, log: DeliveryLog) {
  async function handle(record: SQSRecord): Promise<SQSBatchItemFailure | undefined> {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount);
    const message = parseDeliveryMessage(record.body);
    if (!message) {
      // Not a delivery this code wrote: no retry can fix it, but it stays inspectable in the dead-letter
      // queue rather than vanishing (only the first bytes are logged: a body is the registry's data).
      log.error('webhook delivery message unreadable', {
        messageId: record.messageId,
        receiveCount,
        body: record.body.slice(0, 200),
      });
      return { itemIdentifier: record.messageId };
    }
    const about = {
      messageId: record.messageId,
      webhookId: message.webhookId,
      deliveryId: message.deliveryId,
      event: eventLabel(message),
      receiveCount,
    };
    let outcome: DeliveryOutcome;
    try {
      outcome = await deliver(message);
    } catch (error) {
      // Something of ours failed (the table, KMS): worth another try, as a failed send would be.
      log.error('webhook delivery failed', {
        ...about,
        error: error instanceof Error ? error.message : String(error),
      });
      return { itemIdentifier: record.messageId };
    }
    const result = { ...about, status: outcome.status, reason: outcome.reason };
    if (outcome.kind === 'retry') {
      log.warn('webhook delivery to be retried', result);
      return { itemIdentifier: record.messageId };
    }
    if (outcome.kind === 'failed') log.warn('webhook delivery failed for good', result);
    else log.info('webhook delivered', result);
    return undefined;
  }

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures = await Promise.all(event.Records.map(handle));
    return {
      batchItemFailures: failures.filter((failure): failure is SQSBatchItemFailure => failure !== undefined),
    };
  };
}

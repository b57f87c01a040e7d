/**
 * The AWS side of registry webhooks' seams (shared/domain/webhooks/contracts.ts): deliveries go to an SQS
 * queue (the delivery function drains it; SQS retries and dead-letters), secrets are sealed with a KMS
 * key, and every registry event is published to EventBridge. Each takes a client with only the `send` it
 * uses, so that the unit tests can hand it a fake and the functions the real, once-built SDK client.
 *
 * Batches: SendMessageBatch and PutEvents take at most 10 entries and 256 KiB a request, and both answer
 * a partly failed batch with 200 and a list of what failed; those entries are retried here, since the
 * SDK's own retries only cover a request that failed as a whole.
 */

import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  EventPublisher,
  RegistryEvent,
  SecretSealer,
  WebhookDeliveryMessage,
  WebhookQueue,
} from '../../domain/webhooks/contracts.js';
import { eventLabel } from '../../domain/webhooks/model.js';
import { KmsSecretSealer } from './kms-sealer.js';

export { ENCRYPTION_CONTEXT_KEY, KmsSecretSealer, type KmsSender } from './kms-sealer.js';

/** Both APIs' cap on entries per request. */
export const MAX_BATCH_ENTRIES = 10;
/** Both APIs' cap on a request's entries together (SQS counts bodies and attributes, EventBridge its entry size). */
export const MAX_BATCH_BYTES = 256 * 1024;
/** Attempts per entry, the first included, before a partly failed batch gives up on it. */
export const MAX_ATTEMPTS = 3;

/** EventBridge `source` of every registry event: a rule matches `{"source": ["cairn.registry"]}`. */
export const EVENT_SOURCE = 'cairn.registry';

/** What a failure that is not the caller's to handle is reported with (Powertools' `logger.warn` fits). */
export type WarnLog = (message: string, attributes: Record<string, unknown>) => void;

const consoleWarn: WarnLog = (message, attributes) =>
  console.warn(JSON.stringify({ level: 'WARN', message, ...attributes }));

/** Waits before a retry: a partial failure is mostly throttling, which an immediate retry meets again. */
export type Sleep = (ms: number) => Promise<void>;
const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const backoffMs = (attempt: number) => 50 * 2 ** attempt;

/**
 * Splits entries into requests of at most MAX_BATCH_ENTRIES and MAX_BATCH_BYTES; an entry larger than
 * the byte cap alone goes in a request of its own, for the service to accept or refuse by name.
 */
export function chunkBatches<T>(entries: readonly T[], sizeOf: (entry: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = sizeOf(entry);
    if (current.length > 0 && (current.length === MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

// ---------------------------------------------------------------------------------------------- SQS --

export interface SqsSender {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

/** Some deliveries could not be queued: they are lost unless the caller does something about it. */
export class WebhookQueueError extends Error {
  constructor(
    readonly failed: readonly { deliveryId: string; webhookId: string; code: string }[],
    total: number,
  ) {
    super(
      `${failed.length} of ${total} webhook deliveries could not be queued (${[
        ...new Set(failed.map((entry) => entry.code)),
      ].join(', ')})`,
    );
    this.name = 'WebhookQueueError';
  }
}

/**
 * The delivery queue. `send` resolves once every message is on the queue, retrying the entries SQS
 * refused for its own reasons (SenderFault false: throttling, internal errors); it throws
 * WebhookQueueError naming the deliveries that are not, whether SQS blamed the request or gave up.
 */
export class SqsWebhookQueue implements WebhookQueue {
  constructor(
    private readonly sqs: SqsSender,
    private readonly queueUrl: string,
    private readonly wait: Sleep = sleep,
  ) {}

  async send(messages: readonly WebhookDeliveryMessage[]): Promise<void> {
    // The entry id only has to be unique within its request; the index in `messages` is, and maps back.
    const entries = messages.map(
      (message, index): SendMessageBatchRequestEntry & { Id: string; MessageBody: string } => ({
        Id: String(index),
        MessageBody: JSON.stringify(message),
        // Shown by the console and `aws sqs receive-message`, so a dead letter is identifiable unparsed.
        MessageAttributes: {
          webhookId: { DataType: 'String', StringValue: message.webhookId },
          event: { DataType: 'String', StringValue: eventLabel(message) },
        },
      }),
    );
    const failed: { deliveryId: string; webhookId: string; code: string }[] = [];
    for (const batch of chunkBatches(entries, (entry) => utf8Bytes(entry.MessageBody) + 200)) {
      let pending = batch;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await this.wait(backoffMs(attempt));
        const result = await this.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
        );
        const refused = result.Failed ?? [];
        const retry = refused.filter((entry) => !entry.SenderFault && attempt + 1 < MAX_ATTEMPTS);
        for (const entry of refused.filter((item) => !retry.includes(item))) {
          const message = messages[Number(entry.Id)];
          failed.push({
            deliveryId: message?.deliveryId ?? `#${entry.Id}`,
            webhookId: message?.webhookId ?? '',
            code: entry.Code ?? 'Unknown',
          });
        }
        const retryIds = new Set(retry.map((entry) => entry.Id));
        pending = pending.filter((entry) => retryIds.has(entry.Id));
      }
    }
    if (failed.length > 0) throw new WebhookQueueError(failed, messages.length);
  }
}

// --------------------------------------------------------------------------------------- EventBridge --

export interface EventBridgeSender {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

/** The event's `detail`: what happened and MLflow's payload for it. `detail-type` is `<entity>.<action>`. */
export interface RegistryEventDetail {
  entity: string;
  action: string;
  timestamp: number;
  payload: Record<string, unknown>;
}

export function eventEntry(event: RegistryEvent, busName: string): PutEventsRequestEntry {
  const detail: RegistryEventDetail = {
    entity: event.entity,
    action: event.action,
    timestamp: event.timestamp,
    payload: event.payload,
  };
  return {
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: eventLabel(event),
    Time: new Date(event.timestamp),
    Detail: JSON.stringify(detail),
  };
}

/** EventBridge's size of an entry (its documented calculation: source, type, detail, resources, time). */
function entrySize(entry: PutEventsRequestEntry): number {
  return (
    14 +
    utf8Bytes(entry.Source ?? '') +
    utf8Bytes(entry.DetailType ?? '') +
    utf8Bytes(entry.Detail ?? '') +
    (entry.Resources ?? []).reduce((sum, resource) => sum + utf8Bytes(resource), 0)
  );
}

/**
 * Publishes every registry event to an EventBridge bus (the account's default one on AWS). Never throws:
 * the registry write it reports has already happened, and a subscriber missing an event must not turn
 * that write into an error the client would retry. Entries EventBridge refused are retried, then each
 * one still refused is logged with its event and error code, as is a request that failed whole.
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly events: EventBridgeSender,
    private readonly busName: string,
    private readonly warn: WarnLog = consoleWarn,
    private readonly wait: Sleep = sleep,
  ) {}

  async publish(events: readonly RegistryEvent[]): Promise<void> {
    const entries = events.map((event) => eventEntry(event, this.busName));
    for (const batch of chunkBatches(entries, entrySize)) {
      try {
        await this.publishBatch(batch);
      } catch (error) {
        this.warn('registry events not published', {
          busName: this.busName,
          events: batch.map((entry) => entry.DetailType),
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  private async publishBatch(batch: PutEventsRequestEntry[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await this.wait(backoffMs(attempt));
      const result = await this.events.send(new PutEventsCommand({ Entries: pending }));
      if (!result.FailedEntryCount) return;
      // Result entries are in the request's order; a failed one has an ErrorCode instead of an EventId.
      const refused = pending
        .map((entry, index) => ({ entry, result: result.Entries?.[index] }))
        .filter(({ result: outcome }) => outcome?.ErrorCode !== undefined || outcome?.EventId === undefined);
      if (attempt + 1 >= MAX_ATTEMPTS) {
        for (const { entry, result: outcome } of refused) {
          this.warn('registry event not published', {
            busName: this.busName,
            event: entry.DetailType,
            errorCode: outcome?.ErrorCode ?? 'Unknown',
            errorMessage: outcome?.ErrorMessage,
          });
        }
        return;
      }
      pending = refused.map(({ entry }) => entry);
    }
  }
}

// ------------------------------------------------------------------------------------------ wiring --

/** Where the AWS seams point: the functions' environment (infra/constructs/webhooks.ts sets it). */
export interface AwsWebhookSettings {
  region: string;
  /** CAIRN_WEBHOOK_QUEUE_URL: the delivery queue. */
  queueUrl?: string;
  /** CAIRN_WEBHOOK_KMS_KEY_ID: the KMS key's ARN that seals secrets. */
  keyId?: string;
  /** CAIRN_EVENT_BUS_NAME: the bus every registry event goes to (`default` on AWS). */
  eventBusName?: string;
}

export function awsWebhookSettings(env: NodeJS.ProcessEnv): AwsWebhookSettings {
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    queueUrl: env.CAIRN_WEBHOOK_QUEUE_URL || undefined,
    keyId: env.CAIRN_WEBHOOK_KMS_KEY_ID || undefined,
    eventBusName: env.CAIRN_EVENT_BUS_NAME || undefined,
  };
}

/**
 * The seams the settings name, each built with its SDK client once (per container); a seam whose
 * setting is absent is undefined, for from-env.ts to fill with its local counterpart. A queue without
 * a key is refused: on AWS a secret must never be sealed some other way.
 */
export function createAwsWebhookSeams(
  settings: AwsWebhookSettings,
  warn: WarnLog = consoleWarn,
): { queue?: WebhookQueue; sealer?: SecretSealer; publisher?: EventPublisher } {
  if (settings.queueUrl && !settings.keyId) {
    throw new Error(
      'CAIRN_WEBHOOK_KMS_KEY_ID must be set with CAIRN_WEBHOOK_QUEUE_URL: secrets are sealed with KMS on AWS',
    );
  }
  const region = settings.region;
  return {
    queue: settings.queueUrl ? new SqsWebhookQueue(new SQSClient({ region }), settings.queueUrl) : undefined,
    sealer: settings.keyId ? new KmsSecretSealer(new KMSClient({ region }), settings.keyId) : undefined,
    publisher: settings.eventBusName
      ? new EventBridgePublisher(new EventBridgeClient({ region }), settings.eventBusName, warn)
      : undefined,
  };
}

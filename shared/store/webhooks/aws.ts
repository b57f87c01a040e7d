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
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  DecryptCommand,
  type DecryptCommandOutput,
  EncryptCommand,
  type EncryptCommandOutput,
} from '@aws-sdk/client-kms';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import type {
  EventPublisher,
  RegistryEvent,
  SecretSealer,
  WebhookDeliveryMessage,
  WebhookQueue,
} from '../../domain/webhooks/contracts.js';

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
          event: { DataType: 'String', StringValue: `${message.entity}.${message.action}` },
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

// ---------------------------------------------------------------------------------------------- KMS --

export interface KmsSender {
  send(command: EncryptCommand): Promise<EncryptCommandOutput>;
  send(command: DecryptCommand): Promise<DecryptCommandOutput>;
}

/** Marks sealed text as this sealer's, and its format, so that another format is refused by name. */
const KMS_SEALED_PREFIX = 'kms1:';

/** The encryption context key: KMS binds the ciphertext to it, and CloudTrail logs it with every use. */
export const ENCRYPTION_CONTEXT_KEY = 'cairn:webhook';

/**
 * Seals webhook secrets with a KMS key, bound to their webhook by the encryption context: a sealed
 * secret copied onto another webhook's item does not open (KMS refuses a context that differs), and
 * each Decrypt in CloudTrail names the webhook it was for. Secrets are short (MLflow's are strings well
 * under KMS's 4 KiB plaintext cap), so KMS encrypts them directly; no data key is needed.
 */
export class KmsSecretSealer implements SecretSealer {
  constructor(
    private readonly kms: KmsSender,
    private readonly keyId: string,
  ) {}

  async seal(plain: string, webhookId: string): Promise<string> {
    const { CiphertextBlob } = await this.kms.send(
      new EncryptCommand({
        KeyId: this.keyId,
        Plaintext: Buffer.from(plain, 'utf8'),
        EncryptionContext: { [ENCRYPTION_CONTEXT_KEY]: webhookId },
      }),
    );
    if (!CiphertextBlob) throw new Error('KMS Encrypt returned no ciphertext');
    return `${KMS_SEALED_PREFIX}${Buffer.from(CiphertextBlob).toString('base64')}`;
  }

  async open(sealed: string, webhookId: string): Promise<string> {
    if (!sealed.startsWith(KMS_SEALED_PREFIX)) {
      throw new Error(`Webhook ${webhookId}'s secret is not sealed with KMS (${sealed.slice(0, 5)}…)`);
    }
    const { Plaintext } = await this.kms.send(
      new DecryptCommand({
        // Named, so that a ciphertext of any other key is refused rather than opened with it.
        KeyId: this.keyId,
        CiphertextBlob: Buffer.from(sealed.slice(KMS_SEALED_PREFIX.length), 'base64'),
        EncryptionContext: { [ENCRYPTION_CONTEXT_KEY]: webhookId },
      }),
    );
    if (!Plaintext) throw new Error('KMS Decrypt returned no plaintext');
    return Buffer.from(Plaintext).toString('utf8');
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
    DetailType: `${event.entity}.${event.action}`,
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

/**
 * The AWS implementations of the webhook seams (shared/store/webhooks/aws.ts) against small fake clients
 * that answer as the services do: SQS and EventBridge with partly failed batches, KMS with a real cipher
 * that binds the encryption context, so that a wrong webhook id or key fails as KMS would fail it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { PutEventsCommand, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import type { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import type {
  BatchResultErrorEntry,
  SendMessageBatchCommand,
  SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RegistryEvent, WebhookDeliveryMessage } from '../../../shared/domain/webhooks/contracts.js';
import {
  chunkBatches,
  ENCRYPTION_CONTEXT_KEY,
  EVENT_SOURCE,
  EventBridgePublisher,
  KmsSecretSealer,
  type KmsSender,
  MAX_BATCH_BYTES,
  MAX_BATCH_ENTRIES,
  SqsWebhookQueue,
  WebhookQueueError,
} from '../../../shared/store/webhooks/aws.js';

const noWait = async () => undefined;

function delivery(index: number, payload: Record<string, unknown> = {}): WebhookDeliveryMessage {
  return {
    entity: 'model_version',
    action: 'created',
    timestamp: 1_700_000_000_000 + index,
    payload: { name: 'model', version: String(index), ...payload },
    webhookId: `wh-${index % 3}`,
    deliveryId: `delivery-${index}`,
  };
}

function event(index: number): RegistryEvent {
  return {
    entity: 'registered_model',
    action: 'created',
    timestamp: 1_700_000_000_000 + index,
    payload: { name: `model-${index}` },
  };
}

/** SQS's SendMessageBatch: `refuse` decides, per call and entry, which entries fail and how. */
function fakeSqs(
  refuse: (
    call: number,
    entry: SendMessageBatchRequestEntry,
  ) => Omit<BatchResultErrorEntry, 'Id'> | undefined,
) {
  const calls: SendMessageBatchRequestEntry[][] = [];
  const queued: WebhookDeliveryMessage[] = [];
  return {
    calls,
    queued,
    async send(command: SendMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      expect(command.input.QueueUrl).toBe('https://sqs.eu-west-1.amazonaws.com/123/deliveries');
      // SQS refuses a whole request of more than 10 entries or with a duplicate id.
      expect(entries.length).toBeLessThanOrEqual(10);
      expect(new Set(entries.map((entry) => entry.Id)).size).toBe(entries.length);
      const call = calls.length;
      calls.push(entries);
      const Failed: BatchResultErrorEntry[] = [];
      const Successful = [];
      for (const entry of entries) {
        const failure = refuse(call, entry);
        if (failure) Failed.push({ Id: entry.Id, ...failure });
        else {
          queued.push(JSON.parse(entry.MessageBody ?? ''));
          Successful.push({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: 'x' });
        }
      }
      return { Successful, Failed, $metadata: {} };
    },
  };
}

describe('SqsWebhookQueue', () => {
  const url = 'https://sqs.eu-west-1.amazonaws.com/123/deliveries';

  it('queues every delivery as its JSON, ten to a request, with its webhook and event as attributes', async () => {
    const sqs = fakeSqs(() => undefined);
    const messages = Array.from({ length: 23 }, (_, index) => delivery(index));
    await new SqsWebhookQueue(sqs, url, noWait).send(messages);
    expect(sqs.calls.map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(sqs.queued).toEqual(messages);
    expect(sqs.calls[0]?.[1]?.MessageAttributes).toEqual({
      webhookId: { DataType: 'String', StringValue: 'wh-1' },
      event: { DataType: 'String', StringValue: 'model_version.created' },
    });
  });

  it('sends nothing for no deliveries', async () => {
    const sqs = fakeSqs(() => undefined);
    await new SqsWebhookQueue(sqs, url, noWait).send([]);
    expect(sqs.calls).toEqual([]);
  });

  it('keeps a request under 256 KiB by splitting before the tenth entry', async () => {
    const sqs = fakeSqs(() => undefined);
    const big = 'x'.repeat(60_000);
    const messages = Array.from({ length: 9 }, (_, index) => delivery(index, { description: big }));
    await new SqsWebhookQueue(sqs, url, noWait).send(messages);
    for (const entries of sqs.calls) {
      const bytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    }
    expect(sqs.calls.map((entries) => entries.length)).toEqual([4, 4, 1]);
    expect(sqs.queued).toEqual(messages);
  });

  it('retries only the entries SQS refused for its own reasons, until they are queued', async () => {
    // The first attempt throttles entries 2 and 5; the retry accepts them.
    const sqs = fakeSqs((call, entry) =>
      call === 0 && ['2', '5'].includes(entry.Id ?? '')
        ? { Code: 'ThrottlingException', SenderFault: false }
        : undefined,
    );
    const messages = Array.from({ length: 7 }, (_, index) => delivery(index));
    await new SqsWebhookQueue(sqs, url, noWait).send(messages);
    expect(sqs.calls.map((entries) => entries.map((entry) => entry.Id))).toEqual([
      ['0', '1', '2', '3', '4', '5', '6'],
      ['2', '5'],
    ]);
    expect(sqs.queued.map((message) => message.deliveryId).sort()).toEqual(
      messages.map((message) => message.deliveryId).sort(),
    );
  });

  it('names the deliveries it could not queue: refused as the sender’s fault, or still refused after three attempts', async () => {
    const sqs = fakeSqs((_, entry) => {
      if (entry.Id === '1') return { Code: 'InvalidParameterValue', SenderFault: true };
      if (entry.Id === '3') return { Code: 'InternalError', SenderFault: false };
      return undefined;
    });
    const messages = Array.from({ length: 12 }, (_, index) => delivery(index));
    const failure = await new SqsWebhookQueue(sqs, url, noWait).send(messages).catch((error) => error);
    expect(failure).toBeInstanceOf(WebhookQueueError);
    expect((failure as WebhookQueueError).failed).toEqual([
      { deliveryId: 'delivery-1', webhookId: 'wh-1', code: 'InvalidParameterValue' },
      { deliveryId: 'delivery-3', webhookId: 'wh-0', code: 'InternalError' },
    ]);
    expect((failure as Error).message).toBe(
      '2 of 12 webhook deliveries could not be queued (InvalidParameterValue, InternalError)',
    );
    // The sender's fault is not retried; the internal error is, twice; the second request is untouched.
    expect(sqs.calls.map((entries) => entries.map((entry) => entry.Id))).toEqual([
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      ['3'],
      ['3'],
      ['10', '11'],
    ]);
    expect(sqs.queued).toHaveLength(10);
  });

  it('lets a request that failed whole reach the caller', async () => {
    const sqs = {
      async send(): Promise<never> {
        throw Object.assign(new Error('Access to the resource is denied'), { name: 'AccessDenied' });
      },
    };
    await expect(new SqsWebhookQueue(sqs, url, noWait).send([delivery(0)])).rejects.toThrow(/denied/);
  });
});

/**
 * KMS as far as the sealer can tell: AES-GCM under one key per key id, the encryption context as the
 * additional authenticated data, so that a different context or key fails to decrypt as on KMS.
 */
function fakeKms(keyIds: string[]) {
  const keys = new Map(keyIds.map((id) => [id, randomBytes(32)]));
  const calls: { name: string; keyId?: string; context?: Record<string, string> }[] = [];
  const aad = (context: Record<string, string> = {}) =>
    Buffer.from(JSON.stringify(Object.entries(context).sort()));
  const invalidCiphertext = () =>
    Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
  async function send(
    command: EncryptCommand | DecryptCommand,
  ): Promise<{ CiphertextBlob?: Uint8Array; Plaintext?: Uint8Array; $metadata: object }> {
    const name = command.constructor.name;
    const input = command.input as { KeyId?: string; EncryptionContext?: Record<string, string> };
    calls.push({ name, keyId: input.KeyId, context: input.EncryptionContext });
    if (name === 'EncryptCommand') {
      const { Plaintext } = (command as EncryptCommand).input;
      const key = keys.get(input.KeyId ?? '');
      if (!key || !Plaintext) throw new Error('NotFoundException');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad(input.EncryptionContext));
      const body = Buffer.concat([cipher.update(Plaintext), cipher.final()]);
      const keyIndex = Buffer.from([keyIds.indexOf(input.KeyId ?? '')]);
      return { CiphertextBlob: Buffer.concat([keyIndex, iv, cipher.getAuthTag(), body]), $metadata: {} };
    }
    const blob = Buffer.from((command as DecryptCommand).input.CiphertextBlob ?? []);
    const keyId = keyIds[blob[0] ?? -1];
    // KMS refuses a ciphertext of another key than the one named (IncorrectKeyException).
    if (!keyId || (input.KeyId && input.KeyId !== keyId)) throw invalidCiphertext();
    const decipher = createDecipheriv('aes-256-gcm', keys.get(keyId) as Buffer, blob.subarray(1, 13))
      .setAAD(aad(input.EncryptionContext))
      .setAuthTag(blob.subarray(13, 29));
    try {
      return {
        Plaintext: Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]),
        $metadata: {},
      };
    } catch {
      throw invalidCiphertext();
    }
  }
  // One implementation answers both commands; the client's overloads are what the sealer sees.
  return { calls, send: send as unknown as KmsSender['send'] };
}

describe('KmsSecretSealer', () => {
  const keyArn = 'arn:aws:kms:eu-west-1:123:key/webhooks';

  it('seals a secret for its webhook and opens it again, the webhook id as the encryption context', async () => {
    const kms = fakeKms([keyArn]);
    const sealer = new KmsSecretSealer(kms, keyArn);
    const sealed = await sealer.seal('s3cret-ünïcode', 'wh-1');
    expect(sealed).toMatch(/^kms1:[A-Za-z0-9+/]+=*$/);
    expect(sealed).not.toContain('s3cret');
    expect(await sealer.open(sealed, 'wh-1')).toBe('s3cret-ünïcode');
    expect(kms.calls).toEqual([
      { name: 'EncryptCommand', keyId: keyArn, context: { [ENCRYPTION_CONTEXT_KEY]: 'wh-1' } },
      { name: 'DecryptCommand', keyId: keyArn, context: { [ENCRYPTION_CONTEXT_KEY]: 'wh-1' } },
    ]);
  });

  it("does not open a secret for another webhook, nor another key's ciphertext", async () => {
    const other = 'arn:aws:kms:eu-west-1:123:key/other';
    const kms = fakeKms([keyArn, other]);
    const sealed = await new KmsSecretSealer(kms, keyArn).seal('s3cret', 'wh-1');
    await expect(new KmsSecretSealer(kms, keyArn).open(sealed, 'wh-2')).rejects.toThrow(/InvalidCiphertext/);
    await expect(new KmsSecretSealer(kms, other).open(sealed, 'wh-1')).rejects.toThrow(/InvalidCiphertext/);
  });

  it('refuses sealed text of another format by name, without calling KMS', async () => {
    const kms = fakeKms([keyArn]);
    await expect(new KmsSecretSealer(kms, keyArn).open('local1:abc', 'wh-1')).rejects.toThrow(
      /Webhook wh-1's secret is not sealed with KMS/,
    );
    expect(kms.calls).toEqual([]);
  });
});

/** EventBridge's PutEvents: `refuse` decides, per call and entry, which entries fail with which code. */
function fakeEventBridge(refuse: (call: number, detailType: string, index: number) => string | undefined) {
  const calls: NonNullable<PutEventsCommand['input']['Entries']>[] = [];
  const published: string[] = [];
  return {
    calls,
    published,
    async send(command: PutEventsCommand) {
      const entries = command.input.Entries ?? [];
      expect(entries.length).toBeLessThanOrEqual(10);
      const call = calls.length;
      calls.push(entries);
      const Entries: PutEventsResultEntry[] = entries.map((entry, index) => {
        const code = refuse(call, entry.DetailType ?? '', index);
        if (code) return { ErrorCode: code, ErrorMessage: `${code} happened` };
        published.push(entry.Detail ?? '');
        return { EventId: `e-${call}-${index}` };
      });
      return { FailedEntryCount: Entries.filter((entry) => entry.ErrorCode).length, Entries, $metadata: {} };
    },
  };
}

function recordingWarn() {
  const lines: { message: string; attributes: Record<string, unknown> }[] = [];
  return {
    lines,
    warn: (message: string, attributes: Record<string, unknown>) => lines.push({ message, attributes }),
  };
}

describe('EventBridgePublisher', () => {
  it('publishes each event on the bus as cairn.registry, typed by its event name, ten to a request', async () => {
    const bus = fakeEventBridge(() => undefined);
    const { lines, warn } = recordingWarn();
    const events = Array.from({ length: 12 }, (_, index) => event(index));
    await new EventBridgePublisher(bus, 'default', warn, noWait).publish(events);
    expect(bus.calls.map((entries) => entries.length)).toEqual([10, 2]);
    expect(bus.calls[0]?.[0]).toEqual({
      EventBusName: 'default',
      Source: EVENT_SOURCE,
      DetailType: 'registered_model.created',
      Time: new Date(1_700_000_000_000),
      Detail: JSON.stringify({
        entity: 'registered_model',
        action: 'created',
        timestamp: 1_700_000_000_000,
        payload: { name: 'model-0' },
      }),
    });
    expect(bus.published).toHaveLength(12);
    expect(lines).toEqual([]);
  });

  it('retries the entries EventBridge refused, and only those', async () => {
    const bus = fakeEventBridge((call, _, index) =>
      call === 0 && index === 1 ? 'ThrottlingException' : undefined,
    );
    const { lines, warn } = recordingWarn();
    await new EventBridgePublisher(bus, 'default', warn, noWait).publish([event(0), event(1), event(2)]);
    expect(
      bus.calls.map((entries) => entries.map((entry) => JSON.parse(entry.Detail ?? '').payload.name)),
    ).toEqual([['model-0', 'model-1', 'model-2'], ['model-1']]);
    expect(bus.published).toHaveLength(3);
    expect(lines).toEqual([]);
  });

  it('logs an event still refused after three attempts, and carries on with the next request', async () => {
    const bus = fakeEventBridge((call, _, index) =>
      call < 3 && index === 0 ? 'InternalFailure' : undefined,
    );
    const { lines, warn } = recordingWarn();
    const events = Array.from({ length: 11 }, (_, index) => event(index));
    await new EventBridgePublisher(bus, 'default', warn, noWait).publish(events);
    expect(bus.calls.map((entries) => entries.length)).toEqual([10, 1, 1, 1]);
    expect(bus.published).toHaveLength(10);
    expect(lines).toEqual([
      {
        message: 'registry event not published',
        attributes: {
          busName: 'default',
          event: 'registered_model.created',
          errorCode: 'InternalFailure',
          errorMessage: 'InternalFailure happened',
        },
      },
    ]);
  });

  it('never throws: a request that fails whole is logged and the next one still sent', async () => {
    let call = 0;
    const bus = {
      async send(command: PutEventsCommand) {
        call++;
        if (call === 1) throw new Error('User is not authorized to perform: events:PutEvents');
        return {
          FailedEntryCount: 0,
          Entries: (command.input.Entries ?? []).map(() => ({ EventId: 'e' })),
          $metadata: {},
        };
      },
    };
    const { lines, warn } = recordingWarn();
    const events = Array.from({ length: 13 }, (_, index) => event(index));
    await expect(
      new EventBridgePublisher(bus, 'default', warn, noWait).publish(events),
    ).resolves.toBeUndefined();
    expect(call).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toBe('registry events not published');
    expect(lines[0]?.attributes.events).toHaveLength(10);
    expect(lines[0]?.attributes.error).toMatch(/not authorized/);
  });
});

describe('chunkBatches', () => {
  it('keeps order, at most ten entries and 256 KiB a batch, an oversized entry alone', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: MAX_BATCH_BYTES + 1000 }), { maxLength: 60 }), (sizes) => {
        const batches = chunkBatches(
          sizes.map((size, index) => ({ size, index })),
          (entry) => entry.size,
        );
        expect(batches.flat().map((entry) => entry.index)).toEqual(sizes.map((_, index) => index));
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(MAX_BATCH_ENTRIES);
          const bytes = batch.reduce((sum, entry) => sum + entry.size, 0);
          if (batch.length > 1) expect(bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
        }
        // Greedy: a batch is closed only when the next entry would not fit in it.
        for (const [index, batch] of batches.slice(0, -1).entries()) {
          const next = batches[index + 1]?.[0];
          const bytes = batch.reduce((sum, entry) => sum + entry.size, 0);
          expect(batch.length === MAX_BATCH_ENTRIES || bytes + (next?.size ?? 0) > MAX_BATCH_BYTES).toBe(
            true,
          );
        }
      }),
    );
  });
});

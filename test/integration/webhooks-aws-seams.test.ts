/**
 * The AWS branch of the webhook seams (shared/store/webhooks/from-env.ts, ./aws.ts) with the real SDK
 * clients, pointed by the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables at a stand-in on loopback that
 * answers SQS, KMS and EventBridge's JSON protocols: what the registry function does on AWS once its
 * environment names a queue, a key and a bus, down to the bytes the SDK sends and parses back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryEvent, WebhookDeliveryMessage } from '../../shared/domain/webhooks/contracts.js';
import { WebhookQueueError } from '../../shared/store/webhooks/aws.js';
import { publisherFromEnv, queueFromEnv, sealerFromEnv } from '../../shared/store/webhooks/from-env.js';

interface Call {
  target: string;
  body: Record<string, unknown>;
}

const calls: Call[] = [];
/** Entry ids the stand-in's SQS refuses once, as throttled (SenderFault false). */
const throttleOnce = new Set<string>();
/** Message bodies containing this are refused every time, as the sender's fault. */
const REFUSED_MARK = 'refuse-me';
const sealedSecrets = new Map<string, { plaintext: string; context: unknown }>();

function answer(target: string, body: Record<string, unknown>): Record<string, unknown> {
  switch (target) {
    case 'AmazonSQS.SendMessageBatch': {
      const entries = body.Entries as { Id: string; MessageBody: string }[];
      const failed = entries.filter(
        (entry) => throttleOnce.has(entry.Id) || entry.MessageBody.includes(REFUSED_MARK),
      );
      for (const entry of failed) throttleOnce.delete(entry.Id);
      return {
        Successful: entries
          .filter((entry) => !failed.includes(entry))
          .map((entry) => ({
            Id: entry.Id,
            MessageId: `m-${entry.Id}`,
            // The SDK checks each body's MD5 against what it sent.
            MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
          })),
        Failed: failed.map((entry) =>
          entry.MessageBody.includes(REFUSED_MARK)
            ? { Id: entry.Id, Code: 'InvalidParameterValue', SenderFault: true, Message: 'refused' }
            : { Id: entry.Id, Code: 'RequestThrottled', SenderFault: false, Message: 'slow down' },
        ),
      };
    }
    case 'TrentService.Encrypt': {
      const blob = randomBytes(32).toString('base64');
      sealedSecrets.set(blob, {
        plaintext: Buffer.from(body.Plaintext as string, 'base64').toString('utf8'),
        context: body.EncryptionContext,
      });
      return { CiphertextBlob: blob, KeyId: body.KeyId };
    }
    case 'TrentService.Decrypt': {
      const sealed = sealedSecrets.get(body.CiphertextBlob as string);
      if (!sealed || JSON.stringify(sealed.context) !== JSON.stringify(body.EncryptionContext)) {
        throw Object.assign(new Error('InvalidCiphertextException'), { status: 400 });
      }
      return { Plaintext: Buffer.from(sealed.plaintext).toString('base64'), KeyId: body.KeyId };
    }
    case 'AWSEvents.PutEvents': {
      const entries = body.Entries as { DetailType: string }[];
      const refused = entries.map((entry) => entry.DetailType === 'model_version.deleted');
      return {
        FailedEntryCount: refused.filter(Boolean).length,
        Entries: refused.map((no, index) =>
          no ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: `e-${index}` },
        ),
      };
    }
    default:
      throw Object.assign(new Error(`UnknownOperationException: ${target}`), { status: 400 });
  }
}

let server: Server;
const saved: Record<string, string | undefined> = {};
const ENV: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
  AWS_SECRET_ACCESS_KEY: 'stand-in',
  CAIRN_WEBHOOK_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/webhooks',
  CAIRN_EVENT_BUS_NAME: 'default',
};

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      calls.push({ target, body });
      const contentType = target.startsWith('AmazonSQS')
        ? 'application/x-amz-json-1.0'
        : 'application/x-amz-json-1.1';
      try {
        const json = JSON.stringify(answer(target, body));
        response.writeHead(200, { 'content-type': contentType }).end(json);
      } catch (error) {
        const [type = 'Error'] = (error as Error).message.split(':');
        response
          .writeHead((error as { status?: number }).status ?? 500, { 'content-type': contentType })
          .end(JSON.stringify({ __type: type, message: (error as Error).message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The SDK sends to the queue URL's host (useQueueUrlAsEndpoint), so the URL is the stand-in's too.
  ENV.CAIRN_WEBHOOK_QUEUE_URL = `${endpoint}/123456789012/deliveries`;
  const env = {
    ...ENV,
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_ENDPOINT_URL_KMS: endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
  };
  for (const [name, value] of Object.entries(env)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

function delivery(index: number, extra: Record<string, unknown> = {}): WebhookDeliveryMessage {
  return {
    entity: 'model_version',
    action: 'created',
    timestamp: 1_796_644_800_000 + index,
    payload: { name: 'churn', version: String(index), ...extra },
    webhookId: `wh-${index}`,
    deliveryId: `d-${index}`,
  };
}

const warnings: { message: string; attributes: Record<string, unknown> }[] = [];
const warn = (message: string, attributes: Record<string, unknown>) => warnings.push({ message, attributes });

/** The SQS delivery queue as the registry function builds it from its environment. */
const awsQueue = (env: NodeJS.ProcessEnv = process.env) =>
  queueFromEnv(env, {
    repository: { get: async () => undefined },
    sealer: sealerFromEnv(process.env, warn),
    settings: {
      policy: { allowedSchemes: ['https'], allowPrivateNetworks: false },
      timeoutMs: 1000,
      testTimeoutMs: 1000,
    },
    warn,
  });

describe('the AWS webhook seams from the environment, on the real SDK', () => {
  it('seal with KMS for the webhook, and open only for that webhook', async () => {
    const sealer = sealerFromEnv(process.env, warn);
    const sealed = await sealer.seal('s3cret', 'wh-1');
    expect(sealed).toMatch(/^kms1:/);
    expect(await sealer.open(sealed, 'wh-1')).toBe('s3cret');
    await expect(sealer.open(sealed, 'wh-2')).rejects.toThrow(/InvalidCiphertext/);
    const encrypt = calls.find((call) => call.target === 'TrentService.Encrypt');
    expect(encrypt?.body).toMatchObject({
      KeyId: ENV.CAIRN_WEBHOOK_KMS_KEY_ID,
      EncryptionContext: { 'cairn:webhook': 'wh-1' },
    });
    expect(Buffer.from(encrypt?.body.Plaintext as string, 'base64').toString()).toBe('s3cret');
  });

  it('queue deliveries on SQS in batches of ten, retrying what was throttled', async () => {
    const queue = awsQueue();
    calls.length = 0;
    throttleOnce.add('3');
    const messages = Array.from({ length: 12 }, (_, index) => delivery(index));
    await queue.send(messages);
    const batches = calls.filter((call) => call.target === 'AmazonSQS.SendMessageBatch');
    expect(batches.map((call) => (call.body.Entries as unknown[]).length)).toEqual([10, 1, 2]);
    expect(batches[0]?.body.QueueUrl).toBe(ENV.CAIRN_WEBHOOK_QUEUE_URL);
    const queued = batches.flatMap((call) =>
      (call.body.Entries as { MessageBody: string }[]).map((entry) => JSON.parse(entry.MessageBody)),
    );
    // Entry 3 twice: refused once, then queued.
    expect(queued.filter((message) => message.deliveryId === 'd-3')).toHaveLength(2);
    expect(new Set(queued.map((message) => message.deliveryId)).size).toBe(12);
    const [first] = (batches[0]?.body.Entries ?? []) as { MessageAttributes: unknown }[];
    expect(first?.MessageAttributes).toEqual({
      webhookId: { DataType: 'String', StringValue: 'wh-0' },
      event: { DataType: 'String', StringValue: 'model_version.created' },
    });
  });

  it('name the deliveries SQS refused as the sender’s fault', async () => {
    const queue = awsQueue();
    const failure = await queue
      .send([delivery(0), delivery(1, { note: REFUSED_MARK })])
      .catch((error) => error);
    expect(failure).toBeInstanceOf(WebhookQueueError);
    expect((failure as WebhookQueueError).failed).toEqual([
      { deliveryId: 'd-1', webhookId: 'wh-1', code: 'InvalidParameterValue' },
    ]);
  });

  it('publish registry events on the bus, and only log what EventBridge would not take', async () => {
    const publisher = publisherFromEnv(process.env, warn);
    calls.length = 0;
    warnings.length = 0;
    const event = (action: string): RegistryEvent => ({
      entity: 'model_version',
      action,
      timestamp: 1_796_644_800_000,
      payload: { name: 'churn', version: '1' },
    });
    await publisher.publish([event('created'), event('deleted')]);
    const puts = calls.filter((call) => call.target === 'AWSEvents.PutEvents');
    // The refused entry is retried twice more, then logged; the accepted one is sent once.
    expect(
      puts.map((call) => (call.body.Entries as { DetailType: string }[]).map((entry) => entry.DetailType)),
    ).toEqual([
      ['model_version.created', 'model_version.deleted'],
      ['model_version.deleted'],
      ['model_version.deleted'],
    ]);
    expect(puts[0]?.body.Entries).toEqual([
      expect.objectContaining({
        EventBusName: 'default',
        Source: 'cairn.registry',
        DetailType: 'model_version.created',
        Detail: JSON.stringify({
          entity: 'model_version',
          action: 'created',
          timestamp: 1_796_644_800_000,
          payload: { name: 'churn', version: '1' },
        }),
      }),
      expect.anything(),
    ]);
    expect(warnings).toEqual([
      {
        message: 'registry event not published',
        attributes: expect.objectContaining({ event: 'model_version.deleted', errorCode: 'InternalFailure' }),
      },
    ]);
  });

  it('refuse a queue without a key when the function loads', () => {
    const { CAIRN_WEBHOOK_KMS_KEY_ID: _, ...withoutKey } = process.env;
    expect(() => awsQueue(withoutKey)).toThrow(
      /CAIRN_WEBHOOK_KMS_KEY_ID must be set with CAIRN_WEBHOOK_QUEUE_URL/,
    );
  });
});

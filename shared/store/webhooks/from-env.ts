/**
 * Chooses the webhook seams' implementations from the environment, once per container: the registry code
 * never knows which it got. Each seam has its own function so that the AWS side plugs in beside the local
 * one:
 *
 * | Seam      | Local (default)                                   | AWS (set by the CDK construct)                 |
 * |-----------|---------------------------------------------------|------------------------------------------------|
 * | queue     | InProcessWebhookQueue: delivers in this process   | SQS, when CAIRN_WEBHOOK_QUEUE_URL is set       |
 * | sealer    | LocalSecretSealer, CAIRN_WEBHOOK_SEALING_KEY      | KMS, when CAIRN_WEBHOOK_KMS_KEY_ID is set      |
 * | publisher | LocalEventPublisher (keeps them in memory)        | EventBridge, on the bus CAIRN_EVENT_BUS_NAME   |
 *
 * Delivery settings (both sides): CAIRN_WEBHOOK_ALLOWED_SCHEMES (default `https`, MLflow's default),
 * CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS (default false: loopback, private and link-local targets refused;
 * the local server turns it on, a deployment only through its CDK context value) and
 * CAIRN_WEBHOOK_TIMEOUT_SECONDS (default 30, MLflow's).
 */
import { randomBytes } from 'node:crypto';
import type { EventPublisher, SecretSealer, WebhookQueue } from '../../domain/webhooks/contracts.js';
import { attemptDelivery, type UrlPolicy } from '../../domain/webhooks/deliver.js';
import type { WebhookRepository } from '../../domain/webhooks/model.js';
import type { WarnLog, WebhookSettings } from '../../domain/webhooks/service.js';
import { InProcessWebhookQueue, LocalEventPublisher, LocalSecretSealer } from './local.js';

/** The test endpoint's one attempt must answer within the API's 30 s deadline, with room to spare. */
const TEST_TIMEOUT_CAP_MS = 20_000;

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = (env[name] ?? '').toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new Error(`Environment variable ${name} must be true or false, not '${env[name]}'`);
}

export function webhookSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookSettings {
  const schemes = (env.CAIRN_WEBHOOK_ALLOWED_SCHEMES || 'https')
    .split(',')
    .map((scheme) => scheme.trim().toLowerCase())
    .filter(Boolean);
  const unknown = schemes.filter((scheme) => scheme !== 'https' && scheme !== 'http');
  if (unknown.length > 0) {
    throw new Error(`CAIRN_WEBHOOK_ALLOWED_SCHEMES may name http and https only, not ${unknown.join(', ')}`);
  }
  const seconds = Number(env.CAIRN_WEBHOOK_TIMEOUT_SECONDS || '30');
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300) {
    throw new Error('CAIRN_WEBHOOK_TIMEOUT_SECONDS must be a whole number from 1 to 300');
  }
  const policy: UrlPolicy = {
    allowedSchemes: schemes,
    allowPrivateNetworks: flag(env, 'CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS'),
  };
  return { policy, timeoutMs: seconds * 1000, testTimeoutMs: Math.min(seconds * 1000, TEST_TIMEOUT_CAP_MS) };
}

/**
 * The AWS seams (./aws.ts), loaded on first use and built once per container: the SQS, KMS and
 * EventBridge clients stay out of the cold start of a registry function that only reads.
 */
let awsSeams: Promise<ReturnType<typeof import('./aws.js').createAwsWebhookSeams>> | undefined;

function aws(env: NodeJS.ProcessEnv, warn?: WarnLog) {
  if (!awsSeams) {
    const loading = import('./aws.js').then((module) =>
      module.createAwsWebhookSeams(module.awsWebhookSettings(env), warn),
    );
    // A failed load is not kept: the next use tries again.
    loading.catch(() => {
      if (awsSeams === loading) awsSeams = undefined;
    });
    awsSeams = loading;
  }
  return awsSeams;
}

/** A seam of ./aws.ts, whatever `pick` takes from what the environment names (set there, or refused). */
async function awsSeam<T>(
  env: NodeJS.ProcessEnv,
  warn: WarnLog | undefined,
  name: string,
  pick: (seams: Awaited<ReturnType<typeof aws>>) => T | undefined,
): Promise<T> {
  const seam = pick(await aws(env, warn));
  if (!seam) throw new Error(`The AWS webhook ${name} is not configured`);
  return seam;
}

export function sealerFromEnv(env: NodeJS.ProcessEnv = process.env, warn?: WarnLog): SecretSealer {
  if (env.CAIRN_WEBHOOK_KMS_KEY_ID) {
    const kms = () => awsSeam(env, warn, 'sealer', (seams) => seams.sealer);
    return {
      seal: async (plain, webhookId) => (await kms()).seal(plain, webhookId),
      open: async (sealed, webhookId) => (await kms()).open(sealed, webhookId),
    };
  }
  const key = env.CAIRN_WEBHOOK_SEALING_KEY;
  if (key) return new LocalSecretSealer(Buffer.from(key, 'base64'));
  // Without a kept key (a handler loaded outside `cairn server`), secrets open only in this process.
  warn?.('no webhook sealing key configured: webhook secrets will not open after a restart', {});
  return new LocalSecretSealer(randomBytes(32));
}

export function publisherFromEnv(env: NodeJS.ProcessEnv = process.env, warn?: WarnLog): EventPublisher {
  if (env.CAIRN_EVENT_BUS_NAME) {
    return {
      publish: async (events) =>
        (await awsSeam(env, warn, 'publisher', (seams) => seams.publisher)).publish(events),
    };
  }
  return new LocalEventPublisher();
}

export interface QueueDependencies {
  repository: Pick<WebhookRepository, 'get'>;
  sealer: SecretSealer;
  settings: WebhookSettings;
  warn: WarnLog;
}

export function queueFromEnv(env: NodeJS.ProcessEnv, deps: QueueDependencies): WebhookQueue {
  if (env.CAIRN_WEBHOOK_QUEUE_URL) {
    // Refused at load, not at the first event: a queue without a KMS key would have no AWS sealer.
    if (!env.CAIRN_WEBHOOK_KMS_KEY_ID) {
      throw new Error('CAIRN_WEBHOOK_KMS_KEY_ID must be set with CAIRN_WEBHOOK_QUEUE_URL');
    }
    return {
      send: async (messages) =>
        (await awsSeam(env, deps.warn, 'queue', (seams) => seams.queue)).send(messages),
    };
  }
  return new InProcessWebhookQueue(
    (message) =>
      attemptDelivery(message, {
        webhooks: deps.repository,
        sealer: deps.sealer,
        policy: deps.settings.policy,
        timeoutMs: deps.settings.timeoutMs,
      }),
    deps.warn,
  );
}

export interface WebhookRuntime {
  settings: WebhookSettings;
  sealer: SecretSealer;
  publisher: EventPublisher;
  queue: WebhookQueue;
}

/** Everything the registry function needs for webhooks, chosen by the environment. */
export function webhookRuntimeFromEnv(
  env: NodeJS.ProcessEnv,
  deps: { repository: Pick<WebhookRepository, 'get'>; warn: WarnLog },
): WebhookRuntime {
  const settings = webhookSettingsFromEnv(env);
  const sealer = sealerFromEnv(env, deps.warn);
  return {
    settings,
    sealer,
    publisher: publisherFromEnv(env, deps.warn),
    queue: queueFromEnv(env, { repository: deps.repository, sealer, settings, warn: deps.warn }),
  };
}

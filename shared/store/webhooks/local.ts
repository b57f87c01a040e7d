/**
 * The local (and default) implementations of the webhook seams: deliveries run in this process, off the
 * request (the request that queued them has its answer before the first attempt starts), retried on
 * MLflow's schedule (RETRY_POLICY) and kept in an in-memory dead-letter list when every attempt failed;
 * secrets are sealed with AES-256-GCM under a key the local server keeps in its data directory; events
 * are not published anywhere (there is no event bus on one machine). On AWS the queue is SQS, the sealer
 * KMS and the publisher EventBridge (./aws.ts); ./from-env.ts chooses.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type {
  EventPublisher,
  RegistryEvent,
  SecretSealer,
  WebhookDeliveryMessage,
  WebhookQueue,
} from '../../domain/webhooks/contracts.js';
import { type AttemptOutcome, RETRY_POLICY, retryDelayMs } from '../../domain/webhooks/deliver.js';
import { eventLabel } from '../../domain/webhooks/model.js';
import type { WarnLog } from '../../domain/webhooks/service.js';

/** A delivery that every attempt failed, as SQS would move it to the dead-letter queue. */
export interface DeadLetter {
  message: WebhookDeliveryMessage;
  attempts: number;
  reason: string;
}

/** How many dead letters are kept: the most recent ones, for a look while debugging. */
const DEAD_LETTERS_KEPT = 100;

export class InProcessWebhookQueue implements WebhookQueue {
  readonly deadLetters: DeadLetter[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly attempt: (message: WebhookDeliveryMessage) => Promise<AttemptOutcome>,
    private readonly warn: WarnLog,
    private readonly maxAttempts: number = RETRY_POLICY.maxAttempts,
    private readonly delay: (attempt: number, retryAfterMs?: number) => number = retryDelayMs,
  ) {}

  async send(messages: readonly WebhookDeliveryMessage[]): Promise<void> {
    for (const message of messages) {
      const run = this.run(message).finally(() => this.pending.delete(run));
      this.pending.add(run);
    }
  }

  /** Resolves once every delivery queued so far has been delivered or given up (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async run(message: WebhookDeliveryMessage): Promise<void> {
    // Off the request: the first attempt starts after the queuing request has answered.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let attempt = 1; ; attempt++) {
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(message);
      } catch (error) {
        outcome = { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
      }
      if (outcome.kind === 'delivered') return;
      if (outcome.kind === 'failed' || attempt >= this.maxAttempts) {
        this.deadLetter({ message, attempts: attempt, reason: outcome.reason });
        return;
      }
      const wait = this.delay(attempt, outcome.retryAfterMs);
      // Unref'd: a pending retry does not keep a stopping server's process alive.
      await new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
    }
  }

  private deadLetter(letter: DeadLetter): void {
    this.deadLetters.push(letter);
    if (this.deadLetters.length > DEAD_LETTERS_KEPT) this.deadLetters.shift();
    this.warn('webhook delivery given up', {
      webhookId: letter.message.webhookId,
      deliveryId: letter.message.deliveryId,
      event: eventLabel(letter.message),
      attempts: letter.attempts,
      reason: letter.reason,
    });
  }
}

const SEALED_PREFIX = 'local-v1:';

/**
 * AES-256-GCM under a 32-byte key, the webhook's id as additional data: like KMS's encryption context, a
 * sealed secret copied onto another webhook's item does not open.
 */
export class LocalSecretSealer implements SecretSealer {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('The local webhook sealing key must be 32 bytes.');
  }

  async seal(plain: string, webhookId: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(webhookId, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${SEALED_PREFIX}${[iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64url')).join('.')}`;
  }

  async open(sealed: string, webhookId: string): Promise<string> {
    const [iv, tag, body] = sealed.startsWith(SEALED_PREFIX)
      ? sealed
          .slice(SEALED_PREFIX.length)
          .split('.')
          .map((part) => Buffer.from(part, 'base64url'))
      : [];
    if (!iv || !tag || !body) throw new Error('The webhook secret was not sealed by the local sealer.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(webhookId, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  }
}

/** Locally there is no event bus: events are counted, for a test or a debugger to look at. */
export class LocalEventPublisher implements EventPublisher {
  readonly published: RegistryEvent[] = [];

  async publish(events: readonly RegistryEvent[]): Promise<void> {
    this.published.push(...events);
    if (this.published.length > DEAD_LETTERS_KEPT)
      this.published.splice(0, this.published.length - DEAD_LETTERS_KEPT);
  }
}

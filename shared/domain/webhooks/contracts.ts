/**
 * The seams of registry webhooks (issue 18 item 6), agreed before either side was built: the registry
 * emits events, a queue carries one delivery per subscribed webhook, a delivery function signs and sends
 * it. Locally every seam is in-process; on AWS the queue is SQS (retries, dead-letter queue), secrets are
 * sealed with KMS and every event also goes to EventBridge's default bus. The implementations choose by
 * environment (shared/store/webhooks/from-env.ts), never the registry code.
 */

/** MLflow's webhook entities and actions (`mlflow/entities/webhook.py`), e.g. `model_version.created`. */
export interface WebhookEventName {
  entity: string;
  action: string;
}

/** One registry event as it happened: what MLflow would deliver, before it is fanned out to webhooks. */
export interface RegistryEvent extends WebhookEventName {
  /** Milliseconds since the epoch, when the registry write succeeded. */
  timestamp: number;
  /** MLflow's payload for this event (its keys and values as MLflow's delivery sends them). */
  payload: Record<string, unknown>;
}

/** One delivery: an event for one webhook. Small (SQS's 256 KiB cap is far off) and JSON as is. */
export interface WebhookDeliveryMessage extends RegistryEvent {
  webhookId: string;
  /** Stable across retries, so a receiver can drop duplicates (MLflow's delivery id header). */
  deliveryId: string;
}

/** Carries deliveries off the request path. */
export interface WebhookQueue {
  send(messages: readonly WebhookDeliveryMessage[]): Promise<void>;
}

/**
 * Keeps webhook secrets encrypted at rest: sealed text is all the table ever holds. Sealed for one
 * webhook: on AWS the id is KMS's encryption context, so a sealed secret copied onto another webhook's
 * item does not open, and CloudTrail names the webhook of every Decrypt.
 */
export interface SecretSealer {
  seal(plain: string, webhookId: string): Promise<string>;
  open(sealed: string, webhookId: string): Promise<string>;
}

/** Where every registry event is also published (EventBridge's default bus on AWS). */
export interface EventPublisher {
  publish(events: readonly RegistryEvent[]): Promise<void>;
}

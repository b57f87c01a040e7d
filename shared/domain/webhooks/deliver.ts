/**
 * One webhook delivery, as MLflow's `mlflow/webhooks/delivery.py` makes it: a JSON POST of
 * `{"entity", "action", "timestamp", "data"}` with `X-MLflow-Delivery-Id`, `X-MLflow-Timestamp` (Unix
 * seconds) and, when the webhook has a secret, `X-MLflow-Signature: v1,<base64 HMAC-SHA256 of
 * "<delivery id>.<timestamp>.<body>">` (Standard Webhooks' scheme). The same code runs in-process locally
 * and in the delivery function on AWS; only what retries a failed attempt differs (./retry policy below,
 * applied by the local queue in-process and by SQS's redelivery on AWS).
 *
 * Differences from MLflow, on purpose: a retried delivery keeps its delivery id (a receiver can drop
 * duplicates) but is signed again with the time of that attempt, so a receiver that refuses old
 * timestamps (replay protection) accepts a retry minutes later; redirects are never followed; the
 * address connected to is the address checked (DNS rebinding cannot swap a public answer for a private
 * one between the check and the connection).
 */
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isGlobalAddress } from './addresses.js';
import type { SecretSealer, WebhookDeliveryMessage, WebhookEventName } from './contracts.js';
import type { Webhook, WebhookRepository } from './model.js';
import { pythonJson } from './payloads.js';
import { parseWebhookUrl } from './rules.js';

export const SIGNATURE_HEADER = 'X-MLflow-Signature';
export const TIMESTAMP_HEADER = 'X-MLflow-Timestamp';
export const DELIVERY_ID_HEADER = 'X-MLflow-Delivery-Id';
export const SIGNATURE_VERSION = 'v1';

/** `v1,<base64 HMAC-SHA256(secret, "<delivery id>.<timestamp>.<payload>")>`, MLflow's `_generate_hmac_signature`. */
export function signPayload(secret: string, deliveryId: string, timestamp: string, payload: string): string {
  const digest = createHmac('sha256', secret)
    .update(`${deliveryId}.${timestamp}.${payload}`)
    .digest('base64');
  return `${SIGNATURE_VERSION},${digest}`;
}

/**
 * Python's `datetime.isoformat()` of an aware UTC time, as MLflow's payload carries it:
 * `2026-12-07T12:00:00.123000+00:00` (microseconds; Cairn's clock has milliseconds).
 */
export function isoTimestamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-12-07T12:00:00.123Z
  return `${iso.slice(0, 23)}000+00:00`;
}

/** The body MLflow sends: the event's name, when it happened, and its payload under `data`. */
export function deliveryBody(event: WebhookEventName & { timestamp: number; payload: unknown }): string {
  return pythonJson({
    entity: event.entity,
    action: event.action,
    timestamp: isoTimestamp(event.timestamp),
    data: event.payload,
  });
}

export interface DeliveryRequest {
  body: string;
  headers: Record<string, string>;
}

/** The request of one attempt: body, MLflow's headers, signed at `nowMs` when there is a secret. */
export function deliveryRequest(
  message: WebhookDeliveryMessage,
  secret: string | undefined,
  nowMs: number,
): DeliveryRequest {
  const body = deliveryBody(message);
  const timestamp = String(Math.floor(nowMs / 1000));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'Cairn-Webhooks/1',
    [DELIVERY_ID_HEADER]: message.deliveryId,
    [TIMESTAMP_HEADER]: timestamp,
  };
  if (secret) headers[SIGNATURE_HEADER] = signPayload(secret, message.deliveryId, timestamp, body);
  return { body, headers };
}

/** How delivery URLs are checked: MLflow's `MLFLOW_WEBHOOK_ALLOWED_SCHEMES` and `..._ALLOW_PRIVATE_IPS`. */
export interface UrlPolicy {
  allowedSchemes: readonly string[];
  /** Loopback, private and link-local targets allowed: the local server's default, never AWS's. */
  allowPrivateNetworks: boolean;
}

export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

/** A lookup that answers only global addresses (and refuses the host if DNS names any other). */
export function guardedLookup(policy: UrlPolicy, resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses: LookupAddress[] | string) => {
      const list = Array.isArray(addresses) ? addresses : [];
      if (error) return callback(error, '', 0);
      const refused = policy.allowPrivateNetworks
        ? undefined
        : list.find((entry) => !isGlobalAddress(entry.address));
      if (refused || list.length === 0) {
        const reason = refused
          ? `Webhook URL must not resolve to a non-public IP address. '${hostname}' resolves to ${refused.address}.`
          : `Cannot resolve webhook URL hostname '${hostname}'.`;
        return callback(new TargetRefusedError(reason), '', 0);
      }
      if (options.all) return callback(null, list);
      const first = list[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * Refuses a URL whose host resolves (now) to a non-global address, unless private networks are allowed:
 * MLflow's create/update-time check. Delivery checks again at connection time (guardedLookup).
 */
export async function checkTarget(
  rawUrl: string,
  policy: UrlPolicy,
  resolve: typeof dnsLookup = dnsLookup,
): Promise<void> {
  const { hostname } = parseWebhookUrl(rawUrl, policy.allowedSchemes);
  if (policy.allowPrivateNetworks) return;
  // An IP literal goes through the lookup too: the resolver answers it as it stands.
  const lookup = guardedLookup(policy, resolve);
  await new Promise<void>((done, fail) =>
    lookup(hostname, { all: true }, (error) => (error ? fail(error) : done())),
  );
}

/** What an attempt came to. */
export type AttemptOutcome =
  | { kind: 'delivered'; status: number; body: string }
  /** Worth another attempt: 429, 5xx (MLflow's list: 429, 500, 502, 503, 504) or no answer at all. */
  | { kind: 'retry'; reason: string; status?: number; body?: string; retryAfterMs?: number }
  /** Another attempt would fare no better: another 4xx, a refused target, a webhook gone or disabled. */
  | { kind: 'failed'; reason: string; status?: number; body?: string };

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
/** The receiver's answer kept for the test endpoint's result and the logs: the start of it. */
const MAX_RESPONSE_BODY = 16 * 1024;

export interface PostOptions {
  policy: UrlPolicy;
  timeoutMs: number;
  resolve?: typeof dnsLookup;
}

function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** POSTs one delivery to `rawUrl`: never follows a redirect, gives up after `timeoutMs`. */
export async function postDelivery(
  rawUrl: string,
  request: DeliveryRequest,
  options: PostOptions,
): Promise<AttemptOutcome> {
  let target: ReturnType<typeof parseWebhookUrl>;
  try {
    target = parseWebhookUrl(rawUrl, options.policy.allowedSchemes);
  } catch (error) {
    return { kind: 'failed', reason: (error as Error).message };
  }
  // Node connects to an IP literal without calling `lookup`: such a host is judged here instead.
  if (isIP(target.hostname) && !options.policy.allowPrivateNetworks && !isGlobalAddress(target.hostname)) {
    return {
      kind: 'failed',
      reason: `Webhook URL must not resolve to a non-public IP address. '${target.hostname}' is one.`,
    };
  }
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const outgoing = send(
      target.url,
      {
        method: 'POST',
        headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
        lookup: guardedLookup(options.policy, options.resolve),
        // A fresh connection per delivery: a pooled socket would skip the lookup, and with it the check.
        agent: false,
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < MAX_RESPONSE_BODY) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        response.on('error', (error) => finish({ kind: 'retry', reason: error.message }));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_BODY);
          if (status >= 200 && status < 300) finish({ kind: 'delivered', status, body });
          else if (RETRY_STATUSES.has(status)) {
            const after = retryAfterMs(response.headers['retry-after'], Date.now());
            finish({
              kind: 'retry',
              reason: `The receiver answered ${status}.`,
              status,
              body,
              ...(after === undefined ? {} : { retryAfterMs: after }),
            });
          } else {
            finish({
              kind: 'failed',
              reason:
                status >= 300 && status < 400
                  ? `The receiver answered ${status}; webhook deliveries do not follow redirects.`
                  : `The receiver answered ${status}.`,
              status,
              body,
            });
          }
        });
      },
    );
    // The whole exchange, not only an idle socket: a receiver that answers a byte a second is cut off too.
    const deadline = setTimeout(() => {
      outgoing.destroy(new Error(`No complete answer within ${options.timeoutMs / 1000} s.`));
    }, options.timeoutMs);
    deadline.unref();
    outgoing.on('error', (error) => {
      if (error instanceof TargetRefusedError) finish({ kind: 'failed', reason: error.message });
      else finish({ kind: 'retry', reason: error.message });
    });
    outgoing.end(request.body);
  });
}

/**
 * MLflow's retry policy (urllib3 `Retry(total=3, backoff_factor=1, backoff_max=60)`, honouring
 * `Retry-After`): four attempts in all, waiting 1 s, 2 s, 4 s between them.
 */
export const RETRY_POLICY = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 60_000 } as const;

/** How long to wait before attempt `attempt + 1` (attempts count from 1). */
export function retryDelayMs(attempt: number, retryAfter?: number): number {
  const backoff = Math.min(RETRY_POLICY.baseDelayMs * 2 ** (attempt - 1), RETRY_POLICY.maxDelayMs);
  return retryAfter === undefined ? backoff : Math.min(Math.max(retryAfter, 0), RETRY_POLICY.maxDelayMs);
}

export interface DeliveryDependencies {
  webhooks: Pick<WebhookRepository, 'get'>;
  sealer: SecretSealer;
  policy: UrlPolicy;
  timeoutMs: number;
  clock?: () => number;
  resolve?: typeof dnsLookup;
}

/**
 * Makes one attempt at a queued delivery: reads the webhook as it is now (a webhook deleted or disabled
 * since the event is not delivered to; a changed URL or secret applies), opens its secret and POSTs.
 * The caller retries on `retry`: the local queue in-process, SQS on AWS (the delivery function reports
 * the message as failed and SQS hands it over again, then to the dead-letter queue).
 */
export async function attemptDelivery(
  message: WebhookDeliveryMessage,
  deps: DeliveryDependencies,
): Promise<AttemptOutcome> {
  const webhook = await deps.webhooks.get(message.webhookId);
  if (!webhook) return { kind: 'failed', reason: 'The webhook was deleted.' };
  if (webhook.status !== 'ACTIVE') return { kind: 'failed', reason: 'The webhook is disabled.' };
  const subscribed = webhook.events.some(
    (event) => event.entity === message.entity && event.action === message.action,
  );
  if (!subscribed) return { kind: 'failed', reason: 'The webhook no longer subscribes to this event.' };
  return sendToWebhook(webhook, message, deps);
}

/** Signs and POSTs `message` to `webhook` (the test endpoint calls this directly, for a webhook it read). */
export async function sendToWebhook(
  webhook: Webhook,
  message: WebhookDeliveryMessage,
  deps: Omit<DeliveryDependencies, 'webhooks'>,
): Promise<AttemptOutcome> {
  const secret = webhook.sealedSecret
    ? await deps.sealer.open(webhook.sealedSecret, webhook.webhookId)
    : undefined;
  const request = deliveryRequest(message, secret, (deps.clock ?? Date.now)());
  return postDelivery(webhook.url, request, {
    policy: deps.policy,
    timeoutMs: deps.timeoutMs,
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
  });
}

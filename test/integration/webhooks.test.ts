/**
 * Registry webhooks through the real local server: the admin API as MLflow's client calls it, and
 * deliveries to a receiver on 127.0.0.1 (the local server allows loopback targets), checked the way a
 * receiver checks them (MLflow's headers, HMAC over "<id>.<timestamp>.<body>"). No timings: each test
 * waits for the receiver to have what it expects, under vitest's own timeout.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookDeliveryMessage } from '../../shared/domain/webhooks/contracts.js';
import { deliveryRequest, postDelivery } from '../../shared/domain/webhooks/deliver.js';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver: records every POST, answers with the status queued for its path (200 by default). */
class Receiver {
  readonly received: Received[] = [];
  private readonly statuses = new Map<string, number[]>();
  private waiters: { count: number; resolve: () => void }[] = [];
  readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      this.received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = this.statuses.get(path)?.shift() ?? 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: status < 400 ? 'received' : 'refused' }));
      this.waiters = this.waiters.filter((waiter) => {
        if (this.received.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
  });

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  answer(path: string, ...statuses: number[]): void {
    this.statuses.set(path, statuses);
  }

  /** Resolves once `count` requests in all have arrived. */
  until(count: number): Promise<Received[]> {
    if (this.received.length >= count) return Promise.resolve(this.received.slice());
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve: () => resolve(this.received.slice()) });
    });
  }

  reset(): void {
    this.received.length = 0;
    this.statuses.clear();
  }
}

let server: TestServer;
let api: Api;
const receiver = new Receiver();

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  server = await startTestServer();
  api = new Api(server.url);
});

afterAll(async () => {
  await server?.close();
  await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
});

const WEBHOOKS = '/api/2.0/mlflow/webhooks';
type Json = Record<string, unknown>;
const createWebhook = (json: Json) => api.request('POST', WEBHOOKS, { json });
const event = (entity: string, action: string) => ({ entity, action });

/** Every webhook deleted before each test: fan-out reads them all, and one test's must not hear another's. */
beforeEach(async () => {
  receiver.reset();
  const listed = await api.request<{ webhooks?: { webhook_id: string }[] }>(
    'GET',
    `${WEBHOOKS}?max_results=1000`,
  );
  for (const webhook of listed.body.webhooks ?? []) {
    await api.request('DELETE', `${WEBHOOKS}/${webhook.webhook_id}`);
  }
});

function verify(secret: string, received: Received): boolean {
  const id = received.headers['x-mlflow-delivery-id'] as string;
  const timestamp = received.headers['x-mlflow-timestamp'] as string;
  const expected = createHmac('sha256', secret)
    .update(`${id}.${timestamp}.${received.body}`)
    .digest('base64');
  return received.headers['x-mlflow-signature'] === `v1,${expected}`;
}

describe('webhook CRUD, as MLflow answers it', () => {
  it('creates, gets and lists a webhook, never answering its secret', async () => {
    const created = await createWebhook({
      name: 'test_webhook',
      url: 'https://example.com/webhook',
      events: [event('MODEL_VERSION', 'CREATED')],
      secret: 'my_secret',
      description: 'About it',
    });
    expect(created.status, created.text).toBe(200);
    const webhook = created.body.webhook as Json;
    expect(webhook).toMatchObject({
      name: 'test_webhook',
      url: 'https://example.com/webhook',
      description: 'About it',
      events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }],
      status: 'ACTIVE',
    });
    expect(webhook.webhook_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(created.text).not.toContain('my_secret');
    expect(created.text).not.toContain('secret');

    const got = await api.request('GET', `${WEBHOOKS}/${webhook.webhook_id}`);
    expect(got.body.webhook).toEqual(webhook);
    expect(got.text).not.toContain('secret');
    const ajax = await api.request('GET', `/ajax-api/2.0/mlflow/webhooks/${webhook.webhook_id}`);
    expect(ajax.body.webhook).toEqual(webhook);
  });

  it('lists newest first in pages that neither repeat nor skip', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await createWebhook({
        name: `webhook${i}`,
        url: `https://example.com/${i}`,
        events: [event('MODEL_VERSION', 'CREATED')],
      });
      ids.push((created.body.webhook as Json).webhook_id as string);
    }
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await api.request<{ webhooks: Json[]; next_page_token?: string }>(
        'GET',
        `${WEBHOOKS}?max_results=2${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
      );
      expect(page.status, page.text).toBe(200);
      expect(page.body.webhooks.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.webhooks.map((webhook) => webhook.webhook_id as string));
      token = page.body.next_page_token;
    } while (token);
    expect(seen).toEqual(ids.reverse());
  });

  it('updates only the fields given, and moves last_updated_timestamp on', async () => {
    const created = (
      await createWebhook({
        name: 'original_name',
        url: 'https://example.com/original',
        events: [event('MODEL_VERSION', 'CREATED')],
        description: 'Original description',
      })
    ).body.webhook as Json;
    const path = `${WEBHOOKS}/${created.webhook_id}`;
    const partial = await api.request('PATCH', path, { json: { name: 'updated_name' } });
    expect(partial.status, partial.text).toBe(200);
    expect(partial.body.webhook).toMatchObject({
      name: 'updated_name',
      url: 'https://example.com/original',
      description: 'Original description',
      events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }],
      status: 'ACTIVE',
    });
    const full = await api.request('PATCH', path, {
      json: {
        url: 'https://example.com/updated',
        events: [event('MODEL_VERSION', 'CREATED'), event('REGISTERED_MODEL', 'CREATED')],
        description: 'Updated description',
        secret: 'new_secret',
        status: 'DISABLED',
      },
    });
    const updated = full.body.webhook as Json;
    expect(updated).toMatchObject({
      url: 'https://example.com/updated',
      events: [
        { entity: 'MODEL_VERSION', action: 'CREATED' },
        { entity: 'REGISTERED_MODEL', action: 'CREATED' },
      ],
      description: 'Updated description',
      status: 'DISABLED',
    });
    expect(updated.last_updated_timestamp as number).toBeGreaterThan(
      (partial.body.webhook as Json).last_updated_timestamp as number,
    );
    expect(full.text).not.toContain('new_secret');
  });

  it('deletes a webhook: it is gone from get, list, update and a second delete', async () => {
    const created = (
      await createWebhook({
        name: 'doomed',
        url: 'https://example.com/x',
        events: [event('MODEL_VERSION', 'CREATED')],
      })
    ).body.webhook as Json;
    const path = `${WEBHOOKS}/${created.webhook_id}`;
    expect((await api.request('DELETE', path)).status).toBe(200);
    for (const [method, json] of [
      ['GET', undefined],
      ['PATCH', { name: 'x' }],
      ['DELETE', undefined],
      ['POST', {}],
    ] as const) {
      const answer = await api.request(
        method,
        method === 'POST' ? `${path}/test` : path,
        json ? { json } : {},
      );
      expect(answer.status, `${method}: ${answer.text}`).toBe(404);
      expect(answer.body).toEqual({
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `Webhook with ID ${created.webhook_id} not found.`,
      });
    }
    const listed = await api.request('GET', WEBHOOKS);
    expect(listed.body.webhooks).toBeUndefined();
  });

  it("answers 404 with MLflow's message for an id that was never issued", async () => {
    const answer = await api.request('GET', `${WEBHOOKS}/nonexistent`);
    expect(answer.status).toBe(404);
    expect(answer.body.message).toBe('Webhook with ID nonexistent not found.');
  });
});

describe("bad input is refused with MLflow's error and nothing stored", () => {
  const valid = { name: 'ok', url: 'https://example.com/hook', events: [event('MODEL_VERSION', 'CREATED')] };
  const cases: [string, Json, RegExp][] = [
    ['a blank URL', { url: '   ' }, /Webhook URL cannot be empty or just whitespace/],
    ['an ftp URL', { url: 'ftp://example.com' }, /Invalid webhook URL scheme: "ftp"/],
    ['a URL that does not parse', { url: 'http://[invalid' }, /Invalid webhook URL/],
    ['a URL with credentials', { url: 'https://user:pw@example.com/' }, /user name or password/],
    ['a URL over 500 characters', { url: `https://example.com/${'a'.repeat(500)}` }, /limit is 500/],
    ['a missing URL', { url: undefined }, /Missing value for required parameter 'url'/],
    ['a missing name', { name: undefined }, /Missing value for required parameter 'name'/],
    ['a name with a space', { name: 'my hook' }, /Webhook name "my hook" is invalid/],
    ['a name ending in a dot', { name: 'hook.' }, /is invalid/],
    ['a name of 64 characters', { name: 'a'.repeat(64) }, /is invalid/],
    ['no events', { events: [] }, /Missing value for required parameter 'events'/],
    ['an unknown entity', { events: [event('EXPERIMENT', 'CREATED')] }, /'events\[0\]\.entity'/],
    ['an unknown action', { events: [event('MODEL_VERSION', 'EXPLODED')] }, /'events\[0\]\.action'/],
    [
      'a pair MLflow does not define',
      { events: [event('REGISTERED_MODEL', 'DELETED')] },
      /Invalid action 'deleted' for entity 'registered_model'. Valid actions are: \['created'\]/,
    ],
    ['an unknown status', { status: 'PAUSED' }, /'status'/],
    ['a secret over 1,000 characters', { secret: 's'.repeat(1001) }, /secret is 1001 characters long/],
    ['a description over 1,000 characters', { description: 'd'.repeat(1001) }, /description is 1001/],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what}`, async () => {
      const answer = await createWebhook({ ...valid, ...change });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(answer.body.message).toMatch(message);
      expect((await api.request('GET', WEBHOOKS)).body.webhooks).toBeUndefined();
    });
  }

  it('keeps at most 100 webhooks: the 101st is refused until one is deleted', async () => {
    const make = (i: number) =>
      createWebhook({
        name: `hook-${i}`,
        url: 'https://example.com/h',
        events: [event('MODEL_VERSION', 'CREATED')],
      });
    let last: Json = {};
    for (let i = 0; i < 100; i++) {
      const answer = await make(i);
      expect(answer.status, answer.text).toBe(200);
      last = answer.body.webhook as Json;
    }
    const refused = await make(100);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: 'There are already 100 webhooks, the most Cairn keeps; delete one first.',
    });
    await api.request('DELETE', `${WEBHOOKS}/${last.webhook_id}`);
    expect((await make(101)).status).toBe(200);
  });

  it('refuses a bad URL on update and leaves the webhook as it was', async () => {
    const created = (await createWebhook(valid)).body.webhook as Json;
    const path = `${WEBHOOKS}/${created.webhook_id}`;
    for (const url of ['   ', 'ftp://example.com', 'http://[invalid']) {
      const answer = await api.request('PATCH', path, { json: { url, name: 'renamed' } });
      expect(answer.status, answer.text).toBe(400);
    }
    expect((await api.request('GET', path)).body.webhook).toEqual(created);
  });

  it('refuses max_results outside 1 to 1,000 and a page token it did not issue', async () => {
    for (const max of ['0', '1001']) {
      const answer = await api.request('GET', `${WEBHOOKS}?max_results=${max}`);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toBe('max_results must be between 1 and 1000.');
    }
    const token = await api.request('GET', `${WEBHOOKS}?page_token=bogus`);
    expect(token.status).toBe(400);
    expect(token.body.message).toMatch(/Invalid page token/);
  });
});

describe('deliveries', () => {
  it('delivers model_version.created to a subscribed webhook, signed as MLflow signs it', async () => {
    const secret = 'test-secret-key';
    const hook = await createWebhook({
      name: 'secure',
      url: receiver.url('/secure-webhook'),
      events: [event('MODEL_VERSION', 'CREATED'), event('REGISTERED_MODEL', 'CREATED')],
      secret,
    });
    expect(hook.status, hook.text).toBe(200);
    await api.post('registered-models/create', { name: 'delivered-model', tags: [{ key: 't', value: 'v' }] });
    await api.post('model-versions/create', {
      name: 'delivered-model',
      source: 's3://bucket/path/model',
      description: 'First',
    });
    const [created, version] = await receiver.until(2);
    expect(created?.path).toBe('/secure-webhook');
    for (const received of [created, version] as Received[]) {
      expect(received.headers['content-type']).toBe('application/json');
      expect(received.headers['x-mlflow-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(received.headers['x-mlflow-timestamp']).toMatch(/^\d{10}$/);
      expect(verify(secret, received)).toBe(true);
      expect(verify('another-secret', received)).toBe(false);
    }
    const models = [created, version].map((received) => JSON.parse((received as Received).body));
    // Both events happen in order, but two deliveries may overtake each other: find each by name.
    const modelCreated = models.find((body) => body.entity === 'registered_model');
    const versionCreated = models.find((body) => body.entity === 'model_version');
    expect(modelCreated).toMatchObject({
      action: 'created',
      data: { name: 'delivered-model', tags: { t: 'v' }, description: '' },
    });
    expect(modelCreated.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(versionCreated).toEqual({
      entity: 'model_version',
      action: 'created',
      timestamp: expect.any(String),
      data: {
        name: 'delivered-model',
        version: '1',
        source: 's3://bucket/path/model',
        run_id: null,
        tags: {},
        description: 'First',
      },
    });
    // Python's json.dumps spacing, as MLflow sends it.
    expect(version?.body.startsWith('{"entity": "')).toBe(true);
  });

  it('delivers tag and alias events, and nothing to a disabled webhook or for an event not subscribed', async () => {
    await api.post('registered-models/create', { name: 'tagged-model' });
    await api.post('model-versions/create', { name: 'tagged-model', source: 's3://bucket/m' });
    const disabled = await createWebhook({
      name: 'disabled',
      url: receiver.url('/disabled'),
      events: [event('MODEL_VERSION_TAG', 'SET')],
      status: 'DISABLED',
    });
    expect(disabled.status).toBe(200);
    await createWebhook({
      name: 'unsigned',
      url: receiver.url('/unsigned'),
      events: [
        event('MODEL_VERSION_TAG', 'SET'),
        event('MODEL_VERSION_TAG', 'DELETED'),
        event('MODEL_VERSION_ALIAS', 'CREATED'),
        event('MODEL_VERSION_ALIAS', 'DELETED'),
      ],
    });
    const steps: [string, string, Json][] = [
      ['POST', 'model-versions/set-tag', { name: 'tagged-model', version: '1', key: 'k', value: 'v' }],
      ['DELETE', 'model-versions/delete-tag', { name: 'tagged-model', version: '1', key: 'k' }],
      ['POST', 'registered-models/alias', { name: 'tagged-model', alias: 'champion', version: '1' }],
      ['DELETE', 'registered-models/alias', { name: 'tagged-model', alias: 'champion' }],
      // Not subscribed: a registered model's own tag (only a prompt's is an event).
      ['POST', 'registered-models/set-tag', { name: 'tagged-model', key: 'k', value: 'v' }],
    ];
    const bodies: Json[] = [];
    for (const [index, [method, endpoint, json]] of steps.entries()) {
      const answer = await api.request(method, `/api/2.0/mlflow/${endpoint}`, { json });
      expect(answer.status, answer.text).toBe(200);
      // One at a time, so that the order received is the order written.
      if (index < 4) bodies.push(JSON.parse(((await receiver.until(index + 1))[index] as Received).body));
    }
    expect(bodies.map((body) => [`${body.entity}.${body.action}`, body.data])).toEqual([
      ['model_version_tag.set', { name: 'tagged-model', version: '1', key: 'k', value: 'v' }],
      ['model_version_tag.deleted', { name: 'tagged-model', version: '1', key: 'k' }],
      ['model_version_alias.created', { name: 'tagged-model', alias: 'champion', version: '1' }],
      ['model_version_alias.deleted', { name: 'tagged-model', alias: 'champion' }],
    ]);
    expect(receiver.received.every((received) => received.path === '/unsigned')).toBe(true);
    expect(receiver.received.every((received) => received.headers['x-mlflow-signature'] === undefined)).toBe(
      true,
    );
    // A later delivery, to another webhook, arrives after anything the earlier writes sent: had the
    // model tag or the disabled webhook been delivered, it would be among what came before the marker.
    await createWebhook({
      name: 'marker',
      url: receiver.url('/marker'),
      events: [event('MODEL_VERSION', 'CREATED')],
    });
    await api.post('model-versions/create', { name: 'tagged-model', source: 's3://bucket/m2' });
    const all = await receiver.until(5);
    expect(all.map((received) => received.path)).toEqual([
      '/unsigned',
      '/unsigned',
      '/unsigned',
      '/unsigned',
      '/marker',
    ]);
  });

  it('sends prompt events for a prompt, as MLflow does', async () => {
    await createWebhook({
      name: 'prompts',
      url: receiver.url('/prompts'),
      events: [event('PROMPT', 'CREATED'), event('PROMPT_VERSION', 'CREATED')],
    });
    const model = await api.post('registered-models/create', {
      name: 'greeting',
      tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
    });
    expect(model.status, model.text).toBe(200);
    await receiver.until(1);
    const version = await api.post('model-versions/create', {
      name: 'greeting',
      source: 's3://bucket/prompts/greeting',
      tags: [
        { key: 'mlflow.prompt.is_prompt', value: 'true' },
        { key: 'mlflow.prompt.text', value: 'Hello {{name}}!' },
        { key: 'team', value: 'a' },
      ],
    });
    expect(version.status, version.text).toBe(200);
    const [prompt, promptVersion] = (await receiver.until(2)).map((received) => JSON.parse(received.body));
    expect(prompt).toMatchObject({
      entity: 'prompt',
      action: 'created',
      data: { name: 'greeting', tags: {} },
    });
    expect(promptVersion).toMatchObject({
      entity: 'prompt_version',
      action: 'created',
      data: {
        name: 'greeting',
        version: '1',
        template: 'Hello {{name}}!',
        tags: { team: 'a' },
        description: null,
      },
    });
  });

  it('retries a delivery the receiver answered 500, with the same delivery id', async () => {
    receiver.answer('/flaky', 500);
    await createWebhook({
      name: 'flaky',
      url: receiver.url('/flaky'),
      events: [event('REGISTERED_MODEL', 'CREATED')],
    });
    await api.post('registered-models/create', { name: 'flaky-model' });
    const [first, second] = await receiver.until(2);
    expect(second?.headers['x-mlflow-delivery-id']).toBe(first?.headers['x-mlflow-delivery-id']);
    expect(second?.body).toBe(first?.body);
  });
});

describe('the test endpoint', () => {
  it("sends MLflow's example payload for the event asked (or the first) and reports the answer", async () => {
    const created = (
      await createWebhook({
        name: 'tested',
        url: receiver.url('/tested'),
        events: [event('MODEL_VERSION_ALIAS', 'CREATED'), event('MODEL_VERSION', 'CREATED')],
        secret: 's3cret',
      })
    ).body.webhook as Json;
    const path = `${WEBHOOKS}/${created.webhook_id}/test`;
    const first = await api.request('POST', path, { json: {} });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({
      result: { success: true, response_status: 200, response_body: '{"status":"received"}' },
    });
    const sent = receiver.received[0] as Received;
    expect(verify('s3cret', sent)).toBe(true);
    expect(JSON.parse(sent.body)).toMatchObject({
      entity: 'model_version_alias',
      action: 'created',
      data: { name: 'example_model', alias: 'example_alias', version: '1' },
    });

    receiver.answer('/tested', 404);
    const other = await api.request('POST', path, { json: { event: event('REGISTERED_MODEL', 'CREATED') } });
    expect(other.body).toEqual({
      result: { success: false, response_status: 404, response_body: '{"status":"refused"}' },
    });
    expect(JSON.parse((receiver.received[1] as Received).body).data).toEqual({
      name: 'example_model',
      tags: { example_key: 'example_value' },
      description: 'An example registered model',
    });
  });

  it('reports a receiver that cannot be reached as a failed result, not an error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const created = (
      await createWebhook({
        name: 'unreachable',
        url: `http://127.0.0.1:${port}/gone`,
        events: [event('MODEL_VERSION', 'CREATED')],
      })
    ).body.webhook as Json;
    const answer = await api.request('POST', `${WEBHOOKS}/${created.webhook_id}/test`, { json: {} });
    expect(answer.status).toBe(200);
    expect(answer.body.result).toMatchObject({ success: false });
    expect((answer.body.result as Json).error_message).toMatch(/^Failed to test webhook: .*ECONNREFUSED/);
  });
});

describe('one delivery attempt, against a receiver on loopback', () => {
  const message: WebhookDeliveryMessage = {
    entity: 'model_version',
    action: 'created',
    timestamp: 0,
    payload: {},
    webhookId: 'w',
    deliveryId: 'd',
  };
  const request = deliveryRequest(message, undefined, 0);
  const open = { policy: { allowedSchemes: ['http'], allowPrivateNetworks: true }, timeoutMs: 10_000 };

  it('refuses a loopback literal when private targets are not allowed, before connecting', async () => {
    const outcome = await postDelivery(receiver.url('/never'), request, {
      ...open,
      policy: { allowedSchemes: ['http'], allowPrivateNetworks: false },
    });
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/non-public IP address/) });
    const named = await postDelivery(receiver.url('/never').replace('127.0.0.1', 'localhost'), request, {
      ...open,
      policy: { allowedSchemes: ['http'], allowPrivateNetworks: false },
    });
    expect(named).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/non-public IP address/) });
    expect(receiver.received).toEqual([]);
  });

  it('does not follow a redirect, and does not retry it', async () => {
    receiver.answer('/moved', 302);
    expect(await postDelivery(receiver.url('/moved'), request, open)).toMatchObject({
      kind: 'failed',
      status: 302,
      reason: expect.stringMatching(/do not follow redirects/),
    });
  });

  it('gives up on a receiver that never finishes answering, as one to retry', async () => {
    const silent = createServer((_request, response) => response.writeHead(200));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const outcome = await postDelivery(`http://127.0.0.1:${port}/slow`, request, {
        ...open,
        timeoutMs: 200,
      });
      expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/No complete answer/) });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

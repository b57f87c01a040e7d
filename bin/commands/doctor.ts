/**
 * `cairn doctor`: the check to run right after `cdk deploy` (or against any Cairn URL). It makes the
 * calls a training job makes, in the order it makes them, over plain HTTP as the stock client does:
 * health, a request without a token (must be refused), experiment → run → log-batch → history → search →
 * a small upload → a multipart upload through presigned part URLs (what MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD
 * does) → downloads through the 307 → a registered model with a version and an alias. What it creates
 * it deletes again, also after a failure. Each step prints ✓ or ✗ with its time, and each ✗ the likely
 * fix, because the person reading it has just deployed and does not yet know where things live.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { issueToken } from '../../shared/auth/issue.js';
import { type Scope, scopeAllows } from '../../shared/auth/scopes.js';
import { readStackOutputs, TRACKING_URI_OUTPUT } from '../stack-outputs.js';
import { reportFailure } from '../target.js';
import { type OpenTokenStore, openStackTokenStore } from '../token-stores.js';
import { UsageError, usage } from '../usage.js';

/** S3's smallest part but the last: the multipart step uploads one full part and one small one. */
export const DOCTOR_PART_BYTES = 5 * 1024 * 1024;
/** AWS refuses SigV4 signatures more than 15 minutes off; warn well before that. */
export const CLOCK_SKEW_LIMIT_MS = 5 * 60 * 1000;

export type StepStatus = 'ok' | 'failed' | 'skipped';

export interface StepResult {
  name: string;
  status: StepStatus;
  ms: number;
  detail: string;
  fix?: string;
}

export interface DoctorTarget {
  url: string;
  /** The Authorization header value, if any. */
  authorization?: string;
  /** A deployed stack always requires a token; a local server does only under --auth. */
  authRequired: boolean;
  /** How to name the target in fixes (`--stack CairnApi`, `--data-dir DIR`), for token commands. */
  tokenTarget: string;
}

/** A step's failure with what to do about it. */
class StepFailure extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** A step that cannot run because one it needs failed. */
class Skipped extends Error {}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

/**
 * Seconds the server's clock is ahead (+) or behind (−) this machine's, from its Date header and the
 * request's send and receive times; undefined without a usable header. Date has one-second resolution,
 * so differences within the round trip plus a second are no skew.
 */
export function clockSkewMs(
  dateHeader: string | null,
  sentAt: number,
  receivedAt: number,
): number | undefined {
  if (!dateHeader) return undefined;
  const server = Date.parse(dateHeader);
  if (Number.isNaN(server)) return undefined;
  if (server >= sentAt - 1000 && server <= receivedAt) return 0;
  return server < sentAt - 1000 ? server - (sentAt - 1000) : server - receivedAt;
}

/** The likely fix for an answer of the API (not of S3) that was not the expected one. */
export function apiFix(
  status: number,
  text: string,
  target: Pick<DoctorTarget, 'authorization' | 'tokenTarget'>,
) {
  const create = `npx cairn token create --name NAME --scope write ${target.tokenTarget}`.trimEnd();
  if (status === 401) {
    return target.authorization
      ? 'The server did not accept the Authorization header: pass the whole cairn_<name>_<secret> token with --token or MLFLOW_TRACKING_TOKEN.'
      : `The server requires a token: pass --token or set MLFLOW_TRACKING_TOKEN (create one: ${create}).`;
  }
  if (status === 403 && /PERMISSION_DENIED/.test(text)) {
    return `The token's scope is too small for this call (read cannot log or upload): use a write token (${create}), or admin for promotion policies.`;
  }
  if (status === 403) {
    return (
      `The token was refused: unknown, mistyped, expired or revoked (a revocation takes up to 5 minutes to apply). See npx cairn token list ${target.tokenTarget}`.trimEnd() +
      `, or create one: ${create}.`
    );
  }
  if (status === 404 && /ENDPOINT_NOT_FOUND|Not Found/i.test(text)) {
    return 'The URL answers, but not as this version of Cairn: check the URL (the TrackingUri output, no trailing path) and redeploy with npx cdk deploy --all.';
  }
  if (status === 413) {
    return 'The request was too large for the API: larger files must go through multipart (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true; see npx cairn env).';
  }
  if (status === 429)
    return 'The API throttled the request (cairn:throttleRateLimit); try again in a moment.';
  if (status >= 500) {
    return "The server failed: on AWS the function's log group (/aws/lambda/CairnApi-…) and the 5xx alarm have the details; locally the server's output.";
  }
  return undefined;
}

/** The likely fix for a presigned S3 request that failed. */
export function s3Fix(status: number, text: string): string | undefined {
  if (/RequestTimeTooSkewed|Request has expired|expired/i.test(text)) {
    return "The presigned URL was refused as expired: the signer's clock and S3's disagree, or the URL outlived cairn:presignExpiresSeconds. Sync clocks (timedatectl set-ntp true) and retry.";
  }
  if (status === 301 || /PermanentRedirect|AuthorizationHeaderMalformed|region/i.test(text)) {
    return 'S3 answered for another Region: the bucket and the functions must be in the same Region; redeploy both stacks with the same --region / AWS_REGION.';
  }
  if (/SignatureDoesNotMatch/.test(text)) {
    return 'S3 refused the signature: something between this machine and S3 changed the request (a proxy rewriting headers or the Host), or the functions sign with another Region.';
  }
  if (/AccessDenied/.test(text)) {
    return "S3 refused the request: the artifacts function's role lacks the bucket (redeploy), or a bucket policy or VPC endpoint policy blocks presigned URLs.";
  }
  return undefined;
}

function networkFix(error: unknown, url: string): string {
  const code = String((error as { cause?: { code?: string } }).cause?.code ?? '');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `No such host: check the URL (${url}); for a stack, the TrackingUri output of the Region it is deployed in (--region).`;
  }
  if (code === 'ECONNREFUSED')
    return `Nothing listens at ${url}: start the server (npm start) or check the port.`;
  if (/certificate|CERT/i.test(code))
    return 'The TLS certificate was refused: check the URL or a proxy in between.';
  return `Could not reach ${url}: check the URL, the network and any proxy (HTTPS_PROXY).`;
}

class Client {
  constructor(readonly target: DoctorTarget) {}

  async call(
    method: string,
    path: string,
    options: { json?: unknown; body?: Uint8Array; auth?: boolean; expect?: number[] } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.auth !== false && this.target.authorization)
      headers.authorization = this.target.authorization;
    let body: string | Uint8Array | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (body !== undefined) {
      headers['content-type'] = 'application/octet-stream';
    }
    let response: Response;
    try {
      response = await fetch(`${this.target.url}${path}`, { method, headers, body, redirect: 'manual' });
    } catch (error) {
      throw new StepFailure(
        `${method} ${path}: ${(error as Error).message}`,
        networkFix(error, this.target.url),
      );
    }
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // Not JSON (an HTML error page, S3's XML): kept as text for the message.
    }
    const expected = options.expect ?? [200];
    if (!expected.includes(response.status)) {
      throw new StepFailure(
        `${method} ${path.split('?')[0]} answered ${response.status}: ${text.slice(0, 200)}`,
        apiFix(response.status, text, this.target),
      );
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  post(endpoint: string, json: unknown) {
    return this.call('POST', `/api/2.0/mlflow/${endpoint}`, { json });
  }

  get(endpoint: string, query: Record<string, string>) {
    return this.call('GET', `/api/2.0/mlflow/${endpoint}?${new URLSearchParams(query)}`);
  }
}

/** A presigned request straight to S3 (or the local front): no Authorization header, as the client sends. */
async function presigned(url: string, init: RequestInit, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new StepFailure(
      `${what}: ${(error as Error).message}`,
      `The presigned URL's host (${new URL(url).host}) is unreachable from here: a firewall or proxy must allow S3.`,
    );
  }
  if (!response.ok) {
    const text = await response.text();
    throw new StepFailure(
      `${what} answered ${response.status}: ${text.slice(0, 200)}`,
      s3Fix(response.status, text),
    );
  }
  return response;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');
const ARTIFACTS = '/api/2.0/mlflow-artifacts';

/** Runs every step against `target`, then cleans up; the results in order, cleanup last. */
export async function runDoctor(target: DoctorTarget): Promise<StepResult[]> {
  const client = new Client(target);
  const results: StepResult[] = [];
  const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
  const nonce = `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;

  const step = async <T>(name: string, work: () => Promise<{ value: T; detail: string }>) => {
    const started = performance.now();
    try {
      const { value, detail } = await work();
      results.push({ name, status: 'ok', ms: Math.round(performance.now() - started), detail });
      return value;
    } catch (error) {
      const ms = Math.round(performance.now() - started);
      if (error instanceof Skipped) {
        results.push({ name, status: 'skipped', ms: 0, detail: error.message });
      } else if (error instanceof StepFailure) {
        results.push({
          name,
          status: 'failed',
          ms,
          detail: error.message,
          ...(error.fix ? { fix: error.fix } : {}),
        });
      } else {
        results.push({
          name,
          status: 'failed',
          ms,
          detail: error instanceof Error ? error.message : String(error),
        });
      }
      return undefined;
    }
  };
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Skipped(`skipped: needs ${what}`);
    return value;
  };

  const health = await step('health', async () => {
    const sentAt = Date.now();
    const answer = await client.call('GET', '/health', { auth: false });
    return {
      value: { answer, sentAt, receivedAt: Date.now() },
      detail: `${answer.status} ${answer.text.trim()}`,
    };
  });

  await step('clock', async () => {
    const { answer, sentAt, receivedAt } = need(health, 'health');
    const skew = clockSkewMs(answer.headers.get('date'), sentAt, receivedAt);
    if (skew === undefined) return { value: undefined, detail: 'no Date header to compare with' };
    const seconds = Math.round(skew / 1000);
    if (Math.abs(skew) > CLOCK_SKEW_LIMIT_MS) {
      throw new StepFailure(
        `the server's clock is ${Math.abs(seconds)} s ${seconds > 0 ? 'ahead of' : 'behind'} this machine's`,
        "Sync this machine's clock (timedatectl set-ntp true, or chrony): AWS refuses requests signed more than 15 minutes off (cdk deploy, cairn token --stack), and presigned URLs a skewed signer makes expire early or late.",
      );
    }
    return { value: undefined, detail: `within ${Math.max(1, Math.abs(seconds))} s of this machine's` };
  });

  await step('refuses requests without a token', async () => {
    need(health, 'health');
    const answer = await client.call('GET', '/api/2.0/mlflow/experiments/search?max_results=1', {
      auth: false,
      expect: [200, 401, 403],
    });
    if (answer.status !== 200) return { value: undefined, detail: `${answer.status} without a token` };
    if (target.authRequired || target.authorization) {
      throw new StepFailure(
        'the API answered 200 to a request without a token',
        'Anyone who can reach this URL can read and write: on AWS redeploy the stack from this version (every route but /health has the authorizer); locally start the server with --auth.',
      );
    }
    throw new Skipped('skipped: this server requires no token (a local server without --auth)');
  });

  const experimentId = await step('create experiment', async () => {
    need(health, 'health');
    const name = `cairn-doctor-${nonce}`;
    const answer = await client.post('experiments/create', { name });
    const id = String(answer.json.experiment_id);
    cleanups.push({
      what: `experiment ${id}`,
      run: () => client.post('experiments/delete', { experiment_id: id }),
    });
    return { value: id, detail: `${name} (id ${id})` };
  });

  const run = await step('create run', async () => {
    const experiment = need(experimentId, 'the experiment');
    const answer = await client.post('runs/create', {
      experiment_id: experiment,
      run_name: 'doctor',
      start_time: Date.now(),
      tags: [{ key: 'mlflow.source.name', value: 'cairn doctor' }],
    });
    const info = (answer.json.run as { info: { run_id: string; artifact_uri: string } }).info;
    cleanups.push({
      what: `run ${info.run_id}`,
      run: () => client.post('runs/delete', { run_id: info.run_id }),
    });
    return { value: info, detail: info.run_id };
  });

  const POINTS = 100;
  const logged = await step('log-batch', async () => {
    const { run_id } = need(run, 'the run');
    const timestamp = Date.now();
    await client.post('runs/log-batch', {
      run_id,
      metrics: Array.from({ length: POINTS }, (_, step) => ({
        key: 'loss',
        value: 1 / (step + 1),
        timestamp,
        step,
      })),
      params: [{ key: 'doctor', value: nonce }],
      tags: [{ key: 'cairn.doctor', value: 'true' }],
    });
    return { value: true, detail: `${POINTS} points, 1 param, 1 tag` };
  });

  await step('read metric history', async () => {
    const { run_id } = need(run, 'the run');
    need(logged, 'the logged metrics');
    const answer = await client.get('metrics/get-history', { run_id, metric_key: 'loss' });
    const metrics = (answer.json.metrics as { step: number; value: number }[] | undefined) ?? [];
    const steps = new Set(metrics.map((metric) => metric.step));
    if (metrics.length !== POINTS || steps.size !== POINTS) {
      throw new StepFailure(`read ${metrics.length} points back, ${POINTS} were logged`);
    }
    return { value: undefined, detail: `${metrics.length} points` };
  });

  await step('search runs', async () => {
    const experiment = need(experimentId, 'the experiment');
    const { run_id } = need(run, 'the run');
    need(logged, 'the logged param');
    // The run listing is an index, and DynamoDB's indexes are eventually consistent: a run written a
    // moment ago may take a second to show, as it would for the client.
    for (let attempt = 0; ; attempt++) {
      const answer = await client.post('runs/search', {
        experiment_ids: [experiment],
        filter: `params.doctor = '${nonce}'`,
      });
      const runs = (answer.json.runs as { info: { run_id: string } }[] | undefined) ?? [];
      if (runs.some((found) => found.info.run_id === run_id)) {
        return {
          value: undefined,
          detail: `found the run by params.doctor${attempt ? ` (attempt ${attempt + 1})` : ''}`,
        };
      }
      if (attempt >= 10)
        throw new StepFailure(`the run is not in the search results after ${attempt + 1} attempts`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });

  const root = run?.artifact_uri.replace(/^mlflow-artifacts:\/*/, '');
  const folder = root === undefined ? undefined : `${root}/doctor`;
  if (folder !== undefined) {
    // Registered before the uploads, so a failed upload is cleaned up too; deleting nothing is fine.
    cleanups.push({
      what: 'artifacts',
      run: () =>
        client.call('DELETE', `${ARTIFACTS}/artifacts/${encodePath(folder)}`, { expect: [200, 404] }),
    });
  }

  const small = await step('upload a small artifact', async () => {
    const path = `${need(folder, 'the run')}/small.txt`;
    const bytes = new Uint8Array(Buffer.from(`cairn doctor ${nonce}\n`.repeat(32)));
    await client.call('PUT', `${ARTIFACTS}/artifacts/${encodePath(path)}`, { body: bytes });
    return { value: { path, bytes }, detail: `${bytes.length} bytes through the API` };
  });

  const multipart = await step('multipart upload', async () => {
    const dir = need(folder, 'the run');
    const bytes = new Uint8Array(randomBytes(DOCTOR_PART_BYTES + 64 * 1024));
    const parts = Math.ceil(bytes.length / DOCTOR_PART_BYTES);
    // As the stock client sends it: the local file's path in the body, the directory in the URL.
    const localPath = '/tmp/cairn-doctor/model.bin';
    const created = await client.call('POST', `${ARTIFACTS}/mpu/create/${encodePath(dir)}`, {
      json: { path: localPath, num_parts: parts },
    });
    const uploadId = String(created.json.upload_id);
    const credentials = created.json.credentials as {
      url: string;
      part_number: number;
      headers?: Record<string, string>;
    }[];
    let completed = false;
    try {
      const etags = [];
      for (const credential of credentials) {
        const chunk = bytes.subarray(
          (credential.part_number - 1) * DOCTOR_PART_BYTES,
          credential.part_number * DOCTOR_PART_BYTES,
        );
        const response = await presigned(
          credential.url,
          { method: 'PUT', headers: credential.headers ?? {}, body: chunk },
          `PUT part ${credential.part_number} to its presigned URL`,
        );
        etags.push({ part_number: credential.part_number, etag: response.headers.get('etag') ?? '' });
      }
      await client.call('POST', `${ARTIFACTS}/mpu/complete/${encodePath(dir)}`, {
        json: { path: localPath, upload_id: uploadId, parts: etags },
      });
      completed = true;
    } finally {
      if (!completed) {
        await client
          .call('POST', `${ARTIFACTS}/mpu/abort/${encodePath(dir)}`, {
            json: { path: localPath, upload_id: uploadId },
          })
          .catch(() => undefined);
      }
    }
    return {
      value: { path: `${dir}/model.bin`, bytes },
      detail: `${(bytes.length / 1024 / 1024).toFixed(1)} MB in ${parts} parts straight to storage`,
    };
  });

  await step('download through the 307', async () => {
    const files = [small, multipart].filter((file) => file !== undefined);
    if (files.length === 0) throw new Skipped('skipped: needs an uploaded file');
    for (const file of files) {
      const first = await client.call('GET', `${ARTIFACTS}/artifacts/${encodePath(file.path)}`, {
        expect: [307],
      });
      const location = first.headers.get('location');
      if (!location) throw new StepFailure('the 307 carried no Location');
      const response = await presigned(location, {}, 'GET the presigned download URL');
      const got = new Uint8Array(await response.arrayBuffer());
      if (sha256(got) !== sha256(file.bytes)) {
        throw new StepFailure(
          `${file.path}: ${got.length} bytes came back, not the ${file.bytes.length} uploaded`,
        );
      }
    }
    return { value: undefined, detail: `${files.length} file${files.length === 1 ? '' : 's'}, bytes equal` };
  });

  await step('registry: model, version, alias', async () => {
    const { run_id } = need(run, 'the run');
    const name = `cairn-doctor-${nonce}`;
    await client.post('registered-models/create', { name });
    cleanups.unshift({
      what: `model ${name}`,
      run: () => client.call('DELETE', '/api/2.0/mlflow/registered-models/delete', { json: { name } }),
    });
    // A path with no files: registering seals its source, and the upload folder must stay deletable.
    const version = await client.post('model-versions/create', {
      name,
      source: `runs:/${run_id}/doctor-model`,
      run_id,
    });
    const number = String((version.json.model_version as { version: string }).version);
    await client.post('registered-models/alias', { name, alias: 'doctor', version: number });
    const byAlias = await client.get('registered-models/alias', { name, alias: 'doctor' });
    const got = (byAlias.json.model_version as { version?: string } | undefined)?.version;
    if (String(got) !== number)
      throw new StepFailure(`alias 'doctor' points at version ${got}, not ${number}`);
    return { value: undefined, detail: `${name} v${number} @doctor` };
  });

  const started = performance.now();
  const cleanupFailures: string[] = [];
  let cleanupFix: string | undefined;
  // The model before the run it points at, the run's files before the run, the experiment last.
  for (const cleanup of cleanups.sort((a, b) => cleanupOrder(a.what) - cleanupOrder(b.what))) {
    try {
      await cleanup.run();
    } catch (error) {
      cleanupFailures.push(`${cleanup.what}: ${(error as Error).message}`);
      cleanupFix ??= error instanceof StepFailure ? error.fix : undefined;
    }
  }
  const ms = Math.round(performance.now() - started);
  if (cleanups.length === 0) {
    results.push({ name: 'cleanup', status: 'skipped', ms: 0, detail: 'nothing was created' });
  } else if (cleanupFailures.length > 0) {
    results.push({
      name: 'cleanup',
      status: 'failed',
      ms,
      detail: cleanupFailures.join('; '),
      fix: cleanupFix ?? `Delete what is left by hand: experiments and models named cairn-doctor-${nonce}.`,
    });
  } else {
    results.push({
      name: 'cleanup',
      status: 'ok',
      ms,
      detail: `deleted the ${cleanups.map((c) => c.what.split(' ')[0]).join(', ')} (run and experiment soft-deleted, as MLflow does)`,
    });
  }
  return results;
}

function cleanupOrder(what: string): number {
  return ['model', 'artifacts', 'run', 'experiment'].findIndex((prefix) => what.startsWith(prefix));
}

/** The table the command prints: one line per step, and the fix under each ✗. */
export function renderResults(results: StepResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  const mark = { ok: '✓', failed: '✗', skipped: '-' } as const;
  const lines: string[] = [];
  for (const result of results) {
    const ms = result.status === 'skipped' ? '' : `${result.ms} ms`;
    lines.push(`${mark[result.status]} ${result.name.padEnd(width)}  ${ms.padStart(8)}  ${result.detail}`);
    if (result.fix) lines.push(`  ${' '.repeat(width)}  ${' '.repeat(8)}  fix: ${result.fix}`);
  }
  const failed = results.filter((result) => result.status === 'failed').length;
  lines.push('');
  lines.push(failed === 0 ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`);
  return lines.join('\n');
}

function authorizationFrom(token: string | undefined): string | undefined {
  if (token) return `Bearer ${token}`;
  const user = process.env.MLFLOW_TRACKING_USERNAME;
  const password = process.env.MLFLOW_TRACKING_PASSWORD;
  if (user && password) return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return undefined;
}

/** A token that exists in the stack's table: checked without its secret (which is never stored). */
export async function checkNamedToken(
  store: OpenTokenStore,
  name: string,
  needed: Scope,
): Promise<StepResult> {
  const started = performance.now();
  const record = await store.tokens.get(name);
  const ms = Math.round(performance.now() - started);
  const create = `npx cairn token create --name ${name} --scope ${needed} --stack STACK`;
  if (!record) {
    return {
      name: `token '${name}'`,
      status: 'failed',
      ms,
      detail: 'no such token (or revoked)',
      fix: `Create it: ${create}.`,
    };
  }
  if (record.expires !== undefined && record.expires <= Date.now()) {
    return {
      name: `token '${name}'`,
      status: 'failed',
      ms,
      detail: `expired ${new Date(record.expires).toISOString()}`,
      fix: `Revoke it and create it again: npx cairn token revoke ${name} --stack STACK; ${create}.`,
    };
  }
  if (!scopeAllows(record.scope, needed)) {
    return {
      name: `token '${name}'`,
      status: 'failed',
      ms,
      detail: `scope ${record.scope}: a training job needs ${needed}`,
      fix: `Create a ${needed} token for the job: ${create.replace(`--name ${name}`, `--name ${name}-${needed}`)}.`,
    };
  }
  return {
    name: `token '${name}'`,
    status: 'ok',
    ms,
    detail: `scope ${record.scope}, ${record.expires === undefined ? 'never expires' : `expires ${new Date(record.expires).toISOString().slice(0, 10)}`}`,
  };
}

export async function doctor(args: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
    if (values.help) return usage(0);
    if ((values.url === undefined) === (values.stack === undefined)) {
      throw new UsageError('give either --url or --stack');
    }
    if (values.region !== undefined && values.stack === undefined)
      throw new UsageError('--region goes with --stack');
    if (values['token-name'] !== undefined && values.stack === undefined) {
      throw new UsageError('--token-name goes with --stack');
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cairn: ${error.message}\n`);
      return usage(2, 'doctor');
    }
    throw error;
  }
  try {
    return values.stack === undefined
      ? await check({
          url: stripSlash(values.url as string),
          authorization: authorizationFrom(values.token ?? process.env.MLFLOW_TRACKING_TOKEN),
          authRequired: false,
          // A local server's tokens live in its data directory: without it, `token create` would make a
          // fresh ./cairn-data whose token the running server never sees.
          tokenTarget: "--data-dir <the server's --data-dir>",
        })
      : await checkStack(values.stack, values.region, values.token, values['token-name']);
  } catch (error) {
    return reportFailure(error);
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      'token-name': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

const stripSlash = (url: string) => url.replace(/\/+$/, '');

async function check(target: DoctorTarget, before: StepResult[] = []): Promise<number> {
  console.log(`cairn doctor: ${target.url}\n`);
  const results = [...before, ...(await runDoctor(target))];
  console.log(renderResults(results));
  return results.some((result) => result.status === 'failed') ? 1 : 0;
}

/**
 * A deployed stack: the URL from its outputs. Without a token given, a short-lived write token is made in
 * the stack's table for the check and revoked after it, so the check needs only the deployer's AWS access.
 */
async function checkStack(
  stack: string,
  region: string | undefined,
  token: string | undefined,
  tokenName?: string,
) {
  const { outputs, region: resolved } = await readStackOutputs(stack, region);
  const url = stripSlash(outputs[TRACKING_URI_OUTPUT] as string);
  const tokenTarget = `--stack ${stack}${region ? ` --region ${region}` : ''}`;
  const given = token ?? process.env.MLFLOW_TRACKING_TOKEN;
  const before: StepResult[] = [];
  const needStore = given === undefined || tokenName !== undefined;
  const store = needStore ? await openStackTokenStore(stack, region) : undefined;
  let temporary: string | undefined;
  try {
    if (store && tokenName !== undefined) {
      const checked = await checkNamedToken(store, tokenName, 'write');
      if (checked.fix) checked.fix = checked.fix.replaceAll('--stack STACK', tokenTarget);
      before.push(checked);
    }
    let authorization = authorizationFrom(given);
    if (store && given === undefined && authorization === undefined) {
      temporary = `doctor-${randomBytes(4).toString('hex')}`;
      const issued = await issueToken(store.tokens, { name: temporary, scope: 'write', expiresInDays: 1 });
      authorization = `Bearer ${issued.token}`;
      console.log(`Using a temporary write token '${temporary}' (revoked when the check ends).`);
    }
    console.log(`Stack ${stack}${resolved ? ` in ${resolved}` : ''}`);
    return await check(
      { url, ...(authorization ? { authorization } : {}), authRequired: true, tokenTarget },
      before,
    );
  } finally {
    if (store && temporary) await store.tokens.revoke(temporary).catch(() => undefined);
    await store?.close();
  }
}

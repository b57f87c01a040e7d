/**
 * A valid request for every operation of the route table that touches an experiment or registered model,
 * for the permission matrix (test/integration/permissions-matrix.test.ts). Each builder seeds what its
 * request needs through `World` (as the admin token, over HTTP like any client) and answers the request
 * and the resource the route's check decides on.
 *
 * Seeding is lazy and shared: the experiment, its run, logged model, traces and the registered model are
 * made once and reused by every read and every repeatable write. A builder whose request uses up what it
 * acts on (deletes, restores, renames, completing an upload, ending a trace) makes its own copy per call,
 * so that every caller's request meets the same state whatever order the requests run in. Tag and param
 * keys carry the call's number for the same reason.
 */

import type { Route } from '../../shared/api/route-kit.js';
import type { ResourceKind } from '../../shared/auth/permissions.js';
import { newSpanHex, newTraceHex, otlpJson } from './otlp.js';

export interface MatrixResource {
  kind: ResourceKind;
  /** An experiment's id, a registered model's name. */
  id: string;
}

type Query = Record<string, string | string[]>;

/** What a builder answers; the method and the path's shape come from the route itself. */
export interface BuiltRequest {
  /** Values of the route's `{name}` segments; a greedy `{path+}` value goes out as written. */
  params?: Record<string, string>;
  query?: Query;
  json?: unknown;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** The experiment or registered model the route's check decides on. */
  resource: MatrixResource;
  /**
   * What the request names that leads to `resource` (`run '<id>'`): a refusal decided before the run is
   * looked up names that instead of the experiment, which the request does not name.
   */
  via?: string;
  /**
   * For a write: reads, as the admin, whether the request left its target as it was. Answers what changed,
   * or undefined. After a refusal it must answer undefined (a refused request does nothing); after an
   * allowed write it must not (else the probe proves nothing). Only builders whose target is their own (a
   * fresh resource or a key of their own) have one, since others' requests change the rest.
   */
  unchanged?: () => Promise<string | undefined>;
}

export interface RouteRequest extends Omit<BuiltRequest, 'params' | 'query'> {
  method: string;
  path: string;
}

export interface SentResponse {
  status: number;
  text: string;
  body: Record<string, unknown>;
  headers: Headers;
}

/** Sends `request` to `baseUrl` as the bearer of `token`; redirects are answers, not followed. */
export async function send(baseUrl: string, token: string, request: RouteRequest): Promise<SentResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...request.headers };
  let body = request.body;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers,
    body,
    redirect: 'manual',
  });
  const text = await response.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { raw: text };
  }
  const object = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  return { status: response.status, text, body: object, headers: response.headers };
}

/** The route's full path with its `{name}` segments filled in, and the query string. */
export function pathOf(route: Route, params: Record<string, string> = {}, query: Query = {}): string {
  const filled = route.fullPath.replace(/\{([A-Za-z_]+)(\+?)\}/g, (_, name: string, greedy: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${route.routeKey}: no value for {${name}${greedy}}`);
    return greedy ? value : encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, item);
  }
  const qs = search.toString();
  return qs ? `${filled}?${qs}` : filled;
}

interface RunRef {
  experimentId: string;
  runId: string;
}

interface LoggedModelRef {
  experimentId: string;
  modelId: string;
  /** Its artifact root as a proxied path: `<experiment>/models/<id>/artifacts`. */
  root: string;
}

interface TraceRef {
  experimentId: string;
  traceId: string;
}

interface RegisteredModelRef {
  name: string;
  version: string;
}

const MLMODEL = 'flavors: {}\n';

/**
 * The resources the requests act on, made on first use through the API as the admin token. Every
 * experiment and registered model made is listed (`experiments`, `models`) for the test's grants.
 */
export class World {
  readonly experiments: string[] = [];
  readonly models: string[] = [];
  private readonly memo = new Map<string, Promise<unknown>>();
  private counter = 0;

  constructor(
    readonly baseUrl: string,
    private readonly adminToken: string,
    /** Keeps names apart between worlds of one server. */
    readonly label: string,
  ) {}

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let made = this.memo.get(key) as Promise<T> | undefined;
    if (!made) {
      made = make();
      this.memo.set(key, made);
    }
    return made;
  }

  unique(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${this.label}-${this.counter}`;
  }

  /** Reads as the admin, whatever the answer (for the `unchanged` probes). */
  peek(path: string): Promise<SentResponse> {
    return send(this.baseUrl, this.adminToken, { method: 'GET', path, resource: NONE });
  }

  /** A probe that `path` answers `status` (200: still there, 404: still absent). */
  answers(path: string, status: number): () => Promise<string | undefined> {
    return async () => {
      const got = await this.peek(path);
      return got.status === status ? undefined : `GET ${path} answered ${got.status}, not ${status}`;
    };
  }

  /** A probe that the JSON at `path` still has `expected` at `pick`. */
  reads(path: string, pick: (body: Record<string, unknown>) => unknown, expected: unknown) {
    return async (): Promise<string | undefined> => {
      const got = await this.peek(path);
      let value: unknown;
      try {
        value = pick(got.body);
      } catch {
        value = undefined;
      }
      return JSON.stringify(value) === JSON.stringify(expected)
        ? undefined
        : `GET ${path} reads ${JSON.stringify(value)}, not ${JSON.stringify(expected)}`;
    };
  }

  /** Sends as the admin and insists on a 2xx: seeding that fails is the test's bug, not the server's answer. */
  async admin(
    method: string,
    path: string,
    options: { json?: unknown; body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<SentResponse> {
    const response = await send(this.baseUrl, this.adminToken, { method, path, ...options, resource: NONE });
    if (response.status < 200 || response.status > 299) {
      throw new Error(`seeding ${method} ${path} answered ${response.status}: ${response.text}`);
    }
    return response;
  }

  async newExperiment(): Promise<string> {
    const created = await this.admin('POST', '/api/2.0/mlflow/experiments/create', {
      json: { name: this.unique('matrix') },
    });
    const id = String(created.body.experiment_id);
    this.experiments.push(id);
    return id;
  }

  experiment(): Promise<string> {
    return this.once('experiment', () => this.newExperiment());
  }

  async experimentName(id: string): Promise<string> {
    const got = await this.admin('GET', `/api/2.0/mlflow/experiments/get?experiment_id=${id}`);
    return String((got.body.experiment as { name: string }).name);
  }

  async newRun(experimentId?: string): Promise<RunRef> {
    const experiment = experimentId ?? (await this.experiment());
    const created = await this.admin('POST', '/api/2.0/mlflow/runs/create', {
      json: { experiment_id: experiment, start_time: Date.now() },
    });
    const runId = String((created.body.run as { info: { run_id: string } }).info.run_id);
    return { experimentId: experiment, runId };
  }

  /** The shared run: a metric, a param, a dataset, a file and an MLflow model directory. */
  run(): Promise<RunRef> {
    return this.once('run', async () => {
      const run = await this.newRun();
      await this.admin('POST', '/api/2.0/mlflow/runs/log-batch', {
        json: {
          run_id: run.runId,
          metrics: [{ key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 0 }],
          params: [{ key: 'depth', value: '4' }],
        },
      });
      await this.admin('POST', '/api/2.0/mlflow/runs/log-inputs', {
        json: { run_id: run.runId, datasets: [DATASET] },
      });
      await this.putArtifact(run, 'file.txt', 'hello');
      await this.putArtifact(run, 'model/MLmodel', MLMODEL);
      return run;
    });
  }

  async putArtifact(run: RunRef, path: string, content: string): Promise<string> {
    const full = `${run.experimentId}/${run.runId}/artifacts/${path}`;
    await this.admin('PUT', `/api/2.0/mlflow-artifacts/artifacts/${full}`, {
      body: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    return full;
  }

  async newLoggedModel(): Promise<LoggedModelRef> {
    const experimentId = await this.experiment();
    const created = await this.admin('POST', '/api/2.0/mlflow/logged-models', {
      json: { experiment_id: experimentId, name: 'matrix-model' },
    });
    const modelId = String((created.body.model as { info: { model_id: string } }).info.model_id);
    return { experimentId, modelId, root: `${experimentId}/models/${modelId}/artifacts` };
  }

  /** The shared logged model, with an MLmodel file. */
  loggedModel(): Promise<LoggedModelRef> {
    return this.once('loggedModel', async () => {
      const model = await this.newLoggedModel();
      await this.admin('PUT', `/api/2.0/mlflow-artifacts/artifacts/${model.root}/MLmodel`, {
        body: MLMODEL,
        headers: { 'content-type': 'application/octet-stream' },
      });
      return model;
    });
  }

  /** A trace as MLflow 3's client logs one: its spans over OTLP, then its trace info. */
  async newTraceV3(withSpans = true): Promise<TraceRef> {
    const experimentId = await this.experiment();
    const traceHex = newTraceHex();
    const start = Date.now();
    if (withSpans) {
      await this.admin('POST', '/v1/traces', {
        body: otlpJson([{ traceHex, spanHex: newSpanHex(), name: 'root', startMs: start, endMs: start + 5 }]),
        headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId },
      });
    }
    await this.admin('POST', '/api/3.0/mlflow/traces', {
      json: startTraceV3Body(experimentId, traceHex, start),
    });
    return { experimentId, traceId: `tr-${traceHex}` };
  }

  traceV3(): Promise<TraceRef> {
    return this.once('traceV3', () => this.newTraceV3());
  }

  async newAssessment(trace?: TraceRef): Promise<TraceRef & { assessmentId: string }> {
    const on = trace ?? (await this.traceV3());
    const created = await this.admin('POST', `/api/3.0/mlflow/traces/${on.traceId}/assessments`, {
      json: { assessment: assessmentBody(on.traceId) },
    });
    const assessmentId = String((created.body.assessment as { assessment_id: string }).assessment_id);
    return { ...on, assessmentId };
  }

  assessment(): Promise<TraceRef & { assessmentId: string }> {
    return this.once('assessment', () => this.newAssessment());
  }

  /** A trace as MLflow 2's client starts one (its `traces.json` not yet uploaded). */
  async newTraceV2(): Promise<TraceRef> {
    const experimentId = await this.experiment();
    const started = await this.admin('POST', '/api/2.0/mlflow/traces', {
      json: startTraceV2Body(experimentId),
    });
    const traceId = String((started.body.trace_info as { request_id: string }).request_id);
    return { experimentId, traceId };
  }

  /** The shared MLflow 2 trace, its `traces.json` uploaded. */
  traceV2(): Promise<TraceRef> {
    return this.once('traceV2', async () => {
      const trace = await this.newTraceV2();
      await this.admin('PUT', traceDataPath(trace), { body: traceDataFile() });
      return trace;
    });
  }

  async newRegisteredModel(withVersion = true): Promise<RegisteredModelRef> {
    const name = this.unique('matrix-model');
    await this.admin('POST', '/api/2.0/mlflow/registered-models/create', { json: { name } });
    this.models.push(name);
    if (!withVersion) return { name, version: '' };
    const run = await this.run();
    const created = await this.admin('POST', '/api/2.0/mlflow/model-versions/create', {
      json: { name, source: `runs:/${run.runId}/model`, run_id: run.runId },
    });
    const version = String((created.body.model_version as { version: string }).version);
    return { name, version };
  }

  /** The shared registered model with version 1, made from the shared run's model directory. */
  registeredModel(): Promise<RegisteredModelRef> {
    return this.once('registeredModel', () => this.newRegisteredModel());
  }

  async newModelVersion(): Promise<RegisteredModelRef> {
    const { name } = await this.registeredModel();
    const run = await this.run();
    const created = await this.admin('POST', '/api/2.0/mlflow/model-versions/create', {
      json: { name, source: `runs:/${run.runId}/model`, run_id: run.runId },
    });
    return { name, version: String((created.body.model_version as { version: string }).version) };
  }

  /** Grants the grantee READ on experiment `id` through MLflow's endpoint, as its admin. */
  async grantOnExperiment(id: string): Promise<void> {
    await this.admin('POST', '/api/2.0/mlflow/experiments/permissions/create', {
      json: { experiment_id: id, username: GRANTEE, permission: 'READ' },
    });
  }

  /** The shared experiment, once the grantee holds a grant there. */
  experimentGrant(): Promise<string> {
    return this.once('experimentGrant', async () => {
      const id = await this.experiment();
      await this.grantOnExperiment(id);
      return id;
    });
  }

  async grantOnModel(name: string): Promise<void> {
    await this.admin('POST', '/api/2.0/mlflow/registered-models/permissions/create', {
      json: { name, username: GRANTEE, permission: 'READ' },
    });
  }

  /** The shared registered model, once the grantee holds a grant there. */
  modelGrant(): Promise<string> {
    return this.once('modelGrant', async () => {
      const { name } = await this.registeredModel();
      await this.grantOnModel(name);
      return name;
    });
  }

  /** A multipart upload begun under the shared run, its one part uploaded: what complete needs. */
  async startedUpload(path: string): Promise<{ root: string; uploadId: string; etag: string }> {
    const run = await this.run();
    const root = `${run.experimentId}/${run.runId}/artifacts`;
    const created = await this.admin('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}`, {
      json: { path, num_parts: 1 },
    });
    const credentials = created.body.credentials as { url: string }[];
    const part = await fetch(credentials[0]?.url as string, {
      method: 'PUT',
      body: new Uint8Array([1, 2, 3]),
    });
    if (part.status !== 200) throw new Error(`part upload answered ${part.status}`);
    return { root, uploadId: String(created.body.upload_id), etag: part.headers.get('etag') as string };
  }
}

const NONE: MatrixResource = { kind: 'experiment', id: '' };

const DATASET = {
  tags: [{ key: 'mlflow.data.context', value: 'training' }],
  dataset: { name: 'digits', digest: 'abc123', source_type: 'local', source: '{"uri": "/d"}' },
};

function startTraceV3Body(experimentId: string, traceHex: string, startMs: number) {
  return {
    trace: {
      trace_info: {
        trace_id: `tr-${traceHex}`,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_time: new Date(startMs).toISOString(),
        execution_duration: '0.005s',
        state: 'OK',
        trace_metadata: { 'mlflow.trace_schema.version': '3' },
        tags: { 'mlflow.traceName': 'root' },
      },
    },
  };
}

function startTraceV2Body(experimentId: string) {
  return {
    experiment_id: experimentId,
    timestamp_ms: Date.now(),
    request_metadata: [{ key: 'mlflow.trace_schema.version', value: '2' }],
    tags: [{ key: 'mlflow.traceName', value: 'predict' }],
  };
}

function assessmentBody(traceId: string) {
  return {
    assessment_name: 'good',
    trace_id: traceId,
    source: { source_type: 'HUMAN', source_id: 'matrix' },
    feedback: { value: true },
  };
}

const traceDataPath = (trace: TraceRef) =>
  `/api/2.0/mlflow-artifacts/artifacts/${trace.experimentId}/traces/${trace.traceId}/artifacts/traces.json`;

function traceDataFile(): string {
  const start = Date.now();
  return JSON.stringify({
    spans: [
      {
        name: 'predict',
        context: { span_id: `0x${newSpanHex()}`, trace_id: `0x${newTraceHex()}` },
        parent_id: null,
        start_time: start * 1_000_000,
        end_time: (start + 5) * 1_000_000,
        status_code: 'OK',
        status_message: '',
        attributes: {},
        events: [],
      },
    ],
    request: '{}',
    response: '{}',
  });
}

const onExperiment = (id: string): MatrixResource => ({ kind: 'experiment', id });

const experimentPath = (id: string) => `/api/2.0/mlflow/experiments/get?experiment_id=${id}`;
const runPath = (id: string) => `/api/2.0/mlflow/runs/get?run_id=${id}`;
const modelPath = (name: string) => `/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`;
const loggedModelPath = (id: string) => `/api/2.0/mlflow/logged-models/${id}`;
type Json = Record<string, unknown>;
type KeyValues = { key: string; value: string }[] | undefined;
const hasKey = (list: KeyValues, key: string) => (list ?? []).some((entry) => entry.key === key);
const experimentOf = (body: Json) =>
  body.experiment as { lifecycle_stage: string; name: string; tags?: KeyValues };
const runOf = (body: Json) =>
  body.run as { info: { lifecycle_stage: string }; data: { tags?: KeyValues; params?: KeyValues } };
const policiesPath = (name: string) =>
  `/api/2.0/cairn/registered-models/policies/get?name=${encodeURIComponent(name)}`;
const hasPolicy = (body: Json, alias: string) =>
  ((body.policies as { alias?: string }[] | undefined) ?? []).some((policy) => policy.alias === alias);
const modelOf = (body: Json) => body.registered_model as { tags?: KeyValues; aliases?: { alias: string }[] };
const onModel = (name: string): MatrixResource => ({ kind: 'registered_model', id: name });
const ofRun = (run: RunRef) => ({ resource: onExperiment(run.experimentId), via: `run '${run.runId}'` });
const ofLoggedModel = (model: LoggedModelRef) => ({
  resource: onExperiment(model.experimentId),
  via: `logged model '${model.modelId}'`,
});
const ofTrace = (trace: TraceRef) => ({
  resource: onExperiment(trace.experimentId),
  via: `trace '${trace.traceId}'`,
});

/** Builds one request for `route` on `world`; `n` is unique per call (for keys that must not collide). */
export type RequestBuilder = (world: World, route: Route, n: number) => Promise<BuiltRequest>;

/**
 * The principal the permission endpoints grant to and revoke from: a token of its own (unknown principals
 * are refused), never a caller of the matrix, so no request changes what a caller holds.
 */
export const GRANTEE = 'matrix-grantee';

const experimentGrantPath = (id: string) =>
  `/api/2.0/mlflow/experiments/permissions/get?experiment_id=${id}&username=${GRANTEE}`;
const modelGrantPath = (name: string) =>
  `/api/2.0/mlflow/registered-models/permissions/get?name=${encodeURIComponent(name)}&username=${GRANTEE}`;
const grantOf = (body: Json, field: string) => (body[field] as { permission: string }).permission;

/** MLflow's permission endpoints: what a MANAGE holder (or an admin) may do with others' grants. */
const PERMISSION_BUILDERS: Record<string, RequestBuilder> = {
  // A grant exists once per (resource, principal): each call creates it on an experiment of its own.
  async createExperimentPermission(w) {
    const id = await w.newExperiment();
    return {
      json: { experiment_id: id, username: GRANTEE, permission: 'READ' },
      resource: onExperiment(id),
      unchanged: w.answers(experimentGrantPath(id), 404),
    };
  },
  async getExperimentPermission(w) {
    const id = await w.experimentGrant();
    return { query: { experiment_id: id, username: GRANTEE }, resource: onExperiment(id) };
  },
  // Its own experiment per call too, so that the probe sees this call's update and no other's.
  async updateExperimentPermission(w) {
    const id = await w.newExperiment();
    await w.grantOnExperiment(id);
    return {
      json: { experiment_id: id, username: GRANTEE, permission: 'EDIT' },
      resource: onExperiment(id),
      unchanged: w.reads(experimentGrantPath(id), (body) => grantOf(body, 'experiment_permission'), 'READ'),
    };
  },
  async deleteExperimentPermission(w) {
    const id = await w.newExperiment();
    await w.grantOnExperiment(id);
    return {
      json: { experiment_id: id, username: GRANTEE },
      resource: onExperiment(id),
      unchanged: w.answers(experimentGrantPath(id), 200),
    };
  },
  async createRegisteredModelPermission(w) {
    const { name } = await w.newRegisteredModel(false);
    return {
      json: { name, username: GRANTEE, permission: 'READ' },
      resource: onModel(name),
      unchanged: w.answers(modelGrantPath(name), 404),
    };
  },
  async getRegisteredModelPermission(w) {
    const name = await w.modelGrant();
    return { query: { name, username: GRANTEE }, resource: onModel(name) };
  },
  async updateRegisteredModelPermission(w) {
    const { name } = await w.newRegisteredModel(false);
    await w.grantOnModel(name);
    return {
      json: { name, username: GRANTEE, permission: 'EDIT' },
      resource: onModel(name),
      unchanged: w.reads(
        modelGrantPath(name),
        (body) => grantOf(body, 'registered_model_permission'),
        'READ',
      ),
    };
  },
  async deleteRegisteredModelPermission(w) {
    const { name } = await w.newRegisteredModel(false);
    await w.grantOnModel(name);
    return {
      json: { name, username: GRANTEE },
      resource: onModel(name),
      unchanged: w.answers(modelGrantPath(name), 200),
    };
  },
};
/**
 * One builder per operation of the route table that declares `access`. The matrix fails on a guarded
 * route whose operation is missing here, so a new route cannot go unchecked.
 */
export const REQUEST_BUILDERS: Record<string, RequestBuilder> = {
  ...PERMISSION_BUILDERS,

  // Experiments.
  async getExperiment(w) {
    const id = await w.experiment();
    return { query: { experiment_id: id }, resource: onExperiment(id) };
  },
  async getExperimentByName(w) {
    const id = await w.experiment();
    return { query: { experiment_name: await w.experimentName(id) }, resource: onExperiment(id) };
  },
  // A rename changes what get-by-name finds: each call renames an experiment of its own.
  async updateExperiment(w) {
    const id = await w.newExperiment();
    const name = await w.experimentName(id);
    return {
      json: { experiment_id: id, new_name: w.unique('renamed') },
      resource: onExperiment(id),
      unchanged: w.reads(experimentPath(id), (body) => experimentOf(body).name, name),
    };
  },
  async deleteExperiment(w) {
    const id = await w.newExperiment();
    return {
      json: { experiment_id: id },
      resource: onExperiment(id),
      unchanged: w.reads(experimentPath(id), (body) => experimentOf(body).lifecycle_stage, 'active'),
    };
  },
  async restoreExperiment(w) {
    const id = await w.newExperiment();
    await w.admin('POST', '/api/2.0/mlflow/experiments/delete', { json: { experiment_id: id } });
    return {
      json: { experiment_id: id },
      resource: onExperiment(id),
      unchanged: w.reads(experimentPath(id), (body) => experimentOf(body).lifecycle_stage, 'deleted'),
    };
  },
  async setExperimentTag(w, _route, n) {
    const id = await w.experiment();
    return {
      json: { experiment_id: id, key: `k${n}`, value: 'v' },
      resource: onExperiment(id),
      unchanged: w.reads(experimentPath(id), (body) => hasKey(experimentOf(body).tags, `k${n}`), false),
    };
  },
  async deleteExperimentTag(w, _route, n) {
    const id = await w.experiment();
    await w.admin('POST', '/api/2.0/mlflow/experiments/set-experiment-tag', {
      json: { experiment_id: id, key: `k${n}`, value: 'v' },
    });
    return {
      json: { experiment_id: id, key: `k${n}` },
      resource: onExperiment(id),
      unchanged: w.reads(experimentPath(id), (body) => hasKey(experimentOf(body).tags, `k${n}`), true),
    };
  },
  async getExperimentRunStats(w) {
    const id = await w.experiment();
    return { query: { experiment_ids: id }, resource: onExperiment(id) };
  },
  async searchDatasets(w) {
    const id = await w.experiment();
    return { json: { experiment_ids: [id] }, resource: onExperiment(id) };
  },

  // Runs and metrics.
  async createRun(w) {
    const id = await w.experiment();
    return { json: { experiment_id: id, start_time: Date.now() }, resource: onExperiment(id) };
  },
  async getRun(w) {
    const run = await w.run();
    return { query: { run_id: run.runId }, ...ofRun(run) };
  },
  async updateRun(w) {
    const run = await w.run();
    return { json: { run_id: run.runId, status: 'RUNNING' }, ...ofRun(run) };
  },
  async deleteRun(w) {
    const run = await w.newRun();
    return {
      json: { run_id: run.runId },
      ...ofRun(run),
      unchanged: w.reads(runPath(run.runId), (body) => runOf(body).info.lifecycle_stage, 'active'),
    };
  },
  async restoreRun(w) {
    const run = await w.newRun();
    await w.admin('POST', '/api/2.0/mlflow/runs/delete', { json: { run_id: run.runId } });
    return {
      json: { run_id: run.runId },
      ...ofRun(run),
      unchanged: w.reads(runPath(run.runId), (body) => runOf(body).info.lifecycle_stage, 'deleted'),
    };
  },
  async logMetric(w) {
    const run = await w.run();
    return {
      json: { run_id: run.runId, key: 'loss', value: 0.25, timestamp: Date.now(), step: 1 },
      ...ofRun(run),
    };
  },
  // A param's value cannot change once logged: a key of its own per call.
  async logParam(w, _route, n) {
    const run = await w.run();
    return {
      json: { run_id: run.runId, key: `p${n}`, value: '1' },
      ...ofRun(run),
      unchanged: w.reads(runPath(run.runId), (body) => hasKey(runOf(body).data.params, `p${n}`), false),
    };
  },
  async setTag(w, _route, n) {
    const run = await w.run();
    return {
      json: { run_id: run.runId, key: `t${n}`, value: 'v' },
      ...ofRun(run),
      unchanged: w.reads(runPath(run.runId), (body) => hasKey(runOf(body).data.tags, `t${n}`), false),
    };
  },
  async deleteTag(w, _route, n) {
    const run = await w.run();
    await w.admin('POST', '/api/2.0/mlflow/runs/set-tag', {
      json: { run_id: run.runId, key: `t${n}`, value: 'v' },
    });
    return {
      json: { run_id: run.runId, key: `t${n}` },
      ...ofRun(run),
      unchanged: w.reads(runPath(run.runId), (body) => hasKey(runOf(body).data.tags, `t${n}`), true),
    };
  },
  async logBatch(w, _route, n) {
    const run = await w.run();
    return {
      json: {
        run_id: run.runId,
        metrics: [{ key: 'loss', value: 0.1, timestamp: Date.now(), step: 2 }],
        params: [{ key: `b${n}`, value: '1' }],
        tags: [{ key: `bt${n}`, value: 'v' }],
      },
      ...ofRun(run),
      unchanged: w.reads(
        runPath(run.runId),
        (body) => [hasKey(runOf(body).data.params, `b${n}`), hasKey(runOf(body).data.tags, `bt${n}`)],
        [false, false],
      ),
    };
  },
  async logInputs(w) {
    const run = await w.run();
    return { json: { run_id: run.runId, datasets: [DATASET] }, ...ofRun(run) };
  },
  async logOutputs(w) {
    const run = await w.run();
    const model = await w.loggedModel();
    return {
      json: { run_id: run.runId, models: [{ model_id: model.modelId, step: 0 }] },
      ...ofRun(run),
    };
  },
  async getMetricHistory(w) {
    const run = await w.run();
    return { query: { run_id: run.runId, metric_key: 'loss' }, ...ofRun(run) };
  },
  async getMetricHistoryBulkInterval(w) {
    const run = await w.run();
    return {
      query: { run_ids: run.runId, metric_key: 'loss', max_results: '10' },
      ...ofRun(run),
    };
  },
  async getMetricHistoryBulk(w) {
    const run = await w.run();
    return { query: { run_id: run.runId, metric_key: 'loss' }, ...ofRun(run) };
  },
  async getMetricEnvelope(w) {
    const run = await w.run();
    return {
      query: { run_ids: run.runId, metric_key: 'loss', buckets: '10' },
      ...ofRun(run),
    };
  },

  // Logged models.
  async createLoggedModel(w) {
    const id = await w.experiment();
    return { json: { experiment_id: id, name: 'made' }, resource: onExperiment(id) };
  },
  async getLoggedModel(w) {
    const model = await w.loggedModel();
    return { params: { model_id: model.modelId }, ...ofLoggedModel(model) };
  },
  // READY is final: each call finalizes a model of its own.
  async finalizeLoggedModel(w) {
    const model = await w.newLoggedModel();
    return {
      params: { model_id: model.modelId },
      json: { model_id: model.modelId, status: 'LOGGED_MODEL_READY' },
      ...ofLoggedModel(model),
      unchanged: w.reads(
        loggedModelPath(model.modelId),
        (body) => (body.model as { info: { status: string } }).info.status,
        'LOGGED_MODEL_PENDING',
      ),
    };
  },
  async deleteLoggedModel(w) {
    const model = await w.newLoggedModel();
    return {
      params: { model_id: model.modelId },
      ...ofLoggedModel(model),
      unchanged: w.answers(loggedModelPath(model.modelId), 200),
    };
  },
  async setLoggedModelTags(w, _route, n) {
    const model = await w.loggedModel();
    return {
      params: { model_id: model.modelId },
      json: { tags: [{ key: `t${n}`, value: 'v' }] },
      ...ofLoggedModel(model),
    };
  },
  async deleteLoggedModelTag(w, _route, n) {
    const model = await w.loggedModel();
    await w.admin('PATCH', `/api/2.0/mlflow/logged-models/${model.modelId}/tags`, {
      json: { tags: [{ key: `t${n}`, value: 'v' }] },
    });
    return {
      params: { model_id: model.modelId, tag_key: `t${n}` },
      ...ofLoggedModel(model),
    };
  },
  async logLoggedModelParams(w, _route, n) {
    const model = await w.loggedModel();
    return {
      params: { model_id: model.modelId },
      json: { params: [{ key: `p${n}`, value: '1' }] },
      ...ofLoggedModel(model),
    };
  },

  // Artifacts.
  async uploadArtifact(w, _route, n) {
    const run = await w.run();
    const path = `${run.experimentId}/${run.runId}/artifacts/up${n}.txt`;
    return {
      params: { path },
      body: 'bytes',
      headers: { 'content-type': 'application/octet-stream' },
      ...ofRun(run),
      unchanged: w.answers(`/api/2.0/mlflow-artifacts/artifacts/${path}`, 404),
    };
  },
  async downloadArtifact(w) {
    const run = await w.run();
    return {
      params: { path: `${run.experimentId}/${run.runId}/artifacts/file.txt` },
      ...ofRun(run),
    };
  },
  async listArtifacts(w) {
    const run = await w.run();
    return {
      query: { path: `${run.experimentId}/${run.runId}/artifacts` },
      ...ofRun(run),
    };
  },
  async deleteArtifact(w, _route, n) {
    const run = await w.run();
    const path = await w.putArtifact(run, `gone${n}.txt`, 'x');
    return {
      params: { path },
      ...ofRun(run),
      unchanged: w.answers(`/api/2.0/mlflow-artifacts/artifacts/${path}`, 307),
    };
  },
  async presignedDownload(w) {
    const run = await w.run();
    return {
      params: { path: `${run.experimentId}/${run.runId}/artifacts/file.txt` },
      ...ofRun(run),
    };
  },
  async createMultipartUpload(w, _route, n) {
    const run = await w.run();
    return {
      params: { path: `${run.experimentId}/${run.runId}/artifacts` },
      json: { path: `mpu${n}.bin`, num_parts: 1 },
      ...ofRun(run),
    };
  },
  async completeMultipartUpload(w, _route, n) {
    const run = await w.run();
    const upload = await w.startedUpload(`done${n}.bin`);
    return {
      params: { path: upload.root },
      json: {
        path: `done${n}.bin`,
        upload_id: upload.uploadId,
        parts: [{ part_number: 1, etag: upload.etag }],
      },
      ...ofRun(run),
      unchanged: w.answers(`/api/2.0/mlflow-artifacts/artifacts/${upload.root}/done${n}.bin`, 404),
    };
  },
  async abortMultipartUpload(w, _route, n) {
    const run = await w.run();
    const upload = await w.startedUpload(`dropped${n}.bin`);
    return {
      params: { path: upload.root },
      json: { path: `dropped${n}.bin`, upload_id: upload.uploadId },
      ...ofRun(run),
    };
  },
  async listRunArtifacts(w) {
    const run = await w.run();
    return { query: { run_id: run.runId }, ...ofRun(run) };
  },
  async createPresignedUploadUrl(w, _route, n) {
    const run = await w.run();
    return { json: { run_id: run.runId, path: `signed${n}.bin` }, ...ofRun(run) };
  },
  async listLoggedModelArtifacts(w) {
    const model = await w.loggedModel();
    return { params: { model_id: model.modelId }, ...ofLoggedModel(model) };
  },
  async getLoggedModelArtifact(w) {
    const model = await w.loggedModel();
    return {
      params: { model_id: model.modelId },
      query: { artifact_file_path: 'MLmodel' },
      ...ofLoggedModel(model),
    };
  },
  async uploadRunArtifact(w, _route, n) {
    const run = await w.run();
    return {
      query: { run_uuid: run.runId, path: `ui${n}.txt` },
      body: 'bytes',
      headers: { 'content-type': 'application/octet-stream' },
      ...ofRun(run),
      unchanged: w.answers(
        `/api/2.0/mlflow-artifacts/artifacts/${run.experimentId}/${run.runId}/artifacts/ui${n}.txt`,
        404,
      ),
    };
  },
  async getRunArtifact(w) {
    const run = await w.run();
    return { query: { run_id: run.runId, path: 'file.txt' }, ...ofRun(run) };
  },
  async getModelVersionArtifact(w) {
    const model = await w.registeredModel();
    return {
      query: { name: model.name, version: model.version, path: 'MLmodel' },
      resource: onModel(model.name),
    };
  },

  // The model registry.
  async getRegisteredModel(w) {
    const { name } = await w.registeredModel();
    return { query: { name }, resource: onModel(name) };
  },
  // A rename moves the model away from every other request: each call renames a model of its own.
  async renameRegisteredModel(w) {
    const { name } = await w.newRegisteredModel(false);
    return {
      json: { name, new_name: w.unique('renamed-model') },
      resource: onModel(name),
      unchanged: w.answers(modelPath(name), 200),
    };
  },
  async updateRegisteredModel(w) {
    const { name } = await w.registeredModel();
    return { json: { name, description: 'described' }, resource: onModel(name) };
  },
  async deleteRegisteredModel(w) {
    const { name } = await w.newRegisteredModel(false);
    return { json: { name }, resource: onModel(name), unchanged: w.answers(modelPath(name), 200) };
  },
  async getLatestVersions(w, route) {
    const { name } = await w.registeredModel();
    return route.method === 'GET'
      ? { query: { name }, resource: onModel(name) }
      : { json: { name }, resource: onModel(name) };
  },
  async setRegisteredModelTag(w, _route, n) {
    const { name } = await w.registeredModel();
    return {
      json: { name, key: `t${n}`, value: 'v' },
      resource: onModel(name),
      unchanged: w.reads(modelPath(name), (body) => hasKey(modelOf(body).tags, `t${n}`), false),
    };
  },
  async deleteRegisteredModelTag(w, _route, n) {
    const { name } = await w.registeredModel();
    await w.admin('POST', '/api/2.0/mlflow/registered-models/set-tag', {
      json: { name, key: `t${n}`, value: 'v' },
    });
    return {
      json: { name, key: `t${n}` },
      resource: onModel(name),
      unchanged: w.reads(modelPath(name), (body) => hasKey(modelOf(body).tags, `t${n}`), true),
    };
  },
  async setRegisteredModelAlias(w, _route, n) {
    const { name, version } = await w.registeredModel();
    return {
      json: { name, alias: `a${n}`, version },
      resource: onModel(name),
      unchanged: w.answers(`/api/2.0/mlflow/registered-models/alias?name=${name}&alias=a${n}`, 404),
    };
  },
  async deleteRegisteredModelAlias(w, _route, n) {
    const { name, version } = await w.registeredModel();
    await w.admin('POST', '/api/2.0/mlflow/registered-models/alias', {
      json: { name, alias: `a${n}`, version },
    });
    return {
      json: { name, alias: `a${n}` },
      resource: onModel(name),
      unchanged: w.answers(`/api/2.0/mlflow/registered-models/alias?name=${name}&alias=a${n}`, 200),
    };
  },
  async getModelVersionByAlias(w) {
    const { name, version } = await w.registeredModel();
    // Set again by every call (the same alias, the same version): no call's alias is another's delete.
    await w.admin('POST', '/api/2.0/mlflow/registered-models/alias', {
      json: { name, alias: 'shared', version },
    });
    return { query: { name, alias: 'shared' }, resource: onModel(name) };
  },
  async createModelVersion(w) {
    const { name } = await w.registeredModel();
    const run = await w.run();
    return { json: { name, source: `runs:/${run.runId}/model`, run_id: run.runId }, resource: onModel(name) };
  },
  async getModelVersion(w) {
    const { name, version } = await w.registeredModel();
    return { query: { name, version }, resource: onModel(name) };
  },
  async updateModelVersion(w) {
    const { name, version } = await w.registeredModel();
    return { json: { name, version, description: 'described' }, resource: onModel(name) };
  },
  async deleteModelVersion(w) {
    const { name, version } = await w.newModelVersion();
    return {
      json: { name, version },
      resource: onModel(name),
      unchanged: w.answers(`/api/2.0/mlflow/model-versions/get?name=${name}&version=${version}`, 200),
    };
  },
  async getModelVersionDownloadUri(w) {
    const { name, version } = await w.registeredModel();
    return { query: { name, version }, resource: onModel(name) };
  },
  async transitionModelVersionStage(w) {
    const { name, version } = await w.registeredModel();
    return {
      json: { name, version, stage: 'Staging', archive_existing_versions: false },
      resource: onModel(name),
    };
  },
  async setModelVersionTag(w, _route, n) {
    const { name, version } = await w.registeredModel();
    return { json: { name, version, key: `t${n}`, value: 'v' }, resource: onModel(name) };
  },
  async deleteModelVersionTag(w, _route, n) {
    const { name, version } = await w.registeredModel();
    await w.admin('POST', '/api/2.0/mlflow/model-versions/set-tag', {
      json: { name, version, key: `t${n}`, value: 'v' },
    });
    return { json: { name, version, key: `t${n}` }, resource: onModel(name) };
  },
  async setPromotionPolicy(w, _route, n) {
    const { name } = await w.registeredModel();
    return {
      json: { name, alias: `gate${n}`, condition: 'metrics.loss < 1' },
      resource: onModel(name),
      unchanged: w.reads(policiesPath(name), (body) => hasPolicy(body, `gate${n}`), false),
    };
  },
  async getPromotionPolicies(w) {
    const { name } = await w.registeredModel();
    return { query: { name }, resource: onModel(name) };
  },
  async deletePromotionPolicy(w, _route, n) {
    const { name } = await w.registeredModel();
    await w.admin('POST', '/api/2.0/cairn/registered-models/policies/set', {
      json: { name, alias: `gate${n}`, condition: 'metrics.loss < 1' },
    });
    return {
      json: { name, alias: `gate${n}` },
      resource: onModel(name),
      unchanged: w.reads(policiesPath(name), (body) => hasPolicy(body, `gate${n}`), true),
    };
  },
  async listPromotions(w) {
    const { name } = await w.registeredModel();
    return { query: { name }, resource: onModel(name) };
  },

  // Traces.
  async exportOtlpSpans(w) {
    const id = await w.experiment();
    const start = Date.now();
    return {
      body: otlpJson([
        { traceHex: newTraceHex(), spanHex: newSpanHex(), name: 'root', startMs: start, endMs: start + 1 },
      ]),
      headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': id },
      resource: onExperiment(id),
    };
  },
  async startTraceV3(w) {
    const id = await w.experiment();
    return { json: startTraceV3Body(id, newTraceHex(), Date.now()), resource: onExperiment(id) };
  },
  async getTraceInfoV3(w) {
    const trace = await w.traceV3();
    return { params: { trace_id: trace.traceId }, ...ofTrace(trace) };
  },
  async getTrace(w) {
    const trace = await w.traceV3();
    return { query: { trace_id: trace.traceId }, ...ofTrace(trace) };
  },
  async batchGetTraces(w) {
    const trace = await w.traceV3();
    return { query: { trace_ids: trace.traceId }, ...ofTrace(trace) };
  },
  async batchGetTraceInfos(w) {
    const trace = await w.traceV3();
    return { json: { trace_ids: [trace.traceId] }, ...ofTrace(trace) };
  },
  async deleteTraces(w) {
    const trace = await w.newTraceV3(false);
    return {
      json: { experiment_id: trace.experimentId, request_ids: [trace.traceId] },
      ...ofTrace(trace),
      unchanged: w.answers(`/api/3.0/mlflow/traces/${trace.traceId}`, 200),
    };
  },
  async setTraceTag(w, _route, n) {
    const trace = await w.traceV3();
    return {
      params: { trace_id: trace.traceId },
      json: { key: `t${n}`, value: 'v' },
      ...ofTrace(trace),
    };
  },
  async deleteTraceTag(w, _route, n) {
    const trace = await w.traceV3();
    await w.admin('PATCH', `/api/3.0/mlflow/traces/${trace.traceId}/tags`, {
      json: { key: `t${n}`, value: 'v' },
    });
    return {
      params: { trace_id: trace.traceId },
      json: { key: `t${n}` },
      ...ofTrace(trace),
    };
  },
  async createAssessment(w) {
    const trace = await w.traceV3();
    return {
      params: { trace_id: trace.traceId },
      json: { assessment: assessmentBody(trace.traceId) },
      ...ofTrace(trace),
    };
  },
  async getAssessment(w) {
    const a = await w.assessment();
    return {
      params: { trace_id: a.traceId, assessment_id: a.assessmentId },
      ...ofTrace(a),
    };
  },
  async updateAssessment(w) {
    const a = await w.assessment();
    return {
      params: { trace_id: a.traceId, assessment_id: a.assessmentId },
      json: { assessment: { rationale: 'because' }, update_mask: 'rationale' },
      ...ofTrace(a),
    };
  },
  async deleteAssessment(w) {
    const a = await w.newAssessment();
    const path = `/api/3.0/mlflow/traces/${a.traceId}/assessments/${a.assessmentId}`;
    return {
      params: { trace_id: a.traceId, assessment_id: a.assessmentId },
      ...ofTrace(a),
      unchanged: w.answers(path, 200),
    };
  },
  async linkTracesToRun(w) {
    const trace = await w.traceV3();
    const run = await w.run();
    return {
      json: { trace_ids: [trace.traceId], run_id: run.runId },
      // Checked on the run's experiment (a trace may be linked before it arrives); here the trace's too.
      ...ofRun(run),
    };
  },
  async startTraceV2(w) {
    const id = await w.experiment();
    return { json: startTraceV2Body(id), resource: onExperiment(id) };
  },
  // An ended trace is not ended again: each call ends a trace of its own.
  async endTraceV2(w) {
    const trace = await w.newTraceV2();
    return {
      params: { trace_id: trace.traceId },
      json: { request_id: trace.traceId, timestamp_ms: Date.now(), status: 'OK' },
      ...ofTrace(trace),
      unchanged: w.reads(
        `/api/2.0/mlflow/traces/${trace.traceId}/info`,
        (body) => (body.trace_info as { status: string }).status,
        'IN_PROGRESS',
      ),
    };
  },
  async getTraceInfoV2(w) {
    const trace = await w.traceV2();
    return {
      params: { trace_id: trace.traceId },
      query: { request_id: trace.traceId },
      ...ofTrace(trace),
    };
  },
  async getTraceArtifact(w) {
    const trace = await w.traceV2();
    return { query: { request_id: trace.traceId }, ...ofTrace(trace) };
  },
  async uploadTraceData(w) {
    const trace = await w.newTraceV2();
    return {
      params: { experiment_id: trace.experimentId, trace_id: trace.traceId },
      body: traceDataFile(),
      ...ofTrace(trace),
    };
  },
  async downloadTraceData(w) {
    const trace = await w.traceV2();
    return {
      params: { experiment_id: trace.experimentId, trace_id: trace.traceId },
      ...ofTrace(trace),
    };
  },
};

/** The request for `route`, built on `world`. Throws for an operation without a builder. */
export async function buildRequest(world: World, route: Route, n: number): Promise<RouteRequest> {
  const builder = REQUEST_BUILDERS[route.operation];
  if (!builder) throw new Error(`no request builder for ${route.operation} (${route.routeKey})`);
  const { params, query, ...rest } = await builder(world, route, n);
  return { ...rest, method: route.method, path: pathOf(route, params, query) };
}

/** A search for the shared resources, and how to tell from its answer whether they were found. */
export interface SearchRequest extends BuiltRequest {
  /** Whether the answer lists the shared resource's item. */
  sees: (body: Json) => boolean;
  /** The request names the experiment (refused when hidden) rather than searching across all. */
  names: boolean;
}

export type SearchBuilder = (world: World, route: Route) => Promise<SearchRequest>;

const listed = (body: Json, field: string, match: (item: Record<string, unknown>) => boolean) =>
  ((body[field] as Record<string, unknown>[] | undefined) ?? []).some(match);

/** One builder per filtered search (`filters` without `access`): each looks for the shared world's items. */
export const SEARCH_BUILDERS: Record<string, SearchBuilder> = {
  async searchExperiments(w, route) {
    const id = await w.experiment();
    const filter = `name = '${await w.experimentName(id)}'`;
    return {
      ...(route.method === 'GET' ? { query: { filter } } : { json: { filter } }),
      resource: onExperiment(id),
      names: false,
      sees: (body) => listed(body, 'experiments', (item) => item.experiment_id === id),
    };
  },
  async searchRuns(w) {
    const run = await w.run();
    return {
      json: { experiment_ids: [run.experimentId] },
      resource: onExperiment(run.experimentId),
      names: true,
      sees: (body) => listed(body, 'runs', (item) => (item.info as { run_id: string }).run_id === run.runId),
    };
  },
  async searchLoggedModels(w) {
    const model = await w.loggedModel();
    return {
      json: { experiment_ids: [model.experimentId] },
      resource: onExperiment(model.experimentId),
      names: true,
      sees: (body) =>
        listed(body, 'models', (item) => (item.info as { model_id: string }).model_id === model.modelId),
    };
  },
  async searchTracesV3(w) {
    const trace = await w.traceV3();
    return {
      json: {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: trace.experimentId } }],
      },
      resource: onExperiment(trace.experimentId),
      names: true,
      sees: (body) => listed(body, 'traces', (item) => item.trace_id === trace.traceId),
    };
  },
  async searchTracesV2(w) {
    const trace = await w.traceV2();
    return {
      query: { experiment_ids: trace.experimentId },
      resource: onExperiment(trace.experimentId),
      names: true,
      sees: (body) => listed(body, 'traces', (item) => item.request_id === trace.traceId),
    };
  },
  async searchRegisteredModels(w) {
    const { name } = await w.registeredModel();
    return {
      query: { filter: `name = '${name}'` },
      resource: onModel(name),
      names: false,
      sees: (body) => listed(body, 'registered_models', (item) => item.name === name),
    };
  },
  async searchModelVersions(w) {
    const { name } = await w.registeredModel();
    return {
      query: { filter: `name = '${name}'` },
      resource: onModel(name),
      names: false,
      sees: (body) => listed(body, 'model_versions', (item) => item.name === name),
    };
  },
};

/** The search for `route`, built on `world`. Throws for a filtered search without a builder. */
export async function buildSearch(
  world: World,
  route: Route,
): Promise<RouteRequest & Pick<SearchRequest, 'sees' | 'names'>> {
  const builder = SEARCH_BUILDERS[route.operation];
  if (!builder) throw new Error(`no search builder for ${route.operation} (${route.routeKey})`);
  const { params, query, ...rest } = await builder(world, route);
  return { ...rest, method: route.method, path: pathOf(route, params, query) };
}

/**
 * The one way the UI talks to Cairn: same-origin fetch of the MLflow REST API and Cairn's own endpoints.
 * The token (under `--auth` and on AWS) lives in memory and sessionStorage only — never in a URL, a cookie
 * or a log — and goes out as a Bearer header. A 401 asks for a token again (see app.tsx).
 */

const TOKEN_KEY = 'cairn.token';
let memoryToken: string | null = null;

export function getToken(): string | null {
  if (memoryToken !== null) return memoryToken;
  try {
    memoryToken = sessionStorage.getItem(TOKEN_KEY);
  } catch {
    // Storage can be disabled; the token then lives for this page only.
  }
  return memoryToken;
}

export function setToken(token: string | null): void {
  memoryToken = token;
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // As above: memory only.
  }
}

/** An MLflow-shaped error answer (`{error_code, message}`) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Fired on window when the server refuses the token (401): the app shows the token dialog. */
export const UNAUTHORIZED_EVENT = 'cairn:unauthorized';

export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Where the API is: the directory the page was served from. On AWS a named stage puts the page at
 * `https://<api>/<stage>/`, and the API under the same prefix; locally and on `$default` it is `/`.
 */
export function apiUrl(path: string): string {
  const dir = window.location.pathname.replace(/[^/]*$/, '');
  return `${dir}${path.replace(/^\//, '')}`;
}

/** Calls `path` (e.g. `/api/2.0/mlflow/runs/get`) and returns its parsed JSON, or throws ApiError. */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(`${apiUrl(path)}${queryString(options.query)}`, {
      method,
      headers,
      body,
      signal: options.signal,
      credentials: 'omit',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK_ERROR', `Cannot reach the server: ${String(error)}`);
  }
  const text = await response.text();
  let json: unknown = {};
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = { message: text.slice(0, 500) };
    }
  }
  if (!response.ok) {
    const shaped = json as { error_code?: string; message?: string };
    if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    throw new ApiError(
      response.status,
      shaped.error_code ?? `HTTP_${response.status}`,
      shaped.message ?? response.statusText,
    );
  }
  return json as T;
}

const MLFLOW = '/api/2.0/mlflow';
const CAIRN = '/api/2.0/cairn';

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  request<T>('GET', path, { query, signal });
export const post = <T>(path: string, body: unknown, signal?: AbortSignal) =>
  request<T>('POST', path, { body, signal });

// ---- Entities, as MLflow's JSON has them (numbers that are int64 may arrive as strings). ----

export interface KeyValue {
  key: string;
  value: string;
}
export interface Metric {
  key: string;
  value: number | string;
  timestamp: number | string;
  step: number | string;
}
export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: 'active' | 'deleted';
  last_update_time?: number | string;
  creation_time?: number | string;
  tags?: KeyValue[];
}
export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage: 'active' | 'deleted';
}
export interface DatasetInput {
  dataset: {
    name: string;
    digest: string;
    source_type?: string;
    source?: string;
    schema?: string;
    profile?: string;
  };
  tags?: KeyValue[];
}
export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[]; model_inputs?: { model_id: string }[] };
  outputs?: { model_outputs?: { model_id: string; step?: number | string }[] };
}
export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}
export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  model_id?: string;
  status?: string;
  status_message?: string;
  tags?: KeyValue[];
  aliases?: string[];
  user_id?: string;
}
export interface RegisteredModel {
  name: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
}
export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms?: number | string;
    last_updated_timestamp_ms?: number | string;
    artifact_uri?: string;
    status?: string;
    source_run_id?: string;
    model_type?: string;
    tags?: KeyValue[];
    registrations?: { name: string; version: string }[];
  };
  data?: { params?: KeyValue[]; metrics?: Metric[] };
}

/** An experiment's run counters (Cairn's own endpoint); `last_activity` absent when none was recorded. */
export interface ExperimentRunStats {
  experiment_id: string;
  /** Absent until `cairn migrate` has counted an experiment from before counters. */
  active_runs?: number;
  deleted_runs?: number;
  last_activity?: number;
}

/** Who the token is (Cairn's own endpoint): decides which actions the UI offers. */
export interface Whoami {
  name: string;
  scope: 'read' | 'write' | 'admin';
  /** False when the local server runs without `--auth` (everyone is admin). */
  auth?: boolean;
}

export const api = {
  whoami: () => get<Whoami>(`${CAIRN}/auth/whoami`),

  searchExperiments: (body: {
    filter?: string;
    max_results?: number;
    order_by?: string[];
    page_token?: string;
    view_type?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
  }) => post<{ experiments?: Experiment[]; next_page_token?: string }>(`${MLFLOW}/experiments/search`, body),
  getExperiment: (experimentId: string) =>
    get<{ experiment: Experiment }>(`${MLFLOW}/experiments/get`, { experiment_id: experimentId }),
  createExperiment: (name: string) =>
    post<{ experiment_id: string }>(`${MLFLOW}/experiments/create`, { name }),
  renameExperiment: (experimentId: string, newName: string) =>
    post<object>(`${MLFLOW}/experiments/update`, { experiment_id: experimentId, new_name: newName }),
  deleteExperiment: (experimentId: string) =>
    post<object>(`${MLFLOW}/experiments/delete`, { experiment_id: experimentId }),
  restoreExperiment: (experimentId: string) =>
    post<object>(`${MLFLOW}/experiments/restore`, { experiment_id: experimentId }),
  setExperimentTag: (experimentId: string, key: string, value: string) =>
    post<object>(`${MLFLOW}/experiments/set-experiment-tag`, { experiment_id: experimentId, key, value }),
  deleteExperimentTag: (experimentId: string, key: string) =>
    post<object>(`${MLFLOW}/experiments/delete-experiment-tag`, { experiment_id: experimentId, key }),
  /** Run counts and last activity of up to 100 experiments (one page of the list), in one call. */
  experimentRunStats: (experimentIds: readonly string[], signal?: AbortSignal) =>
    get<{ stats?: ExperimentRunStats[] }>(
      `${CAIRN}/experiments/run-stats`,
      { experiment_ids: experimentIds },
      signal,
    ),

  searchRuns: (
    body: {
      experiment_ids: string[];
      filter?: string;
      run_view_type?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
      max_results?: number;
      order_by?: string[];
      page_token?: string;
    },
    signal?: AbortSignal,
  ) => post<{ runs?: Run[]; next_page_token?: string }>(`${MLFLOW}/runs/search`, body, signal),
  getRun: (runId: string) => get<{ run: Run }>(`${MLFLOW}/runs/get`, { run_id: runId }),
  deleteRun: (runId: string) => post<object>(`${MLFLOW}/runs/delete`, { run_id: runId }),
  restoreRun: (runId: string) => post<object>(`${MLFLOW}/runs/restore`, { run_id: runId }),
  getMetricHistory: (runId: string, metricKey: string, pageToken?: string, signal?: AbortSignal) =>
    get<{ metrics?: Metric[]; next_page_token?: string }>(
      `${MLFLOW}/metrics/get-history`,
      { run_id: runId, metric_key: metricKey, max_results: 25000, page_token: pageToken },
      signal,
    ),

  listArtifacts: (runId: string, path?: string) =>
    get<{ root_uri?: string; files?: FileInfo[] }>(`${MLFLOW}/artifacts/list`, {
      run_id: runId,
      path: path || undefined,
    }),

  searchRegisteredModels: (body: {
    filter?: string;
    max_results?: number;
    page_token?: string;
    order_by?: string[];
  }) =>
    get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
      `${MLFLOW}/registered-models/search`,
      {
        filter: body.filter,
        max_results: body.max_results,
        page_token: body.page_token,
        order_by: body.order_by,
      },
    ),
  getRegisteredModel: (name: string) =>
    get<{ registered_model: RegisteredModel }>(`${MLFLOW}/registered-models/get`, { name }),
  searchModelVersions: (filter: string, maxResults = 200, pageToken?: string, orderBy?: string[]) =>
    get<{ model_versions?: ModelVersion[]; next_page_token?: string }>(`${MLFLOW}/model-versions/search`, {
      filter,
      max_results: maxResults,
      page_token: pageToken,
      order_by: orderBy,
    }),
  getModelVersion: (name: string, version: string) =>
    get<{ model_version: ModelVersion }>(`${MLFLOW}/model-versions/get`, { name, version }),
  getLoggedModel: (modelId: string, signal?: AbortSignal) =>
    get<{ model: LoggedModel }>(`${MLFLOW}/logged-models/${encodeURIComponent(modelId)}`, undefined, signal),
  searchLoggedModels: (body: {
    experiment_ids: string[];
    filter?: string;
    max_results?: number;
    page_token?: string;
  }) => post<{ models?: LoggedModel[]; next_page_token?: string }>(`${MLFLOW}/logged-models/search`, body),
};

export const paths = { MLFLOW, CAIRN };

/**
 * A `cairn server --auth` for the permission tests (issue 16), with what each of them needs around it:
 * tokens issued as `cairn token create` issues them, grants written straight into the server's table
 * (through the token store's client, which reaches the running server's table), and requests sent with a
 * bearer token, GET fields as a query string and others as a JSON body.
 */
import { expect } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { issueToken } from '../../shared/auth/issue.js';
import type { PermissionLevel, ResourceKind } from '../../shared/auth/permissions.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { Api, type ApiResponse } from './http.js';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';

export interface TwoExperiments {
  x: string;
  y: string;
  runX: string;
  runY: string;
  modelX: string;
}

/**
 * Made at a test file's top level and started in its beforeAll; its request and token functions are
 * bound, so a file may take them apart (`const { call, token } = perm`) before the server runs.
 */
export class PermissionServer {
  #server: TestServer | undefined;
  #api: Api | undefined;
  #store: OpenTokenStore | undefined;
  #grants: DynamoPermissionRepository | undefined;

  async start(auth: TestServerOptions['auth']): Promise<void> {
    this.#server = await startTestServer({ auth });
    this.#api = new Api(this.#server.url);
    this.#store = await openLocalTokenStore(this.#server.dataDir);
    this.#grants = new DynamoPermissionRepository(
      createDocumentClient(this.#store.client),
      this.#store.tableName,
    );
  }

  get server(): TestServer {
    return started(this.#server);
  }
  get api(): Api {
    return started(this.#api);
  }
  /** The server's token store; its client reaches the running server's table. */
  get store(): OpenTokenStore {
    return started(this.#store);
  }
  get grants(): DynamoPermissionRepository {
    return started(this.#grants);
  }

  /** A bearer token named `name` with `scope`, holding no grant of its own. */
  token = async (name: string, scope: Scope): Promise<string> =>
    (await issueToken(this.store.tokens, { name, scope })).token;

  /** A token named `name` with `scope`, holding `permission` on each resource given. */
  tokenWith = async (
    name: string,
    scope: Scope,
    held: [ResourceKind, string, PermissionLevel][],
  ): Promise<string> => {
    for (const [kind, resource, permission] of held) {
      await this.grants.put({ principal: name, kind, resource, permission });
    }
    return this.token(name, scope);
  };

  /** `endpoint` is a path, or relative to /api/2.0/mlflow/ when it has no leading slash. */
  call = (
    bearer: string,
    method: string,
    endpoint: string,
    fields: Record<string, unknown> = {},
  ): Promise<ApiResponse> => {
    const headers = { authorization: `Bearer ${bearer}` };
    const path = endpoint.startsWith('/') ? endpoint : `/api/2.0/mlflow/${endpoint}`;
    if (method === 'GET') {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) {
        for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
      }
      const qs = query.toString();
      return this.api.request('GET', `${path}${qs ? `?${qs}` : ''}`, { headers });
    }
    return this.api.request(method, path, { json: fields, headers });
  };

  /** A run created by `bearer` in the experiment; its id. */
  createRun = async (bearer: string, experimentId: string): Promise<string> => {
    const created = await ok(this.call(bearer, 'POST', 'runs/create', { experiment_id: experimentId }));
    return (created.run as { info: { run_id: string } }).info.run_id;
  };

  /**
   * What the permission tests ask about, created by `admin`: experiments `<prefix>-x` and `<prefix>-y`, a
   * run in each, and a logged model in X.
   */
  seedTwoExperiments = async (admin: string, prefix: string): Promise<TwoExperiments> => {
    const create = async (name: string) =>
      (await ok(this.call(admin, 'POST', 'experiments/create', { name }))).experiment_id as string;
    const x = await create(`${prefix}-x`);
    const y = await create(`${prefix}-y`);
    const runX = await this.createRun(admin, x);
    const runY = await this.createRun(admin, y);
    const model = await ok(this.call(admin, 'POST', 'logged-models', { experiment_id: x, name: 'lm' }));
    const modelX = (model.model as { info: { model_id: string } }).info.model_id;
    return { x, y, runX, runY, modelX };
  };

  /** Closes what start opened; safe when start failed or never ran. */
  async close(): Promise<void> {
    await this.#store?.close();
    await this.#server?.close();
  }
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the permission server has not started (call start in beforeAll)');
  return value;
}

/** The body of a 200 answer; any other status fails with the answer's text. */
export async function ok(response: Promise<ApiResponse>): Promise<Record<string, unknown>> {
  const answered = await response;
  expect(answered.status, answered.text).toBe(200);
  return answered.body;
}

/** Asserts an MLflow-shaped error with `status` and `code` whose message mentions each of `mentions`. */
export async function failed(
  response: Promise<ApiResponse>,
  status: number,
  code: string,
  ...mentions: string[]
): Promise<void> {
  const answered = await response;
  expect(answered.status, answered.text).toBe(status);
  expect(answered.body.error_code).toBe(code);
  for (const mention of mentions) expect(answered.body.message).toContain(mention);
}

/** Asserts a 403 PERMISSION_DENIED whose message mentions each of `mentions`. */
export function denied(response: Promise<ApiResponse>, ...mentions: string[]): Promise<void> {
  return failed(response, 403, 'PERMISSION_DENIED', ...mentions);
}

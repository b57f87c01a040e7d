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

export interface PermissionServer {
  server: TestServer;
  api: Api;
  store: OpenTokenStore;
  grants: DynamoPermissionRepository;
  /** A bearer token named `name` with `scope`, holding no grant of its own. */
  token(name: string, scope: Scope): Promise<string>;
  /** A token named `name` with `scope`, holding `permission` on each resource given. */
  tokenWith(name: string, scope: Scope, held: [ResourceKind, string, PermissionLevel][]): Promise<string>;
  /** `endpoint` is a path, or relative to /api/2.0/mlflow/ when it has no leading slash. */
  call(
    bearer: string,
    method: string,
    endpoint: string,
    fields?: Record<string, unknown>,
  ): Promise<ApiResponse>;
  /** A run created by `bearer` in the experiment; its id. */
  createRun(bearer: string, experimentId: string): Promise<string>;
  close(): Promise<void>;
}

export async function startPermissionServer(auth: TestServerOptions['auth']): Promise<PermissionServer> {
  const server = await startTestServer({ auth });
  const api = new Api(server.url);
  const store = await openLocalTokenStore(server.dataDir);
  const grants = new DynamoPermissionRepository(createDocumentClient(store.client), store.tableName);
  const token = async (name: string, scope: Scope) => (await issueToken(store.tokens, { name, scope })).token;
  const permissionServer: PermissionServer = {
    server,
    api,
    store,
    grants,
    token,
    async tokenWith(name, scope, held) {
      for (const [kind, resource, permission] of held) {
        await grants.put({ principal: name, kind, resource, permission });
      }
      return token(name, scope);
    },
    call(bearer, method, endpoint, fields = {}) {
      const headers = { authorization: `Bearer ${bearer}` };
      const path = endpoint.startsWith('/') ? endpoint : `/api/2.0/mlflow/${endpoint}`;
      if (method === 'GET') {
        const query = new URLSearchParams();
        for (const [key, value] of Object.entries(fields)) {
          for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
        }
        const qs = query.toString();
        return api.request('GET', `${path}${qs ? `?${qs}` : ''}`, { headers });
      }
      return api.request(method, path, { json: fields, headers });
    },
    async createRun(bearer, experimentId) {
      const created = await ok(
        permissionServer.call(bearer, 'POST', 'runs/create', { experiment_id: experimentId }),
      );
      return (created.run as { info: { run_id: string } }).info.run_id;
    },
    async close() {
      await store.close();
      await server.close();
    },
  };
  return permissionServer;
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

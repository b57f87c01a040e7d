/**
 * link-to-run under `--auth`: the route needs EDIT on the run's experiment (a trace linked before its
 * export arrives has no experiment yet to check), and the operation EDIT on the experiment of each trace
 * already here; a refusal links none of the request's traces.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { issueToken } from '../../shared/auth/issue.js';
import type { PermissionLevel, ResourceKind } from '../../shared/auth/permissions.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { Api, type ApiResponse } from '../helpers/http.js';
import { newTraceHex } from '../helpers/otlp.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { Caller, sourceRunOf } from '../helpers/trace-caller.js';

let server: TestServer;
let api: Api;
let store: OpenTokenStore;
let grants: DynamoPermissionRepository;
let admin: Caller;
let x: string;
let y: string;
let runX: string;

beforeAll(async () => {
  server = await startTestServer({ auth: { cacheTtlMs: 0, permissionCacheTtlMs: 300 } });
  api = new Api(server.url);
  store = await openLocalTokenStore(server.dataDir);
  grants = new DynamoPermissionRepository(createDocumentClient(store.client), store.tableName);
  admin = new Caller(api, (await issueToken(store.tokens, { name: 'link-admin', scope: 'admin' })).token);
  x = await admin.experiment('link-auth-x');
  y = await admin.experiment('link-auth-y');
  runX = await admin.run(x);
});
afterAll(async () => {
  await store?.close();
  await server?.close();
});

/** A token named `name` with `scope`, holding each grant given. */
async function caller(name: string, scope: Scope, held: [ResourceKind, string, PermissionLevel][]) {
  for (const [kind, resource, permission] of held) {
    await grants.put({ principal: name, kind, resource, permission });
  }
  return new Caller(api, (await issueToken(store.tokens, { name, scope })).token);
}

async function denied(response: Promise<ApiResponse>, mention: string): Promise<void> {
  const answered = await response;
  expect(answered.status, answered.text).toBe(403);
  expect(answered.body.error_code).toBe('PERMISSION_DENIED');
  expect(answered.body.message).toContain(mention);
}

it('needs EDIT on the run’s experiment, even for a trace not yet arrived, and writes nothing', async () => {
  const reader = await caller('link-reads-x', 'write', [['experiment', x, 'READ']]);
  const traceHex = newTraceHex();
  await denied(reader.link([`tr-${traceHex}`], runX), `experiment '${x}'`);
  await admin.exportSpans(y, traceHex, 1_800_100_005_000);
  expect(await sourceRunOf(admin, `tr-${traceHex}`)).toBeUndefined();
  const readScope = await caller('link-read-scope', 'read', []);
  await denied(readScope.link([`tr-${newTraceHex()}`], runX), 'EDIT');
});

it('needs EDIT on the experiment of each trace already here; one not yet here has none to check', async () => {
  const present = newTraceHex();
  await admin.exportSpans(y, present, 1_800_100_006_000);
  const editor = await caller('link-reads-y', 'write', [['experiment', y, 'READ']]);
  const early = newTraceHex();
  // A present trace it may not edit refuses the whole request: the early one is not linked either.
  await denied(editor.link([`tr-${early}`, `tr-${present}`], runX), `experiment '${y}'`);
  expect(await sourceRunOf(admin, `tr-${present}`)).toBeUndefined();
  await admin.exportSpans(x, early, 1_800_100_007_000);
  expect(await sourceRunOf(admin, `tr-${early}`)).toBeUndefined();

  const later = newTraceHex();
  expect((await editor.link([`tr-${later}`], runX)).status).toBe(200);
  await admin.exportSpans(x, later, 1_800_100_008_000);
  expect((await admin.search(x, `trace.run_id = '${runX}'`)).map((trace) => trace.trace_id)).toEqual([
    `tr-${later}`,
  ]);
  const alsoPresent = newTraceHex();
  await admin.exportSpans(x, alsoPresent, 1_800_100_009_000);
  expect((await editor.link([`tr-${alsoPresent}`], runX)).status).toBe(200);
  expect(await sourceRunOf(admin, `tr-${alsoPresent}`)).toBe(runX);
});

/**
 * The permission matrix over the route table on `cairn server --auth`, the handlers run from their sources
 * (test/helpers/permission-matrix.ts says what is asked and why; test/infra/permissions-bundles.test.ts runs
 * the same matrix on the synthesized bundles). One server for every route: the whole matrix is seeded and
 * answered in the hook, and each route's outcomes are checked by a test of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { externalDynamoEndpoint, uniqueTableName } from '../helpers/dynamo.js';
import {
  BUILDABLE_ROUTES,
  FILTERED_ROUTES,
  GUARDED_ROUTES,
  type Outcome,
  runMatrix,
  type SearchOutcome,
  UNBUILDABLE_ROUTES,
  UNSEARCHABLE_ROUTES,
  wrongAnswers,
  wrongSearchAnswers,
} from '../helpers/permission-matrix.js';

/**
 * The matrix checks the functions against the table's `needs`; this pins the table's `needs` to MLflow's
 * mapping (mlflow/server/auth: reads READ, writes EDIT, deleting or restoring an experiment or registered
 * model and managing its permissions MANAGE), written independently of the table, so that a route
 * declared at the wrong level cannot pass the matrix by being enforced as wrongly as it is declared.
 */
const MANAGE_OPERATIONS: ReadonlySet<string> = new Set([
  'deleteExperiment',
  'restoreExperiment',
  'deleteRegisteredModel',
  // Cairn's own, admin-scoped too: a policy is a rule over the model's other holders.
  'setPromotionPolicy',
  'deletePromotionPolicy',
]);
function mlflowLevel(operation: string): string {
  if (MANAGE_OPERATIONS.has(operation) || operation.endsWith('Permission')) return 'MANAGE';
  return /^(get|list|search|batchGet|download|presignedDownload)/.test(operation) ? 'READ' : 'EDIT';
}

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-matrix-'));
let server: LocalServer;
let outcomes: Map<string, Outcome[]>;
let searches: Map<string, SearchOutcome[]>;

beforeAll(async () => {
  const external = externalDynamoEndpoint();
  server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    auth: true,
    ...(external ? { dynamodbEndpoint: external, tableName: uniqueTableName() } : {}),
  });
  ({ outcomes, searches } = await runMatrix(server.url, dataDir));
}, 600_000);

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('permission matrix over the route table', () => {
  it('has a request for every route that declares access', () => {
    expect(GUARDED_ROUTES.length).toBeGreaterThan(0);
    expect(
      UNBUILDABLE_ROUTES.map((route) => route.routeKey),
      'add a builder to test/helpers/route-requests.ts',
    ).toEqual([]);
  });

  it("declares MLflow's level for every guarded route", () => {
    const differing = GUARDED_ROUTES.filter(
      (route) => route.access?.needs !== mlflowLevel(route.operation),
    ).map(
      (route) => `${route.routeKey}: declares ${route.access?.needs}, MLflow ${mlflowLevel(route.operation)}`,
    );
    expect(differing).toEqual([]);
  });

  it('reads back what refused writes target (nothing done) for the writes that have a target of their own', () => {
    const probed = new Set(
      [...outcomes.values()].flat().flatMap((outcome) => (outcome.probed ? [outcome.request.method] : [])),
    );
    const routes = [...outcomes.entries()].filter(([, list]) => list.some((outcome) => outcome.probed));
    // Deletes, restores, renames, tags, params, uploads, aliases, policies, trace ends: far more than a few.
    expect(routes.length).toBeGreaterThan(40);
    expect([...probed].sort()).toEqual(['DELETE', 'PATCH', 'POST', 'PUT']);
  });

  it.each(BUILDABLE_ROUTES.map((route) => [route.routeKey, route] as const))('%s', (_key, route) => {
    const wrong = wrongAnswers(route, outcomes.get(route.routeKey) ?? []);
    expect(wrong.join('\n'), `${route.routeKey} needs ${route.access?.needs}`).toBe('');
  });
});

describe('filtered searches', () => {
  it('has a search for every filtered route', () => {
    expect(FILTERED_ROUTES.length).toBeGreaterThan(0);
    expect(UNSEARCHABLE_ROUTES.map((route) => route.routeKey)).toEqual([]);
  });

  it.each(FILTERED_ROUTES.map((route) => [route.routeKey, route] as const))('%s', (_key, route) => {
    const wrong = wrongSearchAnswers(searches.get(route.routeKey) ?? []);
    expect(wrong.join('\n')).toBe('');
  });
});

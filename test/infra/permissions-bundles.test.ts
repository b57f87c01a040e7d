/**
 * The permission matrix (test/helpers/permission-matrix.ts) on the bundles `cdk synth` writes: the local
 * server with `--auth` runs each function's index.mjs as Lambda loads it, so the route table each bundle
 * carries (its `access` declarations), its check and its grant reads are the deployable code's, not the
 * sources'. A bundle built from a different table, or without the check, fails here while the sources pass.
 * Its IAM side (may the function read grants at all) is test/infra/permissions-grants.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/bin/app.js';
import type { LambdaHandler } from '../../local/front.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import type { FunctionName } from '../../shared/api/routes.js';
import { withoutBundlingProgress } from '../helpers/output.js';
import {
  BUILDABLE_ROUTES,
  FILTERED_ROUTES,
  type Outcome,
  runMatrix,
  type SearchOutcome,
  UNBUILDABLE_ROUTES,
  UNSEARCHABLE_ROUTES,
  wrongAnswers,
  wrongSearchAnswers,
} from '../helpers/permission-matrix.js';

const FUNCTIONS: readonly FunctionName[] = ['tracking', 'artifacts', 'registry', 'ui', 'traces'];

/** Each function's index.mjs, through the template: its Code.S3Key is `<asset hash>.zip`. */
function synthesizedBundles(): Record<FunctionName, string> {
  const app = new App();
  const built = withoutBundlingProgress(() => buildApp(app));
  const template = Template.fromStack(built.api);
  const found: Partial<Record<FunctionName, string>> = {};
  for (const fn of FUNCTIONS) {
    const id = built.api.getLogicalId(built.api.functions[fn].fn.node.defaultChild as never);
    const key = (template.toJSON().Resources[id] as { Properties: { Code: { S3Key: string } } }).Properties
      .Code.S3Key;
    found[fn] = join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
  }
  return found as Record<FunctionName, string>;
}

let dataDir: string;
let server: LocalServer;
let outcomes: Map<string, Outcome[]>;
let searches: Map<string, SearchOutcome[]>;
const loaded: string[] = [];

beforeAll(async () => {
  const bundles = synthesizedBundles();
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-matrix-bundles-'));
  server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    auth: true,
    loadHandlers: async () => {
      const handlers: Partial<Record<FunctionName, LambdaHandler>> = {};
      for (const fn of FUNCTIONS) {
        const module = (await import(pathToFileURL(bundles[fn]).href)) as { handler: LambdaHandler };
        handlers[fn] = module.handler;
        loaded.push(bundles[fn]);
      }
      return handlers as Record<FunctionName, LambdaHandler>;
    },
  });
  ({ outcomes, searches } = await runMatrix(server.url, dataDir));
}, 900_000);

afterAll(async () => {
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('permission matrix on the synthesized bundles', () => {
  it('runs every function from its bundle, and has a request for every guarded route', () => {
    expect(loaded).toHaveLength(FUNCTIONS.length);
    for (const path of loaded) expect(path).toMatch(/asset\.[0-9a-f]+\/index\.mjs$/);
    expect(UNBUILDABLE_ROUTES.map((route) => route.routeKey)).toEqual([]);
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

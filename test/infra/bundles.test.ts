/**
 * The deployable artifacts themselves: the bundles `cdk synth` writes, loaded as Lambda loads them (ESM
 * import of index.mjs, its `handler` export) and served by the local API Gateway front against the real
 * stand-ins, so an HTTP round trip exercises exactly the code that would be deployed: bundling,
 * Powertools, the AWS SDK and the X-Ray SDK as their packages ship them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/bin/app.js';
import { BUNDLE_LIMIT_BYTES } from '../../infra/constructs/bundling.js';
import type { LambdaHandler } from '../../local/front.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import type { FunctionName } from '../../shared/api/routes.js';
import { type Bundle, buildBundle, LAMBDA_INIT_ENV } from '../bench/bundles.js';
import { Api } from '../helpers/http.js';
import { withoutBundlingProgress } from '../helpers/output.js';

let bundles: Record<FunctionName, string>;
let server: LocalServer;
let dataDir: string;
let api: Api;

/** The index.mjs of each function, found through the template: Code.S3Key is `<asset hash>.zip`. */
function synthesizedBundles(): Record<FunctionName, string> {
  const app = new App();
  const built = withoutBundlingProgress(() => buildApp(app));
  const functions = Template.fromStack(built.api).findResources('AWS::Lambda::Function');
  const found: Partial<Record<FunctionName, string>> = {};
  for (const [logicalId, resource] of Object.entries(functions)) {
    const key = (resource as { Properties: { Code: { S3Key?: string } } }).Properties.Code.S3Key;
    const area = (['tracking', 'artifacts', 'registry', 'ui', 'traces'] as const).find((fn) =>
      logicalId.toLowerCase().startsWith(fn),
    );
    if (!area || !key) continue;
    found[area] = join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
  }
  return found as Record<FunctionName, string>;
}

beforeAll(async () => {
  bundles = synthesizedBundles();
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-bundles-'));
  server = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    loadHandlers: async () => {
      const load = async (fn: FunctionName) =>
        ((await import(pathToFileURL(bundles[fn]).href)) as { handler: LambdaHandler }).handler;
      return {
        tracking: await load('tracking'),
        artifacts: await load('artifacts'),
        registry: await load('registry'),
        ui: await load('ui'),
        traces: await load('traces'),
      };
    },
  });
  api = new Api(server.url);
});

afterAll(async () => {
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The JavaScript Lambda would load from a bundle's directory (source maps aside). */
function javascriptIn(index: string): string[] {
  return readdirSync(dirname(index))
    .filter((name) => name.endsWith('.mjs'))
    .map((name) => join(dirname(index), name));
}

describe('the synthesized bundles', () => {
  it('exist for every function and stay under 1 MB', () => {
    expect(Object.keys(bundles).sort()).toEqual(['artifacts', 'registry', 'traces', 'tracking', 'ui']);
    for (const index of Object.values(bundles)) {
      const bytes = javascriptIn(index).reduce((sum, file) => sum + statSync(file).size, 0);
      expect(bytes).toBeLessThan(BUNDLE_LIMIT_BYTES);
    }
  });

  it('carry the X-Ray SDK itself, where they call AWS', () => {
    // The ui function calls no AWS service: Lambda's own segment traces it, with nothing to capture.
    for (const index of [bundles.tracking, bundles.artifacts, bundles.registry, bundles.traces]) {
      const code = javascriptIn(index).map((file) => readFileSync(file, 'utf8'));
      // The SDK's name as it reports itself in every segment (aws-xray-sdk-core/dist/lib/aws-xray.js).
      expect(code.some((text) => text.includes('X-Ray for Node.js'))).toBe(true);
    }
  });

  it('start in a fresh Node with the environment Lambda gives a traced function, quietly', async () => {
    for (const index of Object.values(bundles)) {
      const probe = `const { handler } = await import(${JSON.stringify(pathToFileURL(index).href)}); if (typeof handler !== 'function') throw new Error('no handler');`;
      const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], {
        env: { PATH: process.env.PATH, ...LAMBDA_INIT_ENV, LAMBDA_TASK_ROOT: dirname(index) },
      });
      // The X-Ray SDK and the credential chain would complain here about a Lambda setup they cannot use.
      expect(child.stderr).toBe('');
    }
  });
});

describe('each function as the bench builds it (npm run size, npm run bench)', () => {
  const FUNCTIONS = ['tracking', 'artifacts', 'registry', 'traces'] as const;
  let built: Record<(typeof FUNCTIONS)[number], Bundle>;
  beforeAll(async () => {
    built = Object.fromEntries(
      await Promise.all(FUNCTIONS.map(async (fn) => [fn, await buildBundle(fn)] as const)),
    ) as typeof built;
  });

  it('is the code synthesis deploys', () => {
    for (const fn of FUNCTIONS) {
      // Chunk names aside (they hash the source maps, which name sources relative to where the bundle
      // is written), the same files of the same sizes.
      const synthesized = javascriptIn(bundles[fn]).map((file) => statSync(file).size);
      expect(
        synthesized.reduce((sum, size) => sum + size, 0),
        fn,
      ).toBe(built[fn].bytes);
      expect(synthesized.length, fn).toBe(
        [...built[fn].files.keys()].filter((name) => name.endsWith('.mjs')).length,
      );
    }
  });

  it('bundles the packages themselves: nothing of the project stands in for an SDK or X-Ray module', () => {
    for (const fn of FUNCTIONS) {
      const inputs = Object.keys(built[fn].metafile.inputs);
      const own = inputs.filter((path) => !path.startsWith('node_modules/'));
      expect(
        own.filter((path) => !/^(functions|shared)\//.test(path)),
        fn,
      ).toEqual([]);
      const packages = new Set(inputs.map((path) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1]));
      for (const name of [
        'aws-xray-sdk-core',
        'cls-hooked',
        '@aws-lambda-powertools/tracer',
        // The whole default credential chain, not the environment provider alone.
        '@aws-sdk/credential-provider-node',
        '@aws-sdk/credential-provider-ini',
        '@aws-sdk/credential-provider-sso',
        '@smithy/credential-provider-imds',
        '@aws-sdk/endpoint-cache',
      ])
        expect(packages, `${fn} bundles ${name}`).toContain(name);
      expect(inputs.some((path) => path.includes('@smithy/core/dist-es/submodules/event-streams/'))).toBe(
        true,
      );
    }
  });
});

describe('the synthesized bundles, served', () => {
  it('serve an HTTP round trip: experiment, run, log-batch, history, artifact up and down, health', async () => {
    expect((await api.request('GET', '/health')).text).toBe('OK');

    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'bundled' });
    expect(created.status).toBe(200);
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: created.body.experiment_id,
    });
    const runId = run.body.run.info.run_id;
    const points = Array.from({ length: 40 }, (_, step) => ({
      key: 'loss',
      value: 1 / (step + 1),
      timestamp: 7,
      step,
    }));
    expect((await api.post('runs/log-batch', { run_id: runId, metrics: points })).status).toBe(200);
    const history = await api.get<{ metrics: { step: number; value: number }[] }>('metrics/get-history', {
      run_id: runId,
      metric_key: 'loss',
    });
    expect(history.body.metrics.map((point) => [point.step, point.value])).toEqual(
      points.map((point) => [point.step, point.value]),
    );

    const path = `/api/2.0/mlflow-artifacts/artifacts/${created.body.experiment_id}/${runId}/artifacts/notes.txt`;
    const put = await fetch(`${server.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'written through the bundle',
    });
    expect(put.status).toBe(200);
    const redirect = await fetch(`${server.url}${path}`, { redirect: 'manual' });
    expect(redirect.status).toBe(307);
    const object = await fetch(redirect.headers.get('location') as string);
    expect(await object.text()).toBe('written through the bundle');

    expect((await api.post('registered-models/create', { name: 'bundled-model' })).status).toBe(200);
    const version = await api.post<{ model_version: { version: string } }>('model-versions/create', {
      name: 'bundled-model',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(version.body.model_version.version).toBe('1');
    const model = await api.get<{ registered_model: { latest_versions: unknown[] } }>(
      'registered-models/get',
      {
        name: 'bundled-model',
      },
    );
    expect(model.body.registered_model.latest_versions).toHaveLength(1);
  });

  it('serve the web UI built into the ui function, page and linked assets', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const script = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
    expect(script).toMatch(/^assets\/app-[A-Z0-9]+\.js$/);
    // fetch asks for and decodes gzip (br too, over https): the precompressed twins written beside the bundle.
    const asset = await fetch(`${server.url}/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-encoding')).toMatch(/^(br|gzip)$/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await asset.text()).length).toBeGreaterThan(1000);
  });

  it('answer errors as MLflow JSON', async () => {
    const missing = await api.get('runs/get', { run_id: 'f'.repeat(32) });
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const unknown = await api.request('GET', '/api/2.0/mlflow/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('ENDPOINT_NOT_FOUND');
    const notARun = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/0/${'e'.repeat(32)}/artifacts/x`,
      {
        redirect: 'manual',
      },
    );
    expect(notARun.status).toBe(404);
    expect(((await notARun.json()) as { error_code: string }).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});

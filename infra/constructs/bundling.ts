/**
 * How every function is bundled, shared by the CDK construct, `npm run size`, the bench and the bundle
 * tests, so that the sizes measured are the sizes deployed.
 */
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import type { FunctionName } from '../../shared/api/routes.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** design.md: cold start grows with the bundle. */
export const BUNDLE_BUDGET_BYTES = 400 * 1024;

/** Every function with an entry point; the authorizer joins when functions/authorizer/handler.ts exists. */
export const BUNDLED_FUNCTIONS: readonly (FunctionName | 'authorizer')[] = [
  'tracking',
  'artifacts',
  'registry',
  'authorizer',
];

export function entryOf(fn: string): string {
  return join(REPO_ROOT, 'functions', fn, 'handler.ts');
}

const lambda = (file: string) => join(REPO_ROOT, 'infra', 'lambda', file);

/**
 * Module replacements for Lambda bundles. Each stands in for code that cannot run, or is never called,
 * on Lambda, or (xray-lite) does on Lambda, in a few KB, the part of a library that runs there; the
 * local server and the tests do not bundle and keep the real modules. Measured savings are in
 * docs/benchmarks.md; each file says why its module is not needed.
 */
export const LAMBDA_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': lambda('env-credentials.ts'),
  '@aws-sdk/endpoint-cache': lambda('no-endpoint-cache.ts'),
  '@smithy/core/event-streams': lambda('no-event-streams.ts'),
  'aws-xray-sdk-core': lambda('xray-lite.ts'),
  '@smithy/core/checksum': lambda('native-hashes.ts'),
  '@aws-sdk/checksums/sha': lambda('native-hashes.ts'),
  '@aws-sdk/checksums/crc': lambda('native-hashes.ts'),
};

/** Some CommonJS dependencies call require() for Node built-ins; ESM output needs a require. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __cairnCreateRequire } from 'node:module'; const require = __cairnCreateRequire(import.meta.url);";

/**
 * The esbuild settings the CDK construct (infra/constructs/cairn-function.ts) passes to NodejsFunction,
 * for building the same bundle outside CDK. Source maps are written beside the bundle there and do not
 * count towards its size.
 */
export function lambdaBuildOptions(fn: string): BuildOptions {
  return {
    entryPoints: [entryOf(fn)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    alias: LAMBDA_ALIASES,
    logLevel: 'error',
  };
}

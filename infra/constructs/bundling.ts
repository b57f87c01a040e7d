/**
 * How every function is bundled, shared by the CDK construct, `npm run size`, the bench and the bundle
 * tests, so that the sizes measured are the sizes deployed.
 */
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import type { FunctionName } from '../../shared/api/routes.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/**
 * A ceiling, not the budget: design.md budgets cold start as module init (`npm run bench -- init`), and
 * bytes are only a proxy for it. Past 1 MB something large has crept in and is worth a look.
 */
export const BUNDLE_LIMIT_BYTES = 1024 * 1024;

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
    logLevel: 'error',
  };
}

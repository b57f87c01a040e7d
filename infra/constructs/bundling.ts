/**
 * How every function is bundled, shared by the CDK construct, `npm run size`, the bench and the bundle
 * tests, so that the sizes measured are the sizes deployed.
 */
import { join } from 'node:path';
import { type BuildOptions, buildSync } from 'esbuild';
import { UI_BUNDLE_DIR, writeUiBundle } from '../../functions/ui/bundle.js';
import type { FunctionName } from '../../shared/api/routes.js';
import { buildUiSync } from '../../ui/build.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/**
 * A ceiling, not the budget: design.md budgets cold start as module init (`npm run bench -- init`), and
 * bytes are only a proxy for it. Past 1 MB something large has crept in and is worth a look.
 */
export const BUNDLE_LIMIT_BYTES = 1024 * 1024;

/** Every function with an entry point; the authorizer joins when functions/authorizer/handler.ts exists. */
export const BUNDLED_FUNCTIONS: readonly (FunctionName | 'authorizer' | 'purge' | 'webhooks')[] = [
  'tracking',
  'artifacts',
  'registry',
  'traces',
  'authorizer',
  'purge',
  'webhooks',
];

export function entryOf(fn: string): string {
  return join(REPO_ROOT, 'functions', fn, 'handler.ts');
}

/** Some CommonJS dependencies call require() for Node built-ins; ESM output needs a require. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __cairnCreateRequire } from 'node:module'; const require = __cairnCreateRequire(import.meta.url);";

/** The module Lambda loads (`index.handler`); the chunks it imports sit beside it. */
export const LAMBDA_ENTRY_FILE = 'index.mjs';

/**
 * The esbuild settings of every function's bundle, written to `outdir`: by the CDK construct
 * (infra/constructs/cairn-function.ts) for deployment, and by the bench and the tests to measure the
 * same bytes.
 *
 * Code splitting: the AWS SDK loads what few calls need with `import()` (the credential sources other
 * than the environment, IMDS, event streams). In one file those modules are parsed at every cold start
 * all the same; as chunks they are read only if a call needs them, which on Lambda, with the role's
 * credentials in the environment, it does not. The deployed code is the same, only cut in files.
 *
 * Source maps are written beside each file, without the sources themselves, but Lambda does not load
 * them (no --enable-source-maps, cairn-function.ts): Node would read and parse the map of every module
 * at cold start. They ship in the asset so that a minified frame of a logged stack maps to its file and
 * line offline (docs/architecture.md).
 */
export function lambdaBuildOptions(fn: string, outdir: string): BuildOptions {
  return {
    entryPoints: { index: entryOf(fn) },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    // Everything, the AWS SDK included (no externals): Lambda runs the versions the lockfile pins and
    // the tests ran, not the runtime's.
    bundle: true,
    splitting: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'error',
  };
}

/**
 * Writes `fn`'s deployable code into `outdir`: its Lambda bundle and, for the ui function, the web UI built
 * beside it (functions/ui/handler.ts reads it from there once per container; no S3 read at run time).
 * Synchronous: CDK's local bundling hook cannot wait for a promise.
 */
export function bundleFunction(fn: FunctionName | 'authorizer' | 'purge' | 'webhooks', outdir: string): void {
  buildSync(lambdaBuildOptions(fn, outdir));
  if (fn === 'ui') writeUiBundle(buildUiSync({ minify: true }), join(outdir, UI_BUNDLE_DIR));
}

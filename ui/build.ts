/**
 * Builds the web UI with esbuild: ui/src/main.tsx bundled with its CSS into content-hashed
 * `assets/app-<hash>.js` and `.css`, and an index.html that links them (no inline script or style, so the
 * Content-Security-Policy needs no 'unsafe-inline' and no hashes). Nothing is written by the build
 * itself: the local server serves the result from memory, the CDK bundling of the ui function and
 * `npm run build:ui` write it (functions/ui/bundle.ts says how).
 */
import { join, relative, resolve, sep } from 'node:path';
import { type BuildOptions, type BuildResult, build, buildSync } from 'esbuild';
import { ASSETS_DIR, INDEX_PATH, type UiBundle, uiFile, writeUiBundle } from '../functions/ui/bundle.js';

export type { UiBundle, UiFile } from '../functions/ui/bundle.js';

const UI_ROOT = import.meta.dirname;
/** esbuild needs an output directory to name files by; nothing is written there. */
const OUT_DIR = join(UI_ROOT, 'out');

export interface UiBuildOptions {
  minify: boolean;
  /** Brotli quality of the precompressed variants; the smallest (11) unless said (functions/ui/bundle.ts). */
  brotliQuality?: number;
}

export function uiBuildOptions({ minify }: UiBuildOptions): BuildOptions & { write: false; metafile: true } {
  return {
    absWorkingDir: UI_ROOT,
    entryPoints: { app: join(UI_ROOT, 'src', 'main.tsx') },
    outdir: OUT_DIR,
    entryNames: `${ASSETS_DIR}/[name]-[hash]`,
    // Images and fonts the code or CSS imports land beside the app, hashed too, under the one assets route.
    assetNames: `${ASSETS_DIR}/[name]-[hash]`,
    loader: { '.svg': 'file', '.png': 'file', '.woff2': 'file' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(UI_ROOT, 'tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    minify,
    sourcemap: false,
    write: false,
    metafile: true,
    logLevel: 'silent',
  };
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * The page. Asset links are relative, so the UI works under an API Gateway stage path (`/prod/`) as at
 * the root. The empty data: icon spares the browser a /favicon.ico request, which is not a route.
 */
export function indexHtml(script: string, stylesheet: string | undefined): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<title>Cairn</title>',
    '<link rel="icon" href="data:,">',
    ...(stylesheet ? [`<link rel="stylesheet" href="${escapeAttribute(stylesheet)}">`] : []),
    `<script type="module" src="${escapeAttribute(script)}"></script>`,
    '</head>',
    '<body>',
    '<div id="app"></div>',
    "<noscript>Cairn's web UI needs JavaScript.</noscript>",
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function toUiBundle(
  result: BuildResult<{ write: false; metafile: true }>,
  { brotliQuality }: UiBuildOptions,
): UiBundle {
  const pathOf = (absolute: string) => relative(OUT_DIR, absolute).split(sep).join('/');
  const entry = Object.entries(result.metafile.outputs).find(([, output]) => output.entryPoint);
  if (!entry) throw new Error('The UI build produced no entry script');
  const [script, { cssBundle }] = entry;
  const outputPath = (path: string) => pathOf(resolve(UI_ROOT, path));
  const index = indexHtml(outputPath(script), cssBundle ? outputPath(cssBundle) : undefined);
  return {
    files: [
      uiFile(INDEX_PATH, new TextEncoder().encode(index), brotliQuality),
      ...result.outputFiles.map((file) => uiFile(pathOf(file.path), file.contents, brotliQuality)),
    ],
  };
}

/** The UI, built in memory (the local server does this at start: about 100 ms). */
export async function buildUi(options: UiBuildOptions): Promise<UiBundle> {
  return toUiBundle(await build(uiBuildOptions(options)), options);
}

/** The same build, synchronously: CDK's local bundling hook cannot wait for a promise. */
export function buildUiSync(options: UiBuildOptions): UiBundle {
  return toUiBundle(buildSync(uiBuildOptions(options)), options);
}

/** `npm run build:ui`: the deployable bundle in dist/ui/, for a look or for any static host. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = join(UI_ROOT, '..', 'dist', 'ui');
  const started = performance.now();
  const bundle = await buildUi({ minify: true });
  writeUiBundle(bundle, outDir);
  for (const file of bundle.files) {
    console.log(
      `${file.path.padEnd(32)} ${String(file.body.length).padStart(8)} B  gzip ${String(file.gzip.length).padStart(7)}  br ${String(file.brotli.length).padStart(7)}`,
    );
  }
  console.log(`built ${outDir} in ${Math.round(performance.now() - started)} ms`);
}

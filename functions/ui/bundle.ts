/**
 * The built web UI as the ui function serves it: every file with its bytes precompressed once, at build
 * time (brotli at its slowest, smallest setting costs nothing per request then), and how the bundle is laid
 * out on disk: beside the Lambda handler in the deployed asset, and in `dist/ui/` for `npm run build:ui`.
 * No esbuild here: this module is part of the ui function's bundle (ui/build.ts builds).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';

export interface UiFile {
  /** Path below the UI's root, with forward slashes: `index.html`, `assets/app-<hash>.js`. */
  path: string;
  body: Uint8Array;
  contentType: string;
  gzip: Uint8Array;
  brotli: Uint8Array;
}

export interface UiBundle {
  files: readonly UiFile[];
}

/** The page; every other file sits under ASSETS_DIR with its content hash in its name. */
export const INDEX_PATH = 'index.html';
export const ASSETS_DIR = 'assets';
/** Where the deployed ui function finds the bundle, relative to its own module. */
export const UI_BUNDLE_DIR = 'ui';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** An unknown extension is served as bytes: never as something a browser would render or run. */
export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Brotli's best setting for what is deployed (paid once, at synth). Measured 2026-12-06 (2-core AMD EPYC), 580 KB
 * of minified JS: quality 11 took 1,417 ms, quality 5 54 ms for 12 % more bytes; so the local server,
 * which builds at every start (and so does every integration test file), uses FAST_BROTLI_QUALITY.
 */
export const FAST_BROTLI_QUALITY = 5;

export function uiFile(
  path: string,
  body: Uint8Array,
  brotliQuality: number = zlib.BROTLI_MAX_QUALITY,
): UiFile {
  return {
    path,
    body,
    contentType: contentTypeOf(path),
    gzip: gzipSync(body, { level: 9 }),
    brotli: brotliCompressSync(body, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: brotliQuality,
        [zlib.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
  };
}

/** A strong validator for a file's bytes (the page is revalidated on every visit: `no-cache`). */
export function etagOf(body: Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

const GZIP_SUFFIX = '.gz';
const BROTLI_SUFFIX = '.br';

/** Writes each file with its `.gz` and `.br` twins, so a reader needs no compressor. */
export function writeUiBundle(bundle: UiBundle, dir: string): void {
  for (const file of bundle.files) {
    const target = join(dir, ...file.path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.body);
    writeFileSync(`${target}${GZIP_SUFFIX}`, file.gzip);
    writeFileSync(`${target}${BROTLI_SUFFIX}`, file.brotli);
  }
}

/** Reads what writeUiBundle wrote; a bundle without its page is refused (a broken build must not deploy). */
export function readUiBundle(dir: string): UiBundle {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !/\.(gz|br)$/.test(entry.name))
    .map((entry): UiFile => {
      const source = join(entry.parentPath, entry.name);
      return {
        path: relative(dir, source).split(sep).join('/'),
        body: readFileSync(source),
        contentType: contentTypeOf(entry.name),
        gzip: readFileSync(`${source}${GZIP_SUFFIX}`),
        brotli: readFileSync(`${source}${BROTLI_SUFFIX}`),
      };
    });
  if (!files.some((file) => file.path === INDEX_PATH)) {
    throw new Error(`No ${INDEX_PATH} in the UI bundle at ${dir}`);
  }
  return { files };
}

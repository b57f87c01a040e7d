/**
 * The UI build and its serving logic, without a server: the size budget (design.md: ≤ 150 KB gzipped
 * JS+CSS, asserted on the minified build the server and the deployment serve), the page the build writes,
 * the bundle's round trip through disk as the ui function reads it, and content-coding negotiation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { readUiBundle, type UiBundle, writeUiBundle } from '../../../functions/ui/bundle.js';
import { chooseEncoding } from '../../../functions/ui/serve.js';
import { buildUi, buildUiSync } from '../../../ui/build.js';

const BUDGET_GZIP_BYTES = 150 * 1024;

let bundle: UiBundle;
beforeAll(async () => {
  bundle = await buildUi({ minify: true });
});

describe('the UI build', () => {
  it('stays within 150 KB of gzipped JS and CSS', () => {
    const code = bundle.files.filter((file) => /\.(js|css)$/.test(file.path));
    expect(code.map((file) => file.path.replace(/-[A-Z0-9]+\./, '-<hash>.')).sort()).toEqual([
      'assets/app-<hash>.css',
      'assets/app-<hash>.js',
    ]);
    // Measured with gzip -9 of the bytes themselves, not the stored variant: the budget is the format's.
    const gzipped = code.reduce((sum, file) => sum + gzipSync(file.body, { level: 9 }).length, 0);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });

  it('names assets by content, so the same sources build the same names (sync build for CDK too)', () => {
    const again = buildUiSync({ minify: true });
    expect(again.files.map((file) => file.path)).toEqual(bundle.files.map((file) => file.path));
  });

  it('links exactly the built script and stylesheet from the page, relatively', () => {
    const index = bundle.files.find((file) => file.path === 'index.html');
    const html = new TextDecoder().decode(index?.body);
    const linked = [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(linked.sort()).toEqual(
      bundle.files
        .filter((file) => file.path.startsWith('assets/'))
        .map((file) => file.path)
        .sort(),
    );
  });

  it('reads back from disk as written, precompressed variants included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-ui-'));
    try {
      writeUiBundle(bundle, dir);
      const read = readUiBundle(dir);
      const byPath = (files: UiBundle['files']) =>
        Object.fromEntries(files.map((file) => [file.path, file] as const));
      const original = byPath(bundle.files);
      for (const file of read.files) {
        const source = original[file.path];
        expect(source, file.path).toBeDefined();
        expect(Buffer.from(file.body).equals(Buffer.from(source?.body ?? []))).toBe(true);
        expect(Buffer.from(file.brotli).equals(Buffer.from(source?.brotli ?? []))).toBe(true);
        expect(Buffer.from(file.gzip).equals(Buffer.from(source?.gzip ?? []))).toBe(true);
        expect(file.contentType).toBe(source?.contentType);
      }
      expect(read.files.length).toBe(bundle.files.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a directory without the page', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-ui-'));
    try {
      expect(() => readUiBundle(dir)).toThrow(/index\.html/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('chooseEncoding', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['deflate', 'identity'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0.2, gzip;q=0.8', 'gzip'],
    ['br;q=0.8, gzip;q=0.8', 'br'],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
    ['gzip;q=0, br;q=0', 'identity'],
    ['identity', 'identity'],
    ['br;q=nonsense', 'identity'],
  ] as const)('%s → %s', (header, expected) => {
    expect(chooseEncoding(header)).toBe(expected);
  });
});

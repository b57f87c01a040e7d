/**
 * Each function's Lambda bundle, built with the CDK construct's esbuild settings
 * (infra/constructs/bundling.ts): its size against the 400 KB budget, where the bytes come from, and
 * its module-init time measured the way a cold start pays it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import {
  BUNDLE_BUDGET_BYTES,
  BUNDLED_FUNCTIONS,
  entryOf,
  lambdaBuildOptions,
  REPO_ROOT,
} from '../../infra/constructs/bundling.js';

export interface Bundle {
  fn: string;
  bytes: number;
  code: Uint8Array;
  metafile: Metafile;
}

/** The functions that have an entry point today (the authorizer arrives with its own change). */
export function bundledFunctions(): string[] {
  return BUNDLED_FUNCTIONS.filter((fn) => existsSync(entryOf(fn)));
}

/** Builds `fn`'s bundle; or, given `source`, that module with the same settings, resolved from the repository. */
export async function buildBundle(fn: string, source?: string): Promise<Bundle> {
  const { entryPoints, ...options } = lambdaBuildOptions(fn);
  const result = await build({
    ...options,
    ...(source === undefined
      ? { entryPoints }
      : { stdin: { contents: source, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: `${fn}.ts` } }),
    write: false,
    metafile: true,
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array(0);
  return { fn, bytes: code.length, code, metafile: result.metafile };
}

/** Output bytes per npm package ('(cairn)' for the project's own code), largest first. */
export function largestParts(bundle: Bundle, count = 8): [string, number][] {
  const output = Object.values(bundle.metafile.outputs)[0];
  const byPackage = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = match ? (match[1] as string) : '(cairn)';
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

export async function bundleSizes() {
  const rows = [];
  for (const fn of bundledFunctions()) {
    const bundle = await buildBundle(fn);
    rows.push({
      function: fn,
      'size KB': Number((bundle.bytes / 1024).toFixed(1)),
      'budget KB': BUNDLE_BUDGET_BYTES / 1024,
      'within budget': bundle.bytes <= BUNDLE_BUDGET_BYTES ? 'yes' : 'NO',
      'largest parts (KB)': largestParts(bundle)
        .map(([name, size]) => `${name} ${(size / 1024).toFixed(0)}`)
        .join(', '),
    });
  }
  return rows;
}

/** A middy handler with nothing in it: what any function pays before its own code. */
const EMPTY_HANDLER = `import middy from '@middy/core';
export const handler = middy().handler(async () => ({ statusCode: 200, body: '' }));
`;

/**
 * Milliseconds to import the bundle once in a fresh `node`: its module init, what a cold start pays
 * beyond the runtime's own bootstrap.
 */
function initMs(file: string, env: NodeJS.ProcessEnv): number {
  const probe = `const t0 = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t0));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { env, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`init of ${file} failed: ${child.stderr}`);
  return Number(child.stdout);
}

export async function initTimes(runs = Number(process.env.BENCH_INIT_RUNS ?? 21)) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-init-'));
  try {
    const empty = await buildBundle('empty', EMPTY_HANDLER);
    const bundles = [empty, ...(await Promise.all(bundledFunctions().map((fn) => buildBundle(fn))))];
    // What Lambda sets that module init reads (configuration is read, clients built, at load).
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDINITBENCH',
      AWS_SECRET_ACCESS_KEY: 'init-bench',
      CAIRN_TABLE_NAME: 'init-bench',
      CAIRN_ARTIFACT_BUCKET: 'init-bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const files = bundles.map((bundle) => {
      const file = join(dir, `${bundle.fn}.mjs`);
      writeFileSync(file, bundle.code);
      return { bundle, file };
    });
    // Interleaved rounds, so that load on the shared machine falls on every bundle alike.
    const samples = new Map<string, number[]>(files.map(({ bundle }) => [bundle.fn, []]));
    for (let round = 0; round < runs; round++) {
      for (const { bundle, file } of files) samples.get(bundle.fn)?.push(initMs(file, env));
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const baseline = median(samples.get('empty') ?? []);
    return files.map(({ bundle }) => {
      const ms = median(samples.get(bundle.fn) ?? []);
      return {
        bundle: bundle.fn === 'empty' ? 'empty middy handler' : bundle.fn,
        'size KB': Number((bundle.bytes / 1024).toFixed(1)),
        'init ms (median)': Number(ms.toFixed(1)),
        'ratio to empty': Number((ms / baseline).toFixed(2)),
        processes: runs,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

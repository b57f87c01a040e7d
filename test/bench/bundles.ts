/**
 * Each function's Lambda bundle, built with the CDK construct's esbuild settings
 * (infra/constructs/bundling.ts): its size against the 1 MB ceiling, where the bytes come from, and
 * its module-init time measured the way a cold start pays it (the budget, design.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, type BuildResult, build, type Metafile } from 'esbuild';
import {
  BUNDLE_LIMIT_BYTES,
  BUNDLED_FUNCTIONS,
  entryOf,
  LAMBDA_ENTRY_FILE,
  lambdaBuildOptions,
  REPO_ROOT,
} from '../../infra/constructs/bundling.js';

export interface Bundle {
  fn: string;
  /** Every file the bundle writes, by its name in the bundle's directory: index.mjs, chunks, maps. */
  files: Map<string, Uint8Array>;
  /** JavaScript bytes, source maps aside. */
  bytes: number;
  /** JavaScript bytes a cold start loads: index.mjs and the chunks it imports, not those left to import(). */
  initBytes: number;
  metafile: Metafile;
}

/** The functions that have an entry point today (the authorizer arrives with its own change). */
export function bundledFunctions(): string[] {
  return BUNDLED_FUNCTIONS.filter((fn) => existsSync(entryOf(fn)));
}

const isJavaScript = (name: string) => name.endsWith('.mjs');

function toBundle(fn: string, outdir: string, result: BuildResult<{ write: false; metafile: true }>): Bundle {
  const files = new Map(result.outputFiles.map((file) => [relative(outdir, file.path), file.contents]));
  const outputs = result.metafile.outputs;
  const byName = new Map(Object.keys(outputs).map((path) => [relative(outdir, path), path]));
  // The static import graph from the entry: what Node reads, parses and evaluates before the handler.
  const loaded = new Set<string>();
  const pending = [byName.get(LAMBDA_ENTRY_FILE)];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (loaded.has(path)) continue;
    loaded.add(path);
    for (const { path: imported, kind } of outputs[path]?.imports ?? [])
      if (kind === 'import-statement' && outputs[imported]) pending.push(imported);
  }
  const sum = (names: Iterable<string>) =>
    [...names].filter(isJavaScript).reduce((total, name) => total + (files.get(name)?.length ?? 0), 0);
  return {
    fn,
    files,
    bytes: sum(files.keys()),
    initBytes: sum([...loaded].map((path) => relative(outdir, path))),
    metafile: result.metafile,
  };
}

/** Builds `fn`'s bundle; or, given `source`, that module with the same settings, resolved from the repository. */
export async function buildBundle(fn: string, source?: string): Promise<Bundle> {
  // Nothing is written there: the files stay in memory, named relative to it.
  const outdir = join(tmpdir(), 'cairn-bundle', fn);
  const options = lambdaBuildOptions(fn, outdir);
  const result = await build({
    ...options,
    ...(source === undefined
      ? {}
      : {
          entryPoints: undefined,
          stdin: { contents: source, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: `${fn}.ts` },
          entryNames: LAMBDA_ENTRY_FILE.replace(/\.mjs$/, ''),
        }),
    write: false,
    metafile: true,
  });
  return toBundle(fn, outdir, result);
}

/** Writes the bundle's files into `dir`; returns the path of its entry module. */
export function writeBundle(bundle: Bundle, dir: string): string {
  for (const [name, contents] of bundle.files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), contents);
  }
  return join(dir, LAMBDA_ENTRY_FILE);
}

/** Output bytes per npm package ('(cairn)' for the project's own code) over all its JavaScript, largest first. */
export function largestParts(bundle: Bundle, count = 8): [string, number][] {
  const byPackage = new Map<string, number>();
  for (const [file, output] of Object.entries(bundle.metafile.outputs)) {
    if (!isJavaScript(file)) continue;
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = match ? (match[1] as string) : '(cairn)';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

const kb = (bytes: number) => Number((bytes / 1024).toFixed(1));

export async function bundleSizes() {
  const rows = [];
  for (const fn of bundledFunctions()) {
    const bundle = await buildBundle(fn);
    rows.push({
      function: fn,
      'size KB': kb(bundle.bytes),
      'loaded at init KB': kb(bundle.initBytes),
      'limit KB': BUNDLE_LIMIT_BYTES / 1024,
      'under limit': bundle.bytes < BUNDLE_LIMIT_BYTES ? 'yes' : 'NO',
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
 * beyond the runtime's own bootstrap. Wall time, and the process's CPU time over the same span: the
 * latter counts none of the time other work on this shared machine takes the core away.
 */
function initMs(file: string, env: NodeJS.ProcessEnv): { wall: number; cpu: number } {
  const probe = `const t0 = performance.now(); const c0 = process.cpuUsage(); await import(${JSON.stringify(pathToFileURL(file).href)}); const c = process.cpuUsage(c0); process.stdout.write(JSON.stringify({ wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { env, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`init of ${file} failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { wall: number; cpu: number };
}

/**
 * Bundles built from the tree at git revision `rev` with that revision's own esbuild settings, for
 * comparing module init before and after a change within one interleaved run (separate runs on this
 * shared machine differ more than most changes do). The old tree is resolved against this checkout's
 * node_modules: a revision with other dependencies is compared against today's.
 */
async function bundlesAt(
  rev: string,
  into: string,
  functions: string[],
  sourceMaps: boolean,
): Promise<Bundle[]> {
  const tree = join(into, 'tree');
  mkdirSync(tree);
  const archive = spawnSync('git', ['-C', REPO_ROOT, 'archive', '--format=tar', rev], {
    maxBuffer: 1 << 30,
  });
  if (archive.status !== 0) throw new Error(`git archive ${rev} failed: ${archive.stderr}`);
  const untar = spawnSync('tar', ['-x', '-C', tree], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`untar of ${rev} failed: ${untar.stderr}`);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  const old = (await import(pathToFileURL(join(tree, 'infra', 'constructs', 'bundling.ts')).href)) as {
    lambdaBuildOptions: (fn: string, outdir: string) => BuildOptions;
  };
  return Promise.all(
    functions
      .filter((fn) => existsSync(join(tree, 'functions', fn, 'handler.ts')))
      .map(async (fn) => {
        const outdir = join(into, 'out', fn);
        const options = old.lambdaBuildOptions(fn, outdir);
        const result = await build({
          ...options,
          // Revisions before code splitting built one file and said nothing of where.
          ...(options.outdir || options.outfile ? {} : { outfile: join(outdir, LAMBDA_ENTRY_FILE) }),
          // Their construct asked NodejsFunction for a source map (with the sources in it) by itself.
          ...(sourceMaps && !options.sourcemap ? { sourcemap: 'linked' as const } : {}),
          write: false,
          metafile: true,
        });
        return { ...toBundle(fn, outdir, result), fn: `${fn} @ ${rev}` };
      }),
  );
}

/**
 * What Lambda sets that module init reads: configuration is read and clients are built at load, and
 * the X-Ray SDK and the Tracer set themselves up for Lambda when they see its variables (the SDK opens
 * its facade segment under LAMBDA_TASK_ROOT; the Tracer is on only under AWS_EXECUTION_ENV). No
 * _X_AMZN_TRACE_ID: Lambda sets it per invocation, after init.
 */
export const LAMBDA_INIT_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDINITBENCH',
  AWS_SECRET_ACCESS_KEY: 'init-bench',
  AWS_SESSION_TOKEN: 'init-bench',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_LAMBDA_FUNCTION_NAME: 'cairn-init-bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  LAMBDA_TASK_ROOT: '/var/task',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
  AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  CAIRN_TABLE_NAME: 'init-bench',
  CAIRN_ARTIFACT_BUCKET: 'init-bench',
  // What the webhooks construct gives the registry function: the AWS seams, loaded only on first use.
  CAIRN_WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/init-bench',
  CAIRN_WEBHOOK_KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/init-bench',
  CAIRN_EVENT_BUS_NAME: 'default',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * Module init of each bundle against an empty middy handler. BENCH_INIT_BEFORE=<git rev> adds that
 * revision's bundles to the same interleaved rounds, so before and after share the machine's load.
 * BENCH_INIT_SOURCE_MAPS=1 runs every bundle with its source map and NODE_OPTIONS --enable-source-maps
 * (Node then reads and parses the map at load); BENCH_INIT_SOURCE_MAPS=before runs only the old
 * revision's bundles so, as deployed until Lambda stopped enabling source maps (2026-12-06).
 */
export async function initTimes(
  runs = Number(process.env.BENCH_INIT_RUNS ?? 21),
  before = process.env.BENCH_INIT_BEFORE,
  sourceMapsFor: 'all' | 'before' | 'none' = process.env.BENCH_INIT_SOURCE_MAPS === '1'
    ? 'all'
    : process.env.BENCH_INIT_SOURCE_MAPS === 'before'
      ? 'before'
      : 'none',
) {
  const sourceMaps = sourceMapsFor !== 'none';
  const dir = mkdtempSync(join(tmpdir(), 'cairn-init-'));
  try {
    const empty = await buildBundle('empty', EMPTY_HANDLER);
    const current = await Promise.all(bundledFunctions().map((fn) => buildBundle(fn)));
    const old = before ? await bundlesAt(before, dir, bundledFunctions(), sourceMaps) : [];
    // Each current bundle beside its old self, so the table reads before/after line by line.
    const bundles = [
      empty,
      ...current.flatMap((bundle) => [...old.filter((o) => o.fn.startsWith(`${bundle.fn} @`)), bundle]),
    ];
    const envFor = (bundle: Bundle) => ({
      PATH: process.env.PATH,
      ...LAMBDA_INIT_ENV,
      ...(sourceMapsFor === 'all' || (sourceMapsFor === 'before' && old.includes(bundle))
        ? { NODE_OPTIONS: '--enable-source-maps' }
        : {}),
    });
    const entries = bundles.map((bundle, index) => ({
      bundle,
      env: envFor(bundle),
      file: writeBundle(bundle, join(dir, 'bundles', String(index))),
    }));
    // Interleaved rounds, so that load on the shared machine falls on every bundle alike; every other
    // round runs backwards, so that no bundle always follows the same one.
    const wall = new Map<string, number[]>(entries.map(({ bundle }) => [bundle.fn, []]));
    const cpu = new Map<string, number[]>(entries.map(({ bundle }) => [bundle.fn, []]));
    for (let round = 0; round < runs; round++) {
      for (const { bundle, file, env } of round % 2 === 0 ? entries : [...entries].reverse()) {
        const sample = initMs(file, env);
        wall.get(bundle.fn)?.push(sample.wall);
        cpu.get(bundle.fn)?.push(sample.cpu);
      }
    }
    const median = (values: number[] = []) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const [baseline, cpuBaseline] = [median(wall.get('empty')), median(cpu.get('empty'))];
    return entries.map(({ bundle }) => {
      const [ms, cpuMs] = [median(wall.get(bundle.fn)), median(cpu.get(bundle.fn))];
      return {
        bundle: bundle.fn === 'empty' ? 'empty middy handler' : bundle.fn,
        'size KB': kb(bundle.bytes),
        'loaded at init KB': kb(bundle.initBytes),
        'init ms (median)': Number(ms.toFixed(1)),
        'ratio to empty': Number((ms / baseline).toFixed(2)),
        'init CPU ms': Number(cpuMs.toFixed(1)),
        'CPU ratio': Number((cpuMs / cpuBaseline).toFixed(2)),
        processes: runs,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

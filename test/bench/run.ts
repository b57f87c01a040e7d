/**
 * `npm run bench [section ...]`: the figures recorded in docs/benchmarks.md, printed as tables. Nothing
 * here asserts on time: the machines are shared and noisy, so compare figures within one run.
 * Sections: bundles, init, experiments, tracking, search (long: 100,000 runs by default, see search.ts),
 * envelope, wide (runs of thousands of metric keys), models, workload, writers, single-write, artifacts, ui (the web UI in headless Chromium;
 * see ui.ts) (default: all),
 * and stock-client (only when named: it needs the real MLflow client, see stock-client.ts).
 * BENCH_INIT_RUNS=<n> sets the init samples per bundle; BENCH_INIT_BEFORE=<git rev> measures that
 * revision's bundles in the same rounds.
 */
import { cpus, totalmem } from 'node:os';
import { largeTransfers, presignCost } from './artifacts.js';
import { bundleSizes, initTimes } from './bundles.js';
import { envelopeBenchmarks } from './envelope.js';
import { experimentsHttp } from './experiments-http.js';
import { loggedModelBenchmarks } from './models.js';
import { searchBenchmarks } from './search.js';
import { stockClientComparison } from './stock-client.js';
import { trackingBenchmarks } from './tracking.js';
import { uiBenchmarks } from './ui.js';
import { wideBenchmarks } from './wide.js';
import { singleWriteLatency, stockClientWorkload } from './workload.js';
import { bulkWriters } from './writers.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const wanted = new Set(process.argv.slice(2));
const run = (section: string) => wanted.size === 0 || wanted.has(section);

console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
if (run('bundles')) {
  console.log('\nBundle size per function (minified ESM, everything bundled; under 1 MB):');
  console.table(await bundleSizes());
}
if (run('init')) {
  console.log(
    "\nModule init per bundle: one fresh `node` per sample importing it once with Lambda's environment, median; ratio to an empty middy handler bundled the same way:",
  );
  console.table(await initTimes());
}
if (run('experiments')) {
  console.log('\nLocal server, experiments endpoints over HTTP (client in the same process):');
  console.table(await experimentsHttp());
}
if (run('tracking')) {
  const figures = await trackingBenchmarks();
  console.log(
    '\nWrite cost per metric point (DynamoDB Local, ReturnConsumedCapacity TOTAL, indexes included):',
  );
  console.table(figures.writes);
  console.log('\nget-history of a long series (DynamoDB Local, eventually consistent chunk reads):');
  console.table(figures.history);
  console.log('\nget-history-bulk-interval, one run, max_results 320 (DynamoDB Local):');
  console.table(figures.bulk);
  console.log('\nHandler CPU per log-batch, DynamoDB answered instantly (no I/O):');
  console.table(figures.cpu);
  console.log('\nsearch_runs on one experiment (10 params, 5 metrics per run):');
  console.table(figures.search);
}
if (run('search')) {
  console.log('\nruns/search at scale (issue 13), through RunService.search:');
  const figures = await searchBenchmarks();
  console.log('\nSeeding (BatchWrite of itemsOfNewRun, 16 in flight; 2 % then deleted):');
  console.table(figures.seeding);
  console.log('\nsearch per experiment size (read units from DynamoDB Local; dynalite: time only):');
  console.table(figures.rows);
}
if (run('envelope')) {
  const { local, lite } = await envelopeBenchmarks();
  console.log('\nMetric envelopes, 1,000 buckets (DynamoDB Local, ReturnConsumedCapacity TOTAL):');
  console.table(local.rows);
  console.log('\nWrite cost with chunk summaries (DynamoDB Local):');
  console.table(local.writes);
  console.log('\nMetric envelopes, 1,000 buckets (dynalite, what `npm start` runs):');
  console.table(lite.rows);
}
if (run('wide')) {
  console.log('\nWide runs: write cost per metric point by run width (DynamoDB Local, indexes included):');
  const figures = await wideBenchmarks();
  console.table(figures.writes);
  console.table(figures.reads);
}
if (run('models')) {
  const figures = await loggedModelBenchmarks();
  console.log(
    '\nLogged models: one log_model flow, step by step (DynamoDB Local, ReturnConsumedCapacity TOTAL):',
  );
  console.table(figures.steps);
  console.log('\nsearch-logged-models, one experiment, a tag filter, first page of 50:');
  console.table(figures.search);
}
if (run('workload')) {
  console.log('\nStock-client-shaped workload through the local server over HTTP:');
  console.table(await stockClientWorkload());
}
if (run('writers')) {
  const figures = await bulkWriters();
  console.log(
    '\nBulk writers: concurrent clients creating runs in one experiment (create → log-batch → update FINISHED), over HTTP:',
  );
  console.table(figures.summary);
  console.table(figures.requests);
  console.log('\nDynamoDB calls and units per request of that shape (DynamoDB Local, one process, per run):');
  console.table(figures.costs);
}
if (run('single-write')) {
  console.log(
    "\nOne log-metric at a time over a keep-alive connection, interleaved rounds (p50 − floor: the server's share):",
  );
  console.table(await singleWriteLatency());
}
if (run('artifacts')) {
  console.log('\nPresigning (CPU only, no network):');
  console.table(await presignCost());
  console.log('\nLarge transfers through presigned URLs against cairn server (s3rver on the same disk):');
  console.table(await largeTransfers());
}
if (run('ui')) {
  const figures = await uiBenchmarks();
  console.log('\nWeb UI in headless Chromium against the local server (seeded over HTTP):');
  console.table(figures.seeding);
  console.table(figures.figures);
}
if (wanted.has('stock-client')) {
  console.log(
    "\nThe stock MLflow client: a training script's workload and single log_metric, interleaved rounds:",
  );
  console.table(await stockClientComparison());
}

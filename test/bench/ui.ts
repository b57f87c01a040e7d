/**
 * `npm run bench -- ui`: the web UI in headless Chromium against the local server (in this process), on
 * the design budgets: first run rows of a 10,000-run experiment, a sort round trip, a 20-run × 100,000-
 * point chart drawn after its envelopes arrive, and the bundle's gzipped size. Seeded over HTTP.
 * BENCH_UI_RUNS / BENCH_UI_POINTS scale the data down for a quick look.
 */
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { buildUi } from '../../ui/build.js';
import { Client } from '../browser/seed.js';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';

const RUNS = Number(process.env.BENCH_UI_RUNS ?? 10_000);
const CHART_RUNS = 20;
const CHART_POINTS = Number(process.env.BENCH_UI_POINTS ?? 100_000);
const SAMPLES = 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Runs `task(i)` for i in [0, count) with at most `width` in flight. */
async function pool(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function seedTable(client: Client): Promise<string> {
  const { experiment_id: experimentId } = await client.mlflow<{ experiment_id: string }>(
    'experiments/create',
    {
      name: `bench-ui-table-${Date.now()}`,
    },
  );
  const t0 = Date.now();
  await pool(RUNS, 16, async (i) => {
    const { run } = await client.mlflow<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      run_name: `run-${i}`,
      start_time: t0 + i,
    });
    await client.mlflow('runs/log-batch', {
      run_id: run.info.run_id,
      params: Array.from({ length: 10 }, (_, k) => ({ key: `param_${k}`, value: String((i * 7 + k) % 97) })),
      metrics: Array.from({ length: 5 }, (_, k) => ({
        key: `metric_${k}`,
        value: Math.sin(i * 12.9898 + k) * 1000,
        timestamp: t0,
        step: 0,
      })),
    });
  });
  return experimentId;
}

async function seedChart(client: Client): Promise<{ experimentId: string; runIds: string[] }> {
  const { experiment_id: experimentId } = await client.mlflow<{ experiment_id: string }>(
    'experiments/create',
    {
      name: `bench-ui-chart-${Date.now()}`,
    },
  );
  const runIds: string[] = [];
  for (let r = 0; r < CHART_RUNS; r++) {
    const { run } = await client.mlflow<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      run_name: `long-${r}`,
    });
    runIds.push(run.info.run_id);
  }
  const perRun = CHART_POINTS / 1000;
  await pool(CHART_RUNS * perRun, 4, async (i) => {
    const runId = runIds[i % CHART_RUNS] as string;
    const from = Math.floor(i / CHART_RUNS) * 1000;
    await client.mlflow('runs/log-batch', {
      run_id: runId,
      metrics: Array.from({ length: 1000 }, (_, k) => {
        const step = from + k;
        return {
          key: 'loss',
          step,
          timestamp: 1_795_000_000_000 + step * 40,
          value: 2 / (1 + step / 5000) + Math.sin(step * 12.9898 + i) * 0.01 + (step === 77_777 ? 50 : 0),
        };
      }),
    });
  });
  return { experimentId, runIds };
}

/** The little of the DOM the predicates use (the root tsconfig has no DOM library, on purpose). */
interface DomLike {
  document: {
    querySelector(selector: string): { textContent: string | null } | null;
    querySelectorAll(selector: string): ArrayLike<{ hasAttribute(name: string): boolean }>;
  };
}

/**
 * Text of the first data row's run link (the virtual table's spacer rows have none). Predicates are
 * functions, not strings: the UI's CSP (script-src 'self') forbids the eval a string predicate needs.
 */
const firstRow = (): string | null =>
  (globalThis as unknown as DomLike).document.querySelector('main table tbody tr:not(.spacer) a')
    ?.textContent ?? null;

const rowsShown = () =>
  (globalThis as unknown as DomLike).document.querySelector('main table tbody tr:not(.spacer) a') !== null;

const firstRowChanged = (before: string | null) => {
  const now =
    (globalThis as unknown as DomLike).document.querySelector('main table tbody tr:not(.spacer) a')
      ?.textContent ?? null;
  return now !== null && now !== before;
};

// The chart sets data-draw-ms (envelopes in hand → first draw) on its figure once it has drawn them.
const chartDrawn = () =>
  Array.from((globalThis as unknown as DomLike).document.querySelectorAll('figure')).some((figure) =>
    figure.hasAttribute('data-draw-ms'),
  );

async function firstRows(browser: Browser, url: string, experimentId: string) {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const { context, page, errors } = await openPage(browser);
    const t0 = performance.now();
    await page.goto(`${url}/#/experiments/${experimentId}`);
    await page.waitForFunction(rowsShown, undefined, { polling: 'raf', timeout: 60_000 });
    samples.push(performance.now() - t0);
    await context.close();
    if (errors.length > 0) throw new Error(errors.join('; '));
  }
  return median(samples);
}

/**
 * Clicks a column header and waits for the first row to change. `metric`: the first metric column (the
 * server reads every run for it); else the run name column (read in name order, a page at a time).
 */
async function sortRoundTrip(browser: Browser, url: string, experimentId: string, by: 'metric' | 'name') {
  const { context, page, errors } = await openPage(browser);
  await page.goto(`${url}/#/experiments/${experimentId}`);
  await page.waitForFunction(rowsShown, undefined, { polling: 'raf', timeout: 60_000 });
  const header = page.getByRole('button', { name: by === 'metric' ? /^metric / : /^Run name/ }).first();
  // The header reads "metric" over the key, then a sort arrow once sorted.
  const column =
    by === 'metric'
      ? `metrics.${(await header.textContent())?.replace(/^metric/, '').trim()}`
      : 'attributes.run_name';
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const before = await page.evaluate(firstRow);
    const t0 = performance.now();
    await header.click();
    await page.waitForFunction(firstRowChanged, before, {
      polling: 'raf',
      timeout: 60_000,
    });
    samples.push(performance.now() - t0);
  }
  await context.close();
  if (errors.length > 0) throw new Error(errors.join('; '));
  return { column, ms: median(samples) };
}

async function chart(browser: Browser, url: string, experimentId: string, runIds: string[]) {
  const hash = `#/compare-runs?runs=${encodeURIComponent(JSON.stringify(runIds))}&experiments=${encodeURIComponent(
    JSON.stringify([experimentId]),
  )}&metrics=${encodeURIComponent(JSON.stringify(['loss']))}`;
  const afterData: number[] = [];
  const total: number[] = [];
  const envelopes: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const { context, page, errors } = await openPage(browser);
    let envelopeMs = 0;
    page.on('requestfinished', (request) => {
      if (request.url().includes('/cairn/metrics/get-envelope')) {
        envelopeMs = Math.max(envelopeMs, request.timing().responseEnd);
      }
    });
    const t0 = performance.now();
    await page.goto(`${url}/${hash}`);
    const figure = page.getByRole('figure', { name: 'loss' }).first();
    await waitForDraw(page, figure);
    total.push(performance.now() - t0);
    afterData.push(Number(await figure.getAttribute('data-draw-ms')));
    envelopes.push(envelopeMs);
    await context.close();
    if (errors.length > 0) throw new Error(errors.join('; '));
  }
  return { afterData: median(afterData), total: median(total), envelope: median(envelopes) };
}

async function waitForDraw(page: Page, figure: ReturnType<Page['getByRole']>) {
  await figure.waitFor({ timeout: 60_000 });
  await page.waitForFunction(chartDrawn, undefined, { polling: 'raf', timeout: 120_000 });
}

async function bundleSize() {
  const bundle = await buildUi({ minify: true });
  let gz = 0;
  for (const file of bundle.files) {
    if (/\.(js|css)$/.test(file.path)) gz += gzipSync(file.body, { level: 9 }).length;
  }
  return gz;
}

export async function uiBenchmarks() {
  const server = await startTestServer();
  const browser = await launchBrowser();
  try {
    const client = new Client(server.url);
    let t = performance.now();
    const tableExperiment = await seedTable(client);
    const seedTableS = (performance.now() - t) / 1000;
    t = performance.now();
    const charted = await seedChart(client);
    const seedChartS = (performance.now() - t) / 1000;

    const rows = await firstRows(browser, server.url, tableExperiment);
    const sort = await sortRoundTrip(browser, server.url, tableExperiment, 'metric');
    const byName = await sortRoundTrip(browser, server.url, tableExperiment, 'name');
    const drawn = await chart(browser, server.url, charted.experimentId, charted.runIds);
    const gz = await bundleSize();
    return {
      seeding: [
        { data: `${RUNS} runs × (10 params, 5 metrics), concurrency 16`, seconds: seedTableS.toFixed(0) },
        {
          data: `${CHART_RUNS} runs × ${CHART_POINTS} points, 1,000 per log-batch, concurrency 4`,
          seconds: seedChartS.toFixed(0),
        },
      ],
      figures: [
        {
          measure: `navigation → first run rows visible (${RUNS} runs)`,
          'ms (median of 3)': rows.toFixed(0),
          budget: '≤ 1,500 ms',
        },
        ...[sort, byName].map((one) => ({
          measure: `sort round trip: click "${one.column}" header → first row changes`,
          'ms (median of 3)': one.ms.toFixed(0),
          budget: '≤ 1,000 ms',
        })),
        {
          measure: `chart: envelopes arrived → drawn (${CHART_RUNS} runs × ${CHART_POINTS} points)`,
          'ms (median of 3)': drawn.afterData.toFixed(0),
          budget: '≤ 1,000 ms',
        },
        {
          measure: 'chart: slowest get-envelope response (request → last byte)',
          'ms (median of 3)': drawn.envelope.toFixed(0),
          budget: '',
        },
        {
          measure: 'chart: navigation → drawn',
          'ms (median of 3)': drawn.total.toFixed(0),
          budget: '',
        },
        {
          measure: 'bundle JS + CSS, gzip -9',
          'ms (median of 3)': `${(gz / 1024).toFixed(1)} KB`,
          budget: '≤ 150 KB',
        },
      ],
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

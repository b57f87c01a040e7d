/**
 * `npm run screenshots`: the README's pictures of the web UI, taken in headless Chromium at 1280×800
 * from a local server on a temporary directory seeded through the REST API (test/browser/seed.ts).
 * Writes docs/images/<page>.png: light mode, plus the runs table once in dark mode.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { colouredPixels, launchBrowser, openPage } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { type Seeded, seedDemo } from './seed.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const OUT = join(import.meta.dirname, '../../docs/images');

async function chartsDrawn(page: Page): Promise<void> {
  const canvases = page.locator('figure canvas');
  await canvases.first().waitFor();
  for (let attempt = 0; attempt < 100; attempt++) {
    const counts = await Promise.all((await canvases.all()).map((canvas) => colouredPixels(canvas)));
    // A metric logged once is a dot, not a line: a few dozen pixels.
    if (counts.every((count) => count > 10)) return;
    await page.waitForTimeout(100);
  }
  throw new Error('charts not drawn');
}

const server = await startTestServer();
const browser = await launchBrowser();
try {
  const seeded: Seeded = await seedDemo(server.url, { trials: 12, steps: 300 });
  const [first, second, third] = seeded.trials as [Seeded['trials'][number], ...Seeded['trials']];
  const runPath = (runId: string) => `#/experiments/${seeded.experimentId}/runs/${runId}`;
  const compare = `#/compare-runs?runs=${encodeURIComponent(
    JSON.stringify([first.runId, second?.runId, third?.runId]),
  )}&experiments=${encodeURIComponent(JSON.stringify([seeded.experimentId]))}`;

  const shots: { name: string; hash: string; ready: (page: Page) => Promise<unknown>; dark?: boolean }[] = [
    {
      name: 'experiments',
      hash: '#/experiments',
      ready: (page) => page.getByRole('link', { name: seeded.experimentName, exact: true }).waitFor(),
    },
    {
      name: 'runs',
      hash: `#/experiments/${seeded.experimentId}`,
      ready: (page) => page.getByRole('link', { name: first.name, exact: true }).waitFor(),
    },
    {
      name: 'runs-dark',
      hash: `#/experiments/${seeded.experimentId}`,
      ready: (page) => page.getByRole('link', { name: first.name, exact: true }).waitFor(),
      dark: true,
    },
    {
      name: 'run-overview',
      hash: runPath(first.runId),
      ready: (page) => page.getByRole('table', { name: 'Parameters' }).waitFor(),
    },
    { name: 'run-metrics', hash: `${runPath(first.runId)}/metrics`, ready: chartsDrawn },
    {
      name: 'artifact-preview',
      hash: `${runPath(first.runId)}/artifacts/predictions.csv`,
      ready: (page) => page.getByRole('region', { name: 'Preview' }).getByText('c-104').first().waitFor(),
    },
    { name: 'compare', hash: compare, ready: chartsDrawn },
    {
      name: 'model',
      hash: `#/models/${seeded.modelName}`,
      ready: (page) => page.getByRole('heading', { level: 1, name: seeded.modelName }).waitFor(),
    },
    {
      name: 'model-version',
      hash: `#/models/${seeded.modelName}/versions/${seeded.version}`,
      ready: (page) => page.getByText('@champion').first().waitFor(),
    },
  ];

  mkdirSync(OUT, { recursive: true });
  for (const shot of shots) {
    const { context, page, errors } = await openPage(browser, { dark: shot.dark ?? false });
    await page.goto(`${server.url}/${shot.hash}`);
    await shot.ready(page);
    // Let a late layout settle (fonts, the virtual table's measured row height) before the picture.
    await page.waitForTimeout(300);
    await page.mouse.move(0, 0);
    const path = join(OUT, `${shot.name}.png`);
    await page.screenshot({ path });
    await context.close();
    if (errors.length > 0) throw new Error(`${shot.name}: ${errors.join('; ')}`);
    console.log(path);
  }
} finally {
  await browser.close();
  await server.close();
}

/**
 * A person's walk through the UI on the real local server: experiments → runs → a run's params, metrics
 * (the chart really drawn) and artifacts (an HTML artifact shown as source, its script never run), the
 * registry, the link the MLflow client prints, and comparing two runs. Seeded through the REST API.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { colouredPixels, launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { HTML_SCRIPT_FLAG, type Seeded, seedDemo } from './seed.js';

let server: TestServer;
let browser: Browser;
let seeded: Seeded;
let current: WatchedPage | undefined;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  seeded = await seedDemo(server.url);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(async () => {
  // Every walk ends with no uncaught exception and no console error on the page.
  const errors = current?.errors ?? [];
  await current?.context.close();
  current = undefined;
  expect(errors).toEqual([]);
});

async function open(path = '/'): Promise<Page> {
  current = await openPage(browser);
  await current.page.goto(`${server.url}${path}`);
  return current.page;
}

/** Waits until the chart in `figure` has drawn its series, and returns the coloured pixel count. */
async function drawnChart(page: Page, figureName: string, atLeast = 200): Promise<number> {
  const canvas = page.getByRole('figure', { name: figureName }).locator('canvas').first();
  await canvas.waitFor();
  let pixels = 0;
  await expect
    .poll(async () => (pixels = await colouredPixels(canvas)), { timeout: 10_000 })
    .toBeGreaterThan(atLeast);
  return pixels;
}

describe('the web UI in Chromium', () => {
  it('walks from the experiment list to a run, its chart and its artifacts', async () => {
    const page = await open('/');
    const trial = seeded.trials[0] as Seeded['trials'][number];

    // The list shows each experiment's run count from its counters: the parent run and its trials.
    const experiments = page.getByRole('table', { name: 'Experiments' });
    const listed = experiments.getByRole('row', { name: new RegExp(`^${seeded.experimentName}\\b`) });
    await listed.waitFor();
    const headers = await experiments.getByRole('columnheader').allTextContents();
    expect(headers).toEqual(expect.arrayContaining(['Runs', 'Last activity']));
    const runsCell = listed.getByRole('cell').nth(headers.indexOf('Runs'));
    await expect.poll(() => runsCell.textContent()).toBe(String(seeded.trials.length + 1));
    const activityCell = listed.getByRole('cell').nth(headers.indexOf('Last activity'));
    expect(await activityCell.textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    await page.getByRole('link', { name: seeded.experimentName, exact: true }).click();
    const runs = page.getByRole('table', { name: /Runs of experiment/ });
    const row = runs.getByRole('row', { name: new RegExp(`\\b${trial.name}\\b`) });
    await row.waitFor();
    for (const value of Object.values(trial.params)) {
      await expect.poll(() => row.getByRole('cell', { name: value, exact: true }).count()).toBeGreaterThan(0);
    }

    // The Columns menu opens, and closes on Escape as a menu does.
    await page.getByText(/^Columns \(/).click();
    const findKey = page.getByPlaceholder('Find a key');
    await findKey.waitFor();
    await page.keyboard.press('Escape');
    await findKey.waitFor({ state: 'hidden' });

    await row.getByRole('link', { name: trial.name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(trial.name) }).waitFor();
    expect(page.url()).toContain(`/runs/${trial.runId}`);
    const params = page.getByRole('table', { name: 'Parameters' });
    for (const [key, value] of Object.entries(trial.params)) {
      await expect.poll(() => params.getByRole('row', { name: `${key} ${value}` }).count()).toBe(1);
    }
    const latest = page.getByRole('table', { name: 'Latest metrics' });
    await latest
      .getByRole('rowheader', { name: 'loss' })
      .or(latest.getByRole('cell', { name: 'loss' }))
      .first()
      .waitFor();

    await page.getByRole('link', { name: /^Metrics/ }).click();
    expect(await drawnChart(page, 'loss')).toBeGreaterThan(200);
    // A metric logged once has no line: its point is drawn as a dot.
    expect(await drawnChart(page, 'final_auc', 10)).toBeGreaterThan(10);

    await page.getByRole('link', { name: 'Artifacts', exact: true }).click();
    const files = page.getByRole('navigation', { name: 'Artifact files' });
    for (const name of ['notes.txt', 'config.json', 'report.html']) {
      await files.getByRole('link', { name: new RegExp(`^${name.replace('.', '\\.')}`) }).waitFor();
    }
    await files.getByRole('button', { name: 'model/' }).waitFor();

    await files.getByRole('link', { name: /^notes\.txt/ }).click();
    const preview = page.getByRole('region', { name: 'Preview' });
    await preview.getByText('early stopping at patience 5').waitFor();

    await files.getByRole('link', { name: /^config\.json/ }).click();
    await preview.getByText('"learning_rate"').first().waitFor();

    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    await files.getByRole('link', { name: /^report\.html/ }).click();
    // The source is shown as text, and the page origin never ran the artifact's script.
    await preview.getByText(`window.${HTML_SCRIPT_FLAG} = true`).waitFor();
    expect(await page.evaluate(`window.${HTML_SCRIPT_FLAG} === undefined`)).toBe(true);
    expect(await page.locator('main h1', { hasText: 'Churn report' }).count()).toBe(0);
    expect(dialogs).toBe(0);
  });

  it('lists registered models and shows a version with its stage and alias', async () => {
    const page = await open('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
    await page.getByRole('link', { name: seeded.modelName, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: seeded.modelName }).waitFor();
    await page
      .getByRole('link', { name: new RegExp(`^Version ${seeded.version}\\b`) })
      .first()
      .click();
    await page
      .getByRole('heading', { level: 1, name: `${seeded.modelName} version ${seeded.version}` })
      .waitFor();
    const main = page.getByRole('main');
    await main.getByText('Staging', { exact: true }).first().waitFor();
    await main.getByText('@champion').first().waitFor();
  });

  it("opens a run directly from the link MLflow's client prints", async () => {
    const trial = seeded.trials[2] as Seeded['trials'][number];
    const page = await open(`/#/experiments/${seeded.experimentId}/runs/${trial.runId}`);
    await page.getByRole('heading', { level: 1, name: new RegExp(trial.name) }).waitFor();
    await page.getByText(trial.runId).first().waitFor();
  });

  it("opens a run's logged model and previews a file stored under the model", async () => {
    const trial = seeded.trials[0] as Seeded['trials'][number];
    const page = await open(`/#/experiments/${seeded.experimentId}/runs/${trial.runId}`);
    await page.getByRole('link', { name: seeded.loggedModel.name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(seeded.loggedModel.name) }).waitFor();
    expect(page.url()).toContain(`#/experiments/${seeded.experimentId}/models/${seeded.loggedModel.modelId}`);
    await page.getByText(seeded.loggedModel.modelId).first().waitFor();
    const files = page.getByRole('navigation', { name: 'Artifact files' });
    await files.getByRole('button', { name: /^MLmodel/ }).click();
    const preview = page.getByRole('region', { name: 'Preview' });
    await preview.getByText('sklearn_version: 1.5.0').first().waitFor();
  });

  it('compares two runs selected in the table', async () => {
    const [a, b] = seeded.trials as [Seeded['trials'][number], Seeded['trials'][number]];
    const page = await open(`/#/experiments/${seeded.experimentId}`);
    await page.getByRole('checkbox', { name: `Select ${a.name}`, exact: true }).check();
    await page.getByRole('checkbox', { name: `Select ${b.name}`, exact: true }).check();
    await page.getByRole('button', { name: 'Compare (2)' }).click();
    await page.getByRole('heading', { level: 1, name: 'Compare 2 runs' }).waitFor();
    const table = page.getByRole('table', { name: /compared runs/ });
    await table.getByText(a.name, { exact: true }).first().waitFor();
    await table.getByText(b.name, { exact: true }).first().waitFor();
    expect(await drawnChart(page, 'loss')).toBeGreaterThan(200);
    // A metric logged once has no line: its point is drawn as a dot.
    expect(await drawnChart(page, 'final_auc', 10)).toBeGreaterThan(10);
  });
});

/**
 * The web UI without `--auth` after issue 16 (permissions.test.ts has the rest): no principals, so no
 * permissions; the experiment page shows no level and no Permissions section and offers every action, as
 * the local server always did.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { Client } from './seed.js';

let server: TestServer;
let browser: Browser;
let current: WatchedPage | undefined;
let experimentId = '';

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  const client = new Client(server.url);
  experimentId = (await client.mlflow<{ experiment_id: string }>('experiments/create', { name: 'no-auth' }))
    .experiment_id;
  await client.mlflow('registered-models/create', { name: 'no-auth-model' });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(async () => {
  const errors = current?.errors ?? [];
  await current?.context.close();
  current = undefined;
  expect(errors).toEqual([]);
});

/** Every button's text, visually hidden parts included ("Rename experiment"). */
async function buttonNames(watched: WatchedPage): Promise<string[]> {
  return (await watched.page.getByRole('button').allTextContents()).map((name) => name.trim());
}

describe('without --auth', () => {
  it('the experiment page shows no level and no Permissions section, and offers every action', async () => {
    current = await openPage(browser);
    const { page } = current;
    await page.goto(`${server.url}/#/experiments/${experimentId}`);
    await page.getByRole('heading', { level: 1, name: 'no-auth' }).waitFor();
    await page.getByRole('button', { name: 'Rename experiment' }).waitFor();
    const names = await buttonNames(current);
    expect(names).toContain('Delete experiment');
    expect(names).toContain('Edit description');
    expect(await page.locator('.level-badge').count()).toBe(0);
    expect(await page.getByText('Permissions', { exact: true }).count()).toBe(0);

    // The note and tags are edited in place (MLflow's mlflow.note.content tag and experiment tags).
    await page.getByRole('button', { name: 'Edit description' }).click();
    await page.getByRole('textbox', { name: 'Description' }).fill('Weekly churn retrain.');
    await page.getByRole('button', { name: 'Save description' }).click();
    await page.getByText('Weekly churn retrain.').waitFor();
    await page.getByText('Edit tags').click();
    await page.getByLabel('Tag key').fill('team');
    await page.getByLabel('Tag value').fill('growth');
    await page.getByRole('button', { name: 'Set tag' }).click();
    // The header's tag list shows it once the experiment is read again.
    await page.locator('.tag-list', { hasText: 'growth' }).waitFor();
    const client = new Client(server.url);
    const { experiment } = await client.call<{ experiment: { tags: { key: string; value: string }[] } }>(
      'GET',
      `/api/2.0/mlflow/experiments/get?experiment_id=${experimentId}`,
    );
    expect(experiment.tags).toEqual(
      expect.arrayContaining([
        { key: 'mlflow.note.content', value: 'Weekly churn retrain.' },
        { key: 'team', value: 'growth' },
      ]),
    );
  });

  it('the model page likewise, promotion policies included', async () => {
    current = await openPage(browser);
    const { page } = current;
    await page.goto(`${server.url}/#/models/no-auth-model`);
    await page.getByRole('heading', { level: 1, name: 'no-auth-model' }).waitFor();
    await page.getByRole('button', { name: 'Add policy' }).waitFor();
    const names = await buttonNames(current);
    expect(names).toEqual(
      expect.arrayContaining(['Rename', 'Delete model', 'Edit description', 'Set alias']),
    );
    expect(await page.locator('.level-badge').count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Permissions' }).count()).toBe(0);
  });
});

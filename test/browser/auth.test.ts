/**
 * The UI on `cairn server --auth`: nothing shown before a token, a refused token said so, a read token
 * sees the data with no write action offered, a write token gets them; the token stays out of the URL
 * and out of cookies (sessionStorage only).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthServer,
  launchBrowser,
  openPage,
  startAuthServer,
  type WatchedPage,
} from '../helpers/browser.js';
import { type Seeded, seedDemo } from './seed.js';

let server: AuthServer;
let browser: Browser;
let seeded: Seeded;
let current: WatchedPage | undefined;

beforeAll(async () => {
  [server, browser] = await Promise.all([startAuthServer(), launchBrowser()]);
  seeded = await seedDemo(server.url, { token: server.tokens.write, trials: 2, steps: 20 });
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

/**
 * The browser reports every refused request as a console error ("Failed to load resource"): the first
 * whoami without a token is answered 401 and a refused token's 403 by design, so those lines, and only
 * those, are expected here.
 */
function unexpectedErrors(watched: WatchedPage): string[] {
  return watched.errors.filter(
    (line) =>
      !/status of 401 \(Unauthorized\)/.test(line) &&
      !/status of 403 \(Forbidden\) \(.*\/api\/2\.0\/cairn\/auth\/whoami\)$/.test(line),
  );
}

async function open(path = '/'): Promise<Page> {
  current = await openPage(browser);
  await current.page.goto(`${server.url}${path}`);
  return current.page;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Buttons that change something, by the names the pages give them. */
const WRITE_ACTIONS =
  /^(New experiment|Rename\b|Delete\b|Create model|Transition|Set alias|Remove\b|Set tag|Edit description|Add policy)/;

async function writeButtons(page: Page): Promise<string[]> {
  const names = await page
    .getByRole('button')
    .evaluateAll((buttons) =>
      buttons.map((button) => (button as unknown as { textContent: string | null }).textContent ?? ''),
    );
  const labels = await page
    .getByRole('button')
    .evaluateAll((buttons) =>
      buttons.map(
        (button) =>
          (button as unknown as { getAttribute(name: string): string | null }).getAttribute('aria-label') ??
          '',
      ),
    );
  return [...names, ...labels].map((name) => name.trim()).filter((name) => WRITE_ACTIONS.test(name));
}

async function expectTokenKeptOut(page: Page, token: string): Promise<void> {
  expect(page.url()).not.toContain(token);
  expect(await page.evaluate('document.cookie')).not.toContain(token);
}

describe('the web UI under --auth', () => {
  it('asks for a token and shows no data before one is given', async () => {
    const page = await open('/');
    await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
    await page.getByLabel('Access token').waitFor();
    expect(await page.getByText(seeded.experimentName).count()).toBe(0);
    expect(await page.getByRole('table').count()).toBe(0);
    if (current) current.errors = unexpectedErrors(current);
  });

  it('says so when a token is refused, and still shows no data', async () => {
    const page = await open('/');
    await signIn(page, 'cairn_not-a-token-anyone-issued');
    await page
      .getByRole('alert')
      .getByText(/not accepted/)
      .waitFor();
    await page.getByLabel('Access token').waitFor();
    expect(await page.getByText(seeded.experimentName).count()).toBe(0);
    await expectTokenKeptOut(page, 'cairn_not-a-token-anyone-issued');
    if (current) current.errors = unexpectedErrors(current);
  });

  it('shows the data to a read token with no write action on any page', async () => {
    const token = server.tokens.read;
    const page = await open('/');
    await signIn(page, token);
    await page.getByRole('link', { name: seeded.experimentName, exact: true }).waitFor();
    expect(await writeButtons(page)).toEqual([]);

    await page.getByRole('link', { name: seeded.experimentName, exact: true }).click();
    const trial = seeded.trials[0] as Seeded['trials'][number];
    await page.getByRole('link', { name: trial.name, exact: true }).waitFor();
    expect(await writeButtons(page)).toEqual([]);

    await page.getByRole('link', { name: trial.name, exact: true }).click();
    await page.getByRole('table', { name: 'Parameters' }).waitFor();
    expect(await writeButtons(page)).toEqual([]);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
    await page.getByRole('link', { name: seeded.modelName, exact: true }).waitFor();
    expect(await writeButtons(page)).toEqual([]);

    await page.getByRole('link', { name: seeded.modelName, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: seeded.modelName }).waitFor();
    await page.getByText('Gradient-boosted churn classifier').waitFor();
    expect(await writeButtons(page)).toEqual([]);

    await page.goto(`${server.url}/#/models/${seeded.modelName}/versions/${seeded.version}`);
    await page
      .getByRole('heading', { level: 1, name: `${seeded.modelName} version ${seeded.version}` })
      .waitFor();
    await page.getByText('@champion').first().waitFor();
    expect(await writeButtons(page)).toEqual([]);

    await expectTokenKeptOut(page, token);
    if (current) current.errors = unexpectedErrors(current);
  });

  it('offers the write actions to a write token', async () => {
    const token = server.tokens.write;
    const page = await open('/');
    await signIn(page, token);
    await page.getByRole('button', { name: 'New experiment' }).waitFor();
    await page.getByRole('button', { name: `Rename ${seeded.experimentName}` }).waitFor();
    // The same scan that finds nothing for the read token finds them here.
    expect(await writeButtons(page)).toContain(`Rename ${seeded.experimentName}`);

    await page.goto(`${server.url}/#/models/${seeded.modelName}/versions/${seeded.version}`);
    await page.getByRole('button', { name: 'Transition' }).waitFor();
    await page.getByRole('button', { name: 'Remove alias champion' }).waitFor();

    await expectTokenKeptOut(page, token);
    if (current) current.errors = unexpectedErrors(current);
  });
});

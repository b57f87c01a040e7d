/**
 * Per-resource permissions in the web UI (issue 16), on the real local server under `--auth`: a page shows
 * the caller's level on its experiment or registered model and offers only the actions that level allows;
 * MANAGE holders get a Permissions section that grants, changes and revokes through MLflow's permission
 * endpoints, with the list following each change and a refusal shown in place. Grants are set up through the
 * API by an admin token, as an operator would. (Without `--auth`: permissions-auth-off.test.ts, a file of
 * its own because a process serves one local server: the handlers' clients are built once.)
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
import { Client } from './seed.js';

let server: AuthServer;
let browser: Browser;
let admin: Client;
let current: WatchedPage | undefined;

/** The experiment the write token only reads (READ grant), one it holds no grant on, and a model. */
const world = { shared: '', open: '', model: 'perm-model' };

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  const errors = current?.errors ?? [];
  await current?.context.close();
  current = undefined;
  expect(errors).toEqual([]);
});

/**
 * The browser logs every refused request as a console error: the first whoami before a token is answered
 * 401 by design, and the grant to a user nobody issued is refused with 404 on purpose; only those.
 */
function unexpectedErrors(watched: WatchedPage, allowed: RegExp[] = []): string[] {
  return watched.errors.filter(
    (line) => !/status of 401 \(Unauthorized\)/.test(line) && !allowed.some((pattern) => pattern.test(line)),
  );
}

async function signedIn(token: string, hash: string): Promise<Page> {
  current = await openPage(browser);
  const { page } = current;
  // Revoking asks first (window.confirm); the person says yes.
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${server.url}/`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  await page.goto(`${server.url}/${hash}`);
  return page;
}

/** The level badge's text (its hidden prefix says whose level it is). */
async function badge(page: Page): Promise<string> {
  const found = page.locator('.level-badge');
  await found.waitFor();
  return ((await found.textContent()) ?? '').replace(/^Your permission on this (experiment|model): /, '');
}

/** Every button's text, visually hidden parts included ("Rename experiment"). */
async function buttonNames(page: Page): Promise<string[]> {
  return (await page.getByRole('button').allTextContents()).map((name) => name.trim());
}

const CHANGES_EXPERIMENT = /^(Rename|Delete|Restore|Edit description|Set tag|Grant|Revoke)\b/;

async function grantsOf(page: Page): Promise<Record<string, string>> {
  const rows = page.getByRole('table', { name: 'Grants' }).getByRole('row');
  const result: Record<string, string> = {};
  for (const row of await rows.all()) {
    const cells = row.getByRole('cell');
    if ((await cells.count()) === 0) continue;
    const user = ((await cells.first().textContent()) ?? '').trim();
    result[user] = await row.getByRole('combobox').inputValue();
  }
  return result;
}

async function grantOnShared(username: string): Promise<string | number> {
  const response = await fetch(
    `${server.url}/api/2.0/mlflow/experiments/permissions/get?experiment_id=${world.shared}&username=${username}`,
    { headers: { authorization: `Bearer ${server.tokens.admin}` } },
  );
  if (!response.ok) return response.status;
  return ((await response.json()) as { experiment_permission: { permission: string } }).experiment_permission
    .permission;
}

describe('levels and actions under --auth', () => {
  beforeAll(async () => {
    server = await startAuthServer({ extraTokens: [{ name: 'owner', scope: 'write' }] });
    admin = new Client(server.url, server.tokens.admin);
    const create = async (name: string) =>
      (await admin.mlflow<{ experiment_id: string }>('experiments/create', { name })).experiment_id;
    world.shared = await create('perm-shared');
    world.open = await create('perm-open');
    for (const experimentId of [world.shared, world.open]) {
      await admin.mlflow('runs/create', { experiment_id: experimentId, run_name: 'baseline', start_time: 1 });
    }
    await admin.mlflow('registered-models/create', { name: world.model });
    const grant = (kind: 'experiments' | 'registered-models', body: Record<string, string>) =>
      admin.mlflow(`${kind}/permissions/create`, body);
    await grant('experiments', { experiment_id: world.shared, username: 'write-person', permission: 'READ' });
    await grant('experiments', { experiment_id: world.shared, username: 'owner', permission: 'MANAGE' });
    await grant('registered-models', { name: world.model, username: 'owner', permission: 'MANAGE' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('a write token with READ on an experiment sees it, its level, and no action that changes it', async () => {
    const page = await signedIn(server.tokens.write, `#/experiments/${world.shared}`);
    await page
      .getByRole('table', { name: /Runs of experiment/ })
      .getByText('baseline')
      .waitFor();
    expect(await badge(page)).toBe('READ');
    expect((await buttonNames(page)).filter((name) => CHANGES_EXPERIMENT.test(name))).toEqual([]);
    expect(await page.getByText('Edit tags').count()).toBe(0);
    expect(await page.getByText('Permissions', { exact: true }).count()).toBe(0);

    // The same token on an experiment it holds no grant on: its scope's EDIT, so it renames and deletes
    // runs, but deleting the experiment (MANAGE) and its permissions stay hidden.
    await page.goto(`${server.url}/#/experiments/${world.open}`);
    await page
      .getByRole('table', { name: /Runs of experiment/ })
      .getByText('baseline')
      .waitFor();
    await expect.poll(() => badge(page)).toBe('EDIT');
    const names = await buttonNames(page);
    expect(names).toContain('Rename experiment');
    expect(names).toContain('Edit description');
    expect(names.some((name) => /^Delete \(\d+\)$/.test(name))).toBe(true);
    expect(names).not.toContain('Delete experiment');
    expect(await page.getByText('Permissions', { exact: true }).count()).toBe(0);

    // Its runs' pages likewise: the experiment's level shown, and Delete (EDIT) only where it holds EDIT.
    for (const [experimentId, level] of [
      [world.shared, 'READ'],
      [world.open, 'EDIT'],
    ] as const) {
      await page.goto(`${server.url}/#/experiments/${experimentId}`);
      await page
        .getByRole('table', { name: /Runs of experiment/ })
        .getByRole('link', { name: 'baseline' })
        .click();
      await page.getByText('Run ID').waitFor();
      await expect.poll(() => badge(page)).toBe(level);
      expect(await page.getByRole('button', { name: 'Delete', exact: true }).count()).toBe(
        level === 'EDIT' ? 1 : 0,
      );
    }
    if (current) current.errors = unexpectedErrors(current);
  });

  it('NO_PERMISSIONS: the experiment’s page says it is not allowed, naming it, and shows nothing of it', async () => {
    const hidden = (
      await admin.mlflow<{ experiment_id: string }>('experiments/create', { name: 'perm-hidden' })
    ).experiment_id;
    await admin.mlflow('experiments/permissions/create', {
      experiment_id: hidden,
      username: 'read-person',
      permission: 'NO_PERMISSIONS',
    });
    const page = await signedIn(server.tokens.read, `#/experiments/${hidden}`);
    const refusal = page.getByRole('alert').filter({ hasText: 'Not allowed' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain(hidden);
    expect(await page.getByText('perm-hidden').count()).toBe(0);
    expect(await page.getByRole('table', { name: /Runs of experiment/ }).count()).toBe(0);
    if (current) current.errors = unexpectedErrors(current, [/status of 403 \(Forbidden\)/]);
  });

  it('a MANAGE holder grants, changes and revokes on the experiment, and the list follows', async () => {
    const page = await signedIn(server.named.owner as string, `#/experiments/${world.shared}`);
    await page
      .getByRole('table', { name: /Runs of experiment/ })
      .getByText('baseline')
      .waitFor();
    expect(await badge(page)).toBe('MANAGE');
    expect(await buttonNames(page)).toContain('Delete experiment');

    await page.locator('summary', { hasText: 'Permissions' }).click();
    await page.getByRole('table', { name: 'Grants' }).waitFor();
    expect(await grantsOf(page)).toEqual({ owner: 'MANAGE', 'write-person': 'READ' });

    // Grant: a new row, and the server holds it.
    const form = page.getByRole('form', { name: 'Grant a permission' });
    await form.getByLabel('User').fill('read-person');
    await form.getByLabel('Permission').selectOption('EDIT');
    await form.getByRole('button', { name: 'Grant' }).click();
    await expect
      .poll(() => grantsOf(page))
      .toEqual({
        owner: 'MANAGE',
        'read-person': 'EDIT',
        'write-person': 'READ',
      });
    expect(await grantOnShared('read-person')).toBe('EDIT');

    // Change: the row's level picker.
    await page.getByRole('combobox', { name: 'Permission of write-person' }).selectOption('EDIT');
    await expect.poll(() => grantOnShared('write-person')).toBe('EDIT');
    await expect
      .poll(() => grantsOf(page))
      .toEqual({
        owner: 'MANAGE',
        'read-person': 'EDIT',
        'write-person': 'EDIT',
      });

    // Revoke: the row goes, and so does the grant.
    await page.getByRole('button', { name: 'Revoke read-person' }).click();
    await expect.poll(() => grantsOf(page)).toEqual({ owner: 'MANAGE', 'write-person': 'EDIT' });
    expect(await grantOnShared('read-person')).toBe(404);

    // A user nobody issued a token to: the server's refusal, in place; nothing granted.
    await form.getByLabel('User').fill('nobody-at-all');
    await form.getByRole('button', { name: 'Grant' }).click();
    await page
      .getByRole('alert')
      .getByText(/nobody-at-all/)
      .waitFor();
    expect(await grantsOf(page)).toEqual({ owner: 'MANAGE', 'write-person': 'EDIT' });
    expect(await grantOnShared('nobody-at-all')).toBe(404);

    // Put the READ grant back for the other tests (they may run in any order within the file).
    await page.getByRole('combobox', { name: 'Permission of write-person' }).selectOption('READ');
    await expect.poll(() => grantOnShared('write-person')).toBe('READ');
    if (current) current.errors = unexpectedErrors(current, [/status of 404 \(Not Found\)/]);
  });

  it('a change the server refuses is shown in place, and the list shows what the server kept', async () => {
    await admin.mlflow('experiments/permissions/create', {
      experiment_id: world.shared,
      username: 'read-person',
      permission: 'READ',
    });
    const page = await signedIn(server.named.owner as string, `#/experiments/${world.shared}`);
    await page.locator('summary', { hasText: 'Permissions' }).click();
    await expect
      .poll(() => grantsOf(page))
      .toEqual({
        owner: 'MANAGE',
        'read-person': 'READ',
        'write-person': 'READ',
      });

    // Someone else revokes it while the page shows it; changing it now is refused (MLflow: not found).
    await admin.call('DELETE', '/api/2.0/mlflow/experiments/permissions/delete', {
      experiment_id: world.shared,
      username: 'read-person',
    });
    await page.getByRole('combobox', { name: 'Permission of read-person' }).selectOption('EDIT');
    await page
      .getByRole('alert')
      .getByText(/username=read-person not found/)
      .waitFor();
    await expect.poll(() => grantsOf(page)).toEqual({ owner: 'MANAGE', 'write-person': 'READ' });
    expect(await grantOnShared('read-person')).toBe(404);
    if (current) current.errors = unexpectedErrors(current, [/status of 404 \(Not Found\)/]);
  });

  it('on a registered model: its MANAGE holder sees Permissions and Delete until it lowers its own grant; a default write token sees neither', async () => {
    const owner = await signedIn(server.named.owner as string, `#/models/${world.model}`);
    await owner.getByRole('heading', { level: 1, name: world.model }).waitFor();
    expect(await badge(owner)).toBe('MANAGE');
    await owner.getByRole('heading', { name: 'Permissions' }).waitFor();
    await owner.getByRole('table', { name: 'Grants' }).waitFor();
    expect(await grantsOf(owner)).toEqual({ owner: 'MANAGE' });
    expect(await buttonNames(owner)).toContain('Delete model');

    // Lowering one's own grant: the page asks its level again, and the section and Delete go with it.
    await owner.getByRole('combobox', { name: 'Permission of owner' }).selectOption('EDIT');
    await expect.poll(() => badge(owner)).toBe('EDIT');
    await expect.poll(() => owner.getByRole('heading', { name: 'Permissions' }).count()).toBe(0);
    expect(await buttonNames(owner)).not.toContain('Delete model');
    expect(await buttonNames(owner)).toContain('Rename');
    if (current) current.errors = unexpectedErrors(current);
    await current?.context.close();

    const writer = await signedIn(server.tokens.write, `#/models/${world.model}`);
    await writer.getByRole('heading', { level: 1, name: world.model }).waitFor();
    expect(await badge(writer)).toBe('EDIT');
    const names = await buttonNames(writer);
    expect(names).toContain('Rename');
    expect(names).toContain('Edit description');
    expect(names).not.toContain('Delete model');
    expect(names).not.toContain('Add policy');
    expect(await writer.getByRole('heading', { name: 'Permissions' }).count()).toBe(0);
    if (current) current.errors = unexpectedErrors(current);
  });
});

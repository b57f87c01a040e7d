/**
 * The browser tier's harness: headless Chromium through playwright-core, against the real local server
 * started in the test's process (the UI is served at `/` of the API's origin). Each page records uncaught
 * exceptions and console errors so that every test can assert none happened.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { type OpenTokenStore, openLocalTokenStore } from '../../bin/token-stores.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { issueToken } from '../../shared/auth/issue.js';
import type { Scope } from '../../shared/auth/scopes.js';
import { externalDynamoEndpoint, uniqueTableName } from './dynamo.js';

export const CHROMIUM_PATH = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

/** Chromium from the system (playwright-core downloads no browser); a clear message when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: the browser tests need one. Install it with ` +
        '`apt-get install -y chromium`, or point CAIRN_CHROMIUM at a Chromium or Chrome binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and console errors, in order. */
  errors: string[];
}

/** A fresh context (own storage, so no token leaks between tests) and a page whose errors are kept. */
export async function openPage(
  browser: Browser,
  options: { width?: number; height?: number; dark?: boolean } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.dark ? 'dark' : 'light',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  return { context, page, errors };
}

/** The little of a canvas element the pixel count uses (the root tsconfig has no DOM library, on purpose). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  };
}

/**
 * Pixels of a chart's canvas drawn in a colour (series lines); the axes, grid and labels are grey, so a
 * chart with no series drawn counts (almost) none.
 */
export async function colouredPixels(canvas: Locator): Promise<number> {
  return canvas.evaluate((element) => {
    const { width, height, getContext } = element as unknown as CanvasLike;
    const data = getContext
      .call(element as unknown as CanvasLike, '2d')
      .getImageData(0, 0, width, height).data;
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i] ?? 0;
      const g = data[i + 1] ?? 0;
      const b = data[i + 2] ?? 0;
      if ((data[i + 3] ?? 0) > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) count++;
    }
    return count;
  });
}

export interface AuthServer {
  url: string;
  tokens: Record<Scope, string>;
  /** The `extraTokens` asked for, by name. */
  named: Record<string, string>;
  close(): Promise<void>;
}

/**
 * `cairn server --auth` in process, with one token of each scope (named `<scope>-person`) issued through the
 * server's own store, and any `extraTokens` (issue 16's tests need several principals of one scope).
 */
export async function startAuthServer(
  options: { extraTokens?: readonly { name: string; scope: Scope }[] } = {},
): Promise<AuthServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-browser-auth-'));
  const external = externalDynamoEndpoint();
  const server: LocalServer = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    auth: {},
    ...(external ? { dynamodbEndpoint: external, tableName: uniqueTableName() } : {}),
  });
  const store: OpenTokenStore = await openLocalTokenStore(dataDir);
  const tokens = {} as Record<Scope, string>;
  for (const scope of ['read', 'write', 'admin'] as const) {
    tokens[scope] = (await issueToken(store.tokens, { name: `${scope}-person`, scope })).token;
  }
  const named: Record<string, string> = {};
  for (const { name, scope } of options.extraTokens ?? []) {
    named[name] = (await issueToken(store.tokens, { name, scope })).token;
  }
  return {
    url: server.url,
    tokens,
    named,
    close: async () => {
      await store.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

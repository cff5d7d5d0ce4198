/**
 * The dashboard's browser tests: `offload start`'s composition (startServer with the HTTP front
 * door and the dashboard) on a real socket and a real store, and Debian's Chromium driven by
 * playwright-core. Without Chromium a test is skipped, except in CI (CI=true), where it fails.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createToken } from '../../src/auth/tokens.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { TaskDefinition } from '../../src/core/task.js';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import { type HttpFrontDoor, httpFrontDoor } from '../../src/http/front-door.js';
import type { HttpApiOptions } from '../../src/http/options.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import type { TokenScope } from '../../src/store/store.js';
import { defaultFactory } from './offload.js';
import { ROOT } from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'docs/guides/images');

/** Why the browser tests cannot run here, or null when they can. In CI a missing browser throws. */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);
  return `${CHROMIUM} is not installed (apt-get install chromium)`;
}

export interface DashboardServer {
  server: RunningServer;
  url: string;
  token(scope: TokenScope, name?: string): Promise<string>;
  close(): Promise<void>;
}

/** A server as `offload start` runs it (worker, maintenance, HTTP API and dashboard) on a fresh store. */
export async function serveDashboard(tasks: TaskDefinition<any, any>[], http: HttpApiOptions = {}): Promise<DashboardServer> {
  const fixture = await defaultFactory()();
  let door: HttpFrontDoor | undefined;
  const server = await startServer({
    store: fixture.url,
    tasks,
    concurrency: 4,
    logger: silentLogger,
    rescueIntervalMs: 1000,
    frontDoors: [
      async (offload, logger) =>
        (door = await httpFrontDoor({ host: '127.0.0.1', port: 0, checkResponses: true, ...http, plugins: [dashboardPlugin()] })(offload, logger)),
    ],
  }).catch(async (err: unknown) => {
    await fixture.dispose();
    throw err;
  });
  let n = 0;
  return {
    server,
    url: door!.url,
    token: async (scope, name = `${scope}${++n}`) => (await createToken(server.offload.store, systemClock, { name, scope })).secret,
    async close() {
      await server.close();
      await fixture.dispose();
    },
  };
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  problems: string[];
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(o: { width?: number; height?: number } = {}): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: o.width ?? 1280, height: o.height ?? 800 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    browser,
    page,
    problems,
    screenshot: async (name) => {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
    },
    close: () => browser.close(),
  };
}

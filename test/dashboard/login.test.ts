/**
 * The dashboard where a token is required (off loopback, or --require-token): the login page, a
 * `read` token that sees but cannot act, CSRF refusals of cookie-authenticated changes, logout,
 * a revoked token's session ending at once, and an admin's action in the audit log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { revokeToken } from '../../src/auth/tokens.js';
import { systemClock } from '../../src/core/clock.js';
import { defineTask } from '../../src/core/task.js';
import { SESSION_COOKIE } from '../../src/http/sessions.js';
import { type BrowserSession, browserMissing, type DashboardServer, openBrowser, SCREENSHOTS, serveDashboard } from '../helpers/dashboard.js';
import { nextEvent } from '../helpers/offload.js';

const fail = defineTask('login.fail', async () => Promise.reject(new Error('no luck')), { maxAttempts: 1 });

const skip = browserMissing() ?? false;

describe('the dashboard, behind a login', { skip, timeout: 60_000 }, () => {
  let s: DashboardServer;
  let b: BrowserSession;
  let failedId: string;
  let readToken: string;
  let adminToken: string;
  const contexts: BrowserContext[] = [];

  const newPage = async (): Promise<Page> => {
    const context = await b.browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return page;
  };
  const login = async (page: Page, token: string) => {
    await page.goto(`${s.url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  };
  /** A fetch from inside the page (its cookie, its origin), with or without the session's CSRF header. */
  const fetchIn = (page: Page, method: string, path: string, withCsrf: boolean) =>
    page.evaluate(
      async ([m, p, csrf]) => {
        const session = (await (await fetch('/dashboard/session')).json()) as any;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (csrf) headers['offload-csrf'] = session.csrf;
        const res = await fetch(p as string, { method: m as string, headers, body: '{}' });
        return { status: res.status, body: (await res.json()) as any };
      },
      [method, path, withCsrf] as const,
    );

  before(async () => {
    s = await serveDashboard([fail], { requireToken: true });
    readToken = await s.token('read', 'viewer');
    adminToken = await s.token('admin', 'ops');
    const failed = nextEvent(s.server.offload, 'job:failed');
    failedId = (await s.server.offload.enqueue(fail, null)).id;
    await failed;
    b = await openBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await b?.close();
    await s?.close();
  });

  it('asks for a token, refuses a wrong one, and gives an HttpOnly, SameSite=Strict cookie for a right one', async () => {
    const page = await newPage();
    await page.goto(`${s.url}/jobs`);
    await page.getByLabel('API token').fill('ofl_not-a-real-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked' }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/login.png` });
    await page.getByLabel('API token').fill(readToken);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE)!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate('document.cookie'), '', 'the page script cannot read the session');
    // Without the cookie the API still wants a token.
    assert.equal((await fetch(`${s.url}/v1/jobs`)).status, 401);
  });

  it('shows a read token everything but lets it act on nothing (buttons disabled, the API refuses)', async () => {
    const page = await newPage();
    await login(page, readToken);
    await page.getByText('read-only').waitFor();
    await page.goto(`${s.url}/jobs/${failedId}`);
    await page.getByRole('heading', { level: 1, name: `Job ${failedId}` }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Retry' }).isDisabled(), true);
    await page.goto(`${s.url}/jobs`);
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Retry all matching…' }).isDisabled(), true);
    const refused = await fetchIn(page, 'POST', `/v1/jobs/${failedId}/retry`, true);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'FORBIDDEN');
    assert.equal((await s.server.offload.getJob(failedId)).state, 'failed');
  });

  it('refuses a cookie-authenticated change without the CSRF header, or from another origin', async () => {
    const page = await newPage();
    await login(page, adminToken);
    const bare = await fetchIn(page, 'POST', `/v1/jobs/${failedId}/retry`, false);
    assert.equal(bare.status, 403);
    assert.equal(bare.body.error.code, 'CSRF_REFUSED');
    const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE)!;
    const session = (await (await fetch(`${s.url}/dashboard/session`, { headers: { cookie: `${SESSION_COOKIE}=${cookie.value}` } })).json()) as any;
    const foreign = await fetch(`${s.url}/v1/jobs/${failedId}/retry`, {
      method: 'POST',
      headers: {
        cookie: `${SESSION_COOKIE}=${cookie.value}`,
        'offload-csrf': session.csrf,
        origin: 'https://evil.example',
        'content-type': 'application/json',
      },
      body: '{}',
    });
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as any).error.code, 'CSRF_REFUSED');
    assert.equal((await s.server.offload.getJob(failedId)).state, 'failed');
  });

  it('acts for an admin token, and the audit log shows who did it', async (t) => {
    if ((await fetch(`${s.url}/v1/audit`, { headers: { authorization: `Bearer ${adminToken}` } })).status === 404)
      return t.skip('this server has no GET /v1/audit');
    const page = await newPage();
    await login(page, adminToken);
    await page.goto(`${s.url}/jobs/${failedId}`);
    const failedAgain = nextEvent(s.server.offload, 'job:failed', (e) => e.id === failedId);
    await page.getByRole('button', { name: 'Retry' }).click();
    await failedAgain;
    await page.goto(`${s.url}/audit`);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page
      .getByRole('row', { name: /ops.*retry/i })
      .first()
      .waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/audit.png` });
  });

  it('revokes a token from the tokens page, and its session stops at once', async (t) => {
    if ((await fetch(`${s.url}/v1/tokens`, { headers: { authorization: `Bearer ${adminToken}` } })).status === 404)
      return t.skip('this server has no /v1/tokens');
    const victim = await s.token('read', 'short-lived');
    const viewer = await newPage();
    await login(viewer, victim);
    const admin = await newPage();
    await login(admin, adminToken);
    await admin.goto(`${s.url}/tokens`);
    await admin.getByRole('button', { name: 'revoke token short-lived' }).click();
    await admin.getByRole('row', { name: /short-lived.*revoked/ }).waitFor();
    await viewer.goto(`${s.url}/jobs`);
    await viewer.getByLabel('API token').waitFor();
  });

  it('ends a session when its token is revoked, and on logout', async () => {
    const victim = await s.token('read', 'revoked-later');
    const page = await newPage();
    await login(page, victim);
    await revokeToken(s.server.offload.store, systemClock, 'revoked-later');
    // The page's next request is refused and it asks for a token again. Its live updates may get
    // there first and take the navigation away, so the test opens a page rather than click a link.
    await page.goto(`${s.url}/jobs`);
    await page.getByLabel('API token').waitFor();

    await login(page, readToken);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(
      (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE && c.value !== ''),
      undefined,
    );
  });
});

/**
 * The dashboard in Chromium on a loopback server (open, as the local user): every page opens,
 * every action works, a batch's bar moves while the page is open, search finds a job by a word in
 * its input, an XSS payload renders as text. Screenshots go to docs/guides/images/.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineTask } from '../../src/core/task.js';
import { DASHBOARD_CSP } from '../../src/dashboard/headers.js';
import { type BrowserSession, browserMissing, type DashboardServer, openBrowser, SCREENSHOTS, serveDashboard } from '../helpers/dashboard.js';
import { deferred, nextEvent } from '../helpers/offload.js';

/** Jobs of dash.gate wait here until the test lets them finish, one at a time. */
const gates: (() => void)[] = [];
const gateArrived: (() => void)[] = [];
const echo = defineTask('dash.echo', async (input: unknown) => input);
const fail = defineTask('dash.fail', async (input: { why: string }) => Promise.reject(new Error(input.why)), { maxAttempts: 1 });
const gate = defineTask('dash.gate', () => {
  const d = deferred();
  gates.push(d.resolve);
  gateArrived.shift()?.();
  return d.promise;
});

const XSS = { note: 'inert', html: '<img src=x onerror="window.__xss=1">', script: '<script>window.__xss=2</script>' };

const skip = browserMissing() ?? false;

describe('the dashboard, on loopback', { skip, timeout: 60_000 }, () => {
  let s: DashboardServer;
  let b: BrowserSession;
  const ids: Record<string, string> = {};

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
  const open = async (path: string, heading: string | RegExp) => {
    await b.page.goto(`${s.url}${path}`);
    await b.page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };
  /** Waits for the job's state (and attempt) through the server's events, reading it after each. */
  const untilJob = async (id: string, state: string) => {
    const o = s.server.offload;
    const reached = async () => (await o.getJob(id)).state === state;
    if (await reached()) return;
    await new Promise<void>((resolve) => {
      const offs = (['job:succeeded', 'job:failed', 'job:cancelled', 'job:started', 'job:enqueued'] as const).map((name) =>
        o.on(name, () => {
          void reached().then((yes) => {
            if (!yes) return;
            for (const off of offs) off();
            resolve();
          });
        }),
      );
    });
  };

  before(async () => {
    s = await serveDashboard([echo, fail, gate]);
    const o = s.server.offload;
    ids.pelican = (await o.enqueue(echo, { note: 'a pelican in the input' })).id;
    ids.xss = (await o.enqueue(echo, XSS)).id;
    ids.later = (await o.enqueue(echo, { note: 'later' }, { delayMs: 3600_000 })).id;
    ids.failed = (await o.enqueue(fail, { why: 'the disk is full' })).id;
    ids.failed2 = (await o.enqueue(fail, { why: 'the disk is full' })).id;
    await o.schedule('nightly', { task: echo, cron: '0 3 * * *', input: { note: 'nightly' } });
    await call('PUT', '/v1/rules/backlog', { on: { event: 'task.backlog', over: 1000 }, tasks: ['dash.*'], action: { type: 'enqueue', task: 'dash.echo' } });
    await Promise.all([untilJob(ids.pelican, 'succeeded'), untilJob(ids.failed, 'failed'), untilJob(ids.failed2, 'failed')]);
    b = await openBrowser();
  });

  after(async () => {
    for (const release of gates.splice(0)) release();
    await b?.close();
    await s?.close();
  });

  it('serves the page with a strict Content-Security-Policy and hashed, long-cached assets', async () => {
    const page = await fetch(`${s.url}/jobs?task=x`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), DASHBOARD_CSP);
    assert.match(DASHBOARD_CSP, /script-src 'self'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    const html = await page.text();
    assert.doesNotMatch(html, /<script>|style=/, 'no inline script or style');
    const script = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${s.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control')!, /max-age=31536000, immutable/);
    const again = await fetch(`${s.url}${script}`, { headers: { 'if-none-match': asset.headers.get('etag')! } });
    assert.equal(again.status, 304);
  });

  it("refuses another site's page acting as the anonymous local user", async () => {
    const foreign = await fetch(`${s.url}/v1/jobs/${ids.later}/cancel`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as any).error.code, 'CSRF_REFUSED');
    assert.equal((await s.server.offload.getJob(ids.later)).state, 'queued');
  });

  it('opens every page', async () => {
    await open('/', 'Overview');
    await b.page.getByRole('row', { name: /dash\.fail/ }).waitFor();
    await b.screenshot('overview');
    await open('/jobs', 'Jobs');
    await b.page.getByRole('link', { name: ids.pelican, exact: true }).waitFor();
    await b.screenshot('jobs');
    await open(`/jobs/${ids.failed}`, `Job ${ids.failed}`);
    await b.page.getByText('the disk is full').first().waitFor();
    await b.screenshot('job');
    await open('/errors', 'Errors');
    await open('/batches', 'Batches and flows');
    await open('/workers', 'Workers');
    await b.page.getByRole('cell', { name: /dash\.echo/ }).waitFor();
    await b.screenshot('workers');
    await open('/schedules', 'Schedules');
    await b.page.getByRole('cell', { name: /^nightly/ }).waitFor();
    await open('/groups', 'Endpoint groups');
    await open('/rules', 'Rules and alerts');
    await b.page.getByRole('cell', { name: 'backlog', exact: true }).waitFor();
    await open('/tokens', 'Tokens');
    await open('/audit', 'Audit log');
    // Links are followed inside the page: the navigation reaches the jobs page without a reload.
    await b.page.evaluate(() => ((globalThis as any).__stayed = true));
    await b.page.getByRole('navigation', { name: 'sections' }).getByRole('link', { name: 'Jobs' }).click();
    await b.page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    assert.equal(await b.page.evaluate(() => (globalThis as any).__stayed), true);
  });

  it('renders an XSS payload in a job input as text, and runs nothing', async () => {
    await open(`/jobs/${ids.xss}`, `Job ${ids.xss}`);
    const input = b.page.getByRole('region', { name: 'input', exact: true });
    const text = (await input.textContent()) ?? '';
    assert.ok(text.includes('<img src=x onerror=') && text.includes(XSS.script), text);
    assert.equal(await b.page.locator('main img, #app script').count(), 0);
    await open('/jobs', 'Jobs');
    await b.page.getByRole('cell', { name: /onerror/ }).waitFor();
    assert.equal(await b.page.evaluate(() => (globalThis as any).__xss), undefined);
    assert.deepEqual(
      b.problems.filter((p) => /Refused|Content Security Policy/i.test(p)),
      [],
    );
    await b.screenshot('job-xss');
  });

  it('retries a failed job and cancels a queued one from their pages', async () => {
    await open(`/jobs/${ids.failed}`, `Job ${ids.failed}`);
    const failedAgain = nextEvent(s.server.offload, 'job:failed', (e) => e.id === ids.failed);
    await b.page.getByRole('button', { name: 'Retry' }).click();
    await failedAgain;
    await open(`/jobs/${ids.later}`, `Job ${ids.later}`);
    await b.page.getByRole('button', { name: 'Cancel' }).click();
    await b.page.locator('h1 .badge', { hasText: 'cancelled' }).waitFor();
    assert.equal((await s.server.offload.getJob(ids.later)).state, 'cancelled');
  });

  it('finds a job by a word in its input', async () => {
    await open('/jobs', 'Jobs');
    await b.page.getByLabel('Search').fill('pelican');
    // A job arriving while one types redraws the list, live, and leaves the typing alone.
    const newId = (await s.server.offload.enqueue(echo, { note: 'arrives while typing' })).id;
    await b.page.getByRole('link', { name: newId, exact: true }).waitFor();
    assert.equal(await b.page.getByLabel('Search').inputValue(), 'pelican');
    await b.page.getByRole('button', { name: 'Apply' }).click();
    await b.page.waitForURL(/q=pelican/);
    await b.page.getByRole('link', { name: ids.pelican, exact: true }).waitFor();
    assert.equal(await b.page.getByRole('table', { name: 'jobs' }).getByRole('row').count(), 2, 'the header and one job');
  });

  it('groups errors by task and message', async () => {
    await open('/errors', 'Errors');
    await b.page.getByRole('row', { name: /dash\.fail.*the disk is full/ }).waitFor();
    await b.screenshot('errors');
  });

  it('retries every job a filter matches, in one bulk action', async () => {
    await open('/jobs?task=dash.fail&state=failed', 'Jobs');
    await b.page.getByRole('link', { name: ids.failed2, exact: true }).waitFor();
    const both = Promise.all([ids.failed, ids.failed2].map((id) => nextEvent(s.server.offload, 'job:failed', (e) => e.id === id)));
    await b.page.getByRole('button', { name: 'Retry all matching…' }).click();
    await b.page.getByRole('button', { name: 'Confirm: retry every job the filter matches' }).click();
    await b.page.getByRole('status').filter({ hasText: 'retry: 2 matched, 2 changed' }).waitFor();
    await both;
  });

  it('deletes the selected jobs', async () => {
    const doomed = [(await s.server.offload.enqueue(echo, { note: 'doomed 1' })).id, (await s.server.offload.enqueue(echo, { note: 'doomed 2' })).id];
    await Promise.all(doomed.map((id) => untilJob(id, 'succeeded')));
    await open('/jobs?q=doomed', 'Jobs');
    for (const id of doomed) await b.page.getByRole('checkbox', { name: `select job ${id}` }).check();
    await b.page.getByRole('button', { name: 'Delete selected' }).click();
    await b.page.getByRole('status').filter({ hasText: 'delete: 2 matched, 2 changed' }).waitFor();
    await assert.rejects(s.server.offload.getJob(doomed[0]!), { code: 'JOB_NOT_FOUND' });
  });

  it('stops a worker claiming', async () => {
    const claim = await call('POST', '/v1/claim', { tasks: ['dash.agent'], workerId: 'agent-7' });
    assert.equal(claim.status, 200);
    await open('/workers', 'Workers');
    await b.page.getByRole('button', { name: 'stop worker agent-7' }).click();
    await b.page.getByRole('row', { name: /agent-7.*stopping/ }).waitFor();
    assert.equal((await call('POST', '/v1/claim', { tasks: ['dash.agent'], workerId: 'agent-7' })).json.error.code, 'WORKER_STOPPING');
  });

  it('creates a token, shows its secret once, and revokes it', async () => {
    await open('/tokens', 'Tokens');
    const form = b.page.getByRole('form', { name: 'new token' });
    await form.getByLabel('Name').fill('ci-reader');
    await form.getByLabel('Scope').selectOption('read');
    await form.getByRole('button', { name: 'Create token' }).click();
    await b.page
      .getByRole('status')
      .filter({ hasText: /Token ci-reader: ofl_/ })
      .waitFor();
    await b.page.getByRole('button', { name: 'revoke token ci-reader' }).click();
    await b.page.getByRole('row', { name: /ci-reader.*revoked/ }).waitFor();
    await b.screenshot('tokens');
  });

  it('pauses, resumes and runs a schedule now', async () => {
    await open('/schedules', 'Schedules');
    await b.page.getByRole('button', { name: 'pause nightly' }).click();
    await b.page.getByRole('button', { name: 'resume nightly' }).waitFor();
    assert.equal((await s.server.offload.getSchedule('nightly')).paused, true);
    await b.page.getByRole('button', { name: 'resume nightly' }).click();
    await b.page.getByRole('button', { name: 'pause nightly' }).waitFor();
    assert.equal((await s.server.offload.getSchedule('nightly')).paused, false);
    await b.page.getByRole('button', { name: 'run nightly now' }).click();
    await b.page
      .getByRole('cell', { name: /succeeded|queued|running/ })
      .first()
      .waitFor();
    assert.notEqual((await s.server.offload.getSchedule('nightly')).lastJobId, null);
    await b.screenshot('schedules');
  });

  it('pauses a rule', async () => {
    await open('/rules', 'Rules and alerts');
    await b.page.getByRole('button', { name: 'pause rule backlog' }).click();
    await b.page.getByRole('button', { name: 'resume rule backlog' }).waitFor();
  });

  it("moves a batch's bar live as its jobs finish, with no reload", async () => {
    const arrived = Array.from({ length: 3 }, () => deferred());
    for (const a of arrived) gateArrived.push(a.resolve);
    const batch = await s.server.offload.batch(
      [0, 1, 2].map((n) => ({ task: gate, input: { n } })),
      { title: 'three gates' },
    );
    await Promise.all(arrived.map((a) => a.promise));
    await open(`/batches/${batch.id}`, /Batch .*three gates/);
    const done = b.page.getByTestId('batch-done');
    assert.equal(await done.textContent(), '0');
    await b.page.evaluate(() => ((globalThis as any).__stayed = 'batch'));
    gates.shift()!();
    await b.page.getByTestId('batch-done').filter({ hasText: '1' }).waitFor();
    await b.screenshot('batch');
    gates.shift()!();
    gates.shift()!();
    await b.page.getByText('Finished.').waitFor();
    assert.equal(await done.textContent(), '3');
    assert.equal(await b.page.evaluate(() => (globalThis as any).__stayed), 'batch');
  });

  it("draws a flow's graph", async () => {
    const r = await call('POST', '/v1/flows', {
      title: 'report',
      steps: {
        fetch: { task: 'dash.echo', input: 1 },
        parse: { task: 'dash.echo', input: 2, after: ['fetch'] },
        render: { task: 'dash.echo', input: 3, after: ['parse'] },
      },
    });
    assert.equal(r.status, 201);
    await open(`/flows/${r.json.flow.id}`, /Flow .*report/);
    await b.page.getByRole('img', { name: 'graph of 3 steps' }).waitFor();
    await b.page.getByText('Finished.').waitFor();
    await b.screenshot('flow');
  });

  it('is usable from the keyboard: a skip link, then real links with a visible focus', async () => {
    await open('/', 'Overview');
    await b.page.keyboard.press('Tab');
    assert.equal(await b.page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    await b.page.keyboard.press('Enter');
    await b.page.keyboard.press('Tab');
    const outline = await b.page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none');
  });

  it('reads on a phone', async () => {
    const phone = await b.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    await page.goto(`${s.url}/jobs`);
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    await page.screenshot({ path: join(SCREENSHOTS, 'phone.png') });
    await phone.close();
  });
});

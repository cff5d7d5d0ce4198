/**
 * Rules end to end, on the injected clock, against real receivers started here: e-mail to a real
 * SMTP server (and retried while it is down), webhooks to a real HTTP server that verifies the
 * signature, follow-up jobs, pauses, batches and flows, and condition alerts that fire once and
 * resolve once across processes. Runs on SQLite, and on PostgreSQL from test/on-postgres/.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidRuleError, RuleNotFoundError, UnknownTaskError } from '../../src/core/errors.js';
import { defineTask, type Offload, permanent, type RuleNotice } from '../../src/index.js';
import { nextEvent, openTestOffload, type TestOffload } from '../helpers/offload.js';
import { freePort, startReceiver, startSmtp, type TestReceiver, type TestSmtp } from './helpers.js';

const SECRET = 'whsec_0123456789abcdef';
const MINUTE = 60_000;
const FROM = 'Offload <offload@example.com>';

const charge = defineTask(
  'billing.charge',
  async (input: { card: string }) => {
    if (input.card === 'declined') throw permanent(new Error('card declined'));
    if (input.card === 'flaky') throw new Error('gateway timeout');
    return { charged: true };
  },
  { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 1000 } },
);
const other = defineTask('reports.build', async () => {
  throw permanent(new Error('no data'));
});
/** A follow-up task: keeps the notices it is given. */
const seen: RuleNotice[] = [];
const onCall = defineTask('ops.page', async (notice: RuleNotice) => {
  seen.push(notice);
  return null;
});

/** Jobs a rule made, by task (its deliveries carry `rule:NAME` as their origin). */
async function jobsOfRule(offload: Offload, rule: string) {
  return (await offload.listJobs({ limit: 1000 })).jobs.filter((j) => j.origin === `rule:${rule}`);
}

describe('rules', () => {
  let t: TestOffload;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await t?.dispose();
    await Promise.all(closers.splice(0).map((close) => close()));
    seen.length = 0;
  });

  async function smtp(port?: number): Promise<TestSmtp> {
    const s = await startSmtp(port);
    closers.push(() => s.close());
    return s;
  }

  async function receiver(): Promise<TestReceiver> {
    const r = await startReceiver(SECRET, () => t.clock.now());
    closers.push(() => r.close());
    return r;
  }

  it('e-mails a job that failed for good to a real SMTP server, with the job’s details, for matching tasks only', async () => {
    const server = await smtp();
    t = await openTestOffload({ tasks: [charge, other], mail: { host: '127.0.0.1', port: server.port, from: FROM, timeoutMs: 5000 } });
    await t.offload.rules.save('billing-dead', {
      on: { event: 'job.dead' },
      tasks: ['billing.*'],
      action: { type: 'email', to: ['ops@example.com'], subject: 'Billing' },
    });
    await t.offload.work();
    await t.offload.enqueue(other, null);
    const job = await t.offload.enqueue(charge, { card: 'declined' });
    const mail = await server.nth(1);
    assert.deepEqual(mail.rcptTo, ['ops@example.com']);
    assert.equal(mail.subject, `Billing: job ${job.id} of billing.charge failed for good: card declined`);
    for (const detail of [
      `Job ${job.id}`,
      'task      billing.charge',
      'state     failed',
      'attempt   1 of 2',
      'error     ',
      'card declined',
      'input     {"card":"declined"}',
    ])
      assert.ok(mail.text.includes(detail), `the message names ${detail}:\n${mail.text}`);
    assert.ok(mail.text.includes('"event": "job.dead"'), 'and carries the notice as JSON');
    const [delivery] = await jobsOfRule(t.offload, 'billing-dead');
    assert.equal(delivery.task, 'offload.rule.email');
    await t.offload.waitForJob(delivery.id);
    assert.equal((await t.offload.getJob(delivery.id)).state, 'succeeded');
    assert.equal(server.received.length, 1, 'reports.build failed too, but the rule covers billing.* only');
  });

  it('retries the e-mail while the SMTP server is down, and delivers it once the server is up', async () => {
    const port = await freePort();
    t = await openTestOffload({ tasks: [charge], mail: { host: '127.0.0.1', port, from: FROM, timeoutMs: 5000 } });
    await t.offload.rules.save('billing-ok', { on: { event: 'job.succeeded' }, tasks: ['billing.charge'], action: { type: 'email', to: 'ops@example.com' } });
    await t.offload.work();
    const retried = nextEvent(t.offload, 'job:retrying', (e) => e.task === 'offload.rule.email');
    const job = await t.offload.enqueue(charge, { card: 'ok' });
    const first = await retried;
    assert.equal(first.error.code, 'SMTP_UNAVAILABLE', 'nothing listens: the first attempt failed, and the job is retried');
    const server = await smtp(port);
    await t.clock.advance(first.runAt - t.clock.now());
    const mail = await server.nth(1);
    assert.ok(mail.text.includes(`job ${job.id} of billing.charge succeeded`), mail.text);
    assert.ok(mail.text.includes('result    {"charged":true}'), mail.text);
    const done = await t.offload.waitForJob(first.id);
    assert.equal(done.state, 'succeeded');
    assert.equal((await t.offload.getJob(first.id)).attempt, 2);
  });

  it('fails an e-mail delivery for good when no SMTP server is configured (MAIL_NOT_CONFIGURED)', async () => {
    t = await openTestOffload({ tasks: [charge] });
    await t.offload.rules.save('no-mail', { on: { event: 'job.succeeded' }, action: { type: 'email', to: 'ops@example.com' } });
    await t.offload.work();
    const failed = nextEvent(t.offload, 'job:failed', (e) => e.task === 'offload.rule.email');
    await t.offload.enqueue(charge, { card: 'ok' });
    assert.equal((await failed).error.code, 'MAIL_NOT_CONFIGURED');
  });

  it('posts a signed webhook that the receiver verifies, retried after a 503, refused for good after a 400', async () => {
    const hook = await receiver();
    t = await openTestOffload({ tasks: [charge] });
    await t.offload.rules.save('billing-retried', {
      on: { event: 'job.retried' },
      tasks: ['billing.*'],
      action: { type: 'webhook', url: hook.url, secret: SECRET, allowAddresses: ['127.0.0.1'] },
    });
    const listed = await t.offload.rules.get('billing-retried');
    assert.equal((listed.action as { secret: string }).secret, '(set)', 'the secret is never shown back');
    await t.offload.work();
    hook.answers.push(503);
    const retried = nextEvent(t.offload, 'job:retrying', (e) => e.task === 'offload.rule.webhook');
    const job = await t.offload.enqueue(charge, { card: 'flaky' });
    const first = await hook.nth(1);
    assert.ok(first.verified, 'the receiver verified the Offload-Signature');
    const again = await retried;
    assert.equal(again.error.code, 'WEBHOOK_REFUSED');
    await t.clock.advance(again.runAt - t.clock.now());
    const second = await hook.nth(2);
    assert.ok(second.verified);
    assert.equal(second.headers['offload-delivery'], first.headers['offload-delivery'], 'a retried delivery carries the same id');
    assert.equal(second.headers['offload-rule'], 'billing-retried');
    const notice = second.body as RuleNotice;
    assert.equal(notice.event, 'job.retried');
    assert.equal(notice.rule, 'billing-retried');
    assert.equal(notice.job?.id, job.id);
    assert.equal(notice.job?.state, 'queued');
    assert.equal(notice.job?.error?.message, 'gateway timeout');

    // A 4xx other than 408/429 is a refusal: not retried.
    hook.answers.push(400);
    const dead = nextEvent(t.offload, 'job:failed', (e) => e.task === 'offload.rule.webhook');
    await t.offload.enqueue(charge, { card: 'flaky' });
    const refused = await dead;
    assert.equal(refused.error.code, 'WEBHOOK_REFUSED');
    assert.equal((await t.offload.getJob(refused.id)).attempt, 1);
  });

  it('refuses a webhook to a private address the rule does not allow, for good', async () => {
    const hook = await receiver();
    t = await openTestOffload({ tasks: [charge] });
    await t.offload.rules.save('no-allow', { on: { event: 'job.succeeded' }, action: { type: 'webhook', url: hook.url, secret: SECRET } });
    await t.offload.work();
    const failed = nextEvent(t.offload, 'job:failed', (e) => e.task === 'offload.rule.webhook');
    await t.offload.enqueue(charge, { card: 'ok' });
    assert.equal((await failed).error.code, 'OUTBOUND_ADDRESS_DENIED');
    assert.equal(hook.received.length, 0);
  });

  it('enqueues a follow-up job whose input is the notice; a paused rule sets off nothing until resumed', async () => {
    t = await openTestOffload({ tasks: [charge, onCall] });
    await t.offload.rules.save('page-on-failure', { on: { event: 'job.failed' }, tasks: ['billing.*'], action: { type: 'enqueue', task: 'ops.page' } });
    await t.offload.work();
    let paged = nextEvent(t.offload, 'job:succeeded', (e) => e.task === 'ops.page');
    await t.offload.enqueue(charge, { card: 'declined' });
    await paged;
    assert.equal(seen.length, 1);
    assert.equal(seen[0].event, 'job.failed');
    assert.match(seen[0].summary, /failed for good: card declined/);

    assert.equal((await t.offload.rules.pause('page-on-failure')).paused, true);
    const unseen = nextEvent(t.offload, 'job:failed', (e) => e.task === 'billing.charge');
    await t.offload.enqueue(charge, { card: 'declined' });
    await unseen;
    await t.clock.advance(1);
    assert.equal((await jobsOfRule(t.offload, 'page-on-failure')).length, 1, 'paused: no follow-up');

    await t.offload.rules.resume('page-on-failure');
    paged = nextEvent(t.offload, 'job:succeeded', (e) => e.task === 'ops.page');
    await t.offload.enqueue(charge, { card: 'declined' });
    await paged;
    assert.equal(seen.length, 2);
  });

  it('tells of a finished batch and a finished flow, each to its own rule', async () => {
    const ok = defineTask('step.ok', async () => 1);
    t = await openTestOffload({ tasks: [ok, onCall] });
    await t.offload.rules.save('batches', { on: { event: 'batch.finished' }, action: { type: 'enqueue', task: 'ops.page' } });
    await t.offload.rules.save('flows', { on: { event: 'flow.finished' }, action: { type: 'enqueue', task: 'ops.page' } });
    await t.offload.work();
    let paged = nextEvent(t.offload, 'job:succeeded', (e) => e.task === 'ops.page');
    const batch = await t.offload.batch([{ task: ok, input: null }], { title: 'nightly' });
    await paged;
    assert.equal(seen[0].event, 'batch.finished');
    assert.deepEqual(seen[0].batch, { id: batch.id, title: 'nightly', ok: true, total: 1, succeeded: 1, failed: 0, cancelled: 0 });
    paged = nextEvent(t.offload, 'job:succeeded', (e) => e.task === 'ops.page');
    const flow = await t.offload.flow({ steps: { a: { task: ok, input: null }, b: { task: ok, input: null, after: ['a'] } } });
    await paged;
    assert.equal(seen[1].event, 'flow.finished');
    assert.equal(seen[1].batch?.id, flow.id);
    assert.equal(seen.length, 2, 'the flow is not a plain batch');
  });

  it('fires a backlog alert once when it goes over N and once when it clears, across two processes and a restart', async () => {
    const idle = defineTask('mail.send', async () => null);
    t = await openTestOffload({ tasks: [idle, onCall] });
    const second = await t.another({ tasks: [idle, onCall] });
    await t.offload.rules.save('backlog', { on: { event: 'task.backlog', over: 3 }, tasks: ['mail.*'], action: { type: 'enqueue', task: 'ops.page' } });
    // Enqueued first: a watcher's first pass runs as it starts.
    for (let i = 0; i < 5; i++) await t.offload.enqueue(idle, i);
    for (const o of [t.offload, second]) await o.startRules({ intervalMs: MINUTE });
    await t.clock.advance(MINUTE);
    await t.clock.advance(MINUTE);
    let pages = await jobsOfRule(t.offload, 'backlog');
    assert.equal(pages.length, 1, 'two processes judged the condition twice each: one alert');
    assert.deepEqual(
      (await t.offload.rules.alerts()).map((a) => [a.rule, a.subject, a.value]),
      [['backlog', 'mail.send', 5]],
    );
    // A third process starts (a restart): the alert stays fired.
    const third = await t.another({ tasks: [idle, onCall] });
    await third.startRules({ intervalMs: MINUTE });
    await t.clock.advance(MINUTE);
    assert.equal((await jobsOfRule(t.offload, 'backlog')).length, 1);

    // The backlog drains: resolved, once.
    const worker = await t.offload.work({ tasks: [idle, onCall] });
    await t.clock.advance(1);
    await t.clock.advance(MINUTE);
    await t.clock.advance(MINUTE);
    pages = await jobsOfRule(t.offload, 'backlog');
    assert.equal(pages.length, 2);
    const notices = await Promise.all(pages.map(async (p) => (await t.offload.getJob(p.id)).input as RuleNotice));
    assert.deepEqual(notices.map((n) => n.alert?.state).sort(), ['firing', 'resolved']);
    const firing = notices.find((n) => n.alert?.state === 'firing')!;
    assert.deepEqual(firing.alert, { state: 'firing', task: 'mail.send', value: 5, threshold: 3 });
    assert.deepEqual(await t.offload.rules.alerts(), []);
    await worker.stop();
  });

  it('alerts on the oldest due job waiting too long and on a failure rate over X% in a window; each resolves when it clears', async () => {
    const stuck = defineTask('queue.stuck', async () => null);
    t = await openTestOffload({ tasks: [charge, stuck, onCall] });
    const page = { type: 'enqueue', task: 'ops.page' } as const;
    await t.offload.rules.save('oldest', { on: { event: 'task.oldest-queued', olderThanMs: 5 * MINUTE }, tasks: ['queue.*'], action: page });
    await t.offload.rules.save('failing', {
      on: { event: 'task.failure-rate', overPercent: 50, windowMs: 10 * MINUTE, minJobs: 4 },
      tasks: ['billing.*'],
      action: page,
    });
    await t.offload.startRules({ intervalMs: MINUTE });
    await t.offload.enqueue(stuck, null);
    // 4 jobs of billing.charge finish, 3 of them failed for good: 75 %.
    const worker = await t.offload.work({ tasks: [charge], maintenance: false });
    const handles = [];
    for (const card of ['declined', 'declined', 'declined', 'ok']) handles.push(await t.offload.enqueue(charge, { card }));
    for (const h of handles) await t.offload.waitForJob(h.id);
    await worker.stop();
    const firing = async () => (await t.offload.rules.alerts()).map((a) => [a.rule, a.subject, a.value]);

    await t.clock.advance(MINUTE);
    assert.deepEqual(await firing(), [['failing', 'billing.charge', 75]]);
    await t.clock.advance(5 * MINUTE);
    assert.deepEqual(await firing(), [
      ['failing', 'billing.charge', 75],
      ['oldest', 'queue.stuck', 6 * MINUTE],
    ]);
    await t.clock.advance(5 * MINUTE);
    assert.deepEqual(
      (await firing()).map(([rule]) => rule),
      ['oldest'],
      'the failures left the 10-minute window: resolved',
    );
    await t.offload.purge('queue.stuck');
    await t.clock.advance(MINUTE);
    assert.deepEqual(await firing(), []);
    for (const rule of ['oldest', 'failing']) {
      const notices = await Promise.all((await jobsOfRule(t.offload, rule)).map(async (j) => (await t.offload.getJob(j.id)).input as RuleNotice));
      assert.deepEqual(notices.map((n) => n.alert?.state).sort(), ['firing', 'resolved'], `${rule} fired once and resolved once`);
    }
  });

  it('alerts on a worker gone silent (its record left behind by a crash), and resolves when the record goes', async () => {
    t = await openTestOffload({ tasks: [charge, onCall] });
    await t.offload.rules.save('silent', {
      on: { event: 'worker.silent', forMs: 2 * MINUTE },
      tasks: ['billing.*'],
      action: { type: 'enqueue', task: 'ops.page' },
    });
    const record = { kind: 'local', host: 'box-1', pid: 4242, concurrency: 4, startedAt: t.clock.now(), lastSeenAt: t.clock.now() };
    await t.offload.store.upsertWorker({ worker: { ...record, id: 'w-crashed', tasks: ['billing.charge'] } });
    await t.offload.store.upsertWorker({ worker: { ...record, id: 'w-other', tasks: ['reports.build'] } });
    await t.offload.startRules({ intervalMs: MINUTE });
    await t.clock.advance(2 * MINUTE);
    assert.deepEqual(await t.offload.rules.alerts(), [], 'silent for 2 minutes, not more');
    await t.clock.advance(MINUTE);
    assert.deepEqual(
      (await t.offload.rules.alerts()).map((a) => [a.rule, a.subject, a.value]),
      [['silent', 'w-crashed', 3 * MINUTE]],
      'a worker of other tasks is not this rule’s business',
    );
    const [fired] = await jobsOfRule(t.offload, 'silent');
    assert.deepEqual(((await t.offload.getJob(fired.id)).input as RuleNotice).alert, {
      state: 'firing',
      worker: 'w-crashed',
      value: 3 * MINUTE,
      threshold: 2 * MINUTE,
    });
    await t.offload.store.removeWorker({ id: 'w-crashed' });
    await t.clock.advance(MINUTE);
    assert.deepEqual(await t.offload.rules.alerts(), []);
    assert.equal((await jobsOfRule(t.offload, 'silent')).length, 2);
  });

  it('refuses bad rules with INVALID_RULE and unknown ones with RULE_NOT_FOUND, saving nothing', async () => {
    t = await openTestOffload({ tasks: [charge] });
    const bad: [string, unknown][] = [
      ['bad name!', { on: { event: 'job.dead' }, action: { type: 'enqueue', task: 'billing.charge' } }],
      ['x', { on: { event: 'job.exploded' }, action: { type: 'enqueue', task: 'billing.charge' } }],
      ['x', { on: { event: 'task.backlog' }, action: { type: 'enqueue', task: 'billing.charge' } }],
      ['x', { on: { event: 'task.backlog', over: 5, windowMs: 3 }, action: { type: 'enqueue', task: 'billing.charge' } }],
      ['x', { on: { event: 'batch.finished' }, tasks: ['a'], action: { type: 'enqueue', task: 'billing.charge' } }],
      ['x', { on: { event: 'job.dead' }, tasks: ['bad pattern'], action: { type: 'enqueue', task: 'billing.charge' } }],
      ['x', { on: { event: 'job.dead' }, action: { type: 'webhook', url: 'ftp://x', secret: SECRET } }],
      ['x', { on: { event: 'job.dead' }, action: { type: 'webhook', url: 'https://example.com', secret: 'short' } }],
      ['x', { on: { event: 'job.dead' }, action: { type: 'email', to: [] } }],
      ['x', { on: { event: 'job.dead' }, action: { type: 'email', to: 'ops@example.com', subject: 'a\r\nBcc: x@y' } }],
      ['x', { on: { event: 'job.dead' }, action: { type: 'sms' } }],
    ];
    for (const [name, settings] of bad) await assert.rejects(t.offload.rules.save(name, settings as never), InvalidRuleError, JSON.stringify(settings));
    await assert.rejects(t.offload.rules.save('x', { on: { event: 'job.dead' }, action: { type: 'enqueue', task: 'nobody.defines' } }), UnknownTaskError);
    assert.deepEqual(await t.offload.rules.list(), []);
    await assert.rejects(t.offload.rules.get('missing'), RuleNotFoundError);
    await assert.rejects(t.offload.rules.pause('missing'), RuleNotFoundError);
    await assert.rejects(t.offload.rules.remove('missing'), RuleNotFoundError);
  });
});

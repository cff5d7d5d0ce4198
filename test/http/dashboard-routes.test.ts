/**
 * The routes a dashboard needs: job search and filters, bulk actions, errors grouped, a job's
 * links, workers asked to stop, tokens, the audit log. In process (`inject()`), responses checked
 * against their schemas; run again on PostgreSQL by test/on-postgres/http-dashboard-routes.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { openTestApi, type TestApi } from '../helpers/http.js';

describe('HTTP API: dashboard routes', () => {
  let t: TestApi;
  beforeEach(async () => {
    t = await openTestApi();
  });
  afterEach(async () => {
    await t.dispose();
  });

  const submit = async (body: unknown) => {
    const r = await t.call('POST', '/v1/jobs', { body });
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.json));
    return r.json.job as { id: string; createdAt: string };
  };
  /** Claims the next job of the task as `workerId` and fails it for good with `message`. */
  const failNext = async (task: string, message: string, workerId = 'agent-1') => {
    const [job] = (await t.call('POST', '/v1/claim', { body: { tasks: [task], workerId } })).json.jobs;
    const r = await t.call('POST', `/v1/jobs/${job.id}/fail`, { body: { leaseToken: job.leaseToken, error: { message }, retryable: false } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return job.id as string;
  };
  const completeNext = async (task: string, result: unknown) => {
    const [job] = (await t.call('POST', '/v1/claim', { body: { tasks: [task], workerId: 'agent-1' } })).json.jobs;
    assert.equal((await t.call('POST', `/v1/jobs/${job.id}/complete`, { body: { leaseToken: job.leaseToken, result } })).status, 200);
    return job.id as string;
  };
  const ids = (r: { json: { jobs: { id: string }[] } }) => r.json.jobs.map((j) => j.id);

  describe('GET /v1/jobs filters', () => {
    it('filters by several states, created time, flow and text, newest first, paging with a cursor', async () => {
      const a = await submit({ task: 't.echo', input: { to: 'Alice@example.com' } });
      await t.clock.advance(1000);
      const b = await submit({ task: 't.echo', input: { to: 'bob' } });
      const failed = await failNext('t.echo', 'SMTP said: mailbox of ALICE full');
      assert.equal(failed, a.id);
      const flow = (await t.call('POST', '/v1/flows', { body: { steps: { one: { task: 't.other', input: 1 }, two: { task: 't.other', after: ['one'] } } } }))
        .json;
      assert.deepEqual(ids(await t.call('GET', '/v1/jobs?state=queued,failed&task=t.echo')), [b.id, a.id]);
      assert.deepEqual(ids(await t.call('GET', `/v1/jobs?task=t.echo&since=${encodeURIComponent(b.createdAt)}`)), [b.id]);
      assert.deepEqual(ids(await t.call('GET', `/v1/jobs?task=t.echo&until=${encodeURIComponent(b.createdAt)}`)), [a.id]);
      assert.deepEqual(ids(await t.call('GET', '/v1/jobs?q=alice')), [a.id], 'found by input and by error, once');
      assert.deepEqual(ids(await t.call('GET', '/v1/jobs?q=ALICE&state=queued')), []);
      const steps = await t.call('GET', `/v1/jobs?flow=${flow.flow.id}`);
      assert.deepEqual(
        steps.json.jobs.map((j: { step: string }) => j.step),
        ['two', 'one'],
      );
      const page1 = await t.call('GET', '/v1/jobs?state=queued,failed,waiting&limit=2');
      const page2 = await t.call('GET', `/v1/jobs?state=queued,failed,waiting&limit=2&cursor=${page1.json.nextCursor}`);
      assert.deepEqual([...ids(page1), ...ids(page2)].length, 4, 'no job twice, none skipped');
      assert.equal(page2.json.nextCursor, null);
    });

    it('refuses a state list with an unknown state, a time that is none, and a flow that is a plain batch', async () => {
      const bad = await t.call('GET', '/v1/jobs?state=queued,sleeping');
      assert.deepEqual([bad.status, bad.json.error.details.field], [400, 'query.state']);
      const badTime = await t.call('GET', '/v1/jobs?since=2026-02-31T99:00:00Z');
      assert.deepEqual([badTime.status, badTime.json.error.code, badTime.json.error.details.field], [400, 'INVALID_REQUEST', 'query.since']);
      const batch = (await t.call('POST', '/v1/batches', { body: { jobs: [{ task: 't.echo', input: 1 }] } })).json;
      const notFlow = await t.call('GET', `/v1/jobs?flow=${batch.batch.id}`);
      assert.deepEqual([notFlow.status, notFlow.json.error.code], [404, 'FLOW_NOT_FOUND']);
    });

    it('a token narrowed to some tasks must name one of them', async () => {
      const narrow = await t.token('read', ['t.echo']);
      assert.equal((await t.call('GET', '/v1/jobs?q=x', { token: narrow })).status, 403);
      assert.equal((await t.call('GET', '/v1/jobs?q=x&task=t.echo', { token: narrow })).status, 200);
    });
  });

  describe('POST /v1/jobs/bulk', () => {
    it('retries, cancels and deletes by ids, by the job rules, counting what it skipped and why', async () => {
      const q1 = await submit({ task: 't.echo', input: 1 });
      const f1 = await failNext('t.echo', 'boom');
      assert.equal(f1, q1.id);
      const q2 = await submit({ task: 't.echo', input: 2 });
      const retried = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'retry', ids: [f1, q2.id, '999999'] } });
      assert.deepEqual(retried.json, { matched: 3, changed: 1, skipped: 2, reasons: { INVALID_STATE: 1, JOB_NOT_FOUND: 1 } });
      assert.equal((await t.call('GET', `/v1/jobs/${f1}`)).json.job.state, 'queued');
      const cancelled = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'cancel', ids: [q1.id, q2.id] } });
      assert.deepEqual(cancelled.json, { matched: 2, changed: 2, skipped: 0, reasons: {} });
      const again = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'cancel', ids: [q1.id] } });
      assert.deepEqual(again.json, { matched: 1, changed: 0, skipped: 1, reasons: { INVALID_STATE: 1 } }, 'already cancelled');
      const q3 = await submit({ task: 't.echo', input: 3 });
      const deleted = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'delete', ids: [q1.id, q2.id, q3.id] } });
      assert.deepEqual(deleted.json, { matched: 3, changed: 2, skipped: 1, reasons: { NOT_FINISHED: 1 } });
      assert.equal((await t.call('GET', `/v1/jobs/${q1.id}`)).status, 404);
    });

    it('acts on every job a filter matches, in pages, and leaves the others', async () => {
      for (let i = 0; i < 7; i++) await submit({ task: 't.echo', input: i });
      await submit({ task: 't.other', input: 'keep' });
      for (let i = 0; i < 3; i++) await failNext('t.echo', 'flaky upstream');
      const r = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'retry', filter: { task: 't.echo', state: 'failed', q: 'FLAKY' } } });
      assert.deepEqual(r.json, { matched: 3, changed: 3, skipped: 0, reasons: {} });
      const cancel = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'cancel', filter: { task: 't.echo' } } });
      assert.deepEqual([cancel.json.matched, cancel.json.changed], [7, 7]);
      const del = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'delete', filter: { state: 'cancelled,succeeded' } } });
      assert.deepEqual([del.json.matched, del.json.changed], [7, 7]);
      assert.deepEqual(
        (await t.call('GET', '/v1/jobs')).json.jobs.map((j: { input: string }) => j.input),
        ['keep'],
      );
    });

    it("cancels a flow's steps by filter, however the cancels of waiting steps cross", async () => {
      const steps: Record<string, unknown> = { s0: { task: 't.echo', input: 0 } };
      for (let i = 1; i < 12; i++) steps[`s${i}`] = { task: 't.echo', input: i, after: [`s${i - 1}`, ...(i > 1 ? [`s${i - 2}`] : [])] };
      const flow = (await t.call('POST', '/v1/flows', { body: { steps } })).json;
      const r = await t.call('POST', '/v1/jobs/bulk', { body: { action: 'cancel', filter: { flow: flow.flow.id } } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.matched, 12);
      // Cancelling s0 ends its dependents itself: those are skipped when their turn comes, or cancelled first.
      assert.equal(r.json.changed + (r.json.reasons.INVALID_STATE ?? 0), 12);
      const after = await t.call('GET', `/v1/flows/${flow.flow.id}`);
      assert.deepEqual(new Set(after.json.steps.map((x: { state: string }) => x.state)), new Set(['cancelled']));
      assert.equal(after.json.flow.state, 'finished');
    });

    it('refuses neither or both of ids and filter, an empty filter, a read token, and jobs outside a narrowed token', async () => {
      const job = await submit({ task: 't.echo', input: 1 });
      for (const body of [{ action: 'cancel' }, { action: 'cancel', ids: [job.id], filter: { task: 't.echo' } }, { action: 'cancel', filter: {} }]) {
        const r = await t.call('POST', '/v1/jobs/bulk', { body });
        assert.deepEqual([r.status, r.json.error.code], [400, 'INVALID_REQUEST'], JSON.stringify(body));
      }
      assert.equal((await t.call('POST', '/v1/jobs/bulk', { body: { action: 'cancel', ids: [job.id] }, token: await t.token('read') })).status, 403);
      const narrow = await t.token('admin', ['t.other']);
      assert.equal((await t.call('POST', '/v1/jobs/bulk', { body: { action: 'cancel', ids: [job.id] }, token: narrow })).status, 403);
      assert.equal((await t.call('POST', '/v1/jobs/bulk', { body: { action: 'cancel', filter: { state: 'queued' } }, token: narrow })).status, 403);
      assert.equal((await t.call('GET', `/v1/jobs/${job.id}`)).json.job.state, 'queued');
    });
  });

  it('GET /v1/errors groups failed jobs by task and message, most recent first', async () => {
    for (let i = 0; i < 3; i++) await submit({ task: 't.echo', input: i });
    await submit({ task: 't.other', input: 0 });
    await failNext('t.echo', 'timeout talking to S3');
    await t.clock.advance(10);
    const last = await failNext('t.echo', 'timeout talking to S3');
    await t.clock.advance(10);
    const other = await failNext('t.other', 'bad input');
    await completeNext('t.echo', 'fine');
    const r = await t.call('GET', '/v1/errors');
    assert.deepEqual(
      r.json.errors.map((g: { task: string; message: string; count: number; sampleJobId: string }) => [g.task, g.message, g.count, g.sampleJobId]),
      [
        ['t.other', 'bad input', 1, other],
        ['t.echo', 'timeout talking to S3', 2, last],
      ],
    );
    assert.deepEqual((await t.call('GET', '/v1/errors?task=t.echo&limit=1')).json.errors.length, 1);
    assert.deepEqual((await t.call('GET', `/v1/errors?since=${new Date(t.clock.now() + 1000).toISOString()}`)).json.errors, []);
    assert.equal((await t.call('GET', '/v1/errors', { token: await t.token('read', ['t.echo']) })).status, 403);
  });

  it('GET /v1/jobs/{id}?include=dependencies answers its dependencies and dependents', async () => {
    const flow = (
      await t.call('POST', '/v1/flows', { body: { steps: { fetch: { task: 't.echo', input: 1 }, render: { task: 't.other', after: ['fetch'] } } } })
    ).json;
    const byStep = Object.fromEntries(flow.steps.map((s: { step: string; id: string }) => [s.step, s.id]));
    const r = await t.call('GET', `/v1/jobs/${byStep.fetch}?include=dependencies`);
    assert.deepEqual(r.json.dependencies, []);
    assert.deepEqual(r.json.dependents, [{ id: byStep.render, task: 't.other', step: 'render', state: 'waiting' }]);
    const plain = await t.call('GET', `/v1/jobs/${byStep.render}`);
    assert.deepEqual([plain.json.dependencies, plain.json.job.workerId, plain.json.job.attempt], [undefined, null, 0]);
  });

  describe('workers', () => {
    it('GET /v1/workers shows the jobs each holds; a stopped agent has its claims refused, its outcomes still recorded', async () => {
      await submit({ task: 't.echo', input: 1 });
      await submit({ task: 't.echo', input: 2 });
      const [held] = (await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'agent-7' } })).json.jobs;
      let [w] = (await t.call('GET', '/v1/workers')).json.workers;
      assert.deepEqual([w.id, w.kind, w.busy, w.stopping], ['agent-7', 'http', 1, false]);
      const stop = await t.call('POST', '/v1/workers/agent-7/stop');
      assert.deepEqual([stop.status, stop.json], [200, { id: 'agent-7', stopping: true }]);
      [w] = (await t.call('GET', '/v1/workers')).json.workers;
      assert.equal(w.stopping, true);
      const refused = await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'agent-7' } });
      assert.deepEqual([refused.status, refused.json.error.code], [409, 'WORKER_STOPPING']);
      const finish = await t.call('POST', '/v1/jobs/finish', {
        body: {
          outcomes: [{ id: held.id, outcome: 'complete', leaseToken: held.leaseToken, result: 'ok' }],
          claim: { tasks: ['t.echo'], workerId: 'agent-7' },
        },
      });
      assert.deepEqual([finish.status, finish.json.results[0].state, finish.json.jobs], [200, 'succeeded', []]);
      const other = await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'agent-8' } });
      assert.equal(other.json.jobs.length, 1, 'another worker claims as usual');
      const unknown = await t.call('POST', '/v1/workers/nobody/stop');
      assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'WORKER_NOT_FOUND']);
      assert.equal((await t.call('POST', '/v1/workers/agent-8/stop', { token: await t.token('read') })).status, 403);
    });

    it('an agent asked to stop through another server is refused at its next refresh', async () => {
      await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'agent-9' } });
      // Another process records the request: this server learns it when the agent's record is next written.
      const other = await t.another();
      assert.equal(await other.store.requestWorkerStop({ id: 'agent-9', now: t.clock.now() }), true);
      await t.clock.advance(10_000);
      const refused = await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'agent-9' } });
      assert.deepEqual([refused.status, refused.json.error.code], [409, 'WORKER_STOPPING']);
      // Refusals do not keep the record alive: a day later the pruner forgets it, and the id may claim again.
      await t.clock.advance(86_400_000 + 1000);
      await t.offload.store.pruneJobs({ now: t.clock.now(), limit: 100 });
      assert.equal((await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'agent-9' } })).status, 200);
    });

    it('an in-process worker asked to stop finishes the job it holds and ends at its next heartbeat', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      t.offload.task('t.slow', async () => {
        await gate;
        return 'done';
      });
      const job = await t.offload.enqueue('t.slow', null);
      const worker = await t.offload.work({ tasks: ['t.slow'], id: 'node-1', leaseMs: 30_000, heartbeatMs: 10_000 });
      await eventually(async () => (await t.offload.getJob(job.id)).state === 'running', 'the worker runs the job');
      assert.equal((await t.call('POST', '/v1/workers/node-1/stop')).status, 200);
      await t.clock.advance(10_000);
      await t.offload.enqueue('t.slow', null);
      release();
      const end = await worker.finished;
      assert.equal(end.reason, 'stop-requested');
      assert.equal((await t.offload.getJob(job.id)).state, 'succeeded');
      assert.deepEqual((await t.call('GET', '/v1/jobs?task=t.slow&state=queued')).json.jobs.length, 1, 'the job submitted after the request was not claimed');
    });
  });

  describe('tokens', () => {
    it('creates (the secret once), lists (never a hash) and revokes tokens; only admin may', async () => {
      const made = await t.call('POST', '/v1/tokens', { body: { name: 'ci', scope: 'submit', tasks: ['t.*'] } });
      assert.equal(made.status, 201);
      assert.match(made.json.secret, /^ofl_/);
      assert.deepEqual([made.json.token.name, made.json.token.scope, made.json.token.tasks, made.json.token.revokedAt], ['ci', 'submit', ['t.*'], null]);
      assert.equal((await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: 1 }, token: made.json.secret })).status, 201);
      const listed = await t.call('GET', '/v1/tokens');
      assert.deepEqual(
        listed.json.tokens.map((x: { name: string }) => x.name),
        ['ci'],
      );
      assert.ok(!JSON.stringify(listed.json).includes('hash') && !JSON.stringify(listed.json).includes(made.json.secret));
      const taken = await t.call('POST', '/v1/tokens', { body: { name: 'ci', scope: 'read' } });
      assert.deepEqual([taken.status, taken.json.error.code], [400, 'INVALID_OPTION']);
      assert.equal((await t.call('GET', '/v1/tokens', { token: made.json.secret })).status, 403);
      const narrowAdmin = await t.token('admin', ['t.*']);
      const escalate = await t.call('POST', '/v1/tokens', { body: { name: 'root', scope: 'admin' }, token: narrowAdmin });
      assert.deepEqual([escalate.status, escalate.json.error.code], [403, 'FORBIDDEN'], 'a narrowed admin cannot make an unrestricted token');
      assert.equal((await t.call('DELETE', '/v1/tokens/ci')).status, 200);
      assert.equal((await t.call('POST', '/v1/jobs', { body: { task: 't.echo', input: 1 }, token: made.json.secret })).status, 401);
      assert.equal((await t.call('DELETE', '/v1/tokens/ci')).json.error.code, 'TOKEN_NOT_FOUND');
      assert.equal((await t.call('GET', '/v1/tokens?all=true')).json.tokens[0].revokedAt !== null, true);
    });
  });

  describe('audit log', () => {
    const entries = async () => (await t.call('GET', '/v1/audit')).json.entries as Record<string, any>[];

    it('records every action with who, route, targets, a summary without secrets and the status; not reads, submissions or agent work', async () => {
      const admin = await t.token('admin', [], 'ops');
      const job = await submit({ task: 't.echo', input: { password: 'hunter2' } });
      await t.call('POST', `/v1/jobs/${job.id}/cancel`, { token: admin });
      await t.call('POST', '/v1/jobs/bulk', { body: { action: 'retry', ids: [job.id] }, token: admin });
      await t.call('POST', '/v1/jobs/999999/retry', { token: admin });
      await t.call('GET', `/v1/jobs/${job.id}`);
      const [claimed] = (await t.call('POST', '/v1/claim', { body: { tasks: ['t.echo'], workerId: 'a1' } })).json.jobs;
      await t.call('POST', `/v1/jobs/${claimed.id}/complete`, { body: { leaseToken: claimed.leaseToken, result: 1 } });
      await t.call('POST', '/v1/tokens', { body: { name: 'x', scope: 'read' } });
      await t.call('PUT', '/v1/rules/hook', {
        body: { on: { event: 'job.dead' }, action: { type: 'webhook', url: 'https://hooks.example.com/x?key=1', secret: 'whsec_0123456789abcdef' } },
      });
      await t.call('POST', '/v1/tokens', { body: { name: 'y', scope: 'read' }, token: 'ofl_unknown' });
      await t.call('DELETE', '/v1/tasks/t.other/jobs?state=failed');
      await eventually(async () => (await entries()).length === 6, 'six actions are in the log');
      const purge = (await entries()).shift()!;
      assert.deepEqual([purge.route, purge.targets, purge.summary], ['/v1/tasks/:task/jobs', ['t.other'], { query: { state: 'failed' } }]);
      const log = (await entries()).slice(1);
      assert.deepEqual(
        log.map((e) => [e.actor, e.method, e.route, e.targets, e.status]),
        [
          ['local:127.0.0.1', 'PUT', '/v1/rules/:name', ['hook'], 200],
          ['local:127.0.0.1', 'POST', '/v1/tokens', ['x'], 201],
          ['ops', 'POST', '/v1/jobs/:id/retry', ['999999'], 404],
          ['ops', 'POST', '/v1/jobs/bulk', [job.id], 200],
          ['ops', 'POST', '/v1/jobs/:id/cancel', [job.id], 200],
        ],
      );
      assert.deepEqual(log[3].summary, { action: 'retry', ids: { items: 1 } }, 'the ids are in targets');
      assert.deepEqual(log[1].summary, { name: 'x', scope: 'read' });
      const text = JSON.stringify(log);
      for (const secret of ['hunter2', 'whsec_0123456789abcdef', 'key=1']) assert.ok(!text.includes(secret), secret);
      assert.deepEqual(log[0].summary.action, { type: 'webhook', url: 'https://hooks.example.com/x', secret: '[redacted]' });
    });

    it('pages newest first with a cursor; only admin reads it', async () => {
      for (const name of ['a', 'b', 'c']) await t.call('POST', '/v1/tokens', { body: { name, scope: 'read' } });
      await eventually(async () => (await entries()).length === 3, 'three actions are in the log');
      const page1 = await t.call('GET', '/v1/audit?limit=2');
      const page2 = await t.call('GET', `/v1/audit?limit=2&cursor=${page1.json.nextCursor}`);
      assert.deepEqual(
        [...page1.json.entries, ...page2.json.entries].map((e: { targets: string[] }) => e.targets[0]),
        ['c', 'b', 'a'],
      );
      assert.equal(page2.json.nextCursor, null);
      assert.equal((await t.call('GET', '/v1/audit', { token: await t.token('read') })).status, 403);
      assert.equal((await t.call('GET', '/v1/audit', { token: await t.token('admin', ['t.echo']) })).status, 403);
    });
  });
});

/**
 * Dependencies and flows over HTTP, on a real socket with tokens: `after` in POST /v1/jobs and
 * POST /v1/batches, POST /v1/flows (?wait 200/202, Idempotency-Key), GET /v1/flows/:id (?wait),
 * cancel, the errors that store nothing, scopes and task patterns, a batch's event stream
 * (?batch=ID), claims that carry what a job waited for (to an agent and to a remote Node worker),
 * and a flow submitted and read by a plain HTTP client in a child process. Runs on SQLite, and on
 * PostgreSQL from test/on-postgres/.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { defineTask, type Worker } from '../../src/index.js';
import { startRemoteWorker } from '../../src/remote/remote-worker.js';
import { programAvailable } from '../helpers/agent-server.js';
import { apiTasks } from '../helpers/http.js';
import { nextEvent } from '../helpers/offload.js';
import { startProcess } from '../helpers/processes.js';
import { type ServedApi, serveWithTokens, sseReader } from '../helpers/served-api.js';

/** Adds up what its job waited for: each dependency's result by name, and its own input. */
const sum = defineTask('t.sum', async (input: { add?: number } | null, ctx) => {
  let total = input?.add ?? 0;
  for (const d of ctx.dependencies) total += (d.result as { n?: number } | null)?.n ?? 0;
  return { n: total, from: ctx.dependencies.list.map((d) => `${d.name ?? d.id}:${d.state}`) };
});

describe('HTTP API: dependencies and flows', () => {
  let t: ServedApi;
  let worker: Worker | undefined;
  beforeEach(async () => {
    t = await serveWithTokens([...Object.values(apiTasks), sum]);
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await t.dispose();
  });

  const submit = (body: unknown, o: { token?: string; query?: string } = {}) => t.call('POST', `/v1/jobs${o.query ?? ''}`, { body, token: o.token });
  const flow = (body: unknown, o: { token?: string; query?: string; headers?: Record<string, string> } = {}) =>
    t.call('POST', `/v1/flows${o.query ?? ''}`, { body, token: o.token, headers: o.headers });
  const claim = async (tasks: string[], token?: string) => (await t.call('POST', '/v1/claim', { body: { tasks, max: 10 }, token })).json.jobs as any[];
  const complete = (job: { id: string; leaseToken: string }, result: unknown, token?: string) =>
    t.call('POST', `/v1/jobs/${job.id}/complete`, { body: { leaseToken: job.leaseToken, result }, token });
  const jobCount = async () => (await t.offload.listJobs({ limit: 1000 })).jobs.length;

  /** a → b, a → c, (b, c) → d: a diamond of t.sum steps. */
  const diamond = {
    title: 'diamond',
    steps: {
      a: { task: 't.sum', input: { add: 1 } },
      b: { task: 't.sum', input: { add: 10 }, after: ['a'] },
      c: { task: 't.sum', input: { add: 100 }, after: [{ step: 'a' }] },
      d: { task: 't.sum', after: ['b', 'c'] },
    },
  };

  describe('after in POST /v1/jobs and POST /v1/batches', () => {
    it('stores a job that waits; an agent claims it once its dependencies succeeded, with their results by name', async () => {
      const first = (await submit({ task: 't.echo', input: { n: 1 } })).json.job;
      const second = (await submit({ task: 't.echo', input: { n: 2 } })).json.job;
      const r = await submit({ task: 't.other', input: 'joined', after: { left: first.id, right: second.id } });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.deepEqual([r.json.job.state, r.json.job.waitingFor], ['waiting', 2]);
      assert.deepEqual(await claim(['t.other']), [], 'a waiting job is not claimed');

      const claimed = await claim(['t.echo']);
      assert.equal(claimed.length, 2);
      for (const j of claimed) assert.equal(j.dependencies, undefined, 'a job that waited for nothing has no dependencies field');
      for (const j of claimed) await complete(j, { n: j.input.n * 10 });

      const [joined] = await claim(['t.other']);
      assert.equal(joined.id, r.json.job.id);
      assert.deepEqual(
        joined.dependencies.sort((x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name)),
        [
          { id: first.id, name: 'left', task: 't.echo', state: 'succeeded', result: { n: 10 }, error: null, policy: 'cancel' },
          { id: second.id, name: 'right', task: 't.echo', state: 'succeeded', result: { n: 20 }, error: null, policy: 'cancel' },
        ],
      );
    });

    it('takes ids and { job, name, onFailure }; a failed dependency runs a job whose edge says run, and the agent sees the error', async () => {
      const a = (await submit({ task: 't.echo', input: 1 })).json.job;
      const b = (await submit({ task: 't.echo', input: 2 })).json.job;
      const r = await submit({ task: 't.other', input: null, after: [a.id, { job: b.id, name: 'flaky', onFailure: 'run' }], onDependencyFailure: 'run' });
      assert.deepEqual([r.status, r.json.job.state], [201, 'waiting']);
      const [ja, jb] = (await claim(['t.echo'])).sort((x, y) => Number(x.id) - Number(y.id));
      await complete(ja!, 'fine');
      await t.call('POST', `/v1/jobs/${jb!.id}/fail`, { body: { leaseToken: jb!.leaseToken, error: { message: 'broke', code: 'BROKE' }, retryable: false } });
      const [waiter] = await claim(['t.other']);
      assert.equal(waiter.id, r.json.job.id);
      const byId = Object.fromEntries(waiter.dependencies.map((d: { id: string }) => [d.id, d]));
      assert.deepEqual(byId[a.id], { id: a.id, name: null, task: 't.echo', state: 'succeeded', result: 'fine', error: null, policy: 'run' });
      assert.deepEqual(byId[b.id], {
        id: b.id,
        name: 'flaky',
        task: 't.echo',
        state: 'failed',
        result: null,
        error: { message: 'broke', code: 'BROKE' },
        policy: 'run',
      });

      // The default policy cancels: a job waiting for a failed one never runs.
      const c = (await submit({ task: 't.echo', input: 3 })).json.job;
      const cancelledLater = (await submit({ task: 't.other', input: null, after: [c.id] })).json.job;
      const [jc] = await claim(['t.echo']);
      await t.call('POST', `/v1/jobs/${jc.id}/fail`, { body: { leaseToken: jc.leaseToken, error: 'no', retryable: false } });
      assert.equal((await t.call('GET', `/v1/jobs/${cancelledLater.id}`)).json.job.state, 'cancelled');
    });

    it('an unknown dependency is 404 UNKNOWN_DEPENDENCY and stores nothing, alone, in an array or in a batch; an empty after waits for nothing', async () => {
      const known = (await submit({ task: 't.echo', input: 1 })).json.job;
      const one = await submit({ task: 't.echo', input: 2, after: [known.id, '999999'] });
      assert.deepEqual([one.status, one.json.error.code, one.json.error.details.ids], [404, 'UNKNOWN_DEPENDENCY', ['999999']]);
      const many = await submit([
        { task: 't.echo', input: 3 },
        { task: 't.echo', input: 4, after: { x: '999998' } },
      ]);
      assert.deepEqual([many.status, many.json.error.code], [404, 'UNKNOWN_DEPENDENCY']);
      const batch = await t.call('POST', '/v1/batches', { body: { jobs: [{ task: 't.echo', input: 5, after: ['999997'] }] } });
      assert.deepEqual([batch.status, batch.json.error.code], [404, 'UNKNOWN_DEPENDENCY']);
      assert.equal(await jobCount(), 1, 'nothing was stored');

      const free = await submit({ task: 't.echo', input: 6, after: [] });
      assert.deepEqual([free.status, free.json.job.state], [201, 'queued']);
      const badPolicy = await submit({ task: 't.echo', input: 7, after: [known.id], onDependencyFailure: 'ignore' });
      assert.deepEqual([badPolicy.status, badPolicy.json.error.code, badPolicy.json.error.details.field], [400, 'INVALID_REQUEST', 'body.onDependencyFailure']);
      const badId = await submit({ task: 't.echo', input: 8, after: ['x1'] });
      assert.deepEqual([badId.status, badId.json.error.code], [400, 'INVALID_REQUEST']);
    });

    it('a batch of jobs that wait for jobs stored before', async () => {
      const before = (await submit({ task: 't.echo', input: { n: 5 } })).json.job;
      const r = await t.call('POST', '/v1/batches', {
        body: {
          jobs: [
            { task: 't.sum', input: { add: 1 }, after: { base: before.id } },
            { task: 't.sum', input: { add: 2 } },
          ],
        },
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.deepEqual(
        r.json.jobs.map((j: { state: string }) => j.state),
        ['waiting', 'queued'],
      );
      await t.offload.work({ concurrency: 2, maintenance: false });
      const done = await t.call('GET', `/v1/batches/${r.json.batch.id}?wait=30`);
      assert.deepEqual([done.json.batch.state, done.json.batch.ok], ['finished', true]);
      assert.deepEqual((await t.call('GET', `/v1/jobs/${r.json.jobs[0].id}`)).json.job.result, { n: 6, from: ['base:succeeded'] });
      // A token narrowed to some tasks reads a batch only when every job is of its tasks.
      const sumsOnly = await t.token('read', ['t.sum']);
      assert.equal((await t.call('GET', `/v1/batches/${r.json.batch.id}`, { token: sumsOnly })).status, 200);
      const mixed = await t.call('POST', '/v1/batches', {
        body: {
          jobs: [
            { task: 't.sum', input: null },
            { task: 't.echo', input: 1 },
          ],
        },
      });
      const refused = await t.call('GET', `/v1/batches/${mixed.json.batch.id}`, { token: sumsOnly });
      assert.deepEqual([refused.status, refused.json.error.code], [403, 'FORBIDDEN']);
    });

    it('a token narrowed to some tasks may wait only for jobs of its tasks; an agent sees no result of a task its token may not use', async () => {
      const other = (await submit({ task: 't.other', input: 'secret input' })).json.job;
      const echoOnly = await t.token('submit', ['t.echo']);
      const refused = await submit({ task: 't.echo', input: 1, after: [other.id] }, { token: echoOnly });
      assert.deepEqual([refused.status, refused.json.error.code, refused.json.error.details.task], [403, 'FORBIDDEN', 't.other']);
      assert.equal(await jobCount(), 1);

      // Set up by an unrestricted producer: a t.echo job waiting for a t.other job.
      const waiter = (await submit({ task: 't.echo', input: 2, after: { secret: other.id } })).json.job;
      const [o] = await claim(['t.other']);
      await complete(o, { password: 'hunter2' });
      const [seen] = await claim(['t.echo'], await t.token('work', ['t.echo']));
      assert.equal(seen.id, waiter.id);
      assert.deepEqual(seen.dependencies, [{ id: other.id, name: 'secret', task: 't.other', state: 'succeeded', result: null, error: null, policy: 'cancel' }]);
    });
  });

  describe('POST /v1/flows, GET /v1/flows/:id, cancel', () => {
    it('submits a flow (201): the flow, each step with what it waits for, and the jobs; ?wait answers 200 once it has finished', async () => {
      const r = await flow(diamond);
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.deepEqual([r.json.flow.kind, r.json.flow.title, r.json.flow.total, r.json.flow.state, r.json.failures], ['flow', 'diamond', 4, 'running', []]);
      assert.deepEqual(
        r.json.steps.map((s: any) => [s.step, s.task, s.state, s.after, s.waitingFor]),
        [
          ['a', 't.sum', 'queued', [], null],
          ['b', 't.sum', 'waiting', ['a'], 1],
          ['c', 't.sum', 'waiting', ['a'], 1],
          ['d', 't.sum', 'waiting', ['b', 'c'], 2],
        ],
      );
      assert.deepEqual(
        r.json.jobs.map((j: any) => [j.id, j.step, j.batchId]),
        r.json.steps.map((s: any) => [s.id, s.step, r.json.flow.id]),
      );

      await t.offload.work({ concurrency: 4, maintenance: false });
      const waited = await flow({ ...diamond, title: 'again' }, { query: '?wait=30' });
      assert.equal(waited.status, 200);
      assert.deepEqual([waited.json.flow.state, waited.json.flow.ok, waited.json.flow.succeeded], ['finished', true, 4]);
      const d = waited.json.jobs.find((j: { step: string }) => j.step === 'd');
      assert.deepEqual(d.result, { n: 1 + 10 + (1 + 100), from: ['b:succeeded', 'c:succeeded'] });
      for (const s of waited.json.steps) assert.match(s.finishedAt, /^\d{4}-\d\d-\d\dT.*Z$/);

      const read = await t.call('GET', `/v1/flows/${r.json.flow.id}?wait=30`);
      assert.deepEqual(
        [read.status, read.json.flow.state, read.json.steps.map((s: { state: string }) => s.state)],
        [200, 'finished', Array(4).fill('succeeded')],
      );
      // A flow is a batch too.
      assert.equal((await t.call('GET', `/v1/batches/${r.json.flow.id}`)).json.batch.kind, 'flow');
    });

    it('?wait answers 202 with the flow as it stands when the wait ends; GET ?wait holds until it has finished and lists what failed', async () => {
      const posted = flow(
        {
          steps: { fetch: { task: 't.echo', input: 1 }, parse: { task: 't.other', after: [{ step: 'fetch', onFailure: 'fail' }] } },
        },
        { query: '?wait=2' },
      );
      await t.untilLongRequests(1);
      await t.clock.advance(2000);
      const r = await posted;
      assert.deepEqual([r.status, r.json.flow.state, r.json.steps.map((s: { state: string }) => s.state)], [202, 'running', ['queued', 'waiting']]);

      const watching = t.call('GET', `/v1/flows/${r.json.flow.id}?wait=30`);
      await t.untilLongRequests(1);
      const [fetch] = await claim(['t.echo']);
      await t.call('POST', `/v1/jobs/${fetch.id}/fail`, { body: { leaseToken: fetch.leaseToken, error: 'unreachable', retryable: false } });
      const w = await watching;
      assert.deepEqual([w.status, w.json.flow.state, w.json.flow.ok, w.json.flow.failed], [200, 'finished', false, 2]);
      const parse = w.json.steps.find((s: { step: string }) => s.step === 'parse');
      assert.deepEqual([parse.state, parse.error.code], ['failed', 'DEPENDENCY_FAILED']);
      assert.deepEqual(w.json.failures.map((f: { id: string }) => f.id).sort(), w.json.steps.map((s: { id: string }) => s.id).sort());
    });

    it('stores a flow once per Idempotency-Key and answers a repeat with it', async () => {
      const headers = { 'idempotency-key': 'flow-1' };
      const first = await flow(diamond, { headers });
      const again = await flow(diamond, { headers });
      assert.deepEqual([first.status, again.status, again.headers.get('idempotent-replayed')], [201, 200, 'true']);
      assert.equal(again.json.flow.id, first.json.flow.id);
      assert.deepEqual(
        again.json.steps.map((s: { step: string }) => s.step),
        ['a', 'b', 'c', 'd'],
      );
      const reused = await flow({ ...diamond, title: 'another' }, { headers });
      assert.deepEqual([reused.status, reused.json.error.code], [422, 'IDEMPOTENCY_KEY_REUSED']);
      assert.equal(await jobCount(), 4);
    });

    it('cancel (admin) cancels the steps that have not started; the flow finishes', async () => {
      const r = await flow(diamond);
      const [a] = await claim(['t.sum']);
      const submitter = await t.token('submit');
      const refused = await t.call('POST', `/v1/flows/${r.json.flow.id}/cancel`, { token: submitter });
      assert.deepEqual([refused.status, refused.json.error.code], [403, 'FORBIDDEN']);
      const c = await t.call('POST', `/v1/flows/${r.json.flow.id}/cancel`);
      assert.equal(c.status, 200, JSON.stringify(c.json));
      assert.deepEqual([c.json.cancelled, c.json.flow.cancelled, c.json.flow.state], [3, 3, 'running']);
      // The running step finishes; then the flow has.
      await complete(a, { n: 1 });
      const read = await t.call('GET', `/v1/flows/${r.json.flow.id}`);
      assert.deepEqual(
        [read.json.flow.state, read.json.flow.succeeded, read.json.steps.map((s: { state: string }) => s.state)],
        ['finished', 1, ['succeeded', 'cancelled', 'cancelled', 'cancelled']],
      );
      assert.deepEqual((await t.call('POST', `/v1/flows/${r.json.flow.id}/cancel`)).json.cancelled, 0);
    });

    it('invalid flows are 400 INVALID_FLOW (a cycle, an unknown step, a bad name), an unknown job 404: nothing stored', async () => {
      const cycle = await flow({ steps: { a: { task: 't.echo', after: ['c'] }, b: { task: 't.echo', after: ['a'] }, c: { task: 't.echo', after: ['b'] } } });
      assert.deepEqual([cycle.status, cycle.json.error.code], [400, 'INVALID_FLOW']);
      assert.match(cycle.json.error.message, /cycle/);
      assert.deepEqual(cycle.json.error.details.cycle.sort(), ['a', 'b', 'c']);
      const unknownStep = await flow({ steps: { a: { task: 't.echo', after: ['nope'] } } });
      assert.deepEqual([unknownStep.status, unknownStep.json.error.code, unknownStep.json.error.details], [400, 'INVALID_FLOW', { step: 'a', after: 'nope' }]);
      const self = await flow({ steps: { a: { task: 't.echo', after: ['a'] } } });
      assert.deepEqual([self.status, self.json.error.code], [400, 'INVALID_FLOW']);
      const badName = await flow({ steps: { 'has space': { task: 't.echo' } } });
      assert.deepEqual([badName.status, badName.json.error.code], [400, 'INVALID_FLOW']);
      const empty = await flow({ steps: {} });
      assert.deepEqual([empty.status, empty.json.error.code], [400, 'INVALID_FLOW']);
      const unknownJob = await flow({ steps: { a: { task: 't.echo' }, b: { task: 't.echo', after: ['a', { job: '999999', name: 'old' }] } } });
      assert.deepEqual([unknownJob.status, unknownJob.json.error.code], [404, 'UNKNOWN_DEPENDENCY']);
      const unknownTask = await flow({ steps: { a: { task: 't.echo' }, b: { task: 'no.such.task', after: ['a'] } } });
      assert.deepEqual([unknownTask.status, unknownTask.json.error.code], [404, 'UNKNOWN_TASK']);
      const badInput = await flow({ steps: { a: { task: 't.schema', input: { n: 'one' } } } });
      assert.deepEqual([badInput.status, badInput.json.error.code], [400, 'INVALID_INPUT']);
      const unknownField = await flow({ steps: { a: { task: 't.echo', retries: 3 } } });
      assert.deepEqual([unknownField.status, unknownField.json.error.details.field], [400, 'body.steps.a.retries']);
      const tooMany = await flow({ steps: Object.fromEntries(Array.from({ length: 20_001 }, (_, i) => [`s${i}`, { task: 't.echo' }])) });
      assert.deepEqual([tooMany.status, tooMany.json.error.code, tooMany.json.error.details.field], [400, 'INVALID_REQUEST', 'body.steps']);
      assert.equal(await jobCount(), 0, 'nothing was stored');

      const batch = (await t.call('POST', '/v1/batches', { body: { jobs: [] } })).json.batch;
      const notAFlow = await t.call('GET', `/v1/flows/${batch.id}`);
      assert.deepEqual([notAFlow.status, notAFlow.json.error.code], [404, 'FLOW_NOT_FOUND']);
      assert.deepEqual((await t.call('POST', '/v1/flows/999/cancel')).json.error.code, 'FLOW_NOT_FOUND');
      const badId = await t.call('GET', '/v1/flows/x1');
      assert.deepEqual([badId.status, badId.json.error.code, badId.json.error.details.kind], [400, 'INVALID_ID', 'batch']);
    });

    it('takes a fan-in of 10,000 edges in one request, and reads it back in one', async () => {
      const steps: Record<string, unknown> = {};
      for (let i = 0; i < 10_000; i++) steps[`part${i}`] = { task: 't.echo', input: { n: 1 } };
      steps.join = { task: 't.sum', after: Object.keys(steps) };
      const r = await t.call('POST', '/v1/flows', { body: { title: 'wide', steps } });
      assert.equal(r.status, 201, JSON.stringify(r.json).slice(0, 300));
      assert.equal(r.json.flow.total, 10_001);
      await t.offload.work({ concurrency: 100, maintenance: false });
      const done = await t.call('GET', `/v1/flows/${r.json.flow.id}?wait=60`);
      assert.deepEqual([done.json.flow.state, done.json.flow.ok, done.json.steps.length], ['finished', true, 10_001]);
      const join = done.json.steps.find((s: { step: string }) => s.step === 'join');
      assert.equal(join.after.length, 10_000);
      assert.equal((await t.call('GET', `/v1/jobs/${join.id}`)).json.job.result.n, 10_000);
    });

    it('scopes and task patterns: submit may post flows of its tasks only, read may read, work may neither', async () => {
      const echoSubmitter = await t.token('submit', ['t.echo']);
      const reader = await t.token('read');
      const worker = await t.token('work');
      const mixed = { steps: { a: { task: 't.echo' }, b: { task: 't.other', after: ['a'] } } };
      const refused = await flow(mixed, { token: echoSubmitter });
      assert.deepEqual([refused.status, refused.json.error.code, refused.json.error.details.task], [403, 'FORBIDDEN', 't.other']);
      assert.deepEqual((await flow(mixed, { token: reader })).status, 403);
      assert.deepEqual((await flow(mixed, { token: worker })).status, 403);
      const finishRefused = await flow({ steps: { a: { task: 't.echo' } }, onFinish: { task: 't.other' } }, { token: echoSubmitter });
      assert.equal(finishRefused.status, 403);
      assert.equal(await jobCount(), 0);

      const mine = await flow({ steps: { a: { task: 't.echo' }, b: { task: 't.echo', after: ['a'] } } }, { token: echoSubmitter });
      assert.equal(mine.status, 201);
      assert.equal((await t.call('GET', `/v1/flows/${mine.json.flow.id}`, { token: echoSubmitter })).status, 200);
      const theirs = (await flow(mixed)).json.flow.id;
      const hidden = await t.call('GET', `/v1/flows/${theirs}`, { token: echoSubmitter });
      assert.deepEqual([hidden.status, hidden.json.error.code], [403, 'FORBIDDEN']);
      assert.equal((await t.call('GET', `/v1/flows/${theirs}`, { token: reader })).status, 200);
      assert.equal((await t.call('GET', `/v1/flows/${theirs}`, { token: worker })).status, 403);
      const echoAdmin = await t.token('admin', ['t.echo']);
      assert.equal((await t.call('POST', `/v1/flows/${theirs}/cancel`, { token: echoAdmin })).status, 403);
      assert.equal((await t.call('GET', `/v1/flows/${theirs}`)).json.flow.cancelled, 0, 'nothing was cancelled');
    });
  });

  describe('the event stream of one batch (?batch=ID)', () => {
    it("sends the batch's job events, batch:progress as its jobs finish (coalesced), and batch:finished once, after the last counts", async () => {
      const r = (await flow({ steps: { a: { task: 't.echo', input: 1 }, b: { task: 't.echo', input: 2 }, c: { task: 't.other', after: ['a', 'b'] } } })).json;
      const abort = new AbortController();
      const res = await fetch(`${t.door.url}/v1/events?batch=${r.flow.id}`, { headers: { authorization: `Bearer ${t.admin}` }, signal: abort.signal });
      assert.equal(res.status, 200);
      const next = sseReader(res);
      await t.untilLongRequests(1);
      assert.deepEqual(await next(), { event: 'batch:progress', data: { id: r.flow.id, total: 3, succeeded: 0, failed: 0, cancelled: 0, pending: 3 } });

      await t.offload.enqueue('t.echo', 'not of this batch');
      const [a, b] = (await claim(['t.echo'])).filter((j) => j.batchId === r.flow.id);
      assert.deepEqual([(await next()).event, (await next()).event], ['job:started', 'job:started']);
      await complete(a, 'A');
      assert.deepEqual(await next(), { event: 'job:succeeded', data: { id: a.id, task: 't.echo', batchId: r.flow.id } });
      // Counts are read at most every 100 ms: those sent on connecting were read just now, so this read waits for the clock.
      const progressed = next();
      await t.clock.advance(100);
      assert.deepEqual(await progressed, { event: 'batch:progress', data: { id: r.flow.id, total: 3, succeeded: 1, failed: 0, cancelled: 0, pending: 2 } });

      await complete(b, 'B');
      assert.deepEqual((await next()).event, 'job:succeeded');
      // c is queued now.
      assert.deepEqual(await next(), { event: 'job:enqueued', data: { id: r.steps[2].id, task: 't.other', runAt: new Date(t.clock.now()).toISOString() } });
      const twoDone = next();
      await t.clock.advance(100);
      assert.equal((await twoDone).data.succeeded, 2);

      const [c] = await claim(['t.other']);
      assert.equal((await next()).event, 'job:started');
      await t.clock.advance(100);
      await t.call('POST', `/v1/jobs/${c.id}/fail`, { body: { leaseToken: c.leaseToken, error: 'no', retryable: false } });
      assert.equal((await next()).event, 'job:failed');
      assert.deepEqual(await next(), { event: 'batch:progress', data: { id: r.flow.id, total: 3, succeeded: 2, failed: 1, cancelled: 0, pending: 0 } });
      const finished = await next();
      assert.deepEqual(finished, {
        event: 'batch:finished',
        data: { id: r.flow.id, title: null, ok: false, total: 3, succeeded: 2, failed: 1, cancelled: 0 },
      });
      abort.abort();
      await t.untilLongRequests(0);
      assert.equal(t.clock.pendingTimers(), 0, 'no timer left');
    });

    it('a finished batch says so when the stream opens; an unknown batch is 404; a narrowed token follows only batches of its tasks', async () => {
      const done = (await t.call('POST', '/v1/batches', { body: { jobs: [] } })).json.batch;
      const abort = new AbortController();
      const res = await fetch(`${t.door.url}/v1/events?batch=${done.id}`, { headers: { authorization: `Bearer ${t.admin}` }, signal: abort.signal });
      const next = sseReader(res);
      assert.deepEqual((await next()).data, { id: done.id, total: 0, succeeded: 0, failed: 0, cancelled: 0, pending: 0 });
      assert.deepEqual((await next()).event, 'batch:finished');
      abort.abort();

      const missing = await t.call('GET', '/v1/events?batch=999');
      assert.deepEqual([missing.status, missing.json.error.code], [404, 'BATCH_NOT_FOUND']);
      const mixed = (await flow({ steps: { a: { task: 't.echo' }, b: { task: 't.other' } } })).json.flow;
      const narrowed = await t.call('GET', `/v1/events?batch=${mixed.id}`, { token: await t.token('read', ['t.echo']) });
      assert.deepEqual([narrowed.status, narrowed.json.error.code], [403, 'FORBIDDEN']);
      await t.untilLongRequests(0);
    });
  });

  describe('workers that read what a job waited for', () => {
    it('a remote Node worker (offload worker --connect) gets dependencies with the claim: its handlers read them in ctx.dependencies', async () => {
      worker = await startRemoteWorker({ url: t.door.url, token: t.admin, tasks: [sum], clock: t.clock, logger: silentLogger, concurrency: 4 });
      const r = await flow(diamond);
      const finished = nextEvent(t.offload, 'batch:finished', (e) => e.id === r.json.flow.id);
      await finished;
      const read = await t.call('GET', `/v1/flows/${r.json.flow.id}`);
      assert.equal(read.json.flow.ok, true);
      const d = await t.call('GET', `/v1/jobs/${read.json.steps[3].id}`);
      assert.deepEqual(d.json.job.result, { n: 112, from: ['b:succeeded', 'c:succeeded'] });
    });

    it('a plain HTTP client (python3 urllib, in a child process) submits a flow and reads it back', {
      skip: programAvailable('python3', ['--version']).skip,
    }, async () => {
      const script = `
import json, os, sys, urllib.request
url, token = os.environ['OFFLOAD_URL'], os.environ['OFFLOAD_TOKEN']
def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
    with urllib.request.urlopen(req) as res:
        return res.status, json.loads(res.read())
status, created = call('POST', '/v1/flows', {'title': 'from python', 'steps': {
    'fetch': {'task': 't.sum', 'input': {'add': 2}},
    'parse': {'task': 't.sum', 'input': {'add': 3}, 'after': ['fetch']}}})
print('CREATED', status, created['flow']['id'], ','.join(s['step'] + ':' + s['state'] for s in created['steps']), flush=True)
status, read = call('GET', '/v1/flows/%s?wait=30' % created['flow']['id'])
print('READ', status, read['flow']['state'], read['flow']['ok'], json.dumps(read['steps'][1]['after']), flush=True)
`;
      await t.offload.work({ concurrency: 2, maintenance: false });
      const py = startProcess('python3', ['-c', script], { OFFLOAD_URL: t.door.url, OFFLOAD_TOKEN: await t.token('submit') });
      const created = (await py.waitForLine(/^CREATED /)).split(' ');
      assert.deepEqual([created[1], created[3]], ['201', 'fetch:queued,parse:waiting']);
      const read = await py.waitForLine(/^READ /);
      assert.equal(read, 'READ 200 finished True ["fetch"]');
      assert.equal((await py.exited).code, 0, py.stderr());
      const parse = (await t.call('GET', `/v1/flows/${created[2]}`)).json.steps[1];
      assert.deepEqual((await t.call('GET', `/v1/jobs/${parse.id}`)).json.job.result, { n: 5, from: ['fetch:succeeded'] });
    });
  });
});

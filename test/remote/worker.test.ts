/**
 * The Worker on the remote backend: TypeScript handlers run against an Offload server over a real
 * socket, with the worker semantics of a local worker (slots, outcomes, progress, heartbeats,
 * timeouts, cancellation, graceful shutdown, retries while the server is unreachable). One manual
 * clock drives both sides; the tests wait on the server's events, not on time.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createToken } from '../../src/auth/tokens.js';
import type { Logger } from '../../src/core/logger.js';
import { silentLogger } from '../../src/core/logger.js';
import { type HttpFrontDoor, httpFrontDoor } from '../../src/http/front-door.js';
import {
  defineTask,
  JobCancelledError,
  JobTimeoutError,
  LeaseLostError,
  permanent,
  retryLater,
  suspendTask,
  type TaskDefinition,
  type Worker,
} from '../../src/index.js';
import { type RemoteWorkerOptions, startRemoteWorker } from '../../src/remote/remote-worker.js';
import { eventually } from '../helpers/eventually.js';
import { type Deferred, deferred, nextEvent, openTestOffload, type TestOffload } from '../helpers/offload.js';
import { type CuttableProxy, cuttableProxy } from '../helpers/proxy.js';

interface Server {
  t: TestOffload;
  door: HttpFrontDoor;
  url: string;
}

async function openServer(opts: { maxBodyBytes?: number } = {}): Promise<Server> {
  const t = await openTestOffload();
  const door = await httpFrontDoor({ host: '127.0.0.1', port: 0, ...opts })(t.offload, silentLogger);
  await door.start();
  return { t, door, url: door.url };
}

/** A logger that keeps what it is told, so a test can see a worker complain instead of stopping silently. */
function recordingLogger(): Logger & { lines: string[]; next(re: RegExp): Promise<string> } {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const log = (level: string) => (obj: object, msg?: string) => {
    const err = (obj as { err?: { code?: string } }).err;
    const line = `${level} ${msg ?? ''}${err?.code ? ` (${err.code})` : ''}`;
    lines.push(line);
    for (const w of [...waiters])
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
  };
  return {
    lines,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    next: (re) => {
      const seen = lines.find((l) => re.test(l));
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

describe('remote worker (offload worker --connect)', () => {
  let server: Server;
  let worker: Worker | undefined;
  let proxy: CuttableProxy | undefined;
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await proxy?.close();
    proxy = undefined;
    await server.door.stop();
    await server.t.dispose();
  });

  const start = async (tasks: TaskDefinition<any, any>[], opts: Partial<RemoteWorkerOptions> = {}) => {
    worker = await startRemoteWorker({ url: server.url, tasks, clock: server.t.clock, logger: silentLogger, ...opts });
    return worker;
  };
  const claimWaiting = () => eventually(() => server.door.api.openLongRequests() >= 1, 'the worker has a claim waiting on the server');
  /**
   * After a network cut: a retry timer is armed only once its failed request has failed, which
   * real I/O decides, so move the clock on a second at a time until the outcome shows.
   */
  const advanceUntil = (check: () => boolean | Promise<boolean>, what: string) =>
    eventually(async () => {
      await server.t.clock.advance(1000);
      return check();
    }, what);

  it('declares its tasks, runs their jobs in its free slots, and is woken by the server when work arrives', async () => {
    server = await openServer();
    const gates = new Map<number, Deferred>();
    const gate = (n: number) => gates.get(n) ?? gates.set(n, deferred()).get(n)!;
    const task = defineTask(
      'r.gate',
      async (n: number) => {
        await gate(n).promise;
        return n * 10;
      },
      { maxAttempts: 4, timeoutMs: 60_000, priority: 2 },
    );
    await start([task], { concurrency: 2 });
    const [record] = await server.t.offload.store.getTasks({ names: ['r.gate'] });
    assert.deepEqual([record!.settings.maxAttempts, record!.settings.timeoutMs, record!.settings.priority], [4, 60_000, 2]);

    // Idle, the worker waits on the server; a submission wakes it (the clock never moves here).
    await claimWaiting();
    const startedTwo = new Promise<void>((resolve) => {
      let n = 0;
      const off = server.t.offload.on('job:started', () => {
        if (++n === 2) {
          off();
          resolve();
        }
      });
    });
    const handles = await Promise.all([1, 2, 3].map((n) => server.t.offload.enqueue('r.gate', n)));
    await startedTwo;
    const third = await handles[2]!.status();
    assert.equal(third.state, 'queued', 'two slots, two jobs running');

    const thirdStarts = nextEvent(server.t.offload, 'job:started', (e) => e.id === third.id);
    gate(1).resolve();
    await thirdStarts;
    gate(2).resolve();
    gate(3).resolve();
    assert.deepEqual(await Promise.all(handles.map((h) => h.result())), [10, 20, 30]);
    const job = await handles[0]!.status();
    assert.deepEqual([job.attempt, job.maxAttempts, job.workerId], [1, 4, worker!.id]);
  });

  it("maps each outcome onto the API: retry with the task's backoff, permanent, retryLater, final failure", async () => {
    server = await openServer();
    const runs = new Map<string, number>();
    const task = defineTask(
      'r.outcomes',
      async (kind: string) => {
        const run = (runs.get(kind) ?? 0) + 1;
        runs.set(kind, run);
        if (kind === 'throw' && run === 1) throw Object.assign(new Error('boom'), { code: 'E_BOOM' });
        if (kind === 'permanent') throw permanent(new Error('bad input'));
        if (kind === 'later' && run === 1) throw retryLater(5000, 'not yet');
        if (kind === 'last') throw new Error('always');
        return `${kind} ran ${run}`;
      },
      { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 1000, jitter: false } },
    );
    await start([task]);
    const { offload, clock } = server.t;

    const retrying = nextEvent(offload, 'job:retrying');
    const thrown = await offload.enqueue('r.outcomes', 'throw');
    const retry = await retrying;
    assert.deepEqual([retry.id, retry.runAt, retry.error.message, retry.error.code], [thrown.id, clock.now() + 1000, 'boom', 'E_BOOM']);
    await clock.advance(1000);
    assert.equal(await thrown.result(), 'throw ran 2');
    assert.equal((await thrown.status()).attempt, 2);

    const failing = nextEvent(offload, 'job:failed');
    const perm = await offload.enqueue('r.outcomes', 'permanent');
    assert.equal((await failing).id, perm.id);
    assert.deepEqual([(await perm.status()).state, (await perm.status()).attempt], ['failed', 1]);

    const releasing = nextEvent(offload, 'job:released');
    const later = await offload.enqueue('r.outcomes', 'later');
    assert.deepEqual(await releasing, { id: later.id, task: 'r.outcomes', runAt: clock.now() + 5000, concurrencyKey: null });
    assert.equal((await later.status()).attempt, 0, 'retryLater does not count the attempt');
    await clock.advance(5000);
    assert.equal(await later.result(), 'later ran 2');

    const lastFails = nextEvent(offload, 'job:failed');
    const last = await offload.enqueue('r.outcomes', 'last', { maxAttempts: 1 });
    await lastFails;
    const dead = await last.status();
    assert.deepEqual([dead.state, dead.error?.message, dead.error?.code], ['failed', 'always', 'HANDLER_ERROR']);
  });

  it('suspendTask suspends the task on the server before it releases the job', async () => {
    server = await openServer();
    let calls = 0;
    const task = defineTask('r.limited', async (n: number) => {
      if (++calls === 1) throw suspendTask(60_000, 'rate limited');
      return n;
    });
    await start([task]);
    const { offload, clock } = server.t;
    const released = nextEvent(offload, 'job:released');
    const first = await offload.enqueue('r.limited', 1);
    await released;
    const [record] = await offload.store.getTasks({ names: ['r.limited'] });
    assert.equal(record!.pausedUntil, clock.now() + 60_000);
    const second = await offload.enqueue('r.limited', 2);
    await claimWaiting();
    await clock.advance(59_999);
    assert.deepEqual(await offload.claim({ tasks: ['r.limited'] }), [], 'nothing of the task is claimable while it is suspended');
    await clock.advance(1);
    assert.deepEqual([await first.result(), await second.result(), calls], [1, 2, 3]);
  });

  it('reports progress, and heartbeats extend the lease on the server', async () => {
    server = await openServer();
    const finish = deferred();
    const task = defineTask('r.progress', async (_: null, ctx) => {
      ctx.progress(1, 2, 'half');
      await finish.promise;
      return 'done';
    });
    await start([task], { leaseMs: 3000, heartbeatMs: 1000 });
    const { offload, clock } = server.t;
    const progressed = nextEvent(offload, 'job:progress');
    const handle = await offload.enqueue('r.progress', null);
    await nextEvent(offload, 'job:started');
    await clock.advance(100);
    assert.deepEqual((await progressed).progress, { done: 1, total: 2, message: 'half' });
    const before = Date.parse((await handle.status()).leaseExpiresAt!);
    await clock.advance(1000);
    await eventually(async () => Date.parse((await handle.status()).leaseExpiresAt!) === before + 1000, 'the heartbeat extended the lease');
    finish.resolve();
    assert.equal(await handle.result(), 'done');
  });

  it('a handler past its timeout sees its signal abort, and the attempt fails with JOB_TIMEOUT', async () => {
    server = await openServer();
    const reason = deferred<unknown>();
    const task = defineTask(
      'r.slow',
      async (_: null, ctx) => {
        ctx.signal.addEventListener('abort', () => reason.resolve(ctx.signal.reason));
        await new Promise(() => undefined);
      },
      { timeoutMs: 1000, maxAttempts: 1 },
    );
    await start([task]);
    const { offload, clock } = server.t;
    const handle = await offload.enqueue('r.slow', null);
    await nextEvent(offload, 'job:started');
    const failed = nextEvent(offload, 'job:failed');
    await clock.advance(1000);
    assert.ok((await reason.promise) instanceof JobTimeoutError);
    await failed;
    assert.equal((await handle.status()).error?.code, 'JOB_TIMEOUT');
  });

  it('a job cancelled on the server aborts its handler at the next heartbeat and frees the slot', async () => {
    server = await openServer();
    const reason = deferred<unknown>();
    const task = defineTask('r.cancel', async (n: number, ctx) => {
      if (n === 2) return 'second';
      ctx.signal.addEventListener('abort', () => reason.resolve(ctx.signal.reason));
      await new Promise(() => undefined);
    });
    await start([task], { concurrency: 1, leaseMs: 3000, heartbeatMs: 1000 });
    const { offload, clock } = server.t;
    const first = await offload.enqueue('r.cancel', 1);
    await nextEvent(offload, 'job:started');
    const second = await offload.enqueue('r.cancel', 2);
    await offload.cancel(first.id);
    await clock.advance(1000);
    assert.ok((await reason.promise) instanceof JobCancelledError);
    assert.equal(await second.result(), 'second');
  });

  it('on stop, lets go of its waiting claim at once and releases jobs still running at the deadline', async () => {
    server = await openServer();
    const reason = deferred<unknown>();
    const running = deferred();
    const task = defineTask('r.stuck', async (_: null, ctx) => {
      ctx.signal.addEventListener('abort', () => reason.resolve(ctx.signal.reason));
      running.resolve();
      await new Promise(() => undefined);
    });
    await start([task], { concurrency: 2, shutdownTimeoutMs: 2000 });
    const { offload, clock } = server.t;
    const handle = await offload.enqueue('r.stuck', null);
    // The handler runs: the claim's answer has arrived (stopping earlier would lose it until its lease ends).
    await running.promise;
    await claimWaiting();
    const released = nextEvent(offload, 'job:released');
    const stopping = worker!.stop();
    await eventually(() => server.door.api.openLongRequests() === 0, 'the waiting claim is gone');
    await clock.advance(2000);
    await stopping;
    assert.equal(((await reason.promise) as { code?: string }).code, 'SHUTDOWN');
    assert.equal((await released).id, handle.id);
    const job = await handle.status();
    assert.deepEqual([job.state, job.attempt, job.runAt], ['queued', 0, new Date(clock.now()).toISOString()]);
  });

  it('keeps trying while the server is unreachable, at start and with a result in hand, and never stops', async () => {
    server = await openServer();
    proxy = await cuttableProxy(server.url);
    const logger = recordingLogger();
    const finish = deferred();
    const running = deferred();
    const task = defineTask('r.patient', async (n: number) => {
      running.resolve();
      await finish.promise;
      return n + 1;
    });
    proxy.cut();
    await start([task], { url: proxy.url, logger, concurrency: 1 });
    assert.match(await logger.next(/^error cannot reach the backend/), /SERVER_UNREACHABLE/);
    await server.t.clock.advance(100);
    await logger.next(/^error worker could not claim; retrying/);

    proxy.restore();
    await advanceUntil(() => server.door.api.openLongRequests() >= 1, 'the worker is back, waiting on the server');
    const handle = await server.t.offload.enqueue('r.patient', 1);
    await running.promise;

    // The result is ready while the network is down: it is kept and sent once the server answers.
    proxy.cut();
    finish.resolve();
    await logger.next(/^error could not record job outcomes; retrying/);
    assert.equal((await handle.status()).state, 'running');
    proxy.restore();
    await advanceUntil(async () => (await handle.status()).state === 'succeeded', 'the kept result was sent');
    assert.equal(await handle.result(), 2);
    assert.equal((await handle.status()).attempt, 1);
  });

  it('a worker cut off for longer than its lease loses the job: its handler is aborted with LeaseLostError, its late result refused', async () => {
    server = await openServer();
    proxy = await cuttableProxy(server.url);
    const reason = deferred<unknown>();
    const running = deferred();
    const task = defineTask('r.partition', async (_: null, ctx) => {
      running.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      reason.resolve(ctx.signal.reason);
      return 'from the cut-off worker';
    });
    await start([task], { url: proxy.url, concurrency: 1, leaseMs: 3000, heartbeatMs: 1000 });
    const { offload, clock } = server.t;
    const handle = await offload.enqueue('r.partition', null);
    await running.promise;
    proxy.cut();
    await clock.advance(3001);
    // The lease ran out: the server puts the job back, and another worker finishes it.
    await offload.store.reapExpiredLeases({ now: clock.now(), limit: 10 });
    const [again] = await offload.claim({ tasks: ['r.partition'] });
    await offload.complete(again!.id, { leaseToken: again!.leaseToken, result: 'from the other worker' });
    proxy.restore();
    // Heartbeats that failed over the cut re-arm once their requests fail: move time on until one gets through.
    let told: unknown;
    void reason.promise.then((r) => {
      told = r;
    });
    await advanceUntil(() => told !== undefined, 'a heartbeat told the worker that it lost the job');
    assert.ok(told instanceof LeaseLostError);
    const job = await handle.status();
    assert.deepEqual([job.state, job.result, job.attempt], ['succeeded', 'from the other worker', 2]);
  });

  it('a result larger than the server accepts fails the job, rather than the worker', async () => {
    server = await openServer({ maxBodyBytes: 4096 });
    const task = defineTask('r.huge', async (n: number) => 'x'.repeat(n));
    await start([task]);
    const failed = nextEvent(server.t.offload, 'job:failed');
    const handle = await server.t.offload.enqueue('r.huge', 10_000);
    await failed;
    const job = await handle.status();
    assert.deepEqual([job.state, job.attempt, job.error?.code], ['failed', 1, 'PAYLOAD_TOO_LARGE']);
    assert.equal(await server.t.offload.run('r.huge', 10), 'x'.repeat(10), 'the worker goes on');
  });

  it('a budgeted run over HTTP: at most maxJobs claimed; with untilIdle it stops once the server has nothing runnable', async () => {
    server = await openServer();
    const { offload } = server.t;
    let claims = 0;
    offload.on('job:started', () => {
      claims++;
    });
    const task = defineTask('r.budget', async (n: number) => n);
    const first = await start([task], { concurrency: 4, maxJobs: 2 });
    await claimWaiting();
    await offload.enqueueMany([1, 2, 3, 4, 5].map((n) => ({ task: 'r.budget', input: n })));
    assert.deepEqual(await first.finished, { reason: 'max-jobs', started: 2 });
    assert.equal(claims, 2);
    const idle = await start([task], { concurrency: 2, untilIdle: true });
    assert.deepEqual(await idle.finished, { reason: 'idle', started: 3 });
    const queued = await offload.listJobs({ task: 'r.budget', state: 'queued' });
    assert.deepEqual(queued.jobs, []);
    const empty = await start([task], { untilIdle: true });
    assert.deepEqual(await empty.finished, { reason: 'idle', started: 0 });
    assert.equal(server.door.api.openLongRequests(), 0, 'an untilIdle worker never waits on the server');
  });

  it('a token outside its scope or task patterns fails the start; a work token for the task works', async () => {
    server = await openServer();
    const { store } = server.t.offload;
    const clock = server.t.clock;
    const task = defineTask('r.scoped', async () => 'ok');
    const wrongTasks = (await createToken(store, clock, { name: 'wrong', scope: 'work', tasks: ['other.*'] })).secret;
    await assert.rejects(start([task], { token: wrongTasks }), { code: 'FORBIDDEN' });
    const submitOnly = (await createToken(store, clock, { name: 'submit', scope: 'submit', tasks: [] })).secret;
    await assert.rejects(start([task], { token: submitOnly }), { code: 'FORBIDDEN' });
    await assert.rejects(start([task], { token: 'ofl_not-a-real-token' }), { code: 'UNAUTHORIZED' });
    worker = undefined;

    const right = (await createToken(store, clock, { name: 'right', scope: 'work', tasks: ['r.*'] })).secret;
    await start([task], { token: right });
    assert.equal(await server.t.offload.run('r.scoped', null), 'ok');
  });
  it('asked to stop over HTTP, it finishes the job it holds, its next claim is refused, and it ends', async () => {
    server = await openServer();
    const gate = deferred();
    const task = defineTask('r.stoppable', async (n: number) => {
      if (n === 1) await gate.promise;
      return n;
    });
    const w = await start([task], { concurrency: 1 });
    const first = await server.t.offload.enqueue('r.stoppable', 1);
    await nextEvent(server.t.offload, 'job:started', (e) => e.id === first.id);
    const stop = await fetch(`${server.url}/v1/workers/${encodeURIComponent(w.id)}/stop`, { method: 'POST' });
    assert.equal(stop.status, 200);
    const second = await server.t.offload.enqueue('r.stoppable', 2);
    gate.resolve();
    assert.equal((await w.finished).reason, 'stop-requested');
    assert.equal(await first.result(), 1);
    assert.equal((await second.status()).state, 'queued', 'claimed by no one after the request');
  });
});

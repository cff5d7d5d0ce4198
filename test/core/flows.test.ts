import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask, permanent } from '../../src/index.js';
import { deferred, nextEvent, openTestOffload, type TestOffload } from '../helpers/offload.js';

describe('dependencies and flows', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('runs a job after the jobs it waits for, with their results in ctx.dependencies by name and id', async () => {
    const seen: unknown[] = [];
    const fetchPage = defineTask('fetch', async (url: string) => ({ url, bytes: url.length }));
    const sum = defineTask('sum', async (_: null, ctx) => {
      seen.push(ctx.dependencies.results(), ctx.dependencies.size);
      return ctx.dependencies.list.reduce((n, d) => n + (d.result as { bytes: number }).bytes, 0);
    });
    t = await openTestOffload({ tasks: [fetchPage, sum] });
    const a = await t.offload.enqueue(fetchPage, 'https://a.example');
    const b = await t.offload.enqueue(fetchPage, 'https://bb.example');
    const total = await t.offload.enqueue(sum, null, { after: { first: a, second: b.id } });
    assert.equal(total.state, 'waiting');
    const job = await total.status();
    assert.deepEqual([job.state, job.waitingFor], ['waiting', 2]);
    await t.offload.work({ concurrency: 2 });
    assert.equal(await total.result(), 'https://a.example'.length + 'https://bb.example'.length);
    assert.deepEqual(seen, [
      {
        first: { url: 'https://a.example', bytes: 17 },
        second: { url: 'https://bb.example', bytes: 18 },
      },
      2,
    ]);
    const finished = await total.status();
    assert.deepEqual([finished.state, finished.waitingFor], ['succeeded', null]);
  });

  it('runs a flow of steps in order of what each waits for, and reads every step back in one call', async () => {
    const order: string[] = [];
    const step = defineTask('step', async (name: string, ctx) => {
      order.push(name);
      return `${name}(${ctx.dependencies.list.map((d) => d.result).join(',')})`;
    });
    t = await openTestOffload({ tasks: [step] });
    await t.offload.work({ concurrency: 4 });
    // Given out of order: the flow stores each step after what it waits for.
    const flow = await t.offload.flow({
      title: 'diamond',
      steps: {
        join: { task: step, input: 'join', after: ['left', 'right'] },
        left: { task: step, input: 'left', after: ['root'] },
        right: { task: step, input: 'right', after: ['root'] },
        root: { task: step, input: 'root' },
      },
    });
    const outcome = await flow.result();
    assert.deepEqual([outcome.ok, outcome.total, outcome.succeeded], [true, 4, 4]);
    assert.equal(order[0], 'root');
    assert.equal(order[3], 'join');
    assert.equal(await flow.steps.join.result(), 'join(left(root()),right(root()))');
    const read = await flow.read();
    assert.equal(read.kind, 'flow');
    assert.deepEqual(
      read.steps.map((s) => [s.step, s.state, s.after.sort()]),
      [
        ['root', 'succeeded', []],
        ['left', 'succeeded', ['root']],
        ['right', 'succeeded', ['root']],
        ['join', 'succeeded', ['left', 'right']],
      ],
    );
  });

  it('applies each policy when a step fails: cancel (default) the rest downstream, fail, or run anyway', async () => {
    const runs: string[] = [];
    const work = defineTask('work', async (name: string, ctx) => {
      runs.push(name);
      if (name === 'bad') throw permanent(new Error('upstream down'));
      return ctx.dependencies.get('bad')?.state ?? 'ok';
    });
    t = await openTestOffload({ tasks: [work] });
    await t.offload.work({ concurrency: 2 });
    const flow = await t.offload.flow({
      steps: {
        bad: { task: work, input: 'bad' },
        cancelled: { task: work, input: 'cancelled', after: ['bad'] },
        downstream: { task: work, input: 'downstream', after: ['cancelled'] },
        failed: { task: work, input: 'failed', after: [{ step: 'bad', onFailure: 'fail' }] },
        cleanup: { task: work, input: 'cleanup', after: [{ step: 'bad', onFailure: 'run' }] },
      },
    });
    const r = await flow.result();
    assert.deepEqual([r.ok, r.succeeded, r.failed, r.cancelled], [false, 1, 2, 2]);
    assert.deepEqual(runs.sort(), ['bad', 'cleanup']);
    assert.equal(await flow.steps.cleanup.result(), 'failed', 'the step that runs anyway sees the failure');
    const failed = await flow.steps.failed.status();
    assert.deepEqual([failed.state, failed.error?.code], ['failed', 'DEPENDENCY_FAILED']);
    assert.match(failed.error!.message, /"bad" \(job \d+, work\) failed, so this job was failed/);
    const downstream = await flow.steps.downstream.status();
    assert.deepEqual([downstream.state, downstream.error?.code], ['cancelled', 'DEPENDENCY_FAILED']);
    assert.deepEqual(
      r.failures.map((f) => f.id).sort(),
      [flow.steps.bad, flow.steps.cancelled, flow.steps.downstream, flow.steps.failed].map((h) => h.id).sort(),
    );
  });

  it('refuses a flow with a cycle, an unknown step or an unknown job, and stores nothing', async () => {
    const noop = defineTask('noop', async () => null);
    t = await openTestOffload({ tasks: [noop] });
    await assert.rejects(
      t.offload.flow({ steps: { a: { task: noop, after: ['b'] }, b: { task: noop, after: ['c'] }, c: { task: noop, after: ['a'] }, d: { task: noop } } }),
      { code: 'INVALID_FLOW', message: /cycle \(a, b, c\)/ },
    );
    await assert.rejects(t.offload.flow({ steps: { a: { task: noop, after: ['nope'] } } }), {
      code: 'INVALID_FLOW',
      message: /step "a" waits for "nope", which is not a step of the flow/,
    });
    await assert.rejects(t.offload.flow({ steps: { a: { task: noop }, b: { task: noop, after: [{ job: '424242' }] } } }), {
      code: 'UNKNOWN_DEPENDENCY',
      message: /424242/,
    });
    await assert.rejects(t.offload.enqueue(noop, null, { after: ['999'] }), { code: 'UNKNOWN_DEPENDENCY' });
    await assert.rejects(t.offload.enqueue(noop, null, { after: ['x1'] }), { code: 'INVALID_ID' });
    await assert.rejects(t.offload.enqueue(noop, null, { after: [], onDependencyFailure: 'ignore' as never }), { code: 'INVALID_OPTION' });
    assert.deepEqual((await t.offload.listJobs({})).jobs, []);
  });

  it('cancelling a flow cancels what has not run; a running step finishes', async () => {
    const gate = deferred();
    const started = deferred();
    const slow = defineTask('slow', async () => {
      started.resolve();
      await gate.promise;
      return 'done';
    });
    const after = defineTask('after', async () => 'ran');
    t = await openTestOffload({ tasks: [slow, after] });
    await t.offload.work({ concurrency: 1 });
    const flow = await t.offload.flow({
      steps: { first: { task: slow }, second: { task: after, after: ['first'] }, also: { task: after } },
    });
    await started.promise;
    assert.equal(await flow.cancel(), 2);
    gate.resolve();
    const r = await flow.result();
    assert.deepEqual([r.succeeded, r.cancelled], [1, 2]);
    assert.equal((await flow.steps.second.status()).state, 'cancelled');
  });

  it('a wait for a flow that ends first says so, naming the flow and how to watch it', async () => {
    const noop = defineTask('noop', async () => null);
    t = await openTestOffload({ tasks: [noop] });
    const flow = await t.offload.flow({ steps: { a: { task: noop }, b: { task: noop, after: ['a'] } } });
    const waiting = assert.rejects(flow.result({ timeoutMs: 1000 }), {
      code: 'WAIT_TIMEOUT',
      message: new RegExp(`^Flow ${flow.id} did not finish within 1000 ms.*offload flow watch ${flow.id}`),
    });
    await t.clock.advance(1000);
    await waiting;
  });

  it('fans out from one job to many and back in to one', async () => {
    const part = defineTask('part', async (n: number, ctx) => n * (ctx.dependencies.result<number>('seed') ?? 0));
    const seed = defineTask('seed', async () => 3);
    const total = defineTask('total', async (_: null, ctx) => ctx.dependencies.list.reduce((s, d) => s + (d.result as number), 0));
    t = await openTestOffload({ tasks: [part, seed, total] });
    await t.offload.work({ concurrency: 8 });
    const steps: Record<string, { task: typeof part | typeof seed | typeof total; input?: unknown; after?: string[] }> = { seed: { task: seed } };
    for (let i = 1; i <= 200; i++) steps[`p${i}`] = { task: part, input: i, after: ['seed'] };
    steps.total = { task: total, input: null, after: Object.keys(steps).filter((k) => k !== 'seed') };
    const flow = await t.offload.flow({ steps });
    assert.equal((await flow.result()).ok, true);
    assert.equal(await flow.steps.total.result(), (3 * 200 * 201) / 2);
  });

  it('tells waiters and listeners: a waiting job is not runnable, a job ended by a dependency rejects its awaiters', async () => {
    const boom = defineTask('boom', async () => {
      throw permanent(new Error('no'));
    });
    const next = defineTask('next', async () => 'never');
    t = await openTestOffload({ tasks: [boom, next] });
    const first = await t.offload.enqueue(boom, null);
    const enqueued = nextEvent(t.offload, 'job:enqueued', (e) => e.task === 'next');
    const second = await t.offload.enqueue(next, null, { after: [first] });
    assert.equal((await enqueued).waiting, true);
    const cancelled = nextEvent(t.offload, 'job:cancelled', (e) => e.id === second.id);
    await t.offload.work();
    await assert.rejects(second.result(), { code: 'JOB_CANCELLED' });
    await cancelled;
    const counts = (await t.offload.counts()).find((c) => c.task === 'next')!;
    assert.deepEqual([counts.waiting, counts.cancelled], [0, 1]);
  });
});

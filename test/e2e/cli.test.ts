import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { Offload } from '../../src/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { CLI, INDEX, killAll, runCli, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

describe('offload CLI', () => {
  const dir = tempDir();
  const url = `sqlite:${join(dir.path, 'cli.db')}`;
  const env = { OFFLOAD_STORE: url };
  const tasks = join(dir.path, 'tasks.mjs');
  const ticks = join(dir.path, 'ticks.mjs');

  before(async () => {
    writeFileSync(
      tasks,
      `
import { defineTask } from ${JSON.stringify(INDEX)};
export const add = defineTask('cli.add', async ({ a, b }) => a + b);
export const boom = defineTask('cli.boom', async () => { throw new Error('exploded'); }, { maxAttempts: 1 });
export const hold = defineTask('cli.hold', async () => 'held');
`,
    );
    writeFileSync(ticks, `import { defineTask } from ${JSON.stringify(INDEX)};\nexport const tick = defineTask('cli.tick', async (n) => n);\n`);
    // Register the tasks in the store, as a worker or server does when it starts.
    const w = startNode([CLI, 'worker', tasks, '--concurrency', '4'], env);
    await w.waitForLine(/^worker /);
    await w.kill('SIGTERM');
  });
  after(async () => {
    await killAll();
    dir.dispose();
  });

  it('submits, lists, counts, retries, cancels and purges, in text and JSON', async () => {
    const submitted = await runCli(['--json', 'submit', 'cli.add', '{"a":2,"b":3}', '--priority', '5'], { env });
    assert.equal(submitted.code, 0, submitted.stderr);
    const job = JSON.parse(submitted.stdout);
    assert.deepEqual(Object.keys(job).slice(0, 13), [
      'id',
      'task',
      'state',
      'input',
      'result',
      'error',
      'attempt',
      'maxAttempts',
      'priority',
      'progress',
      'createdAt',
      'startedAt',
      'finishedAt',
    ]);
    assert.equal(typeof job.id, 'string');
    assert.deepEqual([job.task, job.state, job.priority, job.attempt, job.maxAttempts], ['cli.add', 'queued', 5, 0, 3]);
    assert.deepEqual(job.input, { a: 2, b: 3 });

    const status = await runCli(['status', job.id], { env });
    assert.match(status.stdout, new RegExp(`^job ${job.id}  cli.add  queued`));

    const list = await runCli(['--json', 'jobs', '--task', 'cli.add', '--state', 'queued'], { env });
    assert.deepEqual(
      JSON.parse(list.stdout).jobs.map((j: { id: string }) => j.id),
      [job.id],
    );
    assert.match((await runCli(['jobs'], { env })).stdout, /^ID\s+TASK\s+STATE/);

    const counts = JSON.parse((await runCli(['--json', 'counts'], { env })).stdout);
    assert.deepEqual(
      counts.tasks.find((c: { task: string }) => c.task === 'cli.add'),
      { task: 'cli.add', waiting: 0, queued: 1, running: 0, succeeded: 0, failed: 0, cancelled: 0, suspendedUntil: null },
    );

    const cancelled = JSON.parse((await runCli(['--json', 'cancel', job.id], { env })).stdout);
    assert.equal(cancelled.state, 'cancelled');
    const retried = JSON.parse((await runCli(['--json', 'retry', job.id], { env })).stdout);
    assert.equal(retried.state, 'queued');
    assert.equal((await runCli(['purge', 'cli.add'], { env })).stdout, 'purged 1 job(s) of cli.add');
  });

  it('waits for a result with --wait, against a worker in another process', async () => {
    const worker = startNode([CLI, 'worker', tasks], env);
    await worker.waitForLine(/^worker /);
    const ok = await runCli(['--json', 'submit', 'cli.add', '{"a":20,"b":22}', '--wait'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual([JSON.parse(ok.stdout).state, JSON.parse(ok.stdout).result], ['succeeded', 42]);
    const failed = await runCli(['submit', 'cli.boom', '--wait'], { env });
    assert.equal(failed.code, 1, 'a failed job exits 1');
    assert.match(failed.stdout, /failed[\s\S]*exploded/);
    const unique1 = JSON.parse((await runCli(['--json', 'submit', 'cli.hold', 'null', '--unique', 'only-one', '--delay', '60000'], { env })).stdout);
    const unique2 = JSON.parse((await runCli(['--json', 'submit', 'cli.hold', 'null', '--unique', 'only-one'], { env })).stdout);
    assert.equal(unique2.id, unique1.id);
    const piped = await runCli(['--json', 'submit', 'cli.add', '-', '--wait'], { env, input: '{"a":1,"b":1}' });
    assert.equal(JSON.parse(piped.stdout).result, 2);
    await worker.kill('SIGTERM');
  });

  it('submits a batch from a file; --wait watches it to the end, lists what failed and exits 1; batch watch resumes watching', async () => {
    const file = join(dir.path, 'batch.json');
    writeFileSync(
      file,
      JSON.stringify({
        title: 'sums',
        jobs: [
          { task: 'cli.add', input: { a: 1, b: 2 } },
          { task: 'cli.boom', input: null },
          { task: 'cli.add', input: { a: 3, b: 4 }, priority: 5 },
        ],
      }),
    );
    const submitted = await runCli(['--json', 'batch', file], { env });
    assert.equal(submitted.code, 0, submitted.stderr);
    const { batch } = JSON.parse(submitted.stdout);
    assert.deepEqual([batch.title, batch.total, batch.state], ['sums', 3, 'running']);
    const worker = startNode([CLI, 'worker', tasks], env);
    await worker.waitForLine(/^worker /);
    // Watched from another command than the one that submitted it.
    const watched = await runCli(['batch', 'watch', batch.id], { env });
    assert.equal(watched.code, 1, 'a job failed: exit 1');
    assert.match(watched.stdout, new RegExp(`^batch ${batch.id} finished: not every job succeeded \\(2 succeeded, 1 failed, 0 cancelled of 3\\)$`, 'm'));
    assert.match(watched.stdout, /^ {2}job \d+ {2}cli\.boom {2}failed: .*exploded$/m);
    const good = await runCli(['batch', '-', '--wait'], { env, input: JSON.stringify([{ task: 'cli.add', input: { a: 1, b: 1 } }]) });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /finished: every job succeeded \(1 succeeded, 0 failed, 0 cancelled of 1\)$/m);
    const json = JSON.parse((await runCli(['--json', 'batch', '-', '--wait'], { env, input: '[{"task":"cli.boom"}]' })).stdout);
    assert.deepEqual([json.batch.ok, json.failures.length, json.failures[0].state], [false, 1, 'failed']);
    const bad = await runCli(['batch', '-'], { env, input: '{"jobs": [{"input": 1}]}' });
    assert.deepEqual([bad.code, /INVALID_INPUT.*jobs\[0\] must be an object with a "task" name/.test(bad.stderr)], [1, true]);
    await worker.kill('SIGTERM');
  });

  it('a budgeted worker (--until-idle, --max-jobs, --for) exits 0 when its run is over; SIGTERM still stops one', async () => {
    const tickCounts = async () => JSON.parse((await runCli(['--json', 'counts'], { env })).stdout).tasks.find((c: { task: string }) => c.task === 'cli.tick');
    // On an empty queue, --until-idle ends at once (and has registered the task).
    const idle = await runCli(['--json', 'worker', ticks, '--until-idle'], { env });
    assert.equal(idle.code, 0, idle.stderr);
    assert.deepEqual(JSON.parse(idle.stdout.split('\n').at(-1)!).finished, 'idle');
    for (const n of [1, 2, 3, 4]) assert.equal((await runCli(['submit', 'cli.tick', String(n)], { env })).code, 0);

    const two = await runCli(['--json', 'worker', ticks, '--max-jobs', '2'], { env });
    assert.equal(two.code, 0, two.stderr);
    const [started, finished] = two.stdout.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(finished, { worker: started.worker, finished: 'max-jobs', started: 2 });
    assert.deepEqual([(await tickCounts()).succeeded, (await tickCounts()).queued], [2, 2]);

    const timed = await runCli(['worker', ticks, '--for', '300ms', '--concurrency', '1'], { env });
    assert.equal(timed.code, 0, timed.stderr);
    assert.match(timed.stdout, /^worker \S+ finished \(its time was up\): 2 job\(s\) started$/m);
    assert.deepEqual([(await tickCounts()).succeeded, (await tickCounts()).queued], [4, 0]);

    // A job whose worker died (its lease expired a minute ago) comes back in the next short run, and runs in it.
    const dead = await Offload.open({ store: url, logger: silentLogger, clock: new ManualClock(Date.now() - 90_000) });
    const orphan = await dead.enqueue('cli.tick', 5);
    assert.equal((await dead.claim({ tasks: ['cli.tick'], leaseMs: 30_000 }))[0]?.id, orphan.id);
    await dead.close();
    const rescued = await runCli(['worker', ticks, '--until-idle'], { env });
    assert.equal(rescued.code, 0, rescued.stderr);
    assert.match(rescued.stdout, /: 1 job\(s\) started$/m);
    const reader = await Offload.open({ store: url, logger: silentLogger });
    const job = await reader.getJob(orphan.id);
    await reader.close();
    assert.deepEqual([job.state, job.attempt], ['succeeded', 2]);

    const long = startNode([CLI, 'worker', ticks, '--for', '1h', '--max-jobs', '100'], env);
    await long.waitForLine(/^worker /);
    assert.deepEqual(await long.kill('SIGTERM'), { code: 0, signal: null });
  });

  it('a worker asked to stop over HTTP (its record marked in the store) exits 0 at its next heartbeat', async () => {
    const worker = startNode([CLI, '--json', 'worker', ticks, '--lease', '3000'], env);
    const { worker: id } = JSON.parse(await worker.waitForLine(/^\{"worker"/));
    const operator = await Offload.open({ store: url, logger: silentLogger });
    try {
      assert.equal(await operator.store.requestWorkerStop({ id, now: Date.now() }), true);
    } finally {
      await operator.close();
    }
    const finished = await worker.waitForLine(/"finished"/);
    assert.deepEqual(JSON.parse(finished), { worker: id, finished: 'stop-requested', started: 0 });
    assert.deepEqual(await worker.exited, { code: 0, signal: null });
  });

  it('suspends, lists and resumes a task; counts show until when', async () => {
    const before = Date.now();
    const suspended = await runCli(['--json', 'task', 'suspend', 'cli.hold', '--for', '10m'], { env });
    assert.equal(suspended.code, 0, suspended.stderr);
    const { task, suspendedUntil } = JSON.parse(suspended.stdout);
    assert.equal(task, 'cli.hold');
    const until = Date.parse(suspendedUntil);
    assert.ok(until >= before + 600_000 && until <= Date.now() + 600_000, suspendedUntil);

    const listed = JSON.parse((await runCli(['--json', 'task', 'list'], { env })).stdout).tasks as { task: string; suspendedUntil: string | null }[];
    assert.equal(listed.find((c) => c.task === 'cli.hold')?.suspendedUntil, suspendedUntil);
    assert.equal(listed.find((c) => c.task === 'cli.add')?.suspendedUntil, null);
    const counts = JSON.parse((await runCli(['--json', 'counts'], { env })).stdout).tasks as { task: string; suspendedUntil: string | null }[];
    assert.equal(counts.find((c) => c.task === 'cli.hold')?.suspendedUntil, suspendedUntil);
    const text = (await runCli(['counts'], { env })).stdout.split('\n');
    assert.match(text[0]!, /^TASK\s+WAITING\s+QUEUED\s+RUNNING\s+SUCCEEDED\s+FAILED\s+CANCELLED\s+SUSPENDED UNTIL$/);
    assert.match(text.find((l) => l.startsWith('cli.hold'))!, new RegExp(`\\s${suspendedUntil.replace(/[.]/g, '\\.')}$`));
    assert.match(text.find((l) => l.startsWith('cli.add'))!, /\d$/, 'empty when not suspended');
    assert.match((await runCli(['task', 'list'], { env })).stdout, new RegExp(`^cli\\.hold\\s+\\d+\\s+\\d+\\s+${suspendedUntil.replace(/[.]/g, '\\.')}$`, 'm'));

    const shorter = await runCli(['task', 'suspend', 'cli.hold', '--for', '1m'], { env });
    assert.equal(shorter.stdout, `suspended cli.hold until ${suspendedUntil}`, 'a suspension only lengthens');
    const resumed = await runCli(['task', 'resume', 'cli.hold'], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.stdout, 'resumed cli.hold: its queued jobs are claimed again');
    const after = JSON.parse((await runCli(['--json', 'task', 'list'], { env })).stdout).tasks as { task: string; suspendedUntil: string | null }[];
    assert.equal(after.find((c) => c.task === 'cli.hold')?.suspendedUntil, null);
  });

  it('fails with a clear message and a non-zero exit on bad input', async () => {
    const cases: [string[], RegExp, number][] = [
      [['submit', 'no.such.task', '{}'], /^error UNKNOWN_TASK: Unknown task "no.such.task"/, 1],
      [['submit', 'cli.add', '{not json'], /^error INVALID_INPUT: .*not JSON/, 1],
      [['submit', 'cli.add', '{}', '--delay', '-5'], /^error INVALID_OPTION: .*delay.*≥ 0/, 1],
      [['status', '424242'], /^error JOB_NOT_FOUND: Job 424242 not found/, 1],
      [['status', 'abc'], /^error INVALID_ID: /, 1],
      [['cancel', '1; DROP TABLE jobs'], /^error INVALID_ID: /, 1],
      [['jobs', '--state', 'sleeping'], /invalid. Allowed choices are waiting, queued/, 2],
      [['--store', 'mysql://x', 'counts'], /^error INVALID_STORE_URL: /, 1],
      [['worker', join(dir.path, 'missing.mjs')], /^error MODULE_LOAD_FAILED: /, 1],
      [['worker', join(dir.path, 'missing.mjs'), '--claim-ahead', '-1'], /^error INVALID_OPTION: .*claim-ahead.*≥ 0/, 1],
      [
        ['task', 'suspend', 'cli.hold', '--for', '10x'],
        /^error INVALID_OPTION: Invalid option "for": must be a duration such as 500ms, 30s, 10m.*got "10x"/,
        1,
      ],
      [['task', 'suspend', 'cli.hold', '--for', '0'], /^error INVALID_OPTION: Invalid option "for": must be at least 1 ms, got "0"/, 1],
      [['task', 'suspend', 'cli.hold'], /required option '--for <duration>' not specified/, 2],
      [['task', 'resume', 'no.such.task'], /^error UNKNOWN_TASK: Unknown task "no.such.task"/, 1],
      [['worker', tasks, '--for', 'soon'], /^error INVALID_OPTION: Invalid option "for": .*got "soon"/, 1],
      [['worker', tasks, '--for', '30d'], /^error INVALID_OPTION: Invalid option "for": must be at most/, 1],
      [['worker', tasks, '--max-jobs', '0'], /^error INVALID_OPTION: .*max-jobs.*≥ 1/, 1],
      [['frobnicate'], /unknown command/, 2],
    ];
    for (const [args, message, exit] of cases) {
      const r = await runCli(args, { env });
      assert.equal(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const json = await runCli(['--json', 'status', '999999'], { env });
    assert.equal(JSON.parse(json.stderr).error.code, 'JOB_NOT_FOUND');
    const counts = JSON.parse((await runCli(['--json', 'counts'], { env })).stdout);
    assert.ok(
      counts.tasks.every((c: { task: string }) => c.task.startsWith('cli.')),
      'nothing was written by the failures',
    );
  });
});

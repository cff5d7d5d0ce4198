/** Every program in examples/ runs here, the way the README and docs tell users to run it. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { Offload } from '../../src/index.js';
import { CLI, killAll, ROOT, runCli, startNode, startProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

const EXAMPLES = join(ROOT, 'dist/examples');

describe('examples', () => {
  const dirs: { dispose(): void }[] = [];
  afterEach(async () => {
    await killAll();
    for (const d of dirs.splice(0)) d.dispose();
  });

  it('http-handler.ts: POST returns a job id at once, the job finishes in the background', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const url = `sqlite:${join(dir.path, 'app.db')}`;
    const app = startNode([join(EXAMPLES, 'http-handler.js')], { OFFLOAD_STORE: url, PORT: '0' });
    const base = (await app.waitForLine(/^listening on /)).replace('listening on ', '');
    const posted = await fetch(`${base}/reports?month=2026-10`, { method: 'POST' });
    assert.equal(posted.status, 202);
    const { id } = (await posted.json()) as { id: string };
    const reader = await Offload.open({ store: url, logger: silentLogger });
    try {
      assert.deepEqual(await reader.result(id), { url: '/files/report-2026-10.pdf' });
    } finally {
      await reader.close();
    }
    const got = await fetch(`${base}/reports/${id}`);
    assert.deepEqual(await got.json(), {
      state: 'succeeded',
      progress: { done: 0, total: 1, message: 'rendering' },
      result: { url: '/files/report-2026-10.pdf' },
    });
    const missing = await fetch(`${base}/reports/999999`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'JOB_NOT_FOUND');
  });

  it('library.ts: submits, awaits, batches and reads back', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'library.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'lib.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    const out = run.lines.join('\n');
    assert.match(out, /^enqueued \d+$/m);
    assert.match(out, /^result \{ path: 'dog-320.png' \}$/m);
    assert.match(out, /ok: false,\s+total: 3,\s+succeeded: 2,\s+failed: 1/);
    assert.match(out, /^job succeeded 1 failed$/m);
  });

  it('flow-control.ts: suspends and resumes a task; budgeted runs end when nothing is runnable', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'flow-control.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'flow.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    const out = run.lines.join('\n');
    assert.match(out, /^queued 3 suspended until true$/m);
    assert.match(out, /^first run \{ reason: 'idle', started: 0 \}$/m);
    assert.match(out, /^second run \{ reason: 'idle', started: 3 \}$/m);
  });

  it('cron-worker.sh exits 0 once nothing is runnable; suspend-task.sh suspends, lists and resumes a task', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'cron.db')}`, OFFLOAD: `${process.execPath} ${CLI}`, TASKS: join(EXAMPLES, 'tasks.js') };
    const run = async (script: string, args: string[] = []) => {
      const child = startProcess('sh', [join(ROOT, 'examples', script), ...args], env);
      const { code } = await child.closed;
      assert.equal(code, 0, `${script}: ${child.stderr()}`);
      return child.lines.join('\n');
    };
    // The first run registers the tasks and finds nothing to do.
    assert.match(await run('cron-worker.sh'), /^worker \S+ finished \(nothing left to run\): 0 job\(s\) started$/m);
    for (const name of ['Ada', 'Alan']) assert.equal((await runCli(['submit', 'example.greet', JSON.stringify({ name })], { env })).code, 0);
    const operator = await run('suspend-task.sh', ['example.greet']);
    assert.match(operator, /^suspended example\.greet until \S+Z$/m);
    assert.match(operator, /^TASK\s+QUEUED\s+RUNNING\s+SUSPENDED UNTIL$/m);
    assert.match(operator, /^example\.greet\s+2\s+0\s+\S+Z$/m);
    assert.match(operator, /^resumed example\.greet: its queued jobs are claimed again$/m);
    assert.match(await run('cron-worker.sh'), /^worker \S+ finished \(nothing left to run\): 2 job\(s\) started$/m);
  });

  it('schedules.ts: a schedule declared with its task fires every second; one added at run time runs by hand', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'schedules.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'schedules.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    const out = run.lines.join('\n');
    assert.match(out, /^heartbeat \* \* \* \* \* \* UTC next true (queued|running|succeeded)$/m);
    assert.match(out, /^nightly-report 0 3 \* \* \* Europe\/Berlin next true -$/m);
    assert.match(out, /^built the daily report$/m);
  });

  it('push.ts: three jobs pushed, signed, to a group of two endpoints, whose answers are their results', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'push.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'push.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.deepEqual(
      run.lines.filter((l) => l.startsWith('{')),
      ["{ thumbnail: 'a.jpg.small.png' }", "{ thumbnail: 'b.jpg.small.png' }", "{ thumbnail: 'c.jpg.small.png' }"],
    );
  });

  it('observability.ts: each run span is a child of its submit span, and the metrics count the jobs', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'observability.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'o.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.deepEqual(
      run.lines.filter((l) => l.startsWith('offload.run')),
      ['offload.run image.resize ← offload.enqueue (same trace: true)', 'offload.run image.resize ← offload.enqueue (same trace: true)'],
    );
    assert.ok(run.lines.includes('offload_jobs_enqueued_total{task="image.resize"} 2'), run.lines.join('\n'));
    assert.ok(run.lines.includes('offload_jobs_finished_total{task="image.resize",outcome="succeeded"} 2'));
    assert.ok(run.lines.includes('offload_job_run_seconds_count{task="image.resize"} 2'));
  });

  it('push-config.json: the endpoint groups of a config file, saved with `offload group save`, bind their tasks', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'groups.db')}` };
    const config = JSON.parse(readFileSync(join(ROOT, 'examples', 'push-config.json'), 'utf8'));
    const file = join(dir.path, 'reports.json');
    writeFileSync(file, JSON.stringify(config.endpointGroups[0]));
    const saved = await runCli(['group', 'save', file], { env });
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(saved.stdout, /^reports: most-idle, at most 20 at once, tasks report\.build$/m);
    const listed = JSON.parse((await runCli(['--json', 'group', 'list'], { env })).stdout);
    assert.deepEqual(
      listed.groups.map((v: any) => [v.group.name, v.group.endpoints.map((e: { id: string }) => e.id)]),
      [['reports', ['app1', 'app2']]],
    );
    assert.equal(listed.groups[0].group.secret, undefined, 'listings never show the secret');
    assert.equal(listed.groups[0].group.endpoints[0].credentials, undefined);
  });

  it('schedule-cli.sh adds, lists, runs, pauses, resumes and removes a schedule', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'cli.db')}`, OFFLOAD: `${process.execPath} ${CLI}` };
    // A worker run registers example.greet (a schedule needs a known task) and ends.
    assert.equal((await runCli(['worker', join(EXAMPLES, 'tasks.js'), '--until-idle'], { env })).code, 0);
    const child = startProcess('sh', [join(ROOT, 'examples', 'schedule-cli.sh')], env);
    const { code } = await child.closed;
    assert.equal(code, 0, child.stderr());
    const out = child.lines.join('\n');
    assert.match(out, /^schedule nightly-greeting {2}example\.greet {2}active$/m);
    assert.match(out, /^ {2}cron {8}0 7 \* \* 1-5 {2}\(Europe\/Berlin\)$/m);
    assert.match(out, /^ {2}overlap {5}skip {3}catch-up none {3}jitter 30000 ms$/m);
    assert.match(out, /^nightly-greeting\s+example\.greet\s+0 7 \* \* 1-5\s+Europe\/Berlin\s+\S+Z\s*$/m);
    assert.match(out, /^job \d+ {2}example\.greet {2}queued$/m);
    assert.match(out, /^schedule nightly-greeting {2}example\.greet {2}paused$/m);
    assert.match(out, /^removed schedule "nightly-greeting"$/m);
    assert.equal((await runCli(['schedule', 'show', 'nightly-greeting'], { env })).code, 1);
  });

  it('rate-limits.ts: twelve calls under a shared 5-per-second limit, and three saves debounced into one job', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'rate-limits.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'rate.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    const out = run.lines.join('\n');
    // What the limit guarantees, whatever the machine's load: never more than 5 in any second.
    assert.match(out, /^12 calls, at most 5 started in any second, the last ≥ 2 s after the first: true$/m);
    assert.match(out, /^doc 7 at rev 3 \| jobs: 1$/m);
  });

  it('foreground-batch.ts: one call says whether every job succeeded and lists the failures', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'foreground-batch.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'fg.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    const out = run.lines.join('\n');
    assert.match(out, /^1 of 3 failed$/m);
    assert.match(out, /^ {2}job \d+ failed: book:3! has no datastream$/m);
    assert.match(out, /^later: all ingested$/m);
  });

  it("dependencies.ts: a job waits through its dependency's retry and reads its result; each failure policy; a waiting job holds its unique key", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'dependencies.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'deps.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.deepEqual(run.lines, [
      'indexed 2500 bytes after 2 attempts',
      'cancel → cancelled DEPENDENCY_FAILED',
      'fail → failed DEPENDENCY_FAILED',
      'run → succeeded page succeeded, gone failed',
      'same job true waiting',
      'after the cancel cancelled',
    ]);
  });

  it('http-requests.ts: twenty requests, five at once, a callback per response and a report at the end', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'http-requests.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'http.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.deepEqual(run.lines, [
      'requests 20 jobs 40 ok true',
      "page 3 { index: 3, status: 200, title: 'Page 3' }",
      "page 13 { index: 13, status: 404, title: 'Not found' }",
      'response 0 200 text/html; charset=utf-8 utf8 <title>Page 0</title>',
      'example: 40 of 40 jobs succeeded',
    ]);
  });

  it('flow.ts: a fan-out and fan-in flow whose join step sums its dependencies; a flow cancelled before it ran', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = startNode([join(EXAMPLES, 'flow.js')], { OFFLOAD_STORE: `sqlite:${join(dir.path, 'flow.db')}` });
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.deepEqual(run.lines, [
      'ok true 4/4 steps',
      'words 16',
      '  chapter-1 succeeded after []',
      '  chapter-2 succeeded after []',
      '  chapter-3 succeeded after []',
      '  total succeeded after [chapter-1, chapter-2, chapter-3]',
      'cancelled 2 steps; the flow is finished',
    ]);
  });

  it('flow-cli.sh submits examples/flow.json and waits for it, then submits it again, shows it and watches it', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'cli.db')}`, OFFLOAD: `${process.execPath} ${CLI}`, FLOW: join(ROOT, 'examples/flow.json') };
    const worker = startNode([CLI, 'worker', join(EXAMPLES, 'flow-tasks.js')], env);
    await worker.waitForLine(/^worker /);
    const child = startProcess('sh', [join(ROOT, 'examples', 'flow-cli.sh')], env);
    const { code } = await child.closed;
    assert.equal(code, 0, child.stderr());
    const out = child.lines.join('\n');
    assert.match(out, /^flow 1 finished: every step succeeded \(4 succeeded, 0 failed, 0 cancelled of 4\)$/m);
    assert.match(out, /^flow 2 "word count" {2}(running|finished, every step succeeded) \(/m);
    assert.match(out, /^STEP\s+JOB\s+TASK\s+STATE\s+AFTER\s+WAITING FOR$/m);
    assert.match(out, /^total\s+\d+\s+words\.total\s+\w+\s+chapter-1,chapter-2,chapter-3\b/m);
    assert.match(child.lines.at(-1)!, /^flow 2 finished: every step succeeded \(4 succeeded, 0 failed, 0 cancelled of 4\)$/);
  });

  it('tasks.ts: what `npm start` runs answers the submissions the README shows', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const url = `sqlite:${join(dir.path, 'offload.db')}`;
    const env = { OFFLOAD_STORE: url };
    // `npm start` listens for Gearman on 4730 and HTTP on 7070; tests take any free ports instead.
    const server = startNode([CLI, 'start', '--tasks', join(EXAMPLES, 'tasks.js'), '--http', '127.0.0.1:0'], { ...env, OFFLOAD_GEARMAN: '127.0.0.1:0' });
    const api = (await server.waitForLine(/^HTTP API on /)).split(' ')[3]!;
    await server.waitForLine(/^Stop with Ctrl-C/);
    // The README's first five minutes: the API answers on loopback without a token.
    const posted = await fetch(`${api}/v1/jobs?wait=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"task":"example.greet","input":{"name":"Ada"}}',
    });
    assert.equal(posted.status, 200);
    assert.equal(((await posted.json()) as { job: { result: string } }).job.result, 'Hello, Ada!');
    const greet = await runCli(['--json', 'submit', 'example.greet', '{"name":"Ada"}', '--wait'], { env });
    assert.equal(JSON.parse(greet.stdout).result, 'Hello, Ada!');
    const thumbs = await runCli(['--json', 'submit', 'example.thumbnail', '{"url":"cat.png","sizes":[64,128]}', '--wait'], { env });
    const job = JSON.parse(thumbs.stdout);
    assert.deepEqual(job.result, { thumbnails: ['cat.png@64px', 'cat.png@128px'] });
    assert.deepEqual(job.progress, { done: 2, total: 2, message: '128px done' });
    const bad = await runCli(['submit', 'example.thumbnail', '{"url":"cat.png","sizes":[1]}'], { env });
    assert.match(bad.stderr, /INVALID_INPUT/);
    const flaky = JSON.parse((await runCli(['--json', 'submit', 'example.flaky', '--wait'], { env })).stdout);
    assert.deepEqual([flaky.state, flaky.attempt], ['succeeded', 2]);

    const app = await Offload.open({ store: url, logger: silentLogger });
    try {
      const batch = await app.batch(
        [
          { task: 'example.greet', input: { name: 'a' } },
          { task: 'example.greet', input: { name: 'b' } },
        ],
        { onFinish: { task: 'example.batch-done' } },
      );
      assert.equal((await batch.wait()).ok, true);
      const done = await app.handle((await batch.status()).onFinishJobId!);
      assert.equal(await done.result(), `batch ${batch.id} finished: 2 succeeded, 0 failed`);
    } finally {
      await app.close();
    }
    const { code } = await server.kill('SIGTERM');
    assert.equal(code, 0);
  });
});

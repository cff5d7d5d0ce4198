/**
 * Real Gearman clients and workers, unchanged, against the Offload Gearman server: the `gearman`
 * and `gearadmin` commands (libgearman) and PHP scripts using the gearman extension's
 * GearmanClient and GearmanWorker. Every job they exchange is a durable Offload job.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startTestGearman, type TestGearman } from '../helpers/gearman.js';
import { nextEvent } from '../helpers/offload.js';
import { type Child, killAll, ROOT, startProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';
import { skipUnless } from '../helpers/tools.js';

const PHP = join(ROOT, 'test/gearman/php');

async function run(child: Child): Promise<string> {
  const { code } = await child.closed;
  assert.equal(code, 0, `exit ${code}; stderr: ${child.stderr()}`);
  return child.lines.join('\n');
}

describe('real Gearman clients and workers', { skip: skipUnless('gearman', 'gearadmin', 'php-gearman') }, () => {
  let t: TestGearman;
  const dirs: { path: string; dispose(): void }[] = [];
  afterEach(async () => {
    await killAll();
    await t?.dispose();
    for (const d of dirs.splice(0)) d.dispose();
  });

  const markers = () => {
    const d = tempDir('offload-gearman-');
    dirs.push(d);
    return d.path;
  };
  const gearman = (...args: string[]) => startProcess('gearman', ['-h', '127.0.0.1', '-p', String(t.port), ...args]);
  const gearadmin = (...args: string[]) => run(startProcess('gearadmin', ['-h', '127.0.0.1', '-p', String(t.port), ...args]));
  const phpClient = async (...args: string[]) => JSON.parse(await run(startProcess('php', [join(PHP, 'client.php'), String(t.port), ...args])));
  const phpWorker = async (id: string, dir: string) => {
    const w = startProcess('php', [join(PHP, 'worker.php'), String(t.port), id, dir]);
    await w.waitForLine(/^READY$/);
    return w;
  };

  it('the gearman command as worker and as client: foreground, background, high and low priority', async () => {
    t = await startTestGearman();
    gearman('-w', '-f', 'reverse', '--', 'rev');
    assert.equal(await run(gearman('-f', 'reverse', 'hello world')), 'dlrow olleh');
    assert.equal(await run(gearman('-I', '-f', 'reverse', 'high')), 'hgih');
    assert.equal(await run(gearman('-L', '-f', 'reverse', 'low')), 'wol');
    const created = await run(gearman('-v', '-b', '-f', 'reverse', 'in the background'));
    const handle = /^Task created: (H:test:\d+)$/m.exec(created)?.[1];
    assert.ok(handle, created);
    const job = await t.offload.handle(handle.split(':').pop()!);
    assert.deepEqual((await job.finished()).result, Buffer.from('dnuorgkcab eht ni'));
    const jobs = (await t.offload.listJobs({ task: 'reverse' })).jobs;
    assert.deepEqual(
      jobs.map((j) => [j.state, j.priority]),
      [
        ['succeeded', 0],
        ['succeeded', -1],
        ['succeeded', 1],
        ['succeeded', 0],
      ],
    );
  });

  it('gearadmin: status, priority status, workers, version, pid, jobs, cancel, create and drop function', async () => {
    t = await startTestGearman();
    gearman('-w', '-f', 'reverse', '--', 'rev');
    assert.equal(await run(gearman('-f', 'reverse', 'warm')), 'mraw', 'the worker is registered');
    await run(gearman('-b', '-f', 'queued.only', 'waiting'));
    await run(gearman('-b', '-I', '-f', 'queued.only', 'urgent'));
    assert.equal(await gearadmin('--status'), 'queued.only\t2\t0\t0\nreverse\t0\t0\t1\n.');
    assert.equal(await gearadmin('--priority-status'), 'queued.only\t1\t1\t0\t0\nreverse\t0\t0\t0\t1\n.');
    await t.offload.cancel((await t.offload.listJobs({ task: 'queued.only', limit: 1 })).jobs[0].id);
    assert.match(await gearadmin('--workers'), /^\d+ 127\.0\.0\.1 - : reverse$/m);
    assert.match(await gearadmin('--server-version'), /^offload-\d+\.\d+\.\d+$/);
    assert.equal(await gearadmin('--getpid'), String(process.pid));
    const jobs = await gearadmin('--show-jobs');
    const handle = /^(H:test:\d+)\t0\t0\t1$/m.exec(jobs)?.[1];
    assert.ok(handle, jobs);
    assert.equal(await gearadmin('--show-unique-jobs'), `${(await t.offload.getJob(handle.split(':').pop()!)).uniqueKey}\n.`);
    assert.equal(await gearadmin('--cancel-job', handle), 'OK');
    assert.equal((await t.offload.getJob(handle.split(':').pop()!)).state, 'cancelled');
    assert.equal(await gearadmin('--create-function', 'made.by.admin'), 'OK');
    assert.match(await gearadmin('--status'), /^made\.by\.admin\t0\t0\t0$/m);
    assert.equal(await gearadmin('--drop-function', 'made.by.admin'), 'OK');
    assert.doesNotMatch(await gearadmin('--status'), /made\.by\.admin/);
  });

  it('PHP GearmanClient doNormal, doHigh, doLow, doBackground, jobStatus and ping, against a PHP GearmanWorker', async () => {
    t = await startTestGearman();
    await phpWorker('php-worker-1', markers());
    assert.deepEqual(await phpClient('do', 'normal', 'reverse', 'Hello PHP'), { result: 'PHP olleH', returnCode: 0, handle: '' });
    // sendStatus and sendData: doHigh returns the WORK_DATA followed by the result, as with gearmand.
    assert.deepEqual(await phpClient('do', 'high', 'steps', 'x'), { result: 'partial-done:x', returnCode: 0, handle: '' });
    assert.deepEqual(await phpClient('do', 'low', 'reverse', 'low'), { result: 'wol', returnCode: 0, handle: '' });
    const bg = await phpClient('do', 'background', 'reverse', 'background');
    assert.match(bg.handle, /^H:test:\d+$/);
    const job = await t.offload.handle(bg.handle.split(':').pop()!);
    assert.deepEqual((await job.finished()).result, Buffer.from('dnuorgkcab'));
    assert.deepEqual(await phpClient('status', bg.handle), [false, false, 0, 0]);
    assert.equal(await phpClient('ping', 'hello'), true);
    const workers = await run(startProcess('gearadmin', ['-h', '127.0.0.1', '-p', String(t.port), '--workers']));
    assert.match(workers, /^\d+ 127\.0\.0\.1 php-worker-1 : (\S+ ){5}\S+$/m, 'setId is shown');
  });

  it('PHP jobStatus and jobStatusByUniqueKey on a queued background job', async () => {
    t = await startTestGearman();
    const bg = await phpClient('do', 'background', 'nobody.works', 'x', 'bg-unique-1');
    assert.deepEqual(await phpClient('status', bg.handle), [true, false, 0, 0]);
    assert.deepEqual(await phpClient('unique', 'bg-unique-1'), [true, false, 0, 0]);
    assert.deepEqual(await phpClient('unique', 'no-such-unique'), [false, false, 0, 0]);
  });

  it('PHP addTask/runTasks with every callback; sendFail and sendException reach the fail and exception callbacks', async () => {
    t = await startTestGearman({ server: { functionDefaults: { maxAttempts: 1 } } });
    await phpWorker('php-worker-1', markers());
    const out = await run(startProcess('php', [join(PHP, 'client.php'), String(t.port), 'tasks', 'reverse:abc', 'steps:def', 'fail:x', 'exc:y']));
    const events = out.split('\n').map((l) => JSON.parse(l) as unknown[]);
    const of = (task: string) => events.filter((e) => e[1] === task);
    assert.deepEqual(
      events
        .filter((e) => e[0] === 'created')
        .map((e) => e[1])
        .sort(),
      ['task-0', 'task-1', 'task-2', 'task-3'],
    );
    assert.deepEqual(of('task-0').slice(1), [['complete', 'task-0', 'cba', 'ctx0']]);
    assert.deepEqual(of('task-1').slice(1), [
      ['status', 'task-1', 1, 2],
      ['data', 'task-1', 'partial-'],
      ['status', 'task-1', 2, 2],
      ['complete', 'task-1', 'done:def', 'ctx1'],
    ]);
    assert.deepEqual(of('task-2').slice(1), [['fail', 'task-2']]);
    assert.deepEqual(of('task-3').slice(1), [['exception', 'task-3', 'boom: y']]);
    assert.deepEqual(events.at(-1), ['ran', true, 0]);
    const failed = (await t.offload.listJobs({ state: 'failed' })).jobs.map((j) => [j.task, j.error?.code, j.error?.message]).sort();
    assert.deepEqual(failed, [
      ['exc', 'GEARMAN_WORK_EXCEPTION', 'boom: y'],
      ['fail', 'GEARMAN_WORK_FAIL', failed[1][2]],
    ]);
  });

  it("retries a job a PHP worker failed, per the task's policy, and the waiting client gets the retry's result", async () => {
    t = await startTestGearman({ server: { functionDefaults: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 1000 } } } });
    await phpWorker('php-worker-1', markers());
    let event: Promise<unknown> = nextEvent(t.offload, 'job:retrying');
    const client = startProcess('php', [join(PHP, 'client.php'), String(t.port), 'do', 'normal', 'fail', 'x']);
    const job = async () => (await t.offload.listJobs({ task: 'fail' })).jobs[0];
    await event;
    for (const next of ['job:retrying', 'job:failed'] as const) {
      event = nextEvent(t.offload, next);
      await t.clock.advance(1000);
      await event;
    }
    assert.deepEqual(JSON.parse(await run(client)), { result: '', returnCode: 24, handle: '' }, 'GEARMAN_WORK_FAIL after the last attempt');
    assert.deepEqual([(await job()).attempt, (await job()).state], [3, 'failed']);
  });

  it('a PHP worker killed mid-job: another worker does the job and the waiting PHP client gets the result', async () => {
    t = await startTestGearman();
    const dir = markers();
    const client = startProcess('php', [join(PHP, 'client.php'), String(t.port), 'do', 'normal', 'hang', 'killed-mid-job']);
    const doomed = await phpWorker('php-doomed', dir);
    const started = await doomed.waitForLine(/^STARTED /);
    const handle = started.split(' ')[1];
    await phpWorker('php-rescuer', dir);
    await doomed.kill('SIGKILL');
    assert.deepEqual(JSON.parse(await run(client)), { result: 'done by php-rescuer on attempt 2', returnCode: 0, handle: '' });
    const job = await t.offload.getJob(handle.split(':').pop()!);
    assert.deepEqual([job.state, job.attempt, job.errors[0].code], ['succeeded', 2, 'WORKER_DISCONNECTED']);
  });

  it('a PHP addFunction timeout (CAN_DO_TIMEOUT): when it passes the job goes to another worker, the client gets its result', async () => {
    t = await startTestGearman();
    const dir = markers();
    const client = startProcess('php', [join(PHP, 'client.php'), String(t.port), 'do', 'normal', 'timed', 'too-slow']);
    const slow = await phpWorker('php-slow', dir);
    await slow.waitForLine(/^STARTED /);
    await phpWorker('php-fast', dir);
    await t.clock.advance(1000);
    assert.deepEqual(JSON.parse(await run(client)), { result: 'done by php-fast on attempt 2', returnCode: 0, handle: '' });
    const [job] = (await t.offload.listJobs({ task: 'timed' })).jobs;
    assert.deepEqual([job.attempt, job.errors[0].code], [2, 'JOB_TIMEOUT']);
  });
});

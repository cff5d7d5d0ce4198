/**
 * Perl's Gearman::Client and Gearman::Worker (Debian's libgearman-client-perl) against the
 * Offload Gearman server. They implement the protocol in Perl, without libgearman, so they check
 * the port against a second, independent reading of it. (Against gearmand 1.1.20 the same task
 * set dies in the client, "Got work_fail for unknown handle", after the worker's WORK_EXCEPTION.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startTestGearman, type TestGearman } from '../helpers/gearman.js';
import { killAll, ROOT, startProcess } from '../helpers/processes.js';
import { skipUnless } from '../helpers/tools.js';

const PERL = join(ROOT, 'test/gearman/perl');

describe('Perl Gearman::Client and Gearman::Worker', { skip: skipUnless('perl-gearman') }, () => {
  let t: TestGearman;
  afterEach(async () => {
    await killAll();
    await t?.dispose();
  });

  it('do_task, a task set with status, complete and fail callbacks, dispatch_background and get_status', async () => {
    // One attempt, as gearmand: the dying worker's job fails at once instead of being retried.
    t = await startTestGearman({ server: { functionDefaults: { maxAttempts: 1 } } });
    const worker = startProcess('perl', [join(PERL, 'worker.pl'), String(t.port)]);
    await worker.waitForLine(/^READY$/);
    const client = startProcess('perl', [join(PERL, 'client.pl'), String(t.port)]);
    const { code } = await client.closed;
    assert.equal(code, 0, `exit ${code}; stderr: ${client.stderr()}`);
    const [doTask, taskSet, background] = client.lines;
    assert.equal(doTask, 'do_task: lreP ,olleH');
    assert.equal(taskSet, 'task set: complete 1-ksat, complete 2-ksat, complete 3-ksat, fail, status 1/2, status 1/2, status 1/2');
    const [, handle, known] = /^background: 127\.0\.0\.1:\d+\/\/(H:test:\d+) (known=1 running=0)$/.exec(background) ?? [];
    assert.equal(known, 'known=1 running=0', background);

    const jobs = (await t.offload.listJobs({ task: 'perl.reverse' })).jobs;
    assert.deepEqual(jobs.map((j) => [j.state, String(j.result)]).sort(), [
      ['succeeded', '1-ksat'],
      ['succeeded', '2-ksat'],
      ['succeeded', '3-ksat'],
      ['succeeded', 'lreP ,olleH'],
    ]);
    const [failed] = (await t.offload.listJobs({ task: 'perl.fail' })).jobs;
    assert.equal(failed.state, 'failed');
    // Gearman::Worker sends its exception frozen with Storable: the bytes become the error's text.
    assert.match(failed.error?.message ?? '', /perl says no\n$/);
    assert.equal(failed.error?.code, 'GEARMAN_WORK_EXCEPTION');
    assert.equal((await t.offload.getJob(handle.split(':').pop()!)).state, 'queued');
  });
});

/**
 * The text admin protocol, answer for answer and line ending for line ending as gearmand 1.1.20
 * gives them (../shared/reference/gearman.md §2), over real sockets.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { err, parseAdminLine, parseMaxQueue, priorityStatusLines, statusLines, unknownCommand, workerLines } from '../../src/gearman/admin-protocol.js';
import { adminExchange, type RawPeer, startTestGearman, type TestGearman } from '../helpers/gearman.js';

async function worker(t: TestGearman, id: string | null, ...fns: string[]): Promise<RawPeer> {
  const w = await t.peer();
  if (id) w.send('SET_CLIENT_ID', id);
  for (const f of fns) w.send('CAN_DO', f);
  await w.sync();
  return w;
}

describe('gearman admin protocol', () => {
  let t: TestGearman;
  afterEach(() => t?.dispose());

  it('formats and parses as gearmand does', () => {
    assert.deepEqual(parseAdminLine('  STATUS  '), { name: 'status', args: [], raw: 'STATUS' });
    assert.deepEqual(parseAdminLine('cancel   job H:x:1'), { name: 'cancel', args: ['job', 'H:x:1'], raw: 'cancel' });
    assert.equal(parseAdminLine(''), null);
    assert.equal(statusLines([{ fn: 'reverse', total: 0, running: 0, workers: 1 }]), 'reverse\t0\t0\t1\n.\n');
    assert.equal(priorityStatusLines([{ fn: 'nobody', high: 1, normal: 1, low: 1, workers: 0 }]), 'nobody\t1\t1\t1\t0\n.\n', "the reference's example");
    assert.equal(
      workerLines([
        { fd: 38, ip: '127.0.0.1', clientId: '-', functions: ['reverse'] },
        { fd: 40, ip: '127.0.0.1', clientId: '-', functions: [] },
      ]),
      '38 127.0.0.1 - : reverse\n40 127.0.0.1 - :\n.\n',
    );
    assert.equal(unknownCommand('shutdown'), 'ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n');
    assert.equal(err('UNKNOWN_SHOW_ARGUMENTS'), 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n');
    assert.deepEqual(parseMaxQueue(['f', '5']), { fn: 'f', limits: { high: 5, normal: 5, low: 5 } });
    assert.deepEqual(parseMaxQueue(['f', '1', '2', '3']), { fn: 'f', limits: { high: 1, normal: 2, low: 3 } });
    assert.deepEqual(parseMaxQueue(['f']), { fn: 'f', limits: { high: 0, normal: 0, low: 0 } });
    assert.equal(parseMaxQueue([]), null);
  });

  it('answers status, workers, version, getpid, verbose and unknown commands exactly', async () => {
    t = await startTestGearman();
    const w1 = await worker(t, null, 'reverse');
    await worker(t, 'php-worker-1', 'reverse_php', 'slow_php');
    const c = await t.peer();
    c.send('SUBMIT_JOB_BG', 'reverse', '', 'a');
    c.send('SUBMIT_JOB_BG', 'reverse', '', 'b');
    await c.expect('JOB_CREATED');
    await c.expect('JOB_CREATED');
    w1.send('GRAB_JOB_ALL');
    await w1.expect('JOB_ASSIGN_UNIQ');
    const [status, statusUpper, workers, version, pid, verbose, unknown, shutdown] = await adminExchange(t.port, [
      'status',
      'STATUS',
      'workers',
      'version',
      'getpid',
      'verbose',
      'frobnicate',
      'shutdown graceful',
    ]);
    assert.equal(status, 'reverse\t2\t1\t1\nreverse_php\t0\t0\t1\nslow_php\t0\t0\t1\n.\n');
    assert.equal(statusUpper, status);
    const ids = [...workers.matchAll(/^(\d+) /gm)].map((m) => m[1]);
    assert.equal(
      workers,
      `${ids[0]} 127.0.0.1 - : reverse\n${ids[1]} 127.0.0.1 php-worker-1 : reverse_php slow_php\n${ids[2]} 127.0.0.1 - :\n${ids[3]} 127.0.0.1 - :\n.\n`,
    );
    assert.match(version, /^OK offload-\d+\.\d+\.\d+\n$/);
    assert.equal(pid, `OK ${process.pid}\n`);
    assert.equal(verbose, 'OK INFO\n');
    assert.equal(unknown, 'ERR UNKNOWN_COMMAND Unknown+server+commandfrobnicate\r\n');
    assert.equal(shutdown, 'ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n', 'removed in gearmand 1.1.15');
  });

  it('answers prioritystatus with the queued jobs of each function by priority, running ones left out', async () => {
    t = await startTestGearman();
    const w = await worker(t, null, 'p');
    const c = await t.peer();
    for (const type of ['SUBMIT_JOB_HIGH_BG', 'SUBMIT_JOB_BG', 'SUBMIT_JOB_BG', 'SUBMIT_JOB_LOW_BG', 'SUBMIT_JOB_LOW_BG'] as const) {
      c.send(type, 'p', '', 'x');
      await c.expect('JOB_CREATED');
    }
    c.send('SUBMIT_JOB_BG', 'other', '', 'y');
    await c.expect('JOB_CREATED');
    w.send('GRAB_JOB');
    await w.expect('JOB_ASSIGN'); // the high one: no longer queued
    const [answer, upper] = await adminExchange(t.port, ['prioritystatus', 'PRIORITYSTATUS']);
    assert.equal(answer, 'other\t0\t1\t0\t0\np\t0\t2\t2\t1\n.\n');
    assert.equal(upper, answer);
  });

  it("counts Offload's own workers in status next to Gearman's", async () => {
    t = await startTestGearman();
    const { defineTask } = await import('../../src/index.js');
    t.offload.register(defineTask('native', async () => null));
    await t.offload.work({ tasks: ['native'] });
    await worker(t, null, 'native');
    const [status] = await adminExchange(t.port, ['status']);
    assert.equal(status, 'native\t0\t0\t2\n.\n');
  });

  it("limits a function's queue with maxqueue, refusing submits with QUEUE_ERROR", async () => {
    t = await startTestGearman();
    const [missing, set] = await adminExchange(t.port, ['maxqueue', 'maxqueue limited 2']);
    assert.equal(missing, 'ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r\n');
    assert.equal(set, 'OK\r\n');
    const c = await t.peer();
    for (let i = 0; i < 3; i++) c.send('SUBMIT_JOB_BG', 'limited', '', `${i}`);
    await c.expect('JOB_CREATED');
    await c.expect('JOB_CREATED');
    assert.deepEqual(await c.expect('ERROR'), ['QUEUE_ERROR', 'Job queue is full']);
    const [perPriority] = await adminExchange(t.port, ['maxqueue limited 5 2 0']);
    assert.equal(perPriority, 'OK\r\n');
    c.send('SUBMIT_JOB_HIGH_BG', 'limited', '', 'h');
    c.send('SUBMIT_JOB_BG', 'limited', '', 'n');
    c.send('SUBMIT_JOB_LOW_BG', 'limited', '', 'l');
    await c.expect('JOB_CREATED');
    assert.deepEqual(await c.expect('ERROR'), ['QUEUE_ERROR', 'Job queue is full']);
    await c.expect('JOB_CREATED');
  });

  it('shows jobs and unique jobs, cancels a job (its client gets WORK_FAIL), creates and drops functions', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    c.send('SUBMIT_JOB_BG', 'shown', 'u-a', 'a');
    c.send('SUBMIT_JOB', 'shown', '', 'b');
    const [h1] = await c.expect('JOB_CREATED');
    const [h2] = await c.expect('JOB_CREATED');
    const [jobs, uniques, bad, cancel, again, unknown] = await adminExchange(t.port, [
      'show jobs',
      'show unique jobs',
      'show nothing',
      `cancel job ${h2}`,
      `cancel job ${h2}`,
      'cancel job H:test:999999',
    ]);
    assert.equal(jobs, `${h1}\t0\t0\t1\n${h2}\t0\t0\t1\n.\n`);
    assert.equal(uniques, 'u-a\n\n.\n');
    assert.equal(bad, 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n');
    assert.equal(cancel, 'OK\r\n');
    assert.equal(again, 'ERR UNKNOWN_JOB\r\n');
    assert.equal(unknown, 'ERR UNKNOWN_JOB\r\n');
    assert.deepEqual(await c.expect('WORK_FAIL'), [h2]);
    assert.equal((await t.offload.getJob(h2.split(':').pop()!)).state, 'cancelled');

    await worker(t, null, 'busy');
    const [created, listed, notFound, withWorker, withJobs, dropped, gone] = await adminExchange(t.port, [
      'create function fresh',
      'status',
      'drop function nosuch',
      'drop function busy',
      'drop function shown',
      'drop function fresh',
      'status',
    ]);
    assert.equal(created, 'OK\r\n');
    assert.equal(listed, 'busy\t0\t0\t1\nfresh\t0\t0\t0\nshown\t1\t0\t0\n.\n');
    assert.equal(notFound, 'ERR function not found\r\n');
    assert.equal(withWorker, 'ERR there are still connected workers or executing clients\r\n');
    assert.equal(withJobs, 'ERR there are still queued or running jobs\r\n');
    assert.equal(dropped, 'OK\r\n');
    assert.equal(gone, 'busy\t0\t0\t1\nshown\t1\t0\t0\n.\n');
  });

  it('mixes binary packets and admin lines on one connection', async () => {
    t = await startTestGearman();
    const c = await t.peer();
    c.send('SUBMIT_JOB_BG', 'mix', '', 'a');
    c.write('maxqueue mix 10\n');
    c.send('SUBMIT_JOB_BG', 'mix', '', 'b');
    c.write('version\n');
    c.send('ECHO_REQ', 'end');
    await c.expect('JOB_CREATED');
    assert.deepEqual(await c.lines((l) => l === 'OK'), ['OK']);
    await c.expect('JOB_CREATED');
    assert.match((await c.lines(() => true))[0], /^OK offload-/);
    assert.deepEqual(await c.expect('ECHO_RES'), ['end']);
  });
});

/**
 * offload.http.batch() across a crash, with real processes and a real SQLite file: a worker
 * process killed with SIGKILL while it has requests in flight; another process finishes the batch.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { loadTasks } from '../../src/cli/load-tasks.js';
import { silentLogger } from '../../src/core/logger.js';
import { HTTP_REQUEST_TASK, Offload } from '../../src/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { CLI, INDEX, killAll, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

/** onEach and onFinish tasks that log each run to a file, whichever process runs them. */
function writeTasks(dir: string): { path: string; log: string } {
  const path = join(dir, 'http-tasks.mjs');
  const log = join(dir, 'callbacks.log');
  writeFileSync(
    path,
    `
import { appendFileSync } from 'node:fs';
import { defineTask, onHttpResponse } from ${JSON.stringify(INDEX)};
const log = ${JSON.stringify(log)};
export const each = defineTask('crawl.each', onHttpResponse((each) => {
  appendFileSync(log, 'each ' + each.index + ' ' + process.pid + '\\n');
  return { index: each.index, status: each.response?.status ?? null };
}));
export const done = defineTask('crawl.done', (input) => {
  appendFileSync(log, 'done ' + input.batch.total + '\\n');
  return input.batch;
});
`,
  );
  return { path, log };
}

describe('parallel HTTP requests across a crash', () => {
  const dirs: { dispose(): void }[] = [];
  const servers: CountingServer[] = [];
  afterEach(async () => {
    await killAll();
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) d.dispose();
  });

  it('a worker process killed with SIGKILL mid-batch: the limit holds, every request gets one callback job, onFinish runs once', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const url = `sqlite:${join(dir.path, 'offload.db')}`;
    const tasks = writeTasks(dir.path);
    const counting = await startCountingServer({ latencyMs: 1 });
    servers.push(counting);
    const clock = new ManualClock(Date.now());
    const offload = await Offload.open({ store: url, clock, logger: silentLogger, tasks: await loadTasks(tasks.path) });
    try {
      const requests = Array.from({ length: 1000 }, (_, i) => ({ url: `${counting.base}/ok/${i}` }));
      const batch = await offload.http.batch(requests, { limit: 5, onEach: 'crawl.each', onFinish: { task: 'crawl.done' }, allowAddresses: ['127.0.0.1'] });

      // Another process works on the batch; it dies with five requests in flight.
      const worker = startNode([CLI, '--store', url, 'worker', tasks.path, '--lease', '1000', '--concurrency', '20']);
      await counting.whenAnswered(300);
      counting.hold();
      await counting.whenInFlight(5);
      await worker.kill('SIGKILL');
      await counting.whenIdle();
      const sentBeforeCrash = counting.arrived;
      counting.release();

      // This process takes over: once the dead worker's leases have expired, the rescuer puts its jobs back.
      await offload.work({ concurrency: 20 });
      const running = (await offload.listJobs({ state: 'running', limit: 1000 })).jobs;
      assert.ok(
        running.some((j) => j.task === HTTP_REQUEST_TASK),
        'the dead worker held requests',
      );
      const leasesEnd = Math.max(...running.map((j) => Date.parse(j.leaseExpiresAt!)));
      await clock.advance(leasesEnd - clock.now() + 6_000);
      const outcome = await offload.waitForBatch(batch.id);
      await offload.result((await offload.getBatch(batch.id)).onFinishJobId!);

      assert.ok(counting.peak <= 5, `the server saw ${counting.peak} requests at once`);
      assert.deepEqual([outcome.ok, outcome.total, outcome.succeeded], [true, 2000, 2000]);
      assert.ok(counting.arrived - 1000 <= 5, `only the requests in flight at the crash were sent again (${counting.arrived - 1000})`);
      const callbacks = (await offload.listJobs({ task: 'crawl.each', limit: 1000 })).jobs;
      assert.equal(callbacks.length, 1000);
      assert.equal(new Set(callbacks.map((j) => (j.result as { index: number }).index)).size, 1000, 'one callback job per request');
      assert.ok(callbacks.every((j) => j.state === 'succeeded' && (j.result as { status: number }).status === 200));
      assert.equal((await offload.listJobs({ task: 'crawl.done' })).jobs.length, 1);

      const lines = readFileSync(tasks.log, 'utf8').trim().split('\n');
      const ran = new Set(lines.filter((l) => l.startsWith('each ')).map((l) => l.split(' ')[1]));
      assert.equal(ran.size, 1000, 'every callback ran');
      assert.ok(
        lines.some((l) => l.startsWith('each ') && l.endsWith(` ${worker.process.pid}`)),
        'the dead worker ran callbacks before it died',
      );
      assert.deepEqual(
        lines.filter((l) => l.startsWith('done')),
        ['done 2000'],
      );
      assert.ok(sentBeforeCrash < 1000, 'it died in the middle');
    } finally {
      await offload.close();
    }
  });
});

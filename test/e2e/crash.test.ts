/**
 * Crashes with real processes and real SQLite files: a worker killed with SIGKILL mid-job, a
 * producer and a server killed during a burst of enqueues, a worker stopped with SIGTERM.
 */

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loadTasks } from '../../src/cli/load-tasks.js';
import { silentLogger } from '../../src/core/logger.js';
import { LeaseLostError, Offload } from '../../src/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { CLI, INDEX, killAll, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

/** A tasks module whose first attempt announces itself and hangs; later attempts succeed. */
function writeCrashTasks(dir: string): string {
  const path = join(dir, 'crash-tasks.mjs');
  writeFileSync(
    path,
    `
import { appendFileSync } from 'node:fs';
import { defineTask } from ${JSON.stringify(INDEX)};
const log = ${JSON.stringify(join(dir, 'handler.log'))};
export const once = defineTask('crash.once', async (input, ctx) => {
  appendFileSync(log, 'start ' + ctx.job.id + ' ' + ctx.job.attempt + '\\n');
  if (ctx.job.attempt === 1) {
    process.stdout.write('STARTED ' + ctx.job.id + '\\n');
    await new Promise(() => {}); // hangs until the process dies
  }
  appendFileSync(log, 'done ' + ctx.job.id + '\\n');
  return { finishedOnAttempt: ctx.job.attempt };
}, { maxAttempts: 3 });
export const stuck = defineTask('crash.stuck', async () => {
  process.stdout.write('STUCK\\n');
  await new Promise(() => {}); // ignores its abort signal on purpose
});
`,
  );
  return path;
}

function leaseTokenOf(dbPath: string, id: string): string {
  const db = new Database(dbPath, { readonly: true });
  try {
    return String((db.prepare('SELECT lease_token AS t FROM jobs WHERE id = ?').get(Number(id)) as { t: number }).t);
  } finally {
    db.close();
  }
}

describe('crashes', () => {
  const dirs: { dispose(): void }[] = [];
  afterEach(async () => {
    await killAll();
    for (const d of dirs.splice(0)) d.dispose();
  });

  it("a worker process killed with SIGKILL mid-job: the job runs again, succeeds once, the dead worker's result is refused", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const dbPath = join(dir.path, 'offload.db');
    const url = `sqlite:${dbPath}`;
    const tasksPath = writeCrashTasks(dir.path);
    const clock = new ManualClock(Date.now());
    const offload = await Offload.open({ store: url, clock, logger: silentLogger, tasks: await loadTasks(tasksPath) });
    try {
      const handle = await offload.enqueue('crash.once', { n: 1 });
      const worker = startNode([CLI, '--store', url, 'worker', tasksPath, '--lease', '30000']);
      await worker.waitForLine(/^STARTED /);
      const deadToken = leaseTokenOf(dbPath, handle.id);
      await worker.kill('SIGKILL');

      // Within one lease the rescuer (here, in this process) puts the job back; a live worker finishes it.
      // The dead worker took its lease on the real clock, some time after this test's clock started
      // (seconds, on a busy machine): count from the lease's end, not from the clock's start.
      await offload.work({ leaseMs: 30_000 });
      const leaseEnds = Date.parse((await handle.status()).leaseExpiresAt!);
      await clock.advance(leaseEnds - clock.now() - 1000);
      assert.equal((await handle.status()).state, 'running', 'still leased to the dead worker');
      await clock.advance(6_000);
      assert.deepEqual(await handle.result(), { finishedOnAttempt: 2 });

      const job = await handle.status();
      assert.deepEqual([job.state, job.attempt], ['succeeded', 2]);
      assert.equal(job.errors[0].code, 'LEASE_EXPIRED');
      const log = readFileSync(join(dir.path, 'handler.log'), 'utf8').trim().split('\n');
      assert.deepEqual(log, [`start ${handle.id} 1`, `start ${handle.id} 2`, `done ${handle.id}`], 'ran twice, finished once');

      // The killed worker's late completion, with its stale token, is refused by name.
      await assert.rejects(offload.complete(handle.id, { leaseToken: deadToken, result: 'late' }), LeaseLostError);
      assert.deepEqual((await handle.status()).result, { finishedOnAttempt: 2 });
    } finally {
      await offload.close();
    }
  });

  it('a producer killed with SIGKILL during a burst of 50,000 enqueues: every acknowledged job survives', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const dbPath = join(dir.path, 'offload.db');
    const script = join(dir.path, 'burst.mjs');
    writeFileSync(
      script,
      `
import { Offload, defineTask } from ${JSON.stringify(INDEX)};
const task = defineTask('burst.item', async () => null);
const offload = await Offload.open({ store: ${JSON.stringify(`sqlite:${dbPath}`)}, tasks: [task] });
process.stdout.write('READY\\n');
// Ten bursts of 5,000 enqueues, 16 in flight at a time, then it waits to be killed. The test kills
// it after 1,500 acknowledgements. (Once, on a loaded machine, an uncapped producer whose lines the
// test read late buffered them until it ran out of memory: hence the cap, and each ACK awaits its
// write.)
for (let burst = 0; burst < 10; burst++) {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 5000) {
      const i = burst * 5000 + next++;
      const job = await offload.enqueue(task, { i });
      // Waits until the line is in the pipe: the producer never runs far ahead of the test's reading.
      await new Promise((resolve) => process.stdout.write('ACK ' + job.id + ' ' + i + '\\n', resolve));
    }
  }));
}
process.stdout.write('DONE\\n');
setInterval(() => {}, 1 << 30); // idle until killed
`,
    );
    const producer = startNode([script]);
    await producer.waitForLine(/^READY$/);
    // Kill it in the middle of the burst.
    await producer.waitForLines(/^ACK /, 1500);
    await producer.kill('SIGKILL');
    const acked = producer.lines.filter((l) => l.startsWith('ACK ')).map((l) => l.split(' '));
    assert.ok(acked.length >= 1500);
    assert.ok(!producer.lines.includes('DONE'), 'killed mid-burst, before the last enqueue');

    const db = new Database(dbPath);
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const stored = new Map((db.prepare('SELECT id, input FROM jobs').all() as { id: number; input: string }[]).map((r) => [String(r.id), r.input]));
      const missing = acked.filter(([, id, i]) => stored.get(id) !== JSON.stringify({ i: Number(i) }));
      assert.deepEqual(missing, [], 'every acknowledged enqueue is in the database with its input');
    } finally {
      db.close();
    }
  });

  it('the server (offload start) killed with SIGKILL during a burst of 5,000 HTTP submits: every acknowledged job is there after restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { OFFLOAD_STORE: `sqlite:${join(dir.path, 'offload.db')}` };
    const tasks = join(dir.path, 'burst-tasks.mjs');
    writeFileSync(tasks, `import { defineTask } from ${JSON.stringify(INDEX)};\nexport const item = defineTask('burst.item', async () => null);\n`);
    // The server declares the task and runs none of its jobs: what is stored stays queued.
    const start = ['start', '--tasks', tasks, '--concurrency', '0', '--http', '127.0.0.1:0'];
    const server = startNode([CLI, ...start], env);
    const url = (await server.waitForLine(/^HTTP API on /)).split(' ')[3]!;

    // 16 clients submit one job per request until the server dies under them; a 201 is an acknowledgement.
    const acked: { id: string; i: number }[] = [];
    let next = 0;
    let enough!: () => void;
    const killAt = new Promise<void>((resolve) => {
      enough = resolve;
    });
    const clients = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 5000) {
          const i = next++;
          try {
            const res = await fetch(`${url}/v1/jobs`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ task: 'burst.item', input: { i } }),
            });
            if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
            acked.push({ id: ((await res.json()) as { job: { id: string } }).job.id, i });
            if (acked.length === 1500) enough();
          } catch (err) {
            if (acked.length < 1500) throw err;
            return; // the server is gone: this submit was never acknowledged
          }
        }
      }),
    );
    await Promise.race([killAt, clients]);
    await server.kill('SIGKILL');
    await clients;
    assert.ok(acked.length >= 1500 && acked.length < 5000, `killed mid-burst (${acked.length} acknowledged)`);

    const restarted = startNode([CLI, ...start], env);
    const again = (await restarted.waitForLine(/^HTTP API on /)).split(' ')[3]!;
    const stored = new Map<string, unknown>();
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page = (await (await fetch(`${again}/v1/jobs?task=burst.item&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
        jobs: { id: string; input: unknown }[];
        nextCursor: string | null;
      };
      for (const j of page.jobs) stored.set(j.id, j.input);
      cursor = page.nextCursor;
    }
    const missing = acked.filter(({ id, i }) => JSON.stringify(stored.get(id)) !== JSON.stringify({ i }));
    assert.deepEqual(missing, [], 'every acknowledged submit is stored with its input');
  });

  it('a worker process stopped with SIGTERM releases its running job at once', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const url = `sqlite:${join(dir.path, 'offload.db')}`;
    const tasksPath = writeCrashTasks(dir.path);
    const offload = await Offload.open({ store: url, logger: silentLogger, tasks: await loadTasks(tasksPath) });
    try {
      const handle = await offload.enqueue('crash.stuck', null);
      const worker = startNode([CLI, '--store', url, 'worker', tasksPath, '--lease', '600000', '--shutdown-timeout', '200']);
      await worker.waitForLine(/^STUCK$/);
      assert.equal((await handle.status()).state, 'running');
      const { code } = await worker.kill('SIGTERM');
      assert.equal(code, 0);
      const job = await handle.status();
      assert.equal(job.state, 'queued', 'released without waiting for the 10-minute lease');
      assert.equal(job.attempt, 0, 'the interrupted attempt is not counted');
      assert.equal((await offload.store.listWorkers({})).length, 0);
    } finally {
      await offload.close();
    }
  });
});

/**
 * A worker process killed with SIGKILL while a dependency runs, on a real SQLite file and on
 * PostgreSQL: the dependency runs again, and the job that waits for it runs exactly once, after it,
 * with its result.
 */

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { loadTasks } from '../../src/cli/load-tasks.js';
import { silentLogger } from '../../src/core/logger.js';
import { Offload } from '../../src/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { postgresFactory, postgresReady } from '../helpers/postgres.js';
import { CLI, INDEX, killAll, startNode } from '../helpers/processes.js';
import { type StoreFixture, sqliteFactory, tempDir } from '../helpers/stores.js';

/** A dependency whose first attempt announces itself and hangs, and a task that waits for it. */
function writeTasks(dir: string): string {
  const path = join(dir, 'flow-crash-tasks.mjs');
  writeFileSync(
    path,
    `
import { appendFileSync } from 'node:fs';
import { defineTask } from ${JSON.stringify(INDEX)};
const log = ${JSON.stringify(join(dir, 'handler.log'))};
export const extract = defineTask('flow.extract', async (input, ctx) => {
  appendFileSync(log, 'extract attempt ' + ctx.job.attempt + '\\n');
  if (ctx.job.attempt === 1) {
    process.stdout.write('STARTED ' + ctx.job.id + '\\n');
    await new Promise(() => {}); // hangs until the process dies
  }
  return { rows: 42 };
}, { maxAttempts: 3 });
export const load = defineTask('flow.load', async (input, ctx) => {
  appendFileSync(log, 'load sees ' + JSON.stringify(ctx.dependencies.result('extract')) + '\\n');
  return 'loaded';
});
`,
  );
  return path;
}

const stores: [string, () => Promise<StoreFixture>][] = [['SQLite', sqliteFactory]];
if (await postgresReady('a worker killed while a dependency runs, on PostgreSQL')) stores.push(['PostgreSQL', postgresFactory]);

describe('a worker killed while a dependency runs', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    await killAll();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  for (const [name, factory] of stores) {
    it(`${name}: the dependent runs once, after the dependency's second attempt, with its result`, async () => {
      const dir = tempDir();
      cleanups.push(() => dir.dispose());
      const fixture = await factory();
      cleanups.push(() => fixture.dispose());
      const tasksPath = writeTasks(dir.path);
      const clock = new ManualClock(Date.now());
      const offload = await Offload.open({ store: fixture.url, clock, logger: silentLogger, tasks: await loadTasks(tasksPath) });
      cleanups.push(() => offload.close());
      // Over the network, what a timer starts takes real time: the clock waits for it.
      clock.waitWhileBusy(() => offload.storeBusy);
      const flow = await offload.flow({ steps: { extract: { task: 'flow.extract' }, load: { task: 'flow.load', after: ['extract'] } } });
      const worker = startNode([CLI, '--store', fixture.url, 'worker', tasksPath, '--lease', '30000']);
      await worker.waitForLine(/^STARTED /);
      await worker.kill('SIGKILL');
      assert.equal((await flow.steps.load.status()).state, 'waiting');

      // The rescuer (in this process) puts the dependency back once its lease ends; this process's worker runs both.
      await offload.work({ leaseMs: 30_000 });
      const leaseEnds = Date.parse((await flow.steps.extract.status()).leaseExpiresAt!);
      await clock.advance(leaseEnds - clock.now() + 6_000);
      const outcome = await flow.result();
      assert.deepEqual([outcome.ok, outcome.succeeded], [true, 2]);
      assert.equal(await flow.steps.load.result(), 'loaded');
      const log = readFileSync(join(dir.path, 'handler.log'), 'utf8').trim().split('\n');
      assert.deepEqual(log, ['extract attempt 1', 'extract attempt 2', 'load sees {"rows":42}'], 'the dependent ran once, after the retry');
    });
  }
});

/**
 * Once per tick across a cluster, in real time: two `offload start` servers on one PostgreSQL
 * schema share a once-a-second schedule for 60 seconds, and the server firing the ticks is
 * SIGKILLed and restarted three times. Every one of the 60 ticks must make exactly one job.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { eventually } from '../helpers/eventually.js';
import { dropSchema, postgresReady, TEST_PG_URL, uniqueSchema, urlForSchema } from '../helpers/postgres.js';
import { type Child, CLI, INDEX, killAll, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

const TICKS = 60;

function writeTasks(dir: string): string {
  const path = join(dir, 'schedule-tasks.mjs');
  // Overlap allow: a killed server's running job keeps its lease a while, and must not hold back
  // the next ticks. Catch-up all: the seconds a takeover takes are made up, not dropped.
  writeFileSync(
    path,
    `import { defineTask } from ${JSON.stringify(INDEX)};
export const tick = defineTask('tick', async () => null, { schedule: { cron: '* * * * * *', overlap: 'allow', catchUp: 'all' } });
`,
  );
  return path;
}

describe('schedules on a PostgreSQL cluster', async () => {
  if (!(await postgresReady('schedules on a PostgreSQL cluster'))) return;
  const schema = uniqueSchema('sched');
  const url = urlForSchema(schema);
  const dir = tempDir();
  after(async () => {
    await killAll();
    await dropSchema(schema);
    dir.dispose();
  });

  const db = new pg.Client({ connectionString: TEST_PG_URL });
  await db.connect();
  after(() => db.end());

  /** The schedule's jobs per tick: each job's unique key names its tick (run_at moves when a job is retried). */
  async function ticks(): Promise<{ runAt: number; jobs: number }[]> {
    const { rows } = await db.query<{ key: string; jobs: string }>(
      `SELECT unique_key AS key, count(*) AS jobs FROM ${schema}.jobs WHERE origin = 'schedule:tick' GROUP BY unique_key`,
    );
    return rows.map((r) => ({ runAt: Date.parse(r.key.slice('tick@'.length)), jobs: Number(r.jobs) })).sort((a, b) => a.runAt - b.runAt);
  }

  /** Polls (the store announces nothing to this test) until a tick at or after `at` has its job. */
  async function tickedBy(at: number): Promise<void> {
    await eventually(async () => (await ticks()).some((t) => t.runAt >= at), `a job for the tick at ${new Date(at).toISOString()}`, 60_000);
  }

  async function startServer(tasks: string): Promise<Child> {
    const server = startNode([CLI, '--store', url, 'start', '--tasks', tasks, '--concurrency', '4']);
    await server.waitForLine(/Offload is running/);
    return server;
  }

  it('fires each of 60 once-a-second ticks exactly once while the firing server is killed and restarted three times', { timeout: 180_000 }, async () => {
    const tasks = writeTasks(dir.path);
    // A starts first and takes the scheduler's duty; each kill below hits whoever holds it then.
    const servers: Child[] = [await startServer(tasks)];
    await tickedBy(0);
    servers.push(await startServer(tasks));
    const first = (await ticks())[0].runAt;
    const upTo = (n: number) => tickedBy(first + n * 1000);
    let leader = 0;
    for (const at of [12, 27, 42]) {
      await upTo(at);
      await servers[leader].kill('SIGKILL');
      servers[leader] = await startServer(tasks);
      leader = 1 - leader;
    }
    await upTo(TICKS - 1);
    const window = (await ticks()).filter((t) => t.runAt >= first && t.runAt < first + TICKS * 1000);
    assert.deepEqual(
      window.map((t) => t.runAt - first),
      Array.from({ length: TICKS }, (_, i) => i * 1000),
      `one job for every second; got ${JSON.stringify(window.map((t) => (t.runAt - first) / 1000))}`,
    );
    assert.deepEqual(
      window.filter((t) => t.jobs !== 1),
      [],
      'no tick made two jobs',
    );
  });
});

/**
 * Schedules on the injected clock: when ticks fall, what fires after downtime, overlap, pause,
 * edits while servers run, DST in a named zone, and bad input that writes nothing. Runs on
 * SQLite, and on PostgreSQL from test/on-postgres/.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { defineTask, type Offload } from '../../src/index.js';
import { deferred, openTestOffload, type TestOffload } from '../helpers/offload.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);
/** Schedulers in these tests look for others' changes this rarely: the clock moves by minutes. */
const POLL = 3_600_000;
/** And the rescuer and pruner run as rarely, so that moving the clock by months stays cheap. */
const MAINTENANCE = { schedulePollMs: POLL, rescueIntervalMs: POLL, pruneIntervalMs: POLL };

async function scheduledJobs(offload: Offload, name: string) {
  const { jobs } = await offload.listJobs({ limit: 1000 });
  return jobs.filter((j) => j.origin === `schedule:${name}`).sort((a, b) => Date.parse(a.runAt) - Date.parse(b.runAt));
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('schedules', () => {
  let t: TestOffload;
  afterEach(() => t.dispose());

  it('fires a schedule declared with its task on every tick, with its input, and shows where it stands', async () => {
    const seen: unknown[] = [];
    const keys: (string | null)[] = [];
    const report = defineTask('report.build', async (input: { kind: string }, ctx) => keys.push(ctx.job.uniqueKey) && seen.push(input), {
      schedule: { cron: '*/5 * * * *', input: { kind: 'five-minutely' } },
    });
    t = await openTestOffload({ tasks: [report] });
    await t.offload.startMaintenance(MAINTENANCE);
    await t.offload.work();
    await t.clock.advance(15 * MINUTE);
    const jobs = await scheduledJobs(t.offload, 'report.build');
    assert.deepEqual(
      jobs.map((j) => j.runAt),
      [T0, T0 + 5 * MINUTE, T0 + 10 * MINUTE, T0 + 15 * MINUTE].map(iso),
    );
    await t.clock.advance(1);
    assert.deepEqual(seen, Array(4).fill({ kind: 'five-minutely' }));
    const s = await t.offload.getSchedule('report.build');
    assert.equal(s.cron, '*/5 * * * *');
    assert.equal(s.task, 'report.build');
    assert.equal(s.nextTickAt, T0 + 20 * MINUTE);
    assert.equal(s.lastTickAt, T0 + 15 * MINUTE);
    assert.equal(s.lastJobId, jobs[3].id);
    assert.equal(s.lastJobState, 'succeeded');
    assert.equal(jobs[1].uniqueKey, 'report.build@2026-01-01T00:05:00.000Z', "a tick's job names its tick");
    assert.ok(keys.includes('report.build@2026-01-01T00:10:00.000Z'), 'and its handler sees it');
  });

  it('skips ticks while the previous run is still queued or running (overlap skip, the default), or runs them alongside (allow)', async () => {
    const release = deferred();
    const slow = defineTask('slow', async () => release.promise);
    t = await openTestOffload({ tasks: [slow] });
    await t.offload.startMaintenance(MAINTENANCE);
    await t.offload.work({ concurrency: 5 });
    await t.offload.schedule('slow-skip', { task: 'slow', cron: '* * * * *' });
    await t.offload.schedule('slow-allow', { task: 'slow', cron: '* * * * *', overlap: 'allow' });
    await t.clock.advance(3 * MINUTE);
    assert.equal((await scheduledJobs(t.offload, 'slow-skip')).length, 1, 'ticks 2 and 3 were skipped: the first run still runs');
    assert.equal((await scheduledJobs(t.offload, 'slow-allow')).length, 4);
    assert.equal((await t.offload.getSchedule('slow-skip')).lastTickAt, T0 + 3 * MINUTE, 'a skipped tick counts as handled');
    release.resolve();
    await t.clock.advance(MINUTE);
    assert.equal((await scheduledJobs(t.offload, 'slow-skip')).length, 2, 'the first tick after the run ended fires');
  });

  it('after downtime fires the latest missed tick (latest), the last few (all, even with overlap skip), or none (none)', async () => {
    const noop = defineTask('noop', async () => null);
    t = await openTestOffload({ tasks: [noop] });
    await t.offload.schedule('latest', { task: 'noop', cron: '* * * * *' });
    await t.offload.schedule('all', { task: 'noop', cron: '* * * * *', catchUp: 'all', catchUpLimit: 3 });
    await t.offload.schedule('none', { task: 'noop', cron: '* * * * *', catchUp: 'none', overlap: 'allow' });
    // No process fires anything for ten minutes (no maintenance runs), then one starts.
    await t.clock.advance(10 * MINUTE + 30_000);
    await t.offload.startMaintenance(MAINTENANCE);
    await t.clock.advance(1);
    const runAts = async (name: string) => (await scheduledJobs(t.offload, name)).map((j) => j.runAt);
    assert.deepEqual(await runAts('latest'), [iso(T0 + 10 * MINUTE)]);
    assert.deepEqual(await runAts('all'), [T0 + 8 * MINUTE, T0 + 9 * MINUTE, T0 + 10 * MINUTE].map(iso));
    assert.deepEqual(await runAts('none'), [iso(T0 + 10 * MINUTE)], 'ticks over a minute late are dropped; the last one, 30 s late, fires');
    for (const name of ['latest', 'all', 'none']) assert.equal((await t.offload.getSchedule(name)).nextTickAt, T0 + 11 * MINUTE, name);
    await t.clock.advance(MINUTE);
    assert.deepEqual(await runAts('none'), [T0 + 10 * MINUTE, T0 + 11 * MINUTE].map(iso), 'on time again, it fires');
  });

  it('pauses and resumes a schedule; ticks while paused are not caught up', async () => {
    const noop = defineTask('noop', async () => null);
    t = await openTestOffload({ tasks: [noop] });
    await t.offload.startMaintenance(MAINTENANCE);
    await t.offload.work();
    await t.offload.schedule('tick', { task: 'noop', cron: '* * * * *' });
    await t.clock.advance(1);
    assert.equal((await scheduledJobs(t.offload, 'tick')).length, 1);
    assert.equal((await t.offload.pauseSchedule('tick')).paused, true);
    await t.clock.advance(5 * MINUTE);
    assert.equal((await scheduledJobs(t.offload, 'tick')).length, 1, 'nothing while paused');
    const resumed = await t.offload.resumeSchedule('tick');
    assert.equal(resumed.paused, false);
    assert.equal(resumed.nextTickAt, T0 + 6 * MINUTE, 'from the next tick after now');
    await t.clock.advance(MINUTE);
    assert.deepEqual(
      (await scheduledJobs(t.offload, 'tick')).map((j) => j.runAt),
      [iso(T0), iso(T0 + 6 * MINUTE)],
    );
  });

  it('fires each tick once with two servers on the store, and follows an edit made while they run', async () => {
    const noop = defineTask('noop', async () => null);
    t = await openTestOffload({ tasks: [noop] });
    const other = await t.another({ tasks: [noop] });
    await Promise.all([t.offload, other].map((o) => o.startMaintenance({ ...MAINTENANCE, schedulePollMs: MINUTE / 2 })));
    await t.offload.work();
    await t.offload.schedule('tick', { task: 'noop', cron: '* * * * *', input: 1 });
    await t.clock.advance(4 * MINUTE);
    assert.equal((await scheduledJobs(t.offload, 'tick')).length, 5, 'ticks 0–4, once each');
    await other.schedule('tick', { task: 'noop', cron: '*/2 * * * *', input: 2 });
    await t.clock.advance(6 * MINUTE);
    const jobs = await scheduledJobs(t.offload, 'tick');
    assert.deepEqual(
      jobs.slice(5).map((j) => [j.runAt, j.input]),
      [6, 8, 10].map((m) => [iso(T0 + m * MINUTE), 2]),
    );
  });

  it('reads the rule in its time zone and crosses DST as croner documents', async () => {
    const noop = defineTask('noop', async () => null);
    // 2026-03-29 02:00 in Berlin jumps to 03:00; 2026-10-25 03:00 falls back to 02:00.
    t = await openTestOffload({ tasks: [noop], clock: new (await import('../../src/testing/index.js')).ManualClock(Date.UTC(2026, 2, 28, 12)) });
    // Maintenance looks once a day: the clock moves by months here.
    const DAY = 86_400_000;
    await t.offload.startMaintenance({ schedulePollMs: DAY, rescueIntervalMs: DAY, pruneIntervalMs: DAY });
    const allow = { overlap: 'allow' } as const;
    await t.offload.schedule('berlin-0230', { task: 'noop', cron: '30 2 * * *', timezone: 'Europe/Berlin', ...allow });
    await t.clock.advance(3 * 86_400_000);
    assert.deepEqual(
      (await scheduledJobs(t.offload, 'berlin-0230')).map((j) => j.runAt),
      // 02:30 does not exist on the 29th: a fixed-time rule runs at the first valid time after the gap (03:00 CEST).
      ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'],
    );
    await t.offload.schedule('berlin-0230', { task: 'noop', cron: '30 2 * * *', timezone: 'Europe/Berlin', catchUp: 'none', ...allow });
    await t.offload.schedule('berlin-half-hourly', { task: 'noop', cron: '*/30 2 * * *', timezone: 'Europe/Berlin', ...allow });
    await t.clock.advance(Date.UTC(2026, 9, 24, 12) - t.clock.now());
    const before = (await scheduledJobs(t.offload, 'berlin-0230')).length;
    await t.clock.advance(2 * 86_400_000);
    const fixed = (await scheduledJobs(t.offload, 'berlin-0230')).slice(before).map((j) => j.runAt);
    // 02:30 happens twice on the 25th: a fixed-time rule runs once, at the first (CEST, UTC+2).
    assert.deepEqual(fixed, ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    const interval = (await scheduledJobs(t.offload, 'berlin-half-hourly')).map((j) => j.runAt).filter((at) => at.startsWith('2026-10-25'));
    // An interval rule runs in both passes through the repeated hour.
    assert.deepEqual(interval, ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z']);
  });

  it('spreads a job up to jitterMs after its tick, and runs a schedule by hand', async () => {
    const noop = defineTask('noop', async () => null);
    t = await openTestOffload({ tasks: [noop] });
    await t.offload.startMaintenance(MAINTENANCE);
    await t.offload.work();
    await t.offload.schedule('spread', { task: 'noop', cron: '* * * * *', jitterMs: 20_000, catchUp: 'none' });
    await t.clock.advance(10 * MINUTE);
    const jobs = await scheduledJobs(t.offload, 'spread');
    assert.equal(jobs.length, 11);
    jobs.forEach((j, i) => {
      const late = Date.parse(j.runAt) - (T0 + i * MINUTE);
      assert.ok(late >= 0 && late <= 20_000, `job ${i} runs ${late} ms after its tick`);
    });
    const byHand = await t.offload.runSchedule('spread');
    const s = await t.offload.getSchedule('spread');
    assert.equal(s.lastJobId, byHand.id);
    assert.equal(s.nextTickAt, T0 + 11 * MINUTE, 'a run by hand leaves the rule alone');
    assert.equal((await byHand.status()).origin, 'schedule:spread');
  });

  it('refuses bad schedules with a clear error and writes nothing', async () => {
    const noop = defineTask('noop', async () => null);
    t = await openTestOffload({ tasks: [noop] });
    await assert.rejects(t.offload.schedule('bad', { task: 'noop', cron: '61 * * * *' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_SCHEDULE');
      assert.match(err.message, /croner rejected the cron rule "61 \* \* \* \*": .*minute/);
      return true;
    });
    await assert.rejects(t.offload.schedule('bad', { task: 'noop', cron: '* * * * *', timezone: 'Mars/Olympus' }), /unknown time zone "Mars\/Olympus"/);
    await assert.rejects(t.offload.schedule('bad', { task: 'nope', cron: '* * * * *' }), { code: 'UNKNOWN_TASK' });
    await assert.rejects(t.offload.schedule('bad', { task: 'noop', cron: '* * * * *', catchUp: 'some' as never }), /catchUp must be one of none, latest, all/);
    await assert.rejects(t.offload.schedule('bad name!', { task: 'noop', cron: '* * * * *' }), { code: 'INVALID_SCHEDULE' });
    await assert.rejects(t.offload.schedule('big', { task: 'noop', cron: '* * * * *', input: 'x'.repeat(2 * 1024 * 1024) }), { code: 'INPUT_TOO_LARGE' });
    await assert.rejects(t.offload.getSchedule('bad'), { code: 'SCHEDULE_NOT_FOUND' });
    assert.deepEqual(await t.offload.schedules(), []);
    assert.throws(() => defineTask('x', async () => null, { schedule: 'every day' }), { code: 'INVALID_SCHEDULE' });
  });
});

/**
 * Store conformance for what the dashboard's API reads and does: listing filters, the bounded
 * text search, errors grouped, a job's links, deleting finished jobs by id, workers asked to
 * stop, the audit log. Every backend runs these (see sqlite.test.ts and postgres.test.ts).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { resolveTaskSettings } from '../../src/core/task.js';
import { AUDIT_RETENTION_MS, type AuditEntry, type NewJob, type Store, type WorkerRecord } from '../../src/store/store.js';
import type { StoreFactory, StoreFixture } from '../helpers/stores.js';
import { newJob } from './store-suite.js';

const T0 = Date.UTC(2026, 0, 1);
const LEASE = 30_000;

export function dashboardConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance, dashboard: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await factory();
      store = await fixture.open();
      await store.registerTasks({ tasks: ['email', 'report'].map((n) => ({ name: n, settings: resolveTaskSettings(n, {}) })), now: T0 });
    });

    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    async function insert(overrides: Partial<NewJob> = {}, now = T0): Promise<string> {
      return (await store.insertJobs({ jobs: [newJob(overrides)], now })).jobs[0].id;
    }

    /** Claims the job (it must be the only one queued of its task) and ends it so. */
    async function finish(id: string, task: string, how: { result?: string; error?: string }, now = T0): Promise<void> {
      const [job] = await store.claimJobs({ workerId: 'w1', tasks: [task], max: 1, leaseMs: LEASE, now });
      assert.equal(job.id, id);
      const transition =
        how.error === undefined
          ? { to: 'succeeded' as const, id, token: job.leaseToken, result: how.result ?? null }
          : { to: 'failed' as const, id, token: job.leaseToken, error: JSON.stringify({ message: how.error, attempt: 1, at: new Date(now).toISOString() }) };
      await store.finishJobs({ transitions: [transition], now });
    }

    it('lists batches and flows newest first, a page at a time', async () => {
      // Eleven, so that ids of two digits would sort wrongly as text.
      const ids: string[] = [];
      for (let i = 0; i < 11; i++) {
        const r = await store.insertJobs({ jobs: [newJob({ task: 'email' })], batch: { title: `b${i}`, onFinish: null, flow: i === 9 }, now: T0 });
        ids.push(r.batchId!);
      }
      const all = await store.listBatches({ limit: 20 });
      assert.deepEqual(
        all.map((b) => b.id),
        [...ids].reverse(),
      );
      assert.deepEqual(
        all.slice(0, 3).map((b) => [b.title, b.total, b.isFlow]),
        [
          ['b10', 1, false],
          ['b9', 1, true],
          ['b8', 1, false],
        ],
      );
      assert.deepEqual(
        (await store.listBatches({ limit: 2, beforeId: ids[10] })).map((b) => b.id),
        [ids[9], ids[8]],
      );
      assert.deepEqual(await store.listBatches({ limit: 5, beforeId: ids[0] }), []);
    });

    it('lists by several states and by created time (since inclusive, until exclusive), newest first, with a stable cursor', async () => {
      const a = await insert({}, T0);
      const b = await insert({ task: 'report' }, T0 + 10);
      const c = await insert({}, T0 + 20);
      await finish(b, 'report', { error: 'boom' }, T0 + 30);
      const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
      assert.deepEqual(ids(await store.listJobs({ states: ['queued', 'failed'], limit: 10 })), [c, b, a]);
      assert.deepEqual(ids(await store.listJobs({ states: ['failed'], limit: 10 })), [b]);
      assert.deepEqual(ids(await store.listJobs({ states: ['succeeded', 'cancelled'], limit: 10 })), []);
      assert.deepEqual(ids(await store.listJobs({ createdSince: T0 + 10, limit: 10 })), [c, b]);
      assert.deepEqual(ids(await store.listJobs({ createdSince: T0, createdUntil: T0 + 20, limit: 10 })), [b, a]);
      assert.deepEqual(ids(await store.listJobs({ states: ['queued'], createdSince: T0, beforeId: c, limit: 10 })), [a]);
      assert.deepEqual(ids(await store.listJobs({ state: 'queued', states: ['failed'], limit: 10 })), [], 'state and states both hold');
    });

    it('searches input, result and error text case-insensitively, with % and _ as plain characters', async () => {
      const byInput = await insert({ input: '{"to":"Alice@Example.com","note":"50% off"}' });
      const byResult = await insert({ task: 'report' });
      await finish(byResult, 'report', { result: '{"pages":"ALICE wrote it"}' });
      const byError = await insert({ task: 'report' });
      await finish(byError, 'report', { error: 'mailbox of alice is full' });
      await insert({ input: '{"note":"50x off, a_b"}' });
      const search = (text: string, extra = {}) => store.searchJobs({ text, scanLimit: 100, limit: 10, ...extra });
      assert.deepEqual(
        (await search('alice')).jobs.map((j) => j.id),
        [byError, byResult, byInput],
      );
      assert.deepEqual(
        (await search('alice', { task: 'report', states: ['failed'] })).jobs.map((j) => j.id),
        [byError],
      );
      assert.deepEqual(
        (await search('50%')).jobs.map((j) => j.id),
        [byInput],
        '% is not a wildcard',
      );
      assert.deepEqual((await search('a_c')).jobs, [], '_ is not a wildcard');
      assert.equal((await search('nobody')).scannedDownTo, null, 'a scan that reached the end says so');
    });

    it('a search examines at most scanLimit jobs and says where it stopped', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await insert({ input: i === 0 ? '"needle"' : '"hay"' }));
      // Newest first: ids[5..3] are scanned, none matches; the next page starts below ids[3].
      const first = await store.searchJobs({ text: 'needle', scanLimit: 3, limit: 10 });
      assert.deepEqual([first.jobs, first.scannedDownTo], [[], ids[3]]);
      const second = await store.searchJobs({ text: 'needle', scanLimit: 3, limit: 10, beforeId: first.scannedDownTo! });
      assert.deepEqual(
        second.jobs.map((j) => j.id),
        [ids[0]],
      );
      assert.equal(second.scannedDownTo, ids[0], 'a full window of 3 was scanned: the caller may look below');
      const full = await store.searchJobs({ text: 'hay', scanLimit: 3, limit: 2 });
      assert.deepEqual([full.jobs.length, full.scannedDownTo], [2, null], 'a full page needs no scan edge: the caller pages by its last job');
    });

    it('groups failed jobs by task and error message since a time, most recent first', async () => {
      const e1 = await insert();
      await finish(e1, 'email', { error: 'SMTP down' }, T0 + 1);
      const e2 = await insert();
      await finish(e2, 'email', { error: 'SMTP down' }, T0 + 5);
      const r1 = await insert({ task: 'report' });
      await finish(r1, 'report', { error: 'no template' }, T0 + 3);
      const old = await insert({ runAt: T0 - 1000 });
      await finish(old, 'email', { error: 'ancient' }, T0 - 1000);
      const ok = await insert();
      await finish(ok, 'email', { result: '1' }, T0 + 9);
      assert.deepEqual(await store.groupErrors({ since: T0, limit: 10 }), [
        { task: 'email', message: 'SMTP down', count: 2, lastAt: T0 + 5, sampleJobId: e2 },
        { task: 'report', message: 'no template', count: 1, lastAt: T0 + 3, sampleJobId: r1 },
      ]);
      assert.deepEqual(
        (await store.groupErrors({ task: 'report', since: 0, limit: 10 })).map((g) => g.message),
        ['no template'],
      );
      assert.equal((await store.groupErrors({ since: 0, limit: 1 })).length, 1);
    });

    it("reads a job's dependencies and dependents with their steps and states", async () => {
      const a = await insert();
      const r = await store.insertJobs({
        jobs: [newJob({ task: 'report', step: 'render', after: [{ on: { id: a }, name: null, policy: 'cancel' }] })],
        now: T0,
      });
      const b = r.jobs[0].id;
      assert.deepEqual(await store.getJobLinks({ id: a }), { dependencies: [], dependents: [{ id: b, task: 'report', step: 'render', state: 'waiting' }] });
      assert.deepEqual(await store.getJobLinks({ id: b }), { dependencies: [{ id: a, task: 'email', step: null, state: 'queued' }], dependents: [] });
      assert.deepEqual(await store.getJobLinks({ id: '999999' }), { dependencies: [], dependents: [] });
    });

    it('deletes finished jobs by id, not unfinished ones nor one a job still to run waits for, and their edges go with them', async () => {
      const done = await insert();
      await finish(done, 'email', { result: '1' });
      const queued = await insert();
      const awaited = await insert({ task: 'report' });
      await finish(awaited, 'report', { result: '"input of the next"' });
      const waiting = (
        await store.insertJobs({
          jobs: [newJob({ task: 'report', runAt: T0 + 3_600_000, after: [{ on: { id: awaited }, name: 'x', policy: 'cancel' }] })],
          now: T0,
        })
      ).jobs[0].id;
      const r = await store.deleteJobs({ ids: [done, queued, awaited, '999999', done] });
      const byNumber = (ids: string[]) => [...ids].sort((x, y) => Number(x) - Number(y));
      assert.deepEqual({ ...r, notFinished: byNumber(r.notFinished) }, { deleted: [done], notFinished: byNumber([queued, awaited]), missing: ['999999'] });
      assert.equal(await store.getJob({ id: done }), null);
      // The job that waited is cancelled; then it and what it waited for may go, its edge with it.
      await store.cancelJob({ id: waiting, now: T0 + 1 });
      const again = await store.deleteJobs({ ids: [waiting, awaited] });
      assert.deepEqual(again.deleted.sort(), [awaited, waiting].sort());
      assert.deepEqual(await store.getDependencies({ jobIds: [waiting] }), []);
    });

    it('records workers with the jobs they hold, and a stop request their next upsert reports', async () => {
      const w: WorkerRecord = { id: 'w1', kind: 'node', host: 'h', pid: 1, tasks: ['email'], concurrency: 4, startedAt: T0, lastSeenAt: T0 };
      assert.deepEqual(await store.upsertWorker({ worker: w }), { stopRequested: false });
      await insert();
      await store.claimJobs({ workerId: 'w1', tasks: ['email'], max: 1, leaseMs: LEASE, now: T0 });
      assert.equal(await store.requestWorkerStop({ id: 'nobody', now: T0 }), false);
      assert.equal(await store.requestWorkerStop({ id: 'w1', now: T0 + 5 }), true);
      assert.equal(await store.requestWorkerStop({ id: 'w1', now: T0 + 9 }), true, 'asked again: still true, the first time kept');
      const [listed] = await store.listWorkers({});
      assert.deepEqual([listed.busy, listed.stopRequestedAt], [1, T0 + 5]);
      assert.deepEqual(await store.upsertWorker({ worker: { ...w, lastSeenAt: T0 + 10 } }), { stopRequested: true });
      await store.removeWorker({ id: 'w1' });
      assert.deepEqual(await store.upsertWorker({ worker: w }), { stopRequested: false }, 'a record made again starts afresh');
    });

    it('appends to the audit log, reads it newest first by pages, and prunes it after the retention', async () => {
      const entry = (i: number, at: number): AuditEntry => ({
        actor: i % 2 ? 'ops' : 'local:127.0.0.1',
        method: 'POST',
        route: '/v1/jobs/:id/retry',
        targets: [String(i)],
        summary: i === 0 ? null : '{"action":"retry"}',
        status: 200,
        at,
      });
      await store.recordAudit({ entries: [entry(0, T0), entry(1, T0 + 1)] });
      await store.recordAudit({ entries: [entry(2, T0 + 2)] });
      await store.recordAudit({ entries: [] });
      const all = await store.listAudit({ limit: 10 });
      assert.deepEqual(
        all.map((e) => e.targets),
        [['2'], ['1'], ['0']],
      );
      const { id: _id, ...first } = all[2];
      assert.deepEqual(first, entry(0, T0));
      assert.deepEqual(
        (await store.listAudit({ beforeId: all[0].id, limit: 1 })).map((e) => e.targets),
        [['1']],
      );
      await store.pruneJobs({ now: T0 + 1 + AUDIT_RETENTION_MS, limit: 100 });
      assert.deepEqual(
        (await store.listAudit({ limit: 10 })).map((e) => e.targets),
        [['2'], ['1']],
      );
    });

    it("keeps dashboard sessions by their id hash, touches, forgets one or a token's all, and prunes idle ones at the next login", async () => {
      const session = (idHash: string, tokenHash: string, at: number) => ({ idHash, tokenHash, createdAt: at, lastUsedAt: at });
      await store.createDashboardSession({ session: session('s1', 'tA', T0), idleBefore: T0 - 1000 });
      await store.createDashboardSession({ session: session('s2', 'tA', T0 + 10), idleBefore: T0 - 1000 });
      await store.createDashboardSession({ session: session('s3', 'tB', T0 + 20), idleBefore: T0 - 1000 });
      assert.deepEqual(await store.getDashboardSession({ idHash: 's1' }), session('s1', 'tA', T0));
      assert.equal(await store.getDashboardSession({ idHash: 'nope' }), null);
      await store.touchDashboardSession({ idHash: 's1', now: T0 + 500 });
      await store.touchDashboardSession({ idHash: 's1', now: T0 + 400 }); // a late write never moves it back
      assert.equal((await store.getDashboardSession({ idHash: 's1' }))?.lastUsedAt, T0 + 500);
      assert.equal((await store.getDashboardSession({ idHash: 's1' }))?.createdAt, T0);
      await store.deleteDashboardSessions({ tokenHash: 'tA' });
      assert.equal(await store.getDashboardSession({ idHash: 's1' }), null);
      assert.equal(await store.getDashboardSession({ idHash: 's2' }), null);
      assert.ok(await store.getDashboardSession({ idHash: 's3' }));
      await store.deleteDashboardSessions({ idHash: 's3' });
      assert.equal(await store.getDashboardSession({ idHash: 's3' }), null);
      await store.createDashboardSession({ session: session('old', 'tA', T0), idleBefore: T0 - 1000 });
      await store.createDashboardSession({ session: session('kept', 'tA', T0 + 900), idleBefore: T0 - 1000 });
      await store.createDashboardSession({ session: session('new', 'tA', T0 + 2000), idleBefore: T0 + 500 });
      assert.equal(await store.getDashboardSession({ idHash: 'old' }), null, 'last used before idleBefore');
      assert.ok(await store.getDashboardSession({ idHash: 'kept' }));
      assert.ok(await store.getDashboardSession({ idHash: 'new' }));
    });
  });
}

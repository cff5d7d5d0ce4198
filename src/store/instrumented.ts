import type { BatchRow } from '../core/batch.js';
import { batchOutcome } from '../core/batch.js';
import { DEPENDENCY_FAILED_CODE } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { JobError } from '../core/job.js';
import { leaseExpiredError } from '../core/job-rules.js';
import type {
  CancelBatchResult,
  CancelResult,
  ClaimedJob,
  ClaimParams,
  EndedJob,
  FinishResult,
  InsertedJob,
  InsertJobsParams,
  InsertJobsResult,
  PurgeResult,
  ReapResult,
  Store,
  Touch,
  Transition,
} from './store.js';

export interface CallStats {
  calls: number;
  totalMs: number;
}

/**
 * Wraps a Store once: turns what the store did into events on the process's bus (so waiters,
 * SSE and rules see every change this process makes) and counts calls and time per method.
 * The backends themselves stay free of events and logging.
 */
export type InstrumentedStore = Store & {
  readonly stats: Map<string, CallStats>;
  readonly inFlight: number;
  /** Leases that touches found lost (the job cancelled, or taken over after its lease expired). */
  readonly leasesLost: number;
};

export function instrumentStore(store: Store, bus: EventBus): InstrumentedStore {
  const stats = new Map<string, CallStats>();
  let inFlight = 0;
  let leasesLost = 0;
  // Takes a thunk: a synchronous backend (SQLite) does its work inside the call itself.
  const timed = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    inFlight++;
    try {
      return await call();
    } finally {
      inFlight--;
      let s = stats.get(name);
      if (!s) stats.set(name, (s = { calls: 0, totalMs: 0 }));
      s.calls++;
      s.totalMs += performance.now() - started;
    }
  };
  const enqueued = (jobs: InsertedJob[]) => {
    for (const j of jobs) if (!j.deduplicated) bus.emit('job:enqueued', { id: j.id, task: j.task, runAt: j.runAt });
  };
  const batchesFinished = (batches: (BatchRow | null)[] | undefined) => {
    for (const b of batches ?? []) if (b) bus.emit('batch:finished', batchOutcome(b));
  };
  /** A new job stored waiting, or one ended at once because a job it waits for had already failed. */
  const notRunnableAtInsert = (j: InsertedJob, now: number) => {
    if (j.state === 'waiting') bus.emit('job:enqueued', { id: j.id, task: j.task, runAt: j.runAt, waiting: true });
    else if (j.state === 'cancelled') bus.emit('job:cancelled', { id: j.id, task: j.task });
    else if (j.state === 'failed') {
      const at = new Date(now).toISOString();
      bus.emit('job:failed', {
        id: j.id,
        task: j.task,
        error: { message: 'a job it waits for had already failed or been cancelled', code: DEPENDENCY_FAILED_CODE, attempt: 0, at },
      });
    }
  };
  /** Waiting jobs the store ended because a job they waited for failed or was cancelled. */
  const endedJobs = (jobs: EndedJob[]) => {
    for (const j of jobs) {
      if (j.state === 'failed') bus.emit('job:failed', { id: j.id, task: j.task, error: JSON.parse(j.error) as JobError, batchId: j.batchId });
      else bus.emit('job:cancelled', { id: j.id, task: j.task, batchId: j.batchId });
    }
  };

  const wrapped: InstrumentedStore = {
    stats,
    /** Store calls under way now. */
    get inFlight() {
      return inFlight;
    },
    get leasesLost() {
      return leasesLost;
    },
    capabilities: store.capabilities,
    description: store.description,
    ...(store.connectionStats ? { connectionStats: () => store.connectionStats!() } : {}),

    async insertJobs(p: InsertJobsParams): Promise<InsertJobsResult> {
      const r = await timed('insertJobs', () => store.insertJobs(p));
      if (r.replayed) return r;
      r.jobs.forEach((j, i) => {
        if (j.deduplicated) return;
        if (j.state !== 'queued' && j.state !== 'running') {
          notRunnableAtInsert(j, p.now);
          return;
        }
        const leasedTo = j.leaseToken === undefined ? undefined : p.jobs[i].lease?.workerId;
        bus.emit('job:enqueued', leasedTo === undefined ? { id: j.id, task: j.task, runAt: j.runAt } : { id: j.id, task: j.task, runAt: j.runAt, leasedTo });
        if (leasedTo !== undefined && bus.has('job:started'))
          bus.emit('job:started', { id: j.id, task: j.task, attempt: 1, workerId: leasedTo, createdAt: p.now });
      });
      enqueued(r.followUps);
      batchesFinished([r.finishedBatch]);
      batchesFinished(r.finishedBatches);
      return r;
    },

    async claimJobs(p): Promise<ClaimedJob[]> {
      const jobs = await timed('claimJobs', () => store.claimJobs(p));
      if (bus.has('job:started'))
        for (const j of jobs) bus.emit('job:started', { id: j.id, task: j.task, attempt: j.attempt, workerId: p.workerId, createdAt: j.createdAt });
      return jobs;
    },

    async finishJobs(p: { transitions: Transition[]; now: number; claim?: ClaimParams }): Promise<FinishResult> {
      const r = await timed('finishJobs', () => store.finishJobs(p));
      if (p.claim && bus.has('job:started'))
        for (const j of r.claimed) bus.emit('job:started', { id: j.id, task: j.task, attempt: j.attempt, workerId: p.claim.workerId, createdAt: j.createdAt });
      p.transitions.forEach((t, i) => {
        const { ok, task, concurrencyKey, batchId } = r.results[i];
        if (!ok || task === null) return;
        if (t.to === 'succeeded') bus.emit('job:succeeded', { id: t.id, task, result: t.result, concurrencyKey, batchId });
        else if (t.to === 'failed') bus.emit('job:failed', { id: t.id, task, error: JSON.parse(t.error) as JobError, concurrencyKey, batchId });
        else if (t.error !== null) bus.emit('job:retrying', { id: t.id, task, error: JSON.parse(t.error) as JobError, runAt: t.runAt, concurrencyKey });
        else bus.emit('job:released', { id: t.id, task, runAt: t.runAt, concurrencyKey });
      });
      endedJobs(r.ended);
      enqueued(r.followUps);
      batchesFinished(r.finishedBatches);
      return r;
    },

    async touchJobs(p: { touches: Touch[]; leaseExpiresAt: number | null; now: number }) {
      const r = await timed('touchJobs', () => store.touchJobs(p));
      leasesLost += r.lost.length;
      if (bus.has('job:progress')) {
        const lost = new Set(r.lost);
        for (const t of p.touches) if (t.progress && !lost.has(t.id)) bus.emit('job:progress', { id: t.id, task: t.task ?? '', progress: t.progress });
      }
      return r;
    },

    nextRunAt: (p) => timed('nextRunAt', () => store.nextRunAt(p)),
    getJob: (p) => timed('getJob', () => store.getJob(p)),
    getJobs: (p) => timed('getJobs', () => store.getJobs(p)),
    listJobs: (p) => timed('listJobs', () => store.listJobs(p)),
    searchJobs: (p) => timed('searchJobs', () => store.searchJobs(p)),
    groupErrors: (p) => timed('groupErrors', () => store.groupErrors(p)),
    getJobLinks: (p) => timed('getJobLinks', () => store.getJobLinks(p)),
    deleteJobs: (p) => timed('deleteJobs', () => store.deleteJobs(p)),
    countJobs: (p) => timed('countJobs', () => store.countJobs(p)),
    throughput: (p) => timed('throughput', () => store.throughput(p)),
    countQueuedByPriority: () => timed('countQueuedByPriority', () => store.countQueuedByPriority()),
    getBatch: (p) => timed('getBatch', () => store.getBatch(p)),
    listBatches: (p) => timed('listBatches', () => store.listBatches(p)),
    getDependencies: (p) => timed('getDependencies', () => store.getDependencies(p)),
    listBatchJobs: (p) => timed('listBatchJobs', () => store.listBatchJobs(p)),

    async cancelBatch(p): Promise<CancelBatchResult> {
      const r = await timed('cancelBatch', () => store.cancelBatch(p));
      for (const j of r.cancelled) bus.emit('job:cancelled', { id: j.id, task: j.task, batchId: j.batchId });
      endedJobs(r.ended);
      enqueued(r.followUps);
      batchesFinished(r.finishedBatches);
      return r;
    },

    async cancelJob(p): Promise<CancelResult> {
      const r = await timed('cancelJob', () => store.cancelJob(p));
      if (r.previous !== 'cancelled')
        bus.emit('job:cancelled', { id: r.row.id, task: r.row.task, concurrencyKey: r.row.concurrencyKey, batchId: r.row.batchId });
      endedJobs(r.ended);
      enqueued(r.followUps);
      batchesFinished([r.finishedBatch]);
      batchesFinished(r.finishedBatches);
      return r;
    },

    async retryJob(p) {
      const row = await timed('retryJob', () => store.retryJob(p));
      bus.emit('job:enqueued', { id: row.id, task: row.task, runAt: row.runAt });
      return row;
    },

    async purgeJobs(p): Promise<PurgeResult> {
      const r = await timed('purgeJobs', () => store.purgeJobs(p));
      endedJobs(r.ended);
      enqueued(r.followUps);
      batchesFinished(r.finishedBatches);
      return r;
    },

    findJobsByUniqueKey: (p) => timed('findJobsByUniqueKey', () => store.findJobsByUniqueKey(p)),
    registerTasks: (p) => timed('registerTasks', () => store.registerTasks(p)),
    removeTask: (p) => timed('removeTask', () => store.removeTask(p)),
    createToken: (p) => timed('createToken', () => store.createToken(p)),
    listTokens: (p) => timed('listTokens', () => store.listTokens(p)),
    revokeToken: (p) => timed('revokeToken', () => store.revokeToken(p)),
    findToken: (p) => timed('findToken', () => store.findToken(p)),
    createDashboardSession: (p) => timed('createDashboardSession', () => store.createDashboardSession(p)),
    getDashboardSession: (p) => timed('getDashboardSession', () => store.getDashboardSession(p)),
    touchDashboardSession: (p) => timed('touchDashboardSession', () => store.touchDashboardSession(p)),
    deleteDashboardSessions: (p) => timed('deleteDashboardSessions', () => store.deleteDashboardSessions(p)),
    getTasks: (p) => timed('getTasks', () => store.getTasks(p)),

    async pauseTask(p) {
      await timed('pauseTask', () => store.pauseTask(p));
      bus.emit('task:suspended', { task: p.task, until: p.until });
    },

    saveSchedule: (p) => timed('saveSchedule', () => store.saveSchedule(p)),
    getSchedules: (p) => timed('getSchedules', () => store.getSchedules(p)),
    saveEndpointGroup: (p) => timed('saveEndpointGroup', () => store.saveEndpointGroup(p)),
    getEndpointGroups: (p) => timed('getEndpointGroups', () => store.getEndpointGroups(p)),
    removeEndpointGroup: (p) => timed('removeEndpointGroup', () => store.removeEndpointGroup(p)),
    takePushSlots: (p) => timed('takePushSlots', () => store.takePushSlots(p)),
    releasePushSlots: (p) => timed('releasePushSlots', () => store.releasePushSlots(p)),
    countPushSlots: (p) => timed('countPushSlots', () => store.countPushSlots(p)),
    dueSchedules: (p) => timed('dueSchedules', () => store.dueSchedules(p)),
    nextScheduleTick: () => timed('nextScheduleTick', () => store.nextScheduleTick()),
    setSchedulePaused: (p) => timed('setSchedulePaused', () => store.setSchedulePaused(p)),
    removeSchedule: (p) => timed('removeSchedule', () => store.removeSchedule(p)),
    async fireSchedule(p) {
      const r = await timed('fireSchedule', () => store.fireSchedule(p));
      if (r.job) enqueued([r.job]);
      return r;
    },

    saveRule: (p) => timed('saveRule', () => store.saveRule(p)),
    getRules: (p) => timed('getRules', () => store.getRules(p)),
    setRulePaused: (p) => timed('setRulePaused', () => store.setRulePaused(p)),
    removeRule: (p) => timed('removeRule', () => store.removeRule(p)),
    getRuleAlerts: (p) => timed('getRuleAlerts', () => store.getRuleAlerts(p)),
    async recordRuleAlert(p) {
      const r = await timed('recordRuleAlert', () => store.recordRuleAlert(p));
      if (r.job) enqueued([r.job]);
      return r;
    },
    queueStats: (p) => timed('queueStats', () => store.queueStats(p)),
    countFinishedSince: (p) => timed('countFinishedSince', () => store.countFinishedSince(p)),

    async resumeTask(p) {
      const resumed = await timed('resumeTask', () => store.resumeTask(p));
      if (resumed) bus.emit('task:resumed', { task: p.task });
      return resumed;
    },

    upsertWorker: (p) => timed('upsertWorker', () => store.upsertWorker(p)),
    removeWorker: (p) => timed('removeWorker', () => store.removeWorker(p)),
    listWorkers: (p) => timed('listWorkers', () => store.listWorkers(p)),
    requestWorkerStop: (p) => timed('requestWorkerStop', () => store.requestWorkerStop(p)),
    recordAudit: (p) => timed('recordAudit', () => store.recordAudit(p)),
    listAudit: (p) => timed('listAudit', () => store.listAudit(p)),

    async reapExpiredLeases(p): Promise<ReapResult> {
      const r = await timed('reapExpiredLeases', () => store.reapExpiredLeases(p));
      for (const { id, task, attempt, concurrencyKey } of r.requeued)
        bus.emit('job:retrying', { id, task, error: leaseExpiredError(attempt, p.now), runAt: p.now, concurrencyKey });
      for (const { id, task, attempt, concurrencyKey, batchId } of r.failed)
        bus.emit('job:failed', { id, task, error: leaseExpiredError(attempt, p.now), concurrencyKey, batchId });
      endedJobs(r.ended);
      enqueued(r.followUps);
      batchesFinished(r.finishedBatches);
      return r;
    },

    pruneJobs: (p) => timed('pruneJobs', () => store.pruneJobs(p)),
    ...(store.foldCounters ? { foldCounters: () => timed('foldCounters', () => store.foldCounters!()) } : {}),
    holdDuty: (p) => timed('holdDuty', () => store.holdDuty(p)),
    watch: (listener) => store.watch(listener),
    close: () => store.close(),
  };
  return wrapped;
}

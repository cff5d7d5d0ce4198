import type { BatchRow } from '../../core/batch.js';
import type { EndpointGroup, EndpointGroupRecord } from '../../core/endpoint-group.js';
import { BatchNotFoundError, InvalidEndpointGroupError, InvalidOptionError, JobNotFoundError } from '../../core/errors.js';
import type { JobRow, JobState } from '../../core/job.js';
import { cancelRefusal, checkPurgeStates, leaseExpiredError, retryKeyTaken, retryRefusal } from '../../core/job-rules.js';
import type { RuleAlert, RuleDefinition, RuleRecord } from '../../core/rule.js';
import type { ScheduleDefinition, ScheduleRecord } from '../../core/schedule.js';
import { pruneCutoffs, type ResolvedTaskSettings, resolveTaskSettings, type TaskRecord } from '../../core/task.js';
import { type InsertShape, insertShapes } from '../dependency-plan.js';
import { withoutClaimed } from '../follow-ups.js';
import { containsPattern } from '../like-pattern.js';
import { ruleDefinitionText, ruleRecordOf } from '../rule-rows.js';
import { loadSqlFiles } from '../sql-files.js';
import {
  AUDIT_RETENTION_MS,
  type AuditEntry,
  type AuditRecord,
  type CancelBatchResult,
  type CancelResult,
  type ClaimedJob,
  type ClaimParams,
  type ConnectionStats,
  type CountRow,
  type DashboardSessionRecord,
  type DeleteJobsResult,
  type DependencyRow,
  type ErrorGroupRow,
  type FinishedCountRow,
  type FinishResult,
  type FireScheduleParams,
  type FireScheduleResult,
  type InsertedJob,
  type InsertJobsParams,
  type InsertJobsResult,
  type LinkedJob,
  type ListJobsParams,
  type NewJob,
  type PriorityCountRow,
  type PurgeResult,
  type QueueStatsRow,
  type ReapResult,
  type RecordRuleAlertParams,
  type RecordRuleAlertResult,
  type ReplayedSubmission,
  type SearchJobsParams,
  type SearchJobsResult,
  type Store,
  type StoreChange,
  type TakePushSlotsParams,
  THROUGHPUT_KEPT_MS,
  type ThroughputRow,
  type TokenRecord,
  type TokenScope,
  type Touch,
  type Transition,
  type WorkerRecord,
} from '../store.js';
import { ChangeFeed, type ChangeNote } from './change-feed.js';
import { createPool, Db, migrate, type PgTarget, type Queryable } from './connection.js';
import { addSettled, linkNew, type Run, type Settled, settle } from './dependency-links.js';
import { DutyLocks } from './duty-locks.js';
import {
  BATCH_COLUMNS,
  claimedJob,
  dependencyRow,
  finishedBatch,
  idParam,
  JOB_COLUMNS,
  jobRow,
  payloadColumns,
  SCHEDULE_COLUMNS,
  TOKEN_COLUMNS,
  tokenParam,
  tokenRow,
} from './rows.js';
import { PgSession } from './session.js';

/** Every statement of the PostgreSQL store, by file name. */
export const POSTGRES_QUERIES = loadSqlFiles(new URL('./queries/', import.meta.url), { JOB_COLUMNS, BATCH_COLUMNS, TOKEN_COLUMNS, SCHEDULE_COLUMNS });

/** Statements whose filters fold away only when planned with their actual values: never prepared. */
const UNPREPARED = new Set(['list_jobs', 'search_jobs', 'search_scan_edge', 'count_jobs', 'get_tasks']);

export interface PostgresStoreOptions {
  /** Pooled connections (default 10), plus one dedicated session for LISTEN and duty locks. */
  poolSize?: number;
  /** Backstop: how often watchers are told to look again even without a notification (default 10 000 ms). */
  pollIntervalMs?: number;
}

type Raw = Record<string, unknown>;

/**
 * The scale-out store: any number of processes on any number of machines share one PostgreSQL
 * schema. Claims use FOR UPDATE SKIP LOCKED (limited tasks take a per-task advisory lock);
 * a worker's results and its next claim are one function call, one commit; other processes hear
 * about changes through LISTEN/NOTIFY; cluster-wide duties are held through advisory locks.
 */
export class PostgresStore implements Store {
  readonly capabilities = { changeFeed: 'push', sharedAcrossHosts: true, clusterDuties: 'lock' } as const;
  private readonly session: PgSession;
  private readonly feed: ChangeFeed;
  private readonly duties: DutyLocks;
  private closed = false;

  connectionStats(): ConnectionStats {
    const { totalCount, idleCount, waitingCount } = this.db.pool;
    return { pool: { total: totalCount, idle: idleCount, waiting: waitingCount }, listening: this.feed.listeningNow };
  }

  private constructor(
    private readonly db: Db,
    target: PgTarget,
    readonly description: string,
    options: PostgresStoreOptions,
  ) {
    // The hooks run only once the session connects, after the constructor.
    this.session = new PgSession(target, {
      onConnect: (client) => this.feed.onConnect(client),
      onLost: () => this.duties.onLost(),
    });
    this.duties = new DutyLocks(this.session, target.schema);
    this.feed = new ChangeFeed(db, this.session, `offload_${target.schema}`, options.pollIntervalMs ?? 10_000);
  }

  /** Connects, brings the schema up to date (safe when many processes start at once) and opens the store. */
  static async open(target: PgTarget, description: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const db = new Db(createPool(target, options.poolSize ?? 10));
    try {
      await migrate(db, target.schema);
    } catch (err) {
      await db.pool.end().catch(() => undefined);
      throw err;
    }
    return new PostgresStore(db, target, description, options);
  }

  /** Runs one statement from queries/; hot statements are prepared once per connection. */
  private run<R = Raw>(q: Queryable, name: string, values: unknown[]): Promise<R[]> {
    const text = POSTGRES_QUERIES.get(name);
    if (text === undefined) throw new Error(`missing SQL file ${name}.sql`);
    return q.query<R>(text, values, UNPREPARED.has(name) ? undefined : `offload_${name}`);
  }

  private publish(note: ChangeNote): void {
    this.feed.publish(note);
  }

  // ---- submitting ------------------------------------------------------------------------------

  async insertJobs(p: InsertJobsParams): Promise<InsertJobsResult> {
    if (p.jobs.length === 1 && !p.batch && !p.submitKey && !p.jobs[0].after?.length) {
      const job = await this.insertOne(this.db, p.jobs[0], null, p.now);
      if (runnable(job)) this.publish({ tasks: [job.task] });
      return { jobs: [job], batchId: null, finishedBatch: null, followUps: [] };
    }
    const out = await retryDeadlocks(p.jobs.some((j) => j.after?.length) ? 3 : 0, () => this.insertInTransaction(p));
    if (out.replayed) return out;
    this.publish({
      tasks: [...out.jobs, ...out.followUps].filter(runnable).map((j) => j.task),
      finishedBatches: [...(out.finishedBatch ? [out.finishedBatch.id] : []), ...(out.finishedBatches ?? []).map((b) => b.id)],
    });
    return out;
  }

  private insertInTransaction(p: InsertJobsParams): Promise<InsertJobsResult> {
    return this.db.transaction(async (tx): Promise<InsertJobsResult> => {
      const key = p.submitKey;
      if (key && (await this.run(tx, 'take_submit_key', [key.key, key.fingerprint, p.now, key.expiresAt])).length === 0) {
        const [held] = await this.run<ReplayedSubmission>(tx, 'find_submit_key', [key.key]);
        return { jobs: [], batchId: held.batchId, finishedBatch: null, followUps: [], replayed: held };
      }
      let batchId: string | null = null;
      if (p.batch) {
        const onFinish = p.batch.onFinish ? JSON.stringify({ ...p.batch.onFinish, input: String(p.batch.onFinish.input) }) : null;
        [{ id: batchId }] = await this.run<{ id: string }>(tx, 'insert_batch', [p.batch.title, p.jobs.length, onFinish, p.now, p.batch.flow === true]);
      }
      // Each job is inserted as linking leaves it (its step, waiting, awaited): a row written once
      // more costs every later read of it a version to step over.
      const shapes = insertShapes(p.jobs);
      const jobs = p.jobs.length ? await this.insertMany(tx, p.jobs, shapes, batchId, p.now) : [];
      let finished: BatchRow | null = null;
      const followUps: InsertedJob[] = [];
      const settled: Settled = { followUps, ended: [], finishedBatches: [] };
      if (p.jobs.some((j) => j.after?.length)) await linkNew((name, params) => this.run(tx, name, params), p.jobs, shapes, jobs, p.now, settled);
      if (batchId !== null) {
        const members = jobs.filter((j) => !j.deduplicated).length;
        if (members !== p.jobs.length) await this.run(tx, 'set_batch_total', [batchId, members]);
        if (members === 0) {
          const [r] = await this.run(tx, 'batch_add_finished', [batchId, 0, 0, 0, p.now]);
          if (r) finished = finishedBatch(r, followUps);
        }
      }
      if (key) await this.run(tx, 'save_submit_key', [key.key, jobs.map((j) => j.id), batchId]);
      return { jobs, batchId, finishedBatch: finished, followUps, finishedBatches: settled.finishedBatches };
    });
  }

  private async insertOne(q: Queryable, job: NewJob, batchId: string | null, now: number, shape: InsertShape = NOT_LINKED): Promise<InsertedJob> {
    const [input, inputBytes] = payloadColumns(job.input);
    const values = [
      job.task,
      input,
      inputBytes,
      job.priority,
      job.runAt,
      job.maxAttempts,
      job.timeoutMs,
      job.uniqueKey,
      job.concurrencyKey,
      batchId,
      job.origin,
      now,
      job.lease?.workerId ?? null,
      job.lease?.leaseExpiresAt ?? null,
      job.step ?? null,
      shape.pending,
      shape.awaited,
      job.traceContext ?? null,
    ];
    // A holder of the unique key may finish between the insert and the look-up: then insert again.
    for (let i = 0; i < 5; i++) {
      const [row] = await this.run<{ id: string; leaseToken: string | null }>(q, 'insert_job', values);
      if (row) return insertedJob(job, row.id, row.leaseToken);
      const [holder] = await this.run<Holder>(q, 'find_unique_jobs', [[job.task], [job.uniqueKey]]);
      if (holder) return this.heldBy(q, job, holder);
    }
    throw new Error(`insert of a ${job.task} job kept conflicting on unique key "${job.uniqueKey}" with no job holding it`);
  }

  private async insertMany(tx: Queryable, jobs: NewJob[], shapes: InsertShape[], batchId: string | null, now: number): Promise<InsertedJob[]> {
    const payloads = jobs.map((j) => payloadColumns(j.input));
    const rows = await this.run<{ id: string; inserted: boolean; leaseToken: string | null }>(tx, 'insert_jobs', [
      jobs.map((j) => j.task),
      payloads.map((p) => p[0]),
      payloads.map((p) => p[1]),
      jobs.map((j) => j.priority),
      jobs.map((j) => j.runAt),
      jobs.map((j) => j.maxAttempts),
      jobs.map((j) => j.timeoutMs),
      jobs.map((j) => j.uniqueKey),
      jobs.map((j) => j.concurrencyKey),
      jobs.map((j) => j.origin),
      batchId,
      now,
      jobs.map((j) => j.lease?.workerId ?? null),
      jobs.map((j) => j.lease?.leaseExpiresAt ?? null),
      jobs.map((j) => j.step ?? null),
      shapes.map((x) => x.pending),
      shapes.map((x) => x.awaited),
      jobs.map((j) => j.traceContext ?? null),
    ]);
    const out: (InsertedJob | undefined)[] = rows.map((r, i) => (r.inserted ? insertedJob(jobs[i], r.id, r.leaseToken) : undefined));
    const missing = jobs.map((j, i) => ({ j, i })).filter(({ i }) => out[i] === undefined);
    if (missing.length) {
      const holders = await this.run<Holder>(tx, 'find_unique_jobs', [missing.map((m) => m.j.task), missing.map((m) => m.j.uniqueKey)]);
      const byKey = new Map(holders.map((h) => [`${h.task}\u0000${h.uniqueKey}`, h]));
      for (const { j, i } of missing) {
        const h = byKey.get(`${j.task}\u0000${j.uniqueKey}`);
        out[i] = h ? await this.heldBy(tx, j, h) : await this.insertOne(tx, j, batchId, now, shapes[i]);
      }
    }
    return out as InsertedJob[];
  }

  /** What a submission whose unique key is held gets: the holder, which takes its input and run time when debounced and still queued. */
  private async heldBy(q: Queryable, job: NewJob, holder: Holder): Promise<InsertedJob> {
    if (job.debounce && holder.state === 'queued') {
      const [input, inputBytes] = payloadColumns(job.input);
      const [updated] = await this.run(q, 'debounce_job', [holder.id, input, inputBytes, job.runAt]);
      if (updated) return { id: holder.id, task: job.task, deduplicated: true, debounced: true, state: 'queued', runAt: job.runAt };
    }
    return { id: holder.id, task: job.task, deduplicated: true, state: holder.state, runAt: holder.runAt };
  }

  // ---- working ---------------------------------------------------------------------------------

  async claimJobs(p: ClaimParams): Promise<ClaimedJob[]> {
    if (p.max <= 0 || p.tasks.length === 0) return [];
    const rows = await this.run(this.db, 'claim_jobs', [p.workerId, p.tasks, p.max, p.leaseMs, p.now]);
    return rows.map(claimedJob);
  }

  async finishJobs(p: { transitions: Transition[]; now: number; claim?: ClaimParams }): Promise<FinishResult> {
    // A job given twice in one call: its later outcomes are judged after the first is written (in
    // one statement, PostgreSQL would apply either).
    const seen = new Set<string>();
    const repeats = p.transitions.map((x) => {
      const again = seen.has(x.id);
      seen.add(x.id);
      return again;
    });
    if (repeats.some(Boolean)) return this.finishInTwo(p, repeats);
    return this.finishOnce(p);
  }

  private async finishInTwo(p: { transitions: Transition[]; now: number; claim?: ClaimParams }, repeats: boolean[]): Promise<FinishResult> {
    const first = await this.finishOnce({ ...p, transitions: p.transitions.filter((_, i) => !repeats[i]) });
    const later = await this.finishJobs({ transitions: p.transitions.filter((_, i) => repeats[i]), now: p.now });
    const [a, b] = [first.results[Symbol.iterator](), later.results[Symbol.iterator]()];
    return {
      results: repeats.map((r) => (r ? b : a).next().value!),
      finishedBatches: [...first.finishedBatches, ...later.finishedBatches],
      followUps: [...first.followUps, ...later.followUps],
      ended: [...first.ended, ...later.ended],
      claimed: first.claimed,
    };
  }

  private async finishOnce(p: { transitions: Transition[]; now: number; claim?: ClaimParams }): Promise<FinishResult> {
    const t = p.transitions;
    const results = t.map((x) => (x.to === 'succeeded' ? payloadColumns(x.result) : [null, null]));
    const c = p.claim && p.claim.max > 0 && p.claim.tasks.length > 0 ? p.claim : undefined;
    const rows = await this.run<Raw & { kind: string; ord: number }>(this.db, 'finish_jobs', [
      t.map((x) => idParam(x.id)),
      t.map((x) => tokenParam(x.token)),
      t.map((x) => x.to),
      results.map((r) => r[0]),
      results.map((r) => r[1]),
      t.map((x) => (x.to === 'succeeded' ? null : x.error)),
      t.map((x) => (x.to === 'queued' ? x.runAt : null)),
      t.map((x) => (x.to === 'queued' && !x.countAttempt ? 1 : 0)),
      p.now,
      c?.workerId ?? null,
      c?.tasks ?? null,
      c?.max ?? 0,
      c?.leaseMs ?? 0,
      c?.now ?? p.now,
    ]);
    const out: FinishResult = {
      results: t.map(() => ({ ok: false, task: null, concurrencyKey: null })),
      finishedBatches: [],
      followUps: [],
      ended: [],
      claimed: [],
    };
    for (const r of rows) {
      if (r.kind === 'r')
        out.results[r.ord - 1] = {
          ok: true,
          task: r.task as string,
          concurrencyKey: (r.concurrencyKey ?? null) as string | null,
          batchId: (r.batchId ?? null) as string | null,
        };
      else if (r.kind === 'b') out.finishedBatches.push(finishedBatch(r.extra as Raw, out.followUps));
      else if (r.kind === 'q' || r.kind === 'e') addSettled([settleRowOf(r)], out);
      else out.claimed.push(claimedJob(r));
    }
    withoutClaimed(out);
    const done = t.filter((_x, i) => out.results[i].ok);
    if (done.length) {
      // Tasks are named only for jobs that can run again (requeued), are new (onFinish jobs), or
      // freed a concurrency key's slot (a job of that key may wait for it, in any process):
      // naming every finished job's task would send every other worker to claim after every
      // turn of every worker. A slot freed under a task-wide limit is refilled by the finishing
      // worker's own claim in this same call, or by the others' polling.
      this.publish({
        tasks: [
          ...t.flatMap((x, i) => (out.results[i].ok && (x.to === 'queued' || out.results[i].concurrencyKey !== null) ? [out.results[i].task!] : [])),
          ...out.followUps.map((j) => j.task),
        ],
        finished: [...done.filter((x) => x.to !== 'queued').map((x) => x.id), ...out.ended.map((e) => e.id)],
        finishedBatches: out.finishedBatches.map((b) => b.id),
      });
    }
    return out;
  }

  async touchJobs(p: { touches: Touch[]; leaseExpiresAt: number | null; now: number }): Promise<{ lost: string[] }> {
    // Like SQLite: a touch with nothing to write is not checked.
    const touches = p.touches.filter((t) => p.leaseExpiresAt !== null || t.progress);
    if (touches.length === 0) return { lost: [] };
    const rows = await this.run<{ id: string }>(this.db, 'touch_jobs', [
      touches.map((t) => idParam(t.id)),
      touches.map((t) => tokenParam(t.token)),
      p.leaseExpiresAt,
      touches.map((t) => t.progress?.done ?? null),
      touches.map((t) => t.progress?.total ?? null),
      touches.map((t) => t.progress?.message ?? null),
      touches.map((t) => t.progress !== undefined),
    ]);
    const held = new Set(rows.map((r) => r.id));
    return { lost: touches.filter((t) => !held.has(t.id)).map((t) => t.id) };
  }

  async nextRunAt(p: { tasks: string[] }): Promise<number | null> {
    const [r] = await this.run<{ runAt: number | null }>(this.db, 'next_run_at', [p.tasks]);
    return r.runAt;
  }

  // ---- reading ---------------------------------------------------------------------------------

  async getJob(p: { id: string }): Promise<JobRow | null> {
    const id = idParam(p.id);
    if (id === null) return null;
    const [r] = await this.run(this.db, 'get_job', [id]);
    return r ? jobRow(r) : null;
  }

  async getJobs(p: { ids: string[] }): Promise<JobRow[]> {
    const ids = p.ids.map(idParam).filter((id) => id !== null);
    if (ids.length === 0) return [];
    return (await this.run(this.db, 'get_jobs', [ids])).map(jobRow);
  }

  async listJobs(p: ListJobsParams): Promise<JobRow[]> {
    const f = filterParams(p);
    const rows = await this.run(this.db, 'list_jobs', [f.task, f.states, f.batchId, f.beforeId, p.limit, f.since, f.until]);
    return rows.map(jobRow);
  }

  async searchJobs(p: SearchJobsParams): Promise<SearchJobsResult> {
    const f = filterParams(p);
    const rows = await this.run(this.db, 'search_jobs', [
      f.task,
      f.states,
      f.batchId,
      f.beforeId,
      p.limit,
      f.since,
      f.until,
      p.scanLimit,
      containsPattern(p.text),
    ]);
    const jobs = rows.map(jobRow);
    if (jobs.length >= p.limit) return { jobs, scannedDownTo: null };
    const [edge] = await this.run<{ n: number; low: string | null }>(this.db, 'search_scan_edge', [
      f.task,
      f.states,
      f.batchId,
      f.beforeId,
      f.since,
      f.until,
      p.scanLimit,
    ]);
    return { jobs, scannedDownTo: edge.n >= p.scanLimit ? edge.low : null };
  }

  async groupErrors(p: { task?: string; since: number; limit: number }): Promise<ErrorGroupRow[]> {
    return this.run<ErrorGroupRow>(this.db, 'group_errors', [p.task ?? null, p.since, p.limit]);
  }

  async getJobLinks(p: { id: string }): Promise<{ dependencies: LinkedJob[]; dependents: LinkedJob[] }> {
    const id = idParam(p.id);
    if (id === null) return { dependencies: [], dependents: [] };
    const [dependencies, dependents] = await Promise.all([
      this.run<LinkedJob>(this.db, 'job_dependencies', [id]),
      this.run<LinkedJob>(this.db, 'job_dependents', [id]),
    ]);
    return { dependencies, dependents };
  }

  async countQueuedByPriority(): Promise<PriorityCountRow[]> {
    return this.run<PriorityCountRow>(this.db, 'count_queued_by_priority', []);
  }

  async countJobs(p: { task?: string; states?: JobState[] }): Promise<CountRow[]> {
    return this.run<CountRow>(this.db, 'count_jobs', [p.task ?? null, p.states ?? null]);
  }

  async throughput(p: { since: number; tasks?: string[] }): Promise<ThroughputRow[]> {
    return this.run<ThroughputRow>(this.db, 'throughput', [p.since, p.tasks ?? null]);
  }

  async getBatch(p: { id: string }): Promise<BatchRow | null> {
    const id = idParam(p.id);
    if (id === null) return null;
    const [r] = await this.run<BatchRow>(this.db, 'get_batch', [id]);
    return r ?? null;
  }

  async listBatches(p: { limit: number; beforeId?: string }): Promise<BatchRow[]> {
    return this.run<BatchRow>(this.db, 'list_batches', [p.beforeId === undefined ? null : idParam(p.beforeId), p.limit]);
  }

  async getDependencies(p: { jobIds: string[] }): Promise<DependencyRow[]> {
    const ids = p.jobIds.map(idParam).filter((id): id is string => id !== null);
    if (ids.length === 0) return [];
    return (await this.run(this.db, 'get_dependencies', [ids])).map(dependencyRow);
  }

  async listBatchJobs(p: { batchId: string; limit: number }): Promise<JobRow[]> {
    const id = idParam(p.batchId);
    if (id === null) return [];
    return (await this.run(this.db, 'list_batch_jobs', [id, p.limit])).map(jobRow);
  }

  // ---- acting on jobs --------------------------------------------------------------------------

  async cancelBatch(p: { id: string; now: number }): Promise<CancelBatchResult> {
    const id = idParam(p.id);
    const out = await this.db.transaction(async (tx): Promise<CancelBatchResult> => {
      const [batch] = id === null ? [] : await this.run(tx, 'get_batch', [id]);
      if (!batch) throw new BatchNotFoundError(p.id);
      const r: CancelBatchResult = { cancelled: [], finishedBatches: [], followUps: [], ended: [] };
      const rows = await this.run<{ id: string; task: string; hasDependents: boolean }>(tx, 'cancel_batch_jobs', [id, p.now]);
      if (rows.length === 0) return r;
      r.cancelled = rows.map((x) => ({ id: x.id, task: x.task, state: 'cancelled' as const, batchId: p.id, error: 'null' }));
      const [b] = await this.run(tx, 'batch_add_finished', [id, 0, 0, rows.length, p.now]);
      if (b) r.finishedBatches.push(finishedBatch(b, r.followUps));
      const awaited = rows.filter((x) => x.hasDependents).map((x) => x.id);
      if (awaited.length) await settle((name, params) => this.run(tx, name, params), awaited, null, p.now, r);
      return r;
    });
    if (out.cancelled.length) {
      this.publish({
        tasks: out.followUps.map((j) => j.task),
        finished: [...out.cancelled, ...out.ended].map((e) => e.id),
        finishedBatches: out.finishedBatches.map((b) => b.id),
      });
    }
    return out;
  }

  async cancelJob(p: { id: string; now: number }): Promise<CancelResult> {
    const out = await this.db.transaction(async (tx): Promise<CancelResult> => {
      const { row: before, hasDependents: awaited } = await this.lockJob(tx, p.id);
      const previous = before.state;
      if (previous === 'cancelled') return { row: before, previous, finishedBatch: null, followUps: [], ended: [], finishedBatches: [] };
      const refusal = cancelRefusal(p.id, previous);
      if (refusal) throw refusal;
      const [r] = await this.run(tx, 'cancel_job', [before.id, p.now]);
      const row = jobRow(r);
      const settled: Settled = { followUps: [], ended: [], finishedBatches: [] };
      let finished: BatchRow | null = null;
      if (row.batchId !== null) {
        const [b] = await this.run(tx, 'batch_add_finished', [row.batchId, 0, 0, 1, p.now]);
        if (b) finished = finishedBatch(b, settled.followUps);
      }
      if (awaited) await settle((name, params) => this.run(tx, name, params), [row.id], null, p.now, settled);
      return { row, previous, finishedBatch: finished, ...settled };
    });
    if (out.previous !== 'cancelled') {
      this.publish({
        // A cancelled job with a concurrency key frees the key's slot for others' workers.
        tasks: [...(out.row.concurrencyKey !== null && out.previous === 'running' ? [out.row.task] : []), ...out.followUps.map((j) => j.task)],
        finished: [out.row.id, ...out.ended.map((e) => e.id)],
        finishedBatches: [...(out.finishedBatch ? [out.finishedBatch.id] : []), ...out.finishedBatches.map((b) => b.id)],
      });
    }
    return out;
  }

  /** Reads a job and locks it for the rest of the transaction, with whether other jobs wait for it. */
  private async lockJob(tx: Queryable, id: string): Promise<{ row: JobRow; hasDependents: boolean }> {
    const checked = idParam(id);
    const [r] = checked === null ? [] : await this.run(tx, 'lock_job', [checked]);
    if (!r) throw new JobNotFoundError(id);
    const hasDependents = r.hasDependents === true;
    return { row: jobRow(r), hasDependents };
  }

  async retryJob(p: { id: string; now: number }): Promise<JobRow> {
    const row = await this.db.transaction(async (tx) => {
      const { row: before } = await this.lockJob(tx, p.id);
      const state = before.state;
      const refusal = retryRefusal(p.id, state);
      if (refusal) throw refusal;
      let r: Raw;
      try {
        [r] = await this.run(tx, 'retry_job', [before.id, p.now]);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') {
          throw retryKeyTaken(p.id, state, before.uniqueKey as string | null);
        }
        throw err;
      }
      if (before.batchId !== null) {
        await this.run(tx, 'batch_add_finished', [before.batchId, 0, state === 'failed' ? -1 : 0, state === 'cancelled' ? -1 : 0, p.now]);
      }
      return jobRow(r);
    });
    this.publish({ tasks: [row.task] });
    return row;
  }

  async purgeJobs(p: { task: string; states: JobState[]; now: number }): Promise<PurgeResult> {
    checkPurgeStates(p.states);
    const out = await this.db.transaction(async (tx) => {
      // Asked for by an operator, and one statement however many jobs: no statement timeout.
      await tx.query('SET LOCAL statement_timeout = 0');
      const r: PurgeResult = { deleted: 0, finishedBatches: [], followUps: [], ended: [] };
      const run: Run = (name, params) => this.run(tx, name, params);
      for (const state of p.states) {
        const unstarted = state === 'queued' || state === 'waiting';
        const members = unstarted ? await this.run<{ batchId: string; n: number }>(tx, 'queued_batch_members', [p.task, state]) : [];
        if (unstarted) {
          // Those that others wait for are cancelled first, so their dependents settle (by policy).
          const awaited = (await this.run<{ id: string }>(tx, 'purged_with_dependents', [p.task, state])).map((x) => x.id);
          if (awaited.length) {
            await settle(run, awaited, null, p.now, r);
            r.deleted += (await this.run<{ n: number }>(tx, 'delete_jobs_by_id', [awaited]))[0].n;
          }
        }
        const [{ n }] = await this.run<{ n: number }>(tx, 'delete_jobs', [p.task, state]);
        r.deleted += n;
        for (const m of members) {
          const [b] = await this.run(tx, 'batch_add_finished', [m.batchId, 0, 0, m.n, p.now]);
          if (b) r.finishedBatches.push(finishedBatch(b, r.followUps));
        }
      }
      return r;
    });
    if (out.finishedBatches.length || out.followUps.length || out.ended.length) {
      this.publish({ tasks: out.followUps.map((j) => j.task), finished: out.ended.map((e) => e.id), finishedBatches: out.finishedBatches.map((b) => b.id) });
    }
    return out;
  }

  async deleteJobs(p: { ids: string[] }): Promise<DeleteJobsResult> {
    const ids = [...new Set(p.ids)];
    const valid = ids.filter((id) => idParam(id) !== null);
    const rows = valid.length ? await this.run<{ id: string; deleted: boolean }>(this.db, 'delete_finished_jobs', [valid]) : [];
    const found = new Set(rows.map((r) => r.id));
    return {
      deleted: rows.filter((r) => r.deleted).map((r) => r.id),
      notFinished: rows.filter((r) => !r.deleted).map((r) => r.id),
      missing: ids.filter((id) => !found.has(id)),
    };
  }

  async findJobsByUniqueKey(p: { uniqueKey: string }): Promise<JobRow[]> {
    return (await this.run(this.db, 'find_jobs_by_unique_key', [p.uniqueKey])).map(jobRow);
  }

  // ---- task registry ---------------------------------------------------------------------------

  async registerTasks(p: { tasks: { name: string; settings: ResolvedTaskSettings }[]; now: number; onlyIfMissing?: boolean }): Promise<void> {
    if (p.tasks.length === 0) return;
    await this.run(this.db, p.onlyIfMissing ? 'insert_tasks_if_missing' : 'upsert_tasks', [
      p.tasks.map((t) => t.name),
      p.tasks.map((t) => JSON.stringify(t.settings)),
      p.tasks.map((t) => t.settings.concurrency),
      p.tasks.map((t) => t.settings.concurrencyPerKey),
      p.tasks.map((t) => t.settings.rateLimit?.limit ?? null),
      p.tasks.map((t) => t.settings.rateLimit?.periodMs ?? null),
      p.tasks.map((t) => t.settings.rateLimit?.key ?? null),
      p.now,
    ]);
  }

  async getTasks(p: { names?: string[] }): Promise<TaskRecord[]> {
    const rows = await this.run<Raw>(this.db, 'get_tasks', [p.names ?? null]);
    return rows.map((r) => ({
      name: r.name as string,
      settings: JSON.parse(r.settings as string) as ResolvedTaskSettings,
      pausedUntil: r.pausedUntil as number | null,
      updatedAt: r.updatedAt as number,
    }));
  }

  async pauseTask(p: { task: string; until: number }): Promise<void> {
    await this.run(this.db, 'pause_task', [p.task, p.until]);
  }

  async resumeTask(p: { task: string }): Promise<boolean> {
    const resumed = (await this.run(this.db, 'resume_task', [p.task])).length === 1;
    // Workers of other processes wake for its jobs now, not at their next poll.
    if (resumed) this.publish({ tasks: [p.task] });
    return resumed;
  }

  async removeTask(p: { name: string }): Promise<boolean> {
    return (await this.run(this.db, 'remove_task', [p.name])).length === 1;
  }

  // ---- schedules -------------------------------------------------------------------------------

  async saveSchedule(p: { schedule: ScheduleDefinition; nextTickAt: number | null; now: number }): Promise<ScheduleRecord> {
    const d = p.schedule;
    await this.run(this.db, 'save_schedule', [
      d.name,
      d.task,
      d.cron,
      d.timezone,
      d.input,
      d.overlap,
      d.catchUp,
      d.catchUpLimit,
      d.jitterMs,
      d.priority,
      d.description,
      p.nextTickAt,
      p.now,
    ]);
    return (await this.getSchedules({ names: [d.name] }))[0];
  }

  async getSchedules(p: { names?: string[] }): Promise<ScheduleRecord[]> {
    return (await this.run<ScheduleRecord>(this.db, 'get_schedules', [p.names ?? null])).map(scheduleRow);
  }

  async dueSchedules(p: { now: number; limit: number }): Promise<ScheduleRecord[]> {
    return (await this.run<ScheduleRecord>(this.db, 'due_schedules', [p.now, p.limit])).map(scheduleRow);
  }

  async nextScheduleTick(): Promise<number | null> {
    const [r] = await this.run<{ at: number | null }>(this.db, 'next_schedule_tick', []);
    return r?.at ?? null;
  }

  async setSchedulePaused(p: { name: string; paused: boolean; nextTickAt: number | null; now: number }): Promise<boolean> {
    return (await this.run(this.db, 'set_schedule_paused', [p.name, p.paused, p.nextTickAt, p.now])).length === 1;
  }

  // ---- endpoint groups -------------------------------------------------------------------------

  async saveEndpointGroup(p: { group: EndpointGroup; now: number }): Promise<EndpointGroupRecord> {
    const g = p.group;
    const settings = g.taskSettings ?? resolveTaskSettings(g.tasks[0], {});
    await this.db.transaction(async (tx) => {
      const taken = await this.run<{ name: string; pushGroup: string }>(tx, 'bound_elsewhere', [g.name, g.tasks]);
      if (taken.length) throw new InvalidEndpointGroupError(g.name, `task "${taken[0].name}" is bound to group "${taken[0].pushGroup}"; remove it there first`);
      await this.run(tx, 'save_endpoint_group', [g.name, JSON.stringify(g), p.now]);
      const n = g.tasks.length;
      const each = <T>(v: T) => Array.from({ length: n }, () => v);
      await this.run(tx, g.taskSettings ? 'upsert_tasks' : 'insert_tasks_if_missing', [
        g.tasks,
        each(JSON.stringify(settings)),
        each(settings.concurrency),
        each(settings.concurrencyPerKey),
        each(settings.rateLimit?.limit ?? null),
        each(settings.rateLimit?.periodMs ?? null),
        each(settings.rateLimit?.key ?? null),
        p.now,
      ]);
      await this.run(tx, 'bind_push_tasks', [g.name, g.tasks]);
    });
    return (await this.getEndpointGroups({ names: [g.name] }))[0];
  }

  async getEndpointGroups(p: { names?: string[] }): Promise<EndpointGroupRecord[]> {
    const rows = await this.run<Raw>(this.db, 'get_endpoint_groups', [p.names ?? null]);
    return rows.map((r) => ({ group: JSON.parse(r.definition as string) as EndpointGroup, createdAt: Number(r.createdAt), updatedAt: Number(r.updatedAt) }));
  }

  async removeEndpointGroup(p: { name: string }): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await this.run(tx, 'bind_push_tasks', [p.name, []]);
      return (await this.run(tx, 'remove_endpoint_group', [p.name])).length === 1;
    });
  }

  async takePushSlots(p: TakePushSlotsParams): Promise<(string | null)[]> {
    if (p.requests.length === 0) {
      if (p.release?.length) await this.releasePushSlots({ slots: p.release });
      return [];
    }
    const [row] = await this.run<{ chosen: (string | null)[] }>(this.db, 'take_push_slots', [
      p.group,
      p.requests.map((r) => r.jobId),
      p.requests.map((r) => r.leaseToken),
      JSON.stringify(p.requests.map((r) => r.order)),
      p.endpoints.map((e) => e.id),
      p.endpoints.map((e) => e.concurrency),
      p.endpoints.map((e) => e.weight),
      p.groupConcurrency,
      p.leastOutstanding,
      p.now,
      (p.release ?? []).map((r) => r.jobId),
      (p.release ?? []).map((r) => r.leaseToken),
    ]);
    return row.chosen;
  }

  async releasePushSlots(p: { slots: { jobId: string; leaseToken: string }[] }): Promise<void> {
    if (p.slots.length === 0) return;
    await this.run(this.db, 'release_push_slots', [p.slots.map((s) => s.jobId), p.slots.map((s) => s.leaseToken)]);
  }

  async countPushSlots(p: { group: string }): Promise<{ endpoint: string; outstanding: number }[]> {
    return this.run<{ endpoint: string; outstanding: number }>(this.db, 'count_push_slots', [p.group]);
  }

  async removeSchedule(p: { name: string }): Promise<boolean> {
    return (await this.run(this.db, 'remove_schedule', [p.name])).length === 1;
  }

  async fireSchedule(p: FireScheduleParams): Promise<FireScheduleResult> {
    const out = await this.db.transaction(async (tx): Promise<FireScheduleResult> => {
      const [row] = await this.run<{ nextTickAt: number | null; paused: boolean; overlap: string; lastJobLive: boolean | null }>(tx, 'lock_schedule', [p.name]);
      if (!row) return { outcome: 'gone', job: null };
      const { tick } = p;
      if (tick && (row.paused || row.nextTickAt !== tick.cursor)) return { outcome: 'stale', job: null };
      const move = (lastTickAt: number | null, lastJobId: string | null) =>
        this.run(tx, 'record_schedule_tick', [p.name, tick?.next ?? null, tick !== undefined, lastTickAt, lastJobId]);
      if (!p.job) {
        await move(null, null);
        return { outcome: 'dropped', job: null };
      }
      if (tick && !p.ignoreOverlap && row.lastJobLive === true && row.overlap === 'skip') {
        await move(tick.at, null);
        return { outcome: 'skipped', job: null };
      }
      const key = p.submitKey;
      if (key && (await this.run(tx, 'take_submit_key', [key.key, key.fingerprint, p.now, key.expiresAt])).length === 0) {
        await move(tick?.at ?? null, null);
        return { outcome: 'stale', job: null };
      }
      const job = await this.insertOne(tx, p.job, null, p.now);
      if (key) await this.run(tx, 'save_submit_key', [key.key, [job.id], null]);
      await move(tick?.at ?? null, job.id);
      return { outcome: 'fired', job };
    });
    if (out.job && runnable(out.job)) this.publish({ tasks: [out.job.task] });
    return out;
  }

  // ---- rules -----------------------------------------------------------------------------------

  async saveRule(p: { rule: RuleDefinition; now: number }): Promise<RuleRecord> {
    await this.run(this.db, 'save_rule', [p.rule.name, ruleDefinitionText(p.rule), p.now]);
    return (await this.getRules({ names: [p.rule.name] }))[0];
  }

  async getRules(p: { names?: string[] }): Promise<RuleRecord[]> {
    return (await this.run(this.db, 'get_rules', [p.names ?? null])).map((r) => ruleRecordOf(r as never));
  }

  async setRulePaused(p: { name: string; paused: boolean; now: number }): Promise<boolean> {
    return (await this.run(this.db, 'set_rule_paused', [p.name, p.paused, p.now])).length === 1;
  }

  async removeRule(p: { name: string }): Promise<boolean> {
    return (await this.run(this.db, 'remove_rule', [p.name])).length === 1;
  }

  async getRuleAlerts(p: { rule?: string }): Promise<RuleAlert[]> {
    const rows = await this.run<RuleAlert>(this.db, 'get_rule_alerts', [p.rule ?? null]);
    return rows.map((r) => ({ ...r, value: Number(r.value), since: Number(r.since) }));
  }

  async recordRuleAlert(p: RecordRuleAlertParams): Promise<RecordRuleAlertResult> {
    const out = await this.db.transaction(async (tx): Promise<RecordRuleAlertResult> => {
      const rows = p.firing
        ? await this.run(tx, 'insert_rule_alert', [p.rule, p.subject, p.value, p.now])
        : await this.run(tx, 'delete_rule_alert', [p.rule, p.subject]);
      const changed = rows.length === 1;
      return { changed, job: changed && p.job ? await this.insertOne(tx, p.job, null, p.now) : null };
    });
    if (out.job && runnable(out.job)) this.publish({ tasks: [out.job.task] });
    return out;
  }

  async queueStats(p: { tasks: string[] }): Promise<QueueStatsRow[]> {
    if (p.tasks.length === 0) return [];
    const rows = await this.run<QueueStatsRow>(this.db, 'queue_stats', [p.tasks]);
    return rows.map((r) => ({ task: r.task, queued: Number(r.queued), oldestRunAt: r.oldestRunAt === null ? null : Number(r.oldestRunAt) }));
  }

  async countFinishedSince(p: { tasks: string[]; since: number }): Promise<FinishedCountRow[]> {
    if (p.tasks.length === 0) return [];
    return this.run<FinishedCountRow>(this.db, 'count_finished_since', [p.tasks, p.since]);
  }

  // ---- tokens ----------------------------------------------------------------------------------

  async createToken(p: { name: string; scope: TokenScope; tasks: string[]; hash: string; now: number }): Promise<TokenRecord> {
    try {
      const [r] = await this.run(this.db, 'insert_token', [p.name, p.scope, p.tasks, p.hash, p.now]);
      return tokenRow(r);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new InvalidOptionError('name', `a token named "${p.name}" already exists; choose another name`);
      throw err;
    }
  }

  async listTokens(p: { includeRevoked?: boolean }): Promise<TokenRecord[]> {
    return (await this.run(this.db, 'list_tokens', [p.includeRevoked === true])).map(tokenRow);
  }

  async revokeToken(p: { name: string; now: number }): Promise<boolean> {
    return (await this.run(this.db, 'revoke_token', [p.name, p.now])).length === 1;
  }

  async findToken(p: { hash: string }): Promise<TokenRecord | null> {
    const [r] = await this.run(this.db, 'find_token', [p.hash]);
    return r ? tokenRow(r) : null;
  }

  // ---- workers ---------------------------------------------------------------------------------

  async upsertWorker(p: { worker: WorkerRecord }): Promise<{ stopRequested: boolean }> {
    const w = p.worker;
    const [r] = await this.run<{ stopRequestedAt: number | null }>(this.db, 'upsert_worker', [
      w.id,
      w.kind,
      w.host,
      w.pid,
      w.tasks,
      w.concurrency,
      w.startedAt,
      w.lastSeenAt,
    ]);
    return { stopRequested: r?.stopRequestedAt != null };
  }

  async removeWorker(p: { id: string }): Promise<void> {
    await this.run(this.db, 'remove_worker', [p.id]);
  }

  async listWorkers(p: { seenSince?: number }): Promise<WorkerRecord[]> {
    return this.run<WorkerRecord>(this.db, 'list_workers', [p.seenSince ?? 0]);
  }

  async requestWorkerStop(p: { id: string; now: number }): Promise<boolean> {
    return (await this.run(this.db, 'request_worker_stop', [p.id, p.now])).length === 1;
  }

  // ---- dashboard sessions ----------------------------------------------------------------------

  async createDashboardSession(p: { session: DashboardSessionRecord; idleBefore: number }): Promise<void> {
    const x = p.session;
    await this.run(this.db, 'insert_dashboard_session', [x.idHash, x.tokenHash, x.createdAt, x.lastUsedAt, p.idleBefore]);
  }

  async getDashboardSession(p: { idHash: string }): Promise<DashboardSessionRecord | null> {
    const [r] = await this.run<DashboardSessionRecord>(this.db, 'get_dashboard_session', [p.idHash]);
    return r ?? null;
  }

  async touchDashboardSession(p: { idHash: string; now: number }): Promise<void> {
    await this.run(this.db, 'touch_dashboard_session', [p.idHash, p.now]);
  }

  async deleteDashboardSessions(p: { idHash?: string; tokenHash?: string }): Promise<void> {
    await this.run(this.db, 'delete_dashboard_sessions', [p.idHash ?? null, p.tokenHash ?? null]);
  }

  // ---- audit log -------------------------------------------------------------------------------

  async recordAudit(p: { entries: AuditEntry[] }): Promise<void> {
    const e = p.entries;
    if (e.length === 0) return;
    await this.run(this.db, 'insert_audit', [
      e.map((x) => x.actor),
      e.map((x) => x.method),
      e.map((x) => x.route),
      e.map((x) => JSON.stringify(x.targets)),
      e.map((x) => x.summary),
      e.map((x) => x.status),
      e.map((x) => x.at),
    ]);
  }

  async listAudit(p: { beforeId?: string; limit: number }): Promise<AuditRecord[]> {
    const before = p.beforeId === undefined ? null : idParam(p.beforeId);
    return this.run<AuditRecord>(this.db, 'list_audit', [before, p.limit]);
  }

  // ---- maintenance -----------------------------------------------------------------------------

  async reapExpiredLeases(p: { now: number; limit: number }): Promise<ReapResult> {
    const out = await this.db.transaction(async (tx) => {
      const r: ReapResult = { requeued: [], failed: [], finishedBatches: [], followUps: [], ended: [] };
      const expired = await this.run<{ id: string; attempt: number }>(tx, 'lock_expired_leases', [p.now, p.limit]);
      if (expired.length === 0) return r;
      const errors = expired.map((e) => JSON.stringify(leaseExpiredError(e.attempt, p.now)));
      const rows = await this.run<{
        id: string;
        task: string;
        state: JobState;
        batchId: number | null;
        attempt: number;
        concurrencyKey: string | null;
        hasDependents: boolean;
      }>(tx, 'reap_expired_leases', [p.now, expired.map((e) => e.id), errors]);
      const failedPerBatch = new Map<number, number>();
      for (const row of rows) {
        const ref = {
          id: row.id,
          task: row.task,
          attempt: row.attempt,
          concurrencyKey: row.concurrencyKey,
          batchId: row.batchId === null ? null : String(row.batchId),
        };
        if (row.state === 'queued') r.requeued.push(ref);
        else {
          r.failed.push(ref);
          if (row.batchId !== null) failedPerBatch.set(row.batchId, (failedPerBatch.get(row.batchId) ?? 0) + 1);
        }
      }
      // In batch id order, like every other path that counts batch members (no lock-order deadlocks).
      for (const [batchId, n] of [...failedPerBatch].sort((a, b) => a[0] - b[0])) {
        const [b] = await this.run(tx, 'batch_add_finished', [batchId, 0, n, 0, p.now]);
        if (b) r.finishedBatches.push(finishedBatch(b, r.followUps));
      }
      const awaited = rows.filter((x) => x.state === 'failed' && x.hasDependents).map((x) => x.id);
      if (awaited.length) await settle((name, params) => this.run(tx, name, params), awaited, null, p.now, r);
      return r;
    });
    if (out.requeued.length || out.failed.length) {
      this.publish({
        tasks: [...out.requeued, ...out.followUps].map((j) => j.task),
        finished: [...out.failed.map((j) => j.id), ...out.ended.map((e) => e.id)],
        finishedBatches: out.finishedBatches.map((b) => b.id),
      });
    }
    return out;
  }

  async pruneJobs(p: { now: number; limit: number }): Promise<{ deleted: number }> {
    let deleted = 0;
    for (const { task, state, cutoff } of pruneCutoffs(await this.getTasks({}), p.now)) {
      const [{ n }] = await this.run<{ n: number }>(this.db, 'prune_finished', [task, state, cutoff, p.limit]);
      deleted += n;
    }
    await this.run(this.db, 'prune_batches', [p.now - 86_400_000]);
    await this.run(this.db, 'prune_submit_keys', [p.now]);
    await this.run(this.db, 'prune_workers', [p.now - 86_400_000]);
    await this.run(this.db, 'prune_throughput', [p.now - THROUGHPUT_KEPT_MS]);
    await this.run(this.db, 'prune_audit', [p.now - AUDIT_RETENTION_MS, p.limit]);
    return { deleted };
  }

  async foldCounters(): Promise<{ folded: number }> {
    const [{ folded }] = await this.run<{ folded: number }>(this.db, 'fold_counters', []);
    return { folded };
  }

  holdDuty(p: { duty: string }): Promise<boolean> {
    return this.duties.hold(p.duty);
  }

  // ---- changes by other processes ----------------------------------------------------------------

  watch(listener: (change: StoreChange) => void): () => void {
    return this.feed.watch(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.feed.close();
    await this.session.close();
    await this.db.pool.end();
  }
}

interface Holder {
  id: string;
  task: string;
  uniqueKey: string;
  state: JobState;
  runAt: number;
}

/** A job this call inserted: queued, or running under the lease it was inserted with. */
const NOT_LINKED: InsertShape = { pending: null, awaited: false };

function insertedJob(job: NewJob, id: string, leaseToken: string | null): InsertedJob {
  if (leaseToken === null) return { id, task: job.task, deduplicated: false, state: 'queued', runAt: job.runAt };
  return { id, task: job.task, deduplicated: false, state: 'running', runAt: job.runAt, leaseToken };
}

/** Inserted queued: other processes' workers may claim it (a leased job already has its worker). */
/**
 * Runs a transaction again when PostgreSQL broke a deadlock by aborting it (40P01): a submission
 * that locks the jobs it waits for, in id order, can meet a worker finishing some of them in another
 * order. Nothing of an aborted try was stored.
 */
async function retryDeadlocks<T>(tries: number, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries || (err as { code?: string }).code !== '40P01') throw err;
    }
  }
}

function runnable(job: InsertedJob): boolean {
  return !job.deduplicated && job.leaseToken === undefined && job.state === 'queued';
}

/** A 'q' or 'e' row of finish_jobs: a dependent settled in the same call. */
function settleRowOf(r: Raw): Parameters<typeof addSettled>[0][number] {
  const extra = r.extra as { state: JobState; runAt: number | null; error: string | null };
  return {
    kind: r.kind as 'q' | 'e',
    id: r.id as string,
    task: r.task as string,
    state: extra.state,
    runAt: extra.runAt,
    batchId: (r.batchId ?? null) as string | null,
    error: extra.error,
  };
}

function scheduleRow(r: ScheduleRecord): ScheduleRecord {
  return { ...r, lastJobState: r.lastJobState ?? null };
}

/** A listing's filters as list_jobs and search_jobs take them (NULL: no filter). */
function filterParams(p: ListJobsParams) {
  const states = p.state !== undefined ? (p.states ?? [p.state]).filter((s) => s === p.state) : (p.states ?? null);
  return {
    task: p.task ?? null,
    states,
    batchId: p.batchId ?? null,
    beforeId: p.beforeId ?? null,
    since: p.createdSince ?? null,
    until: p.createdUntil ?? null,
  };
}

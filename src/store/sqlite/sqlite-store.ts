import type Database from 'better-sqlite3';
import { type BatchRow, onFinishInputText } from '../../core/batch.js';
import { type EndpointGroup, type EndpointGroupRecord, pushWorkerPrefix } from '../../core/endpoint-group.js';
import { BatchNotFoundError, InvalidEndpointGroupError, InvalidOptionError, JobNotFoundError } from '../../core/errors.js';
import { isJobState, JOB_STATES, type JobRow, type JobState } from '../../core/job.js';
import { cancelRefusal, checkPurgeStates, leaseExpiredError, retryKeyTaken, retryRefusal } from '../../core/job-rules.js';
import { RateRoom } from '../../core/rate-room.js';
import type { RuleAlert, RuleDefinition, RuleRecord } from '../../core/rule.js';
import type { OverlapPolicy, ScheduleDefinition, ScheduleRecord } from '../../core/schedule.js';
import { pruneCutoffs, type ResolvedTaskSettings, resolveTaskSettings, type TaskRecord } from '../../core/task.js';
import { withoutClaimed } from '../follow-ups.js';
import { containsPattern } from '../like-pattern.js';
import { assignPushSlots } from '../push-slots.js';
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
  type ReapedJob,
  type ReapResult,
  type RecordRuleAlertParams,
  type RecordRuleAlertResult,
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
import { Checkpointer, type CheckpointerOptions } from './checkpointer.js';
import { openSqlite, type SqliteOptions } from './connection.js';
import { type ClaimAfterSettle, DependencyLinks, type HeldJob, type KnownDependencies, type Settled } from './dependency-links.js';
import { toStoreError } from './errors.js';

const JOB_COLUMNS = `id, task, state, input, result, error, errors, priority, run_at AS runAt, attempt,
  max_attempts AS maxAttempts, timeout_ms AS timeoutMs, unique_key AS uniqueKey, concurrency_key AS concurrencyKey,
  batch_id AS batchId, origin, trace_context AS traceContext, worker_id AS workerId, lease_token AS leaseToken, lease_expires_at AS leaseExpiresAt,
  progress_done AS progressDone, progress_total AS progressTotal, progress_message AS progressMessage,
  created_at AS createdAt, started_at AS startedAt, finished_at AS finishedAt, step, deps_pending AS depsPending,
  has_dependents AS hasDependents`;

const BATCH_COLUMNS = `id, title, total, succeeded, failed, cancelled, on_finish_job_id AS onFinishJobId,
  created_at AS createdAt, finished_at AS finishedAt, is_flow AS isFlow`;

/** Keeps the last ten errors of a job: appends :error, dropping the oldest beyond ten. */
const APPEND_ERROR = `CASE WHEN errors IS NULL THEN json_array(json(:error))
  WHEN json_array_length(errors) >= 10 THEN json_insert(json_remove(errors, '$[0]'), '$[#]', json(:error))
  ELSE json_insert(errors, '$[#]', json(:error)) END`;

const TOKEN_COLUMNS = 'id, name, scope, tasks, hash, created_at AS createdAt, revoked_at AS revokedAt';

const SCHEDULE_COLUMNS = `s.name, s.task, s.cron, s.timezone, s.input, s.overlap, s.catch_up AS catchUp,
  s.catch_up_limit AS catchUpLimit, s.jitter_ms AS jitterMs, s.priority, s.description, s.paused,
  s.next_tick_at AS nextTickAt, s.last_tick_at AS lastTickAt, s.last_job_id AS lastJobId, j.state AS lastJobState,
  s.created_at AS createdAt, s.updated_at AS updatedAt`;

/** Every statement of the SQLite store, by file name (also read by the bench's bare-SQLite ceiling). */
export const SQLITE_QUERIES = loadSqlFiles(new URL('./queries/', import.meta.url), {
  JOB_COLUMNS,
  BATCH_COLUMNS,
  APPEND_ERROR,
  TOKEN_COLUMNS,
  SCHEDULE_COLUMNS,
});

export interface SqliteStoreOptions extends SqliteOptions {
  /** How often to look for changes made by other processes while someone watches (default 20 ms). */
  pollIntervalMs?: number;
  /** When and how often a busy store checkpoints in a background thread (see Checkpointer). */
  checkpoints?: CheckpointerOptions;
}

type Stmt = Database.Statement;
type RawRow = Record<string, unknown>;

/** How often a rate key's marks are thinned out (by each process that claims under it). */
const RATE_PRUNE_EVERY_MS = 1000;

/**
 * The embedded store: one SQLite file in WAL mode. Writes are short IMMEDIATE transactions, so
 * other processes (a CLI command, a separate worker) can share the file; they notice each
 * other's changes through `PRAGMA data_version`.
 */
export class SqliteStore implements Store {
  readonly capabilities = { changeFeed: 'poll', sharedAcrossHosts: false, clusterDuties: 'every-process' } as const;
  readonly description: string;
  private readonly db: Database.Database;
  private readonly stmts = new Map<string, Stmt>();
  private readonly watchers = new Set<(change: StoreChange) => void>();
  private readonly pollIntervalMs: number;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastDataVersion = 0;
  private closed = false;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly links: DependencyLinks;
  /** When this process last forgot the old marks of each rate key. */
  private readonly rateMarksPrunedAt = new Map<string, number>();
  /** One transaction wrapper for every write: making one per call costs more than a small write. */
  private readonly inImmediate: (fn: () => unknown) => unknown;

  constructor(
    private readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    this.db = openSqlite(path, options);
    this.description = `sqlite:${path}`;
    this.pollIntervalMs = options.pollIntervalMs ?? 20;
    this.links = new DependencyLinks({
      stmt: (name) => this.stmt(name),
      countBatchFinished: (batchId, s, f, c, now, followUps) => this.countBatchFinished(batchId, s, f, c, now, followUps),
    });
    if (path !== ':memory:') this.checkpointer = new Checkpointer(this.db, path, options.busyTimeoutMs ?? 5000, options.checkpoints);
    this.inImmediate = this.db.transaction((fn: () => unknown) => fn()).immediate;
  }

  private stmt(name: string): Stmt {
    let s = this.stmts.get(name);
    if (!s) {
      const text = SQLITE_QUERIES.get(name);
      if (text === undefined) throw new Error(`missing SQL file ${name}.sql`);
      s = this.db.prepare(text);
      this.stmts.set(name, s);
    }
    return s;
  }

  private adhoc(sql: string): Stmt {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction (takes the write lock up front: no upgrade deadlocks). */
  private write<T>(fn: () => T): T {
    return this.guard(() => this.inImmediate(fn) as T);
  }

  /** Runs a write (a transaction, or one statement on its own); a full disk or a held lock becomes a named error. */
  private guard<T>(fn: () => T): T {
    this.checkpointer?.wrote();
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, this.path);
    }
  }

  // ---- submitting ------------------------------------------------------------------------------

  async insertJobs(p: InsertJobsParams): Promise<InsertJobsResult> {
    if (p.jobs.length === 1 && !p.batch && !p.submitKey && !p.jobs[0].debounce && !p.jobs[0].after?.length) {
      return this.guard(() => ({ jobs: [this.insertOne(p.jobs[0], null, p.now)], batchId: null, finishedBatch: null, followUps: [] }));
    }
    return this.write(() => {
      const held = p.submitKey && (this.stmt('find_submit_key').get({ key: p.submitKey.key, now: p.now }) as RawRow | undefined);
      if (held) return replayOf(held);
      let batchId: string | null = null;
      if (p.batch) {
        const onFinish = p.batch.onFinish ? JSON.stringify({ ...p.batch.onFinish, input: String(p.batch.onFinish.input) }) : null;
        batchId = String(
          this.stmt('insert_batch').run({ title: p.batch.title, total: p.jobs.length, onFinish, isFlow: p.batch.flow ? 1 : 0, now: p.now }).lastInsertRowid,
        );
      }
      const jobs = p.jobs.map((job) => this.insertOne(job, batchId, p.now));
      let finishedBatch: BatchRow | null = null;
      const followUps: InsertedJob[] = [];
      const settled: Settled = { followUps, ended: [], finishedBatches: [] };
      if (batchId !== null) {
        const members = jobs.filter((j) => !j.deduplicated).length;
        if (members !== p.jobs.length) this.stmt('set_batch_total').run({ id: batchId, total: members });
        if (members === 0) finishedBatch = this.countBatchFinished(batchId, 0, 0, 0, p.now, followUps);
      }
      const named = p.jobs.flatMap((j, i) => (j.step && !jobs[i].deduplicated ? [[Number(jobs[i].id), j.step]] : []));
      if (named.length) this.stmt('set_steps').run({ items: JSON.stringify(named) });
      if (p.jobs.some((j) => j.after?.length)) this.links.linkNew(p.jobs, jobs, p.now, settled);
      if (p.submitKey) {
        const { key, fingerprint, expiresAt } = p.submitKey;
        this.stmt('save_submit_key').run({ key, fingerprint, jobIds: JSON.stringify(jobs.map((j) => Number(j.id))), batchId, now: p.now, expiresAt });
      }
      return { jobs, batchId, finishedBatch, followUps, finishedBatches: settled.finishedBatches };
    });
  }

  private insertOne(job: NewJob, batchId: string | null, now: number): InsertedJob {
    if (job.lease) return this.insertLeased(job, job.lease, batchId, now);
    const info = this.stmt('insert_job').run(
      job.task,
      job.input,
      job.priority,
      job.runAt,
      job.maxAttempts,
      job.timeoutMs,
      job.uniqueKey,
      job.concurrencyKey,
      batchId,
      job.origin,
      now,
      job.traceContext ?? null,
    );
    if (info.changes === 1) return { id: String(info.lastInsertRowid), task: job.task, deduplicated: false, state: 'queued', runAt: job.runAt };
    return this.holderOf(job);
  }

  private insertLeased(job: NewJob, lease: NonNullable<NewJob['lease']>, batchId: string | null, now: number): InsertedJob {
    const row = this.stmt('insert_leased_job').get(
      job.task,
      job.input,
      job.priority,
      job.runAt,
      job.maxAttempts,
      job.timeoutMs,
      job.uniqueKey,
      job.concurrencyKey,
      batchId,
      job.origin,
      now,
      now,
      lease.workerId,
      lease.leaseExpiresAt,
      job.traceContext ?? null,
    ) as { id: number; leaseToken: number } | undefined;
    if (!row) return this.holderOf(job);
    return { id: String(row.id), task: job.task, deduplicated: false, state: 'running', runAt: job.runAt, leaseToken: String(row.leaseToken) };
  }

  /** The queued or running job that holds `job`'s unique key (its insert changed nothing). */
  private holderOf(job: NewJob): InsertedJob {
    const existing = this.stmt('find_unique_job').get({ task: job.task, uniqueKey: job.uniqueKey }) as
      | { id: number; state: JobState; runAt: number }
      | undefined;
    if (!existing) throw new Error(`insert of a ${job.task} job changed nothing and no job holds its unique key`);
    if (job.debounce && existing.state === 'queued') {
      this.stmt('debounce_job').run({ id: existing.id, input: job.input, runAt: job.runAt });
      return { id: String(existing.id), task: job.task, deduplicated: true, debounced: true, state: 'queued', runAt: job.runAt };
    }
    return { id: String(existing.id), task: job.task, deduplicated: true, state: existing.state, runAt: existing.runAt };
  }

  // ---- working ---------------------------------------------------------------------------------

  async claimJobs(p: ClaimParams): Promise<ClaimedJob[]> {
    if (p.max <= 0 || p.tasks.length === 0) return [];
    return this.write(() => this.claimInTransaction(p));
  }

  /**
   * `after`: what a settle in this transaction released for this claim (held waiting, with their
   * dependencies as read then); those it does not take are queued, and told in `followUps`.
   */
  private claimInTransaction(p: ClaimParams, after?: ClaimAfterSettle, followUps: InsertedJob[] = []): ClaimedJob[] {
    if (p.max <= 0 || p.tasks.length === 0) return [];
    const { ids, rated } = this.chooseJobs(p.workerId, p.tasks, p.max, p.now, after?.held ?? [], followUps);
    if (ids.length === 0) return [];
    const rows = this.stmt('mark_running').all({ ids: JSON.stringify(ids), workerId: p.workerId, leaseExpiresAt: p.now + p.leaseMs, now: p.now }) as RawRow[];
    if (rated.keys.size) this.recordRateStarts(rows, rated, p.now);
    for (const r of rows) {
      r.id = String(r.id);
      r.leaseToken = String(r.leaseToken);
      if (r.batchId !== null) r.batchId = String(r.batchId);
      // Assigned, not deleted: a delete turns the row into a slow dictionary object (W3: 33k vs 41k jobs/s).
      r.hasDependencies = r.hasDependencies === 1;
    }
    if (rows.length > 1) {
      const order = new Map(ids.map((id, i) => [String(id), i]));
      rows.sort((a, b) => order.get(a.id as string)! - order.get(b.id as string)!);
    }
    const claimed = rows as unknown as ClaimedJob[];
    this.attachDependencies(claimed, after?.known);
    return claimed;
  }

  /**
   * Picks up to `max` runnable job ids across `tasks`, honouring pauses, concurrency limits and
   * rate limits; `rated` maps each rate-limited task among them to its key. Held jobs (released
   * in this transaction, still waiting) compete as if queued now when their task has neither limit
   * nor key; the rest of them, and those not chosen, are queued (told in `followUps`).
   */
  private chooseJobs(
    workerId: string,
    tasks: string[],
    max: number,
    now: number,
    held: HeldJob[],
    followUps: InsertedJob[],
  ): { ids: number[]; rated: RateRoom } {
    const settings = new Map(this.claimSettings(tasks).map((t) => [t.name, t]));
    const allowance = new Map<string, number>();
    const rates = new RateRoom((bucket, since) => this.stmt('rate_total').get({ bucket, since }) as { total: number; base: number }, now);
    for (const task of tasks) {
      const s = settings.get(task);
      if (s?.pausedUntil != null && s.pausedUntil > now) continue;
      if (s?.pushGroup != null && !workerId.startsWith(pushWorkerPrefix(s.pushGroup))) continue;
      let room = s?.concurrency == null ? max : s.concurrency - (this.stmt('count_running_task').get({ task }) as { n: number }).n;
      if (s?.rateLimit != null) room = Math.min(room, rates.add(task, s.rateKey ?? task, s.rateLimit, s.ratePeriodMs!));
      if (room > 0) allowance.set(task, Math.min(room, max));
    }
    const takeable = this.takeableHeld(held, settings, allowance, now, followUps);
    const chosen: number[] = [];
    const blocked = new Map<string, string[]>();
    const keyRunning = new Map<string, number>();
    for (let round = 0; round < 8 && chosen.length < max && allowance.size > 0; round++) {
      const candidates: Candidate[] = [];
      for (const [task, room] of allowance) {
        const keys = blocked.get(task);
        const rows = (
          keys
            ? this.stmt('claim_candidates').all({ task, now, blockedKeys: JSON.stringify(keys), limit: room })
            : this.stmt('claim_candidates_unblocked').all({ task, now, limit: room })
        ) as Candidate[];
        for (const r of rows) candidates.push({ ...r, task });
        if (round === 0) candidates.push(...(takeable.get(task) ?? []));
      }
      if (candidates.length === 0) break;
      if (allowance.size > 1 || (round === 0 && takeable.size > 0)) candidates.sort(claimOrder);
      let newlyBlocked = false;
      for (const c of candidates) {
        if (chosen.length >= max) break;
        const room = allowance.get(c.task) ?? 0;
        if (room <= 0 || chosen.includes(c.id) || !rates.hasRoom(c.task)) continue;
        if (c.concurrencyKey !== null) {
          const k = `${c.task}\u0000${c.concurrencyKey}`;
          const running = keyRunning.get(k) ?? (this.stmt('count_running_key').get({ task: c.task, key: c.concurrencyKey }) as { n: number }).n;
          if (running >= (settings.get(c.task)?.concurrencyPerKey ?? 1)) {
            blocked.set(c.task, [...(blocked.get(c.task) ?? []), c.concurrencyKey]);
            newlyBlocked = true;
            continue;
          }
          keyRunning.set(k, running + 1);
        }
        chosen.push(c.id);
        allowance.set(c.task, room - 1);
        rates.take(c.task);
      }
      for (const [task, room] of allowance) if (room <= 0) allowance.delete(task);
      if (!newlyBlocked) break;
    }
    const taken = new Set(chosen);
    this.links.queueHeld(
      [...takeable.values()].flat().flatMap((c) => (taken.has(c.id) ? [] : [c.id])),
      now,
      followUps,
    );
    return { ids: chosen, rated: rates };
  }

  /**
   * The held jobs a claim may take from waiting: of a task it claims with neither limit nor key,
   * due now, as candidates queued now. The others are queued first, where the claim's paths (and
   * other workers) see them.
   */
  private takeableHeld(
    held: HeldJob[],
    settings: Map<string, TaskLimits>,
    allowance: Map<string, number>,
    now: number,
    followUps: InsertedJob[],
  ): Map<string, Candidate[]> {
    const takeable = new Map<string, Candidate[]>();
    const others: number[] = [];
    for (const h of held) {
      const s = settings.get(h.task);
      if (allowance.has(h.task) && s?.concurrency == null && s?.rateLimit == null && h.concurrencyKey === null && h.runAt <= now) {
        let list = takeable.get(h.task);
        if (!list) takeable.set(h.task, (list = []));
        list.push({ id: h.id, task: h.task, priority: h.priority, runAt: now, concurrencyKey: null });
      } else others.push(h.id);
    }
    this.links.queueHeld(others, now, followUps);
    return takeable;
  }

  /** Adds the claimed jobs of rate-limited tasks to their keys' totals; now and then forgets the marks no task needs any more. */
  private recordRateStarts(rows: RawRow[], rated: RateRoom, now: number): void {
    const started = new Map<string, number>();
    for (const r of rows) {
      const bucket = rated.keys.get(r.task as string);
      if (bucket !== undefined) started.set(bucket, (started.get(bucket) ?? 0) + 1);
    }
    for (const [bucket, n] of started) {
      this.stmt('record_rate_mark').run({ bucket, now, cum: rated.totals.get(bucket)! + n });
      // Forgetting costs a statement per claim for nothing most of the time: once in a while is enough.
      if (now - (this.rateMarksPrunedAt.get(bucket) ?? 0) >= RATE_PRUNE_EVERY_MS) {
        this.stmt('prune_rate_marks').run({ bucket, now });
        this.rateMarksPrunedAt.set(bucket, now);
      }
    }
  }

  private claimSettings(tasks: string[]): TaskLimits[] {
    if (tasks.length === 1) return this.stmt('task_claim_settings_one').all({ name: tasks[0] }) as TaskLimits[];
    return this.stmt('task_claim_settings').all({ names: JSON.stringify(tasks) }) as TaskLimits[];
  }

  async finishJobs(p: { transitions: Transition[]; now: number; claim?: ClaimParams }): Promise<FinishResult> {
    return this.write(() => {
      const out: FinishResult = { results: [], finishedBatches: [], followUps: [], ended: [], claimed: [] };
      const succeeded = this.succeedMany(p.transitions, p.now);
      const awaited: number[] = [];
      const perBatch = new Map<number, { s: number; f: number }>();
      for (const t of p.transitions) {
        const row = succeeded?.has(t) ? succeeded.get(t) : this.applyTransition(t, p.now);
        out.results.push(
          row === undefined
            ? { ok: false, task: null, concurrencyKey: null }
            : { ok: true, task: row.task, concurrencyKey: row.concurrencyKey, batchId: row.batchId == null ? null : String(row.batchId) },
        );
        if (row?.batchId != null && t.to !== 'queued') {
          const n = perBatch.get(row.batchId) ?? { s: 0, f: 0 };
          if (t.to === 'succeeded') n.s++;
          else n.f++;
          perBatch.set(row.batchId, n);
        }
        if (row?.hasDependents === 1 && t.to !== 'queued') awaited.push(Number(t.id));
      }
      // One count per batch for the whole turn (a flow's stage finishes in one call).
      for (const [batchId, n] of perBatch) {
        const finished = this.countBatchFinished(String(batchId), n.s, n.f, 0, p.now, out.followUps);
        if (finished) out.finishedBatches.push(finished);
      }
      // Released jobs are held for the claim that follows, when there is one.
      const after: ClaimAfterSettle | undefined = p.claim && p.claim.max > 0 && p.claim.tasks.length > 0 ? { known: new Map(), held: [] } : undefined;
      if (awaited.length) this.links.settle(awaited, p.now, out, undefined, after);
      if (p.claim) out.claimed = this.claimInTransaction(p.claim, after, out.followUps);
      return withoutClaimed(out);
    });
  }

  /**
   * The successes in one statement (most of a busy worker's turn): each one's row, or undefined
   * where it was refused; null when there are too few to be worth it.
   */
  private succeedMany(transitions: Transition[], now: number): Map<Transition, Applied | undefined> | null {
    // A job given twice in one turn goes one by one after its first (an UPDATE … FROM would apply either).
    const seen = new Set<string>();
    const many = transitions.filter((t): t is Transition & { to: 'succeeded' } => {
      const first = !seen.has(t.id);
      seen.add(t.id);
      return first && t.to === 'succeeded';
    });
    if (many.length < 4) return null;
    const items = many.map((t) =>
      Buffer.isBuffer(t.result) ? [Number(t.id), Number(t.token), null, t.result.toString('hex')] : [Number(t.id), Number(t.token), t.result],
    );
    const rows = this.stmt('succeed_jobs').all({ items: JSON.stringify(items), now }) as (Applied & {
      id: number;
    })[];
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    const out = new Map<Transition, Applied | undefined>();
    for (const t of many) out.set(t, byId.get(t.id));
    return out;
  }

  private applyTransition(t: Transition, now: number): Applied | undefined {
    const token = Number(t.token);
    const id = Number(t.id);
    switch (t.to) {
      case 'succeeded':
        return this.stmt('succeed_job').get({ id, token, result: t.result, now }) as Applied | undefined;
      case 'failed':
        return this.stmt('fail_job').get({ id, token, error: t.error, now }) as Applied | undefined;
      case 'queued':
        return this.stmt('requeue_job').get({ id, token, runAt: t.runAt, error: t.error, refund: t.countAttempt ? 0 : 1 }) as Applied | undefined;
    }
  }

  /**
   * Adds finished members to a batch. When that completes the batch, returns it and (once in the
   * batch's life) enqueues its onFinish job in the same transaction.
   */
  private countBatchFinished(batchId: string, s: number, f: number, c: number, now: number, followUps: InsertedJob[]): BatchRow | null {
    const r = this.stmt('batch_add_finished').get({ id: batchId, s, f, c, now }) as RawRow | undefined;
    if (!r || (r.succeeded as number) + (r.failed as number) + (r.cancelled as number) !== r.total) return null;
    if ((s + f + c > 0 || r.total === 0) && r.onFinish !== null && r.onFinishJobId === null) {
      const template = JSON.parse(r.onFinish as string) as NewJob;
      const job = this.insertOne({ ...template, input: onFinishInputText(batchRow(r), template.input as string), runAt: now }, null, now);
      this.stmt('set_batch_on_finish_job').run({ id: batchId, jobId: job.id });
      r.onFinishJobId = Number(job.id);
      followUps.push(job);
    }
    return batchRow(r);
  }

  async touchJobs(p: { touches: Touch[]; leaseExpiresAt: number | null; now: number }): Promise<{ lost: string[] }> {
    if (p.touches.length === 0) return { lost: [] };
    return this.write(() => {
      const lost: string[] = [];
      for (const t of p.touches) {
        const token = Number(t.token);
        let changes = 1;
        if (p.leaseExpiresAt !== null) changes = this.stmt('extend_lease').run({ id: Number(t.id), token, leaseExpiresAt: p.leaseExpiresAt }).changes;
        if (changes && t.progress) {
          changes = this.stmt('set_progress').run({
            id: Number(t.id),
            token,
            done: t.progress.done,
            total: t.progress.total,
            message: t.progress.message ?? null,
          }).changes;
        }
        if (!changes) lost.push(t.id);
      }
      return { lost };
    });
  }

  async nextRunAt(p: { tasks: string[] }): Promise<number | null> {
    type Row = { runAt: number; pausedUntil: number | null; rateLimit: number | null; ratePeriodMs: number | null; rateKey: string | null };
    let next: number | null = null;
    for (const r of this.stmt('next_run_at').all({ names: JSON.stringify(p.tasks) }) as Row[]) {
      let at = Math.max(r.runAt, r.pausedUntil ?? 0);
      if (r.rateLimit !== null) {
        const mark = this.stmt('rate_window_opens').get({ bucket: r.rateKey, limit: r.rateLimit }) as { at: number } | undefined;
        if (mark) at = Math.max(at, mark.at + r.ratePeriodMs!);
      }
      if (next === null || at < next) next = at;
    }
    return next;
  }

  // ---- reading ---------------------------------------------------------------------------------

  async getJob(p: { id: string }): Promise<JobRow | null> {
    const r = this.stmt('get_job').get({ id: Number(p.id) }) as RawRow | undefined;
    return r ? jobRow(r) : null;
  }

  async getJobs(p: { ids: string[] }): Promise<JobRow[]> {
    if (p.ids.length === 0) return [];
    return (this.stmt('get_jobs').all({ ids: JSON.stringify(p.ids.map(Number)) }) as RawRow[]).map(jobRow);
  }

  async listJobs(p: ListJobsParams): Promise<JobRow[]> {
    const { where, params } = jobFilter(p);
    params.limit = p.limit;
    const sql = `SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT :limit`;
    return (this.adhoc(sql).all(params) as RawRow[]).map(jobRow);
  }

  async searchJobs(p: SearchJobsParams): Promise<SearchJobsResult> {
    const { where, params } = jobFilter(p);
    Object.assign(params, { limit: p.limit, scan: p.scanLimit, pattern: containsPattern(p.text) });
    // The newest `scan` jobs the filters keep, then the text test on those alone: the cost is
    // bounded by the scan, not by the table.
    const scanned = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT :scan`;
    const text = (column: string) => `(CASE WHEN typeof(${column}) = 'text' THEN ${column} END) LIKE :pattern ESCAPE '\\'`;
    const sql = `SELECT ${JOB_COLUMNS} FROM (${scanned}) AS jobs WHERE ${text('input')} OR ${text('result')} OR error LIKE :pattern ESCAPE '\\'
      ORDER BY id DESC LIMIT :limit`;
    const jobs = (this.adhoc(sql).all(params) as RawRow[]).map(jobRow);
    if (jobs.length >= p.limit) return { jobs, scannedDownTo: null };
    const edge = this.adhoc(`SELECT count(*) AS n, min(id) AS low FROM (SELECT id FROM (${scanned}))`).get(params) as { n: number; low: number | null };
    return { jobs, scannedDownTo: edge.n >= p.scanLimit && edge.low !== null ? String(edge.low) : null };
  }

  async groupErrors(p: { task?: string; since: number; limit: number }): Promise<ErrorGroupRow[]> {
    const rows = this.stmt('group_errors').all({ task: p.task ?? null, since: p.since, limit: p.limit }) as RawRow[];
    return rows.map((r) => ({
      task: r.task as string,
      message: r.message as string,
      count: r.count as number,
      lastAt: r.lastAt as number,
      sampleJobId: String(r.sampleJobId),
    }));
  }

  async getJobLinks(p: { id: string }): Promise<{ dependencies: LinkedJob[]; dependents: LinkedJob[] }> {
    const linked = (r: RawRow): LinkedJob => ({ id: String(r.id), task: r.task as string, step: r.step as string | null, state: r.state as JobState });
    const id = Number(p.id);
    return {
      dependencies: (this.stmt('job_dependencies').all({ id }) as RawRow[]).map(linked),
      dependents: (this.stmt('job_dependents').all({ id }) as RawRow[]).map(linked),
    };
  }

  async countQueuedByPriority(): Promise<PriorityCountRow[]> {
    return this.stmt('count_queued_by_priority').all() as PriorityCountRow[];
  }

  async countJobs(p: { task?: string; states?: JobState[] }): Promise<CountRow[]> {
    return this.stmt('count_jobs').all({ task: p.task ?? null, states: p.states === undefined ? null : JSON.stringify(p.states) }) as CountRow[];
  }

  async throughput(p: { since: number; tasks?: string[] }): Promise<ThroughputRow[]> {
    return this.stmt('throughput').all({ since: p.since, tasks: p.tasks === undefined ? null : JSON.stringify(p.tasks) }) as ThroughputRow[];
  }

  async getBatch(p: { id: string }): Promise<BatchRow | null> {
    const r = this.stmt('get_batch').get({ id: Number(p.id) }) as RawRow | undefined;
    return r ? batchRow(r) : null;
  }

  async listBatches(p: { limit: number; beforeId?: string }): Promise<BatchRow[]> {
    const rows = this.stmt('list_batches').all({ beforeId: p.beforeId === undefined ? null : Number(p.beforeId), limit: p.limit }) as RawRow[];
    return rows.map(batchRow);
  }

  async getDependencies(p: { jobIds: string[] }): Promise<DependencyRow[]> {
    if (p.jobIds.length === 0) return [];
    return (this.stmt('get_dependencies').all({ ids: JSON.stringify(p.jobIds.map(Number)) }) as RawRow[]).map(dependencyRow);
  }

  /** Jobs claimed that waited for others get what they waited for in the same read: the worker needs it before the handler runs. */
  private attachDependencies(jobs: ClaimedJob[], known?: KnownDependencies): void {
    const waited = jobs.filter((j) => {
      if (!j.hasDependencies) return false;
      const deps = known?.get(j.id);
      if (deps) j.dependencies = deps;
      return !deps;
    });
    if (waited.length === 0) return;
    const byJob = new Map<string, DependencyRow[]>();
    for (const j of waited) byJob.set(j.id, (j.dependencies = []));
    for (const r of this.stmt('get_dependencies').all({ ids: JSON.stringify(waited.map((j) => Number(j.id))) }) as RawRow[]) {
      const row = dependencyRow(r);
      byJob.get(row.jobId)!.push(row);
    }
  }

  async listBatchJobs(p: { batchId: string; limit: number }): Promise<JobRow[]> {
    return (this.stmt('list_batch_jobs').all({ batchId: Number(p.batchId), limit: p.limit }) as RawRow[]).map(jobRow);
  }

  // ---- acting on jobs --------------------------------------------------------------------------

  async cancelBatch(p: { id: string; now: number }): Promise<CancelBatchResult> {
    return this.write(() => {
      if (!this.stmt('get_batch').get({ id: Number(p.id) })) throw new BatchNotFoundError(p.id);
      const rows = this.stmt('cancel_batch_jobs').all({ batchId: Number(p.id), now: p.now }) as { id: number; task: string; hasDependents: number }[];
      const out: CancelBatchResult = { cancelled: [], finishedBatches: [], followUps: [], ended: [] };
      if (rows.length === 0) return out;
      out.cancelled = rows.map((r) => ({ id: String(r.id), task: r.task, state: 'cancelled' as const, batchId: p.id, error: 'null' }));
      const finished = this.countBatchFinished(p.id, 0, 0, rows.length, p.now, out.followUps);
      if (finished) out.finishedBatches.push(finished);
      const awaited = rows.filter((r) => r.hasDependents === 1).map((r) => r.id);
      if (awaited.length) this.links.settle(awaited, p.now, out);
      return out;
    });
  }

  async cancelJob(p: { id: string; now: number }): Promise<CancelResult> {
    return this.write(() => {
      const before = this.stmt('get_job').get({ id: Number(p.id) }) as RawRow | undefined;
      if (!before) throw new JobNotFoundError(p.id);
      const previous = before.state as JobState;
      if (previous === 'cancelled') return { row: jobRow(before), previous, finishedBatch: null, followUps: [], ended: [], finishedBatches: [] };
      const refusal = cancelRefusal(p.id, previous);
      if (refusal) throw refusal;
      const row = jobRow(this.stmt('cancel_job').get({ id: Number(p.id), now: p.now }) as RawRow);
      const settled: Settled = { followUps: [], ended: [], finishedBatches: [] };
      const finishedBatch = row.batchId === null ? null : this.countBatchFinished(row.batchId, 0, 0, 1, p.now, settled.followUps);
      if (before.hasDependents === 1) this.links.settle([Number(p.id)], p.now, settled);
      return { row, previous, finishedBatch, ...settled };
    });
  }

  async retryJob(p: { id: string; now: number }): Promise<JobRow> {
    return this.write(() => {
      const before = this.stmt('get_job').get({ id: Number(p.id) }) as RawRow | undefined;
      if (!before) throw new JobNotFoundError(p.id);
      const state = before.state as JobState;
      const refusal = retryRefusal(p.id, state);
      if (refusal) throw refusal;
      let r: RawRow;
      try {
        r = this.stmt('retry_job').get({ id: Number(p.id), now: p.now }) as RawRow;
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw retryKeyTaken(p.id, state, before.uniqueKey as string | null);
        }
        throw err;
      }
      if (before.batchId !== null) {
        this.stmt('batch_add_finished').get({ id: before.batchId, s: 0, f: state === 'failed' ? -1 : 0, c: state === 'cancelled' ? -1 : 0, now: p.now });
      }
      return jobRow(r);
    });
  }

  async purgeJobs(p: { task: string; states: JobState[]; now: number }): Promise<PurgeResult> {
    checkPurgeStates(p.states);
    return this.write(() => {
      const out: PurgeResult = { deleted: 0, finishedBatches: [], followUps: [], ended: [] };
      for (const state of p.states) {
        if (state === 'queued' || state === 'waiting') {
          const members = this.stmt('queued_batch_members').all({ task: p.task, state }) as { batchId: number; n: number }[];
          out.deleted += this.purgeUnstarted(p.task, state, p.now, out);
          for (const m of members) {
            const finished = this.countBatchFinished(String(m.batchId), 0, 0, m.n, p.now, out.followUps);
            if (finished) out.finishedBatches.push(finished);
          }
        } else {
          out.deleted += this.stmt('delete_jobs').run({ task: p.task, state }).changes;
        }
      }
      return out;
    });
  }

  async deleteJobs(p: { ids: string[] }): Promise<DeleteJobsResult> {
    const ids = [...new Set(p.ids)];
    if (ids.length === 0) return { deleted: [], notFinished: [], missing: [] };
    return this.write(() => {
      const rows = this.stmt('deletable_jobs').all({ ids: JSON.stringify(ids.map(Number)) }) as { id: number; deletable: number }[];
      const deletable = rows.filter((r) => r.deletable === 1).map((r) => r.id);
      if (deletable.length) this.stmt('delete_jobs_by_id').run({ ids: JSON.stringify(deletable) });
      const found = new Set(rows.map((r) => String(r.id)));
      return {
        deleted: deletable.map(String),
        notFinished: rows.filter((r) => r.deletable !== 1).map((r) => String(r.id)),
        missing: ids.filter((id) => !found.has(id)),
      };
    });
  }

  /**
   * Deletes a task's jobs that have not started; those that others wait for are cancelled first
   * and their dependents settled (by policy), then deleted with the rest.
   */
  private purgeUnstarted(task: string, state: 'queued' | 'waiting', now: number, out: PurgeResult): number {
    const awaited = (this.stmt('purged_with_dependents').all({ task, state }) as { id: number }[]).map((r) => r.id);
    let deleted = 0;
    if (awaited.length) {
      this.stmt('mark_cancelled').run({ ids: JSON.stringify(awaited) });
      this.links.settle(awaited, now, out);
      deleted += this.stmt('delete_jobs_by_id').run({ ids: JSON.stringify(awaited) }).changes;
    }
    return deleted + this.stmt('delete_jobs').run({ task, state }).changes;
  }

  // ---- task registry ---------------------------------------------------------------------------

  async findJobsByUniqueKey(p: { uniqueKey: string }): Promise<JobRow[]> {
    return (this.stmt('find_jobs_by_unique_key').all({ uniqueKey: p.uniqueKey }) as RawRow[]).map(jobRow);
  }

  async registerTasks(p: { tasks: { name: string; settings: ResolvedTaskSettings }[]; now: number; onlyIfMissing?: boolean }): Promise<void> {
    const statement = p.onlyIfMissing ? 'insert_task_if_missing' : 'upsert_task';
    this.write(() => {
      for (const t of p.tasks) this.stmt(statement).run(taskParams(t.name, t.settings, p.now));
    });
  }

  async getTasks(p: { names?: string[] }): Promise<TaskRecord[]> {
    const rows = this.stmt('get_tasks').all({ names: p.names ? JSON.stringify(p.names) : null }) as RawRow[];
    return rows.map((r) => ({
      name: r.name as string,
      settings: JSON.parse(r.settings as string) as ResolvedTaskSettings,
      pausedUntil: r.pausedUntil as number | null,
      updatedAt: r.updatedAt as number,
    }));
  }

  async pauseTask(p: { task: string; until: number }): Promise<void> {
    this.guard(() => this.stmt('pause_task').run({ name: p.task, until: p.until }));
  }

  async resumeTask(p: { task: string }): Promise<boolean> {
    return this.guard(() => this.stmt('resume_task').run({ name: p.task }).changes === 1);
  }

  async removeTask(p: { name: string }): Promise<boolean> {
    return this.guard(() => this.stmt('remove_task').run({ name: p.name }).changes === 1);
  }

  // ---- schedules -------------------------------------------------------------------------------

  async saveSchedule(p: { schedule: ScheduleDefinition; nextTickAt: number | null; now: number }): Promise<ScheduleRecord> {
    const d = p.schedule;
    this.guard(() =>
      this.stmt('save_schedule').run({
        name: d.name,
        task: d.task,
        cron: d.cron,
        timezone: d.timezone,
        input: d.input,
        overlap: d.overlap,
        catchUp: d.catchUp,
        catchUpLimit: d.catchUpLimit,
        jitterMs: d.jitterMs,
        priority: d.priority,
        description: d.description,
        nextTickAt: p.nextTickAt,
        now: p.now,
      }),
    );
    return (await this.getSchedules({ names: [d.name] }))[0];
  }

  async getSchedules(p: { names?: string[] }): Promise<ScheduleRecord[]> {
    return (this.stmt('get_schedules').all({ names: p.names ? JSON.stringify(p.names) : null }) as RawRow[]).map(scheduleRow);
  }

  async dueSchedules(p: { now: number; limit: number }): Promise<ScheduleRecord[]> {
    return (this.stmt('due_schedules').all({ now: p.now, limit: p.limit }) as RawRow[]).map(scheduleRow);
  }

  async nextScheduleTick(): Promise<number | null> {
    return (this.stmt('next_schedule_tick').get() as { at: number | null }).at;
  }

  async setSchedulePaused(p: { name: string; paused: boolean; nextTickAt: number | null; now: number }): Promise<boolean> {
    return this.guard(
      () => this.stmt('set_schedule_paused').run({ name: p.name, paused: p.paused ? 1 : 0, nextTickAt: p.nextTickAt, now: p.now }).changes === 1,
    );
  }

  // ---- endpoint groups ---------------------------------------------------------------------------

  async saveEndpointGroup(p: { group: EndpointGroup; now: number }): Promise<EndpointGroupRecord> {
    const g = p.group;
    const tasks = JSON.stringify(g.tasks);
    this.write(() => {
      const taken = this.stmt('bound_elsewhere').all({ name: g.name, tasks }) as { name: string; pushGroup: string }[];
      if (taken.length) throw new InvalidEndpointGroupError(g.name, `task "${taken[0].name}" is bound to group "${taken[0].pushGroup}"; remove it there first`);
      this.stmt('save_endpoint_group').run({ name: g.name, definition: JSON.stringify(g), now: p.now });
      const statement = g.taskSettings ? 'upsert_task' : 'insert_task_if_missing';
      for (const name of g.tasks) this.stmt(statement).run(taskParams(name, g.taskSettings ?? resolveTaskSettings(name, {}), p.now));
      this.stmt('bind_push_tasks').run({ name: g.name, tasks });
    });
    return (await this.getEndpointGroups({ names: [g.name] }))[0];
  }

  async getEndpointGroups(p: { names?: string[] }): Promise<EndpointGroupRecord[]> {
    const rows = this.stmt('get_endpoint_groups').all({ names: p.names ? JSON.stringify(p.names) : null }) as RawRow[];
    return rows.map((r) => ({
      group: JSON.parse(r.definition as string) as EndpointGroup,
      createdAt: r.createdAt as number,
      updatedAt: r.updatedAt as number,
    }));
  }

  async removeEndpointGroup(p: { name: string }): Promise<boolean> {
    return this.write(() => {
      this.stmt('bind_push_tasks').run({ name: p.name, tasks: '[]' });
      return this.stmt('remove_endpoint_group').run({ name: p.name }).changes === 1;
    });
  }

  async takePushSlots(p: TakePushSlotsParams): Promise<(string | null)[]> {
    if (p.requests.length === 0) {
      if (p.release?.length) await this.releasePushSlots({ slots: p.release });
      return [];
    }
    return this.write(() => {
      this.givePushSlotsBack(p.release ?? []);
      this.stmt('drop_dead_push_slots').run({ grp: p.group });
      const counts = this.stmt('count_push_slots').all({ grp: p.group }) as { endpoint: string; outstanding: number }[];
      const chosen = assignPushSlots(p, new Map(counts.map((c) => [c.endpoint, c.outstanding])));
      p.requests.forEach((r, i) => {
        const endpoint = chosen[i];
        if (endpoint !== null)
          this.stmt('insert_push_slot').run({ jobId: Number(r.jobId), grp: p.group, endpoint, leaseToken: Number(r.leaseToken), now: p.now });
      });
      return chosen;
    });
  }

  async releasePushSlots(p: { slots: { jobId: string; leaseToken: string }[] }): Promise<void> {
    if (p.slots.length === 0) return;
    this.write(() => this.givePushSlotsBack(p.slots));
  }

  private givePushSlotsBack(slots: { jobId: string; leaseToken: string }[]): void {
    for (const s of slots) this.stmt('release_push_slot').run({ jobId: Number(s.jobId), leaseToken: Number(s.leaseToken) });
  }

  async countPushSlots(p: { group: string }): Promise<{ endpoint: string; outstanding: number }[]> {
    return this.stmt('count_push_slots').all({ grp: p.group }) as { endpoint: string; outstanding: number }[];
  }

  async removeSchedule(p: { name: string }): Promise<boolean> {
    return this.guard(() => this.stmt('remove_schedule').run({ name: p.name }).changes === 1);
  }

  async fireSchedule(p: FireScheduleParams): Promise<FireScheduleResult> {
    return this.write((): FireScheduleResult => {
      const row = this.stmt('schedule_cursor').get({ name: p.name }) as
        | { nextTickAt: number | null; paused: number; overlap: OverlapPolicy; lastJobLive: number | null }
        | undefined;
      if (!row) return { outcome: 'gone', job: null };
      const { tick } = p;
      if (tick && (row.paused === 1 || row.nextTickAt !== tick.cursor)) return { outcome: 'stale', job: null };
      const move = (lastTickAt: number | null, lastJobId: string | null) =>
        this.stmt('record_schedule_tick').run({ name: p.name, nextTickAt: tick?.next ?? null, moveCursor: tick ? 1 : 0, lastTickAt, lastJobId, now: p.now });
      if (!p.job) {
        move(null, null);
        return { outcome: 'dropped', job: null };
      }
      if (tick && !p.ignoreOverlap && row.lastJobLive === 1 && row.overlap === 'skip') {
        move(tick.at, null);
        return { outcome: 'skipped', job: null };
      }
      if (p.submitKey && this.stmt('find_submit_key').get({ key: p.submitKey.key, now: p.now })) {
        move(tick?.at ?? null, null);
        return { outcome: 'stale', job: null };
      }
      const job = this.insertOne(p.job, null, p.now);
      if (p.submitKey) {
        const { key, fingerprint, expiresAt } = p.submitKey;
        this.stmt('save_submit_key').run({ key, fingerprint, jobIds: JSON.stringify([Number(job.id)]), batchId: null, now: p.now, expiresAt });
      }
      move(tick?.at ?? null, job.id);
      return { outcome: 'fired', job };
    });
  }

  // ---- rules -----------------------------------------------------------------------------------

  async saveRule(p: { rule: RuleDefinition; now: number }): Promise<RuleRecord> {
    this.guard(() => this.stmt('save_rule').run({ name: p.rule.name, definition: ruleDefinitionText(p.rule), now: p.now }));
    return (await this.getRules({ names: [p.rule.name] }))[0];
  }

  async getRules(p: { names?: string[] }): Promise<RuleRecord[]> {
    return (this.stmt('get_rules').all({ names: p.names ? JSON.stringify(p.names) : null }) as RawRow[]).map((r) => ruleRecordOf(r as never));
  }

  async setRulePaused(p: { name: string; paused: boolean; now: number }): Promise<boolean> {
    return this.guard(() => this.stmt('set_rule_paused').run({ name: p.name, paused: p.paused ? 1 : 0, now: p.now }).changes === 1);
  }

  async removeRule(p: { name: string }): Promise<boolean> {
    return this.write(() => {
      this.stmt('remove_rule_alerts').run({ rule: p.name });
      return this.stmt('remove_rule').run({ name: p.name }).changes === 1;
    });
  }

  async getRuleAlerts(p: { rule?: string }): Promise<RuleAlert[]> {
    return this.stmt('get_rule_alerts').all({ rule: p.rule ?? null }) as RuleAlert[];
  }

  async recordRuleAlert(p: RecordRuleAlertParams): Promise<RecordRuleAlertResult> {
    return this.write((): RecordRuleAlertResult => {
      const changed = p.firing
        ? this.stmt('insert_rule_alert').run({ rule: p.rule, subject: p.subject, value: p.value, now: p.now }).changes === 1
        : this.stmt('delete_rule_alert').run({ rule: p.rule, subject: p.subject }).changes === 1;
      return { changed, job: changed && p.job ? this.insertOne(p.job, null, p.now) : null };
    });
  }

  async queueStats(p: { tasks: string[] }): Promise<QueueStatsRow[]> {
    if (p.tasks.length === 0) return [];
    return this.stmt('queue_stats').all({ tasks: JSON.stringify(p.tasks) }) as QueueStatsRow[];
  }

  async countFinishedSince(p: { tasks: string[]; since: number }): Promise<FinishedCountRow[]> {
    if (p.tasks.length === 0) return [];
    return this.stmt('count_finished_since').all({ tasks: JSON.stringify(p.tasks), since: p.since }) as FinishedCountRow[];
  }

  // ---- tokens ----------------------------------------------------------------------------------

  async createToken(p: { name: string; scope: TokenScope; tasks: string[]; hash: string; now: number }): Promise<TokenRecord> {
    try {
      return tokenRow(
        this.guard(() => this.stmt('insert_token').get({ name: p.name, scope: p.scope, tasks: JSON.stringify(p.tasks), hash: p.hash, now: p.now })) as RawRow,
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new InvalidOptionError('name', `a token named "${p.name}" already exists; choose another name`);
      throw err;
    }
  }

  async listTokens(p: { includeRevoked?: boolean }): Promise<TokenRecord[]> {
    return (this.stmt('list_tokens').all({ includeRevoked: p.includeRevoked ? 1 : 0 }) as RawRow[]).map(tokenRow);
  }

  async revokeToken(p: { name: string; now: number }): Promise<boolean> {
    return this.guard(() => this.stmt('revoke_token').run({ name: p.name, now: p.now }).changes === 1);
  }

  async findToken(p: { hash: string }): Promise<TokenRecord | null> {
    const r = this.stmt('find_token').get({ hash: p.hash }) as RawRow | undefined;
    return r ? tokenRow(r) : null;
  }

  // ---- workers ---------------------------------------------------------------------------------

  async upsertWorker(p: { worker: WorkerRecord }): Promise<{ stopRequested: boolean }> {
    const w = p.worker;
    const r = this.guard(() =>
      this.stmt('upsert_worker').get({
        id: w.id,
        kind: w.kind,
        host: w.host,
        pid: w.pid,
        tasks: JSON.stringify(w.tasks),
        concurrency: w.concurrency,
        startedAt: w.startedAt,
        lastSeenAt: w.lastSeenAt,
      }),
    ) as { stopRequestedAt: number | null } | undefined;
    return { stopRequested: r?.stopRequestedAt != null };
  }

  async removeWorker(p: { id: string }): Promise<void> {
    this.guard(() => this.stmt('remove_worker').run({ id: p.id }));
  }

  async listWorkers(p: { seenSince?: number }): Promise<WorkerRecord[]> {
    const rows = this.stmt('list_workers').all({ seenSince: p.seenSince ?? 0 }) as RawRow[];
    return rows.map((r) => ({ ...(r as unknown as WorkerRecord), tasks: JSON.parse(r.tasks as string) as string[] }));
  }

  async requestWorkerStop(p: { id: string; now: number }): Promise<boolean> {
    return this.guard(() => this.stmt('request_worker_stop').run({ id: p.id, now: p.now }).changes === 1);
  }

  // ---- dashboard sessions ----------------------------------------------------------------------

  async createDashboardSession(p: { session: DashboardSessionRecord; idleBefore: number }): Promise<void> {
    this.write(() => {
      this.stmt('prune_dashboard_sessions').run({ idleBefore: p.idleBefore });
      this.stmt('insert_dashboard_session').run({ ...p.session });
    });
  }

  async getDashboardSession(p: { idHash: string }): Promise<DashboardSessionRecord | null> {
    return (this.stmt('get_dashboard_session').get({ idHash: p.idHash }) as DashboardSessionRecord | undefined) ?? null;
  }

  async touchDashboardSession(p: { idHash: string; now: number }): Promise<void> {
    this.guard(() => this.stmt('touch_dashboard_session').run({ idHash: p.idHash, now: p.now }));
  }

  async deleteDashboardSessions(p: { idHash?: string; tokenHash?: string }): Promise<void> {
    this.guard(() => this.stmt('delete_dashboard_sessions').run({ idHash: p.idHash ?? null, tokenHash: p.tokenHash ?? null }));
  }

  // ---- audit log -------------------------------------------------------------------------------

  async recordAudit(p: { entries: AuditEntry[] }): Promise<void> {
    if (p.entries.length === 0) return;
    this.write(() => {
      for (const e of p.entries) this.stmt('insert_audit').run({ ...e, targets: JSON.stringify(e.targets) });
    });
  }

  async listAudit(p: { beforeId?: string; limit: number }): Promise<AuditRecord[]> {
    const rows = this.stmt('list_audit').all({ beforeId: p.beforeId === undefined ? null : Number(p.beforeId), limit: p.limit }) as RawRow[];
    return rows.map((r) => ({ ...(r as unknown as AuditRecord), id: String(r.id), targets: JSON.parse(r.targets as string) as string[] }));
  }

  // ---- maintenance -----------------------------------------------------------------------------

  async reapExpiredLeases(p: { now: number; limit: number }): Promise<ReapResult> {
    return this.write(() => {
      const out: ReapResult = { requeued: [], failed: [], finishedBatches: [], followUps: [], ended: [] };
      const awaited: number[] = [];
      const expired = this.stmt('expired_leases').all({ now: p.now, limit: p.limit }) as Expired[];
      for (const e of expired) {
        const ref: ReapedJob = {
          id: String(e.id),
          task: e.task,
          attempt: e.attempt,
          concurrencyKey: e.concurrencyKey,
          batchId: e.batchId === null ? null : String(e.batchId),
        };
        const error = JSON.stringify(leaseExpiredError(e.attempt, p.now));
        if (e.attempt >= e.maxAttempts) {
          const failed = this.stmt('fail_job').get({ id: e.id, token: e.leaseToken, error, now: p.now }) as Applied | undefined;
          if (failed?.hasDependents === 1) awaited.push(e.id);
          out.failed.push(ref);
          if (e.batchId !== null) {
            const finished = this.countBatchFinished(String(e.batchId), 0, 1, 0, p.now, out.followUps);
            if (finished) out.finishedBatches.push(finished);
          }
        } else {
          this.stmt('requeue_job').get({ id: e.id, token: e.leaseToken, runAt: p.now, error, refund: 0 });
          out.requeued.push(ref);
        }
      }
      if (awaited.length) this.links.settle(awaited, p.now, out);
      return out;
    });
  }

  async pruneJobs(p: { now: number; limit: number }): Promise<{ deleted: number }> {
    let deleted = 0;
    for (const { task, state, cutoff } of pruneCutoffs(await this.getTasks({}), p.now)) {
      deleted += this.write(() => this.stmt('prune_finished').run({ task, state, cutoff, limit: p.limit }).changes);
    }
    this.write(() => {
      this.stmt('prune_batches').run({ cutoff: p.now - 86_400_000 });
      this.stmt('prune_submit_keys').run({ now: p.now });
      this.stmt('prune_workers').run({ cutoff: p.now - 86_400_000 });
      this.stmt('prune_throughput').run({ cutoff: p.now - THROUGHPUT_KEPT_MS });
      this.stmt('prune_audit').run({ cutoff: p.now - AUDIT_RETENTION_MS, limit: p.limit });
    });
    return { deleted };
  }

  /** No election on one file: every process runs the duties; their statements are fenced and idempotent. */
  async holdDuty(_p: { duty: string }): Promise<boolean> {
    return true;
  }

  // ---- changes by other processes ----------------------------------------------------------------

  watch(listener: (change: StoreChange) => void): () => void {
    this.watchers.add(listener);
    if (!this.pollTimer && !this.closed) {
      this.lastDataVersion = this.dataVersion();
      // Not unref'd: someone waiting for a result, or a running worker, keeps the process alive.
      this.pollTimer = setInterval(() => this.poll(), this.pollIntervalMs);
    }
    return () => {
      this.watchers.delete(listener);
      if (this.watchers.size === 0 && this.pollTimer) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
      }
    };
  }

  private dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  private poll(): void {
    if (this.closed) return;
    const version = this.dataVersion();
    if (version === this.lastDataVersion) return;
    this.lastDataVersion = version;
    for (const w of [...this.watchers]) w({ tasks: null });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.watchers.clear();
    await this.checkpointer?.stop();
    this.db.close();
  }
}

/** What a transition that took effect tells about its job. */
interface Applied {
  task: string;
  batchId?: number | null;
  concurrencyKey: string | null;
  hasDependents?: number;
}
function taskParams(name: string, settings: ResolvedTaskSettings, now: number) {
  return {
    name,
    settings: JSON.stringify(settings),
    concurrency: settings.concurrency,
    concurrencyPerKey: settings.concurrencyPerKey,
    rateLimit: settings.rateLimit?.limit ?? null,
    ratePeriodMs: settings.rateLimit?.periodMs ?? null,
    rateKey: settings.rateLimit?.key ?? null,
    now,
  };
}

interface TaskLimits {
  name: string;
  concurrency: number | null;
  concurrencyPerKey: number;
  pausedUntil: number | null;
  rateLimit: number | null;
  ratePeriodMs: number | null;
  rateKey: string | null;
  /** The endpoint group the task is bound to: only its push dispatchers claim it. */
  pushGroup: string | null;
}
interface Candidate {
  id: number;
  task: string;
  priority: number;
  runAt: number;
  concurrencyKey: string | null;
}
interface Expired {
  id: number;
  task: string;
  attempt: number;
  maxAttempts: number;
  batchId: number | null;
  leaseToken: number;
  concurrencyKey: string | null;
}

function claimOrder(a: Candidate, b: Candidate): number {
  return b.priority - a.priority || a.runAt - b.runAt || a.id - b.id;
}

/** A row of get_dependencies, built field by field (a spread of each row cost a flow's claims a tenth of their time). */
function dependencyRow(r: RawRow): DependencyRow {
  return {
    jobId: String(r.jobId),
    depId: String(r.depId),
    name: r.name as string | null,
    policy: r.policy as DependencyRow['policy'],
    task: r.task as string,
    state: r.state as JobState,
    result: r.result as DependencyRow['result'],
    error: r.error as string | null,
  };
}

function jobRow(r: RawRow): JobRow {
  const row = r as unknown as JobRow;
  row.id = String(r.id);
  if (r.batchId !== null) row.batchId = String(r.batchId);
  if (r.leaseToken !== null) row.leaseToken = String(r.leaseToken);
  delete (r as { hasDependents?: unknown }).hasDependents;
  return row;
}

/** A live submission held the key: its jobs are the answer, nothing was written. */
function replayOf(r: RawRow): InsertJobsResult {
  const jobIds = (JSON.parse(r.jobIds as string) as number[]).map(String);
  const batchId = r.batchId === null ? null : String(r.batchId);
  return { jobs: [], batchId, finishedBatch: null, followUps: [], replayed: { fingerprint: r.fingerprint as string, jobIds, batchId } };
}

function tokenRow(r: RawRow): TokenRecord {
  return { ...(r as unknown as TokenRecord), id: String(r.id), tasks: JSON.parse(r.tasks as string) as string[] };
}

function batchRow(r: RawRow): BatchRow {
  return {
    id: String(r.id),
    title: r.title as string | null,
    total: r.total as number,
    succeeded: r.succeeded as number,
    failed: r.failed as number,
    cancelled: r.cancelled as number,
    onFinishJobId: r.onFinishJobId === null ? null : String(r.onFinishJobId),
    createdAt: r.createdAt as number,
    finishedAt: r.finishedAt as number | null,
    isFlow: r.isFlow === 1,
  };
}

function scheduleRow(r: RawRow): ScheduleRecord {
  return {
    ...(r as unknown as ScheduleRecord),
    paused: r.paused === 1,
    lastJobId: r.lastJobId === null ? null : String(r.lastJobId),
    lastJobState: (r.lastJobState as string | null) ?? null,
  };
}

/** The WHERE terms and parameters of a job listing's filters (the statement names only the filters present, so SQLite uses an index for them). */
function jobFilter(p: ListJobsParams): { where: string[]; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (p.task !== undefined) {
    where.push('task = :task');
    params.task = p.task;
  }
  if (p.state !== undefined) {
    // Written in, not bound: SQLite uses a partial index (jobs_failed) only for a WHERE it can
    // read when it prepares the statement. Checked against the states first: nothing else gets in.
    if (!isJobState(p.state)) throw new InvalidOptionError('state', `must be one of ${JOB_STATES.join(', ')}`);
    where.push(`state = '${p.state}'`);
  }
  if (p.states !== undefined) {
    // Literal placeholders, one per state: `state IN (...)` over json_each would hide them from the planner.
    const names = p.states.map((st, i) => {
      params[`state${i}`] = st;
      return `:state${i}`;
    });
    where.push(names.length ? `state IN (${names.join(', ')})` : '0');
  }
  if (p.batchId !== undefined) {
    where.push('batch_id = :batchId');
    params.batchId = Number(p.batchId);
  }
  if (p.createdSince !== undefined) {
    where.push('created_at >= :createdSince');
    params.createdSince = p.createdSince;
  }
  if (p.createdUntil !== undefined) {
    where.push('created_at < :createdUntil');
    params.createdUntil = p.createdUntil;
  }
  if (p.beforeId !== undefined) {
    where.push('id < :beforeId');
    params.beforeId = Number(p.beforeId);
  }
  return { where, params };
}

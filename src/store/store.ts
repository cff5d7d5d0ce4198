/**
 * The Store: the one place that knows SQL. Methods are named by what happens to jobs, take one
 * params object (so a new field never breaks a backend) and receive `now` from the caller's
 * clock (so tests control time). Every backend passes `test/conformance/`.
 */
import type { BatchRow } from '../core/batch.js';
import type { DependencyPolicy } from '../core/dependencies.js';
import type { EndpointGroup, EndpointGroupRecord } from '../core/endpoint-group.js';
import type { JobProgress, JobRow, JobState, Payload } from '../core/job.js';
import type { RuleAlert, RuleDefinition, RuleRecord } from '../core/rule.js';
import type { ScheduleDefinition, ScheduleRecord } from '../core/schedule.js';
import type { ResolvedTaskSettings, TaskRecord } from '../core/task.js';
import type { Transition } from '../core/transitions.js';

export interface StoreCapabilities {
  /**
   * `push`: the store tells every process about changes as they happen (LISTEN/NOTIFY).
   * `poll`: changes made by other processes are noticed by polling a cheap change counter.
   */
  readonly changeFeed: 'push' | 'poll';
  /** Whether processes on other machines can share this store. */
  readonly sharedAcrossHosts: boolean;
  /**
   * Cluster-wide duties (reaping expired leases, pruning): `lock` means the store elects one
   * process at a time per duty (`holdDuty`), and another takes over if it dies; `every-process`
   * means every process runs them, which is safe because their statements are fenced and idempotent.
   */
  readonly clusterDuties: 'lock' | 'every-process';
}

export interface NewJob {
  task: string;
  input: Payload;
  priority: number;
  runAt: number;
  maxAttempts: number;
  timeoutMs: number | null;
  uniqueKey: string | null;
  concurrencyKey: string | null;
  origin: string | null;
  /** The W3C `traceparent` of the span that submitted it, for the span of its run (none when not traced). */
  traceContext?: string | null;
  /**
   * Insert the job already claimed by this worker, as one write instead of an insert and a claim:
   * a front door hands a new job straight to a worker that waits for it (the Gearman port to a
   * sleeping Gearman worker). Not for a job in a batch. A deduplicated job is not leased.
   */
  lease?: { workerId: string; leaseExpiresAt: number };
  /**
   * Debounce: when a queued job of the task holds the unique key, give it this job's input and
   * run time instead of adding a job (a running holder is returned as it is, like any holder).
   */
  debounce?: boolean;
  /** Jobs to wait for: the job is stored `waiting` and queued when they have all succeeded (core/dependencies.ts). */
  after?: NewDependency[];
  /** Its step name in a flow. */
  step?: string | null;
}

/** One job a new job waits for: stored before (`id`), or an earlier job of the same submission (`index`). */
export interface NewDependency {
  on: { id: string } | { index: number };
  /** The name the waiting job knows it by (ctx.dependencies). */
  name: string | null;
  policy: DependencyPolicy;
}

/** An edge with the state of the job waited for: what a handler's ctx.dependencies and a flow read show. */
export interface DependencyRow {
  /** The waiting job. */
  jobId: string;
  /** The job it waits for. */
  depId: string;
  name: string | null;
  policy: DependencyPolicy;
  task: string;
  state: JobState;
  result: Payload | null;
  error: string | null;
}

/** A job the store ended itself, because a job it waited for failed or was cancelled. */
export interface EndedJob {
  id: string;
  task: string;
  state: 'failed' | 'cancelled';
  batchId: string | null;
  /** The error recorded on it (JSON): DEPENDENCY_FAILED, naming the job that ended it. */
  error: string;
}

export interface InsertJobsParams {
  jobs: NewJob[];
  batch?: NewBatch;
  now: number;
  submitKey?: SubmitKey;
}

export interface NewBatch {
  title: string | null;
  /** Enqueued once, when the last job of the batch ends; its input is wrapped by `onFinishInputText`. */
  onFinish: NewJob | null;
  /** A flow: a batch whose jobs wait for each other (read back with its steps and edges). */
  flow?: boolean;
}

/** A submission's idempotency key: while it lives, the same key returns the first submission's jobs. */
export interface SubmitKey {
  /** Names who submitted and the key they chose (the caller hashes the two; any text up to 255 characters). */
  key: string;
  /** A hash of what was submitted; the caller refuses the same key with another fingerprint. */
  fingerprint: string;
  expiresAt: number;
}

/** The submission that already holds a key: nothing new was stored. */
export interface ReplayedSubmission {
  fingerprint: string;
  jobIds: string[];
  batchId: string | null;
}

export interface InsertedJob {
  id: string;
  task: string;
  /** True when a queued or running job held the unique key; `id` is that job's. */
  deduplicated: boolean;
  /** True when that job was queued and took this submission's input and run time (debounce). */
  debounced?: boolean;
  /** `waiting` for its dependencies; `failed` or `cancelled` when one of them had already ended so. */
  state: JobState;
  runAt: number;
  /** The fencing token of a job inserted with `lease` (state `running`, attempt 1). */
  leaseToken?: string;
}

export interface InsertJobsResult {
  jobs: InsertedJob[];
  batchId: string | null;
  /** Set when the batch was empty and so finished at once. */
  finishedBatch: BatchRow | null;
  /** Jobs enqueued by the store itself (a batch's onFinish job). */
  followUps: InsertedJob[];
  /** Batches that finished because members were ended at once (a dependency had already failed). */
  finishedBatches?: BatchRow[];
  /** Set when `submitKey` was held by a live submission: then `jobs` is empty and nothing was written. */
  replayed?: ReplayedSubmission;
}

/** What a worker needs to run one attempt of a job. */
export interface ClaimedJob {
  id: string;
  task: string;
  input: Payload;
  attempt: number;
  maxAttempts: number;
  priority: number;
  timeoutMs: number | null;
  batchId: string | null;
  createdAt: number;
  leaseToken: string;
  leaseExpiresAt: number;
  /** Gearman workers are told the unique key (JOB_ASSIGN_UNIQ). */
  uniqueKey: string | null;
  /** True when the job waited for other jobs. */
  hasDependencies?: boolean;
  /**
   * What it waited for, with their states and results: every claim of a store brings them for a
   * job with `hasDependencies` (its handler reads them in ctx.dependencies), as the agent API does.
   */
  dependencies?: DependencyRow[];
  /**
   * The W3C `traceparent` it was submitted under, when the claimer was handed it (an HTTP agent's
   * claim answer carries it); else the run reads it from the stored job when it traces.
   */
  traceContext?: string | null;
}

export interface ConnectionStats {
  /** Pooled connections open, idle among them, and queries waiting for one. */
  pool: { total: number; idle: number; waiting: number };
  /** Whether this process listens for other processes' changes now (false while its connection is down, or before anything watches). */
  listening: boolean;
}

export interface ClaimParams {
  workerId: string;
  tasks: string[];
  max: number;
  leaseMs: number;
  now: number;
}

/** What to record of an attempt: defined with the rules that make it, in core/transitions.ts. */
export type { Transition } from '../core/transitions.js';

export interface TransitionResult {
  ok: boolean;
  task: string | null;
  /** The job's concurrency key, when the transition took effect (its slot is free again). */
  concurrencyKey: string | null;
  /** Its batch (or flow), when the transition took effect and it has one. */
  batchId?: string | null;
}

export interface FinishResult {
  /** One per transition, in order; `ok: false` when the token was stale (lease lost). */
  results: TransitionResult[];
  finishedBatches: BatchRow[];
  /**
   * Jobs the store queued itself: a batch's onFinish job, waiting jobs whose dependencies are done.
   * One that the same call's claim took is in `claimed` only (on PostgreSQL a released job goes
   * from waiting straight to running, written once).
   */
  followUps: InsertedJob[];
  /** Waiting jobs the store ended because a job they waited for failed or was cancelled. */
  ended: EndedJob[];
  /** Jobs claimed in the same transaction, when `claim` was given. */
  claimed: ClaimedJob[];
}

export interface Touch {
  id: string;
  token: string;
  /** For events only; the store does not need it. */
  task?: string;
  progress?: JobProgress;
}

export interface ListJobsParams {
  task?: string;
  state?: JobState;
  /** Any of these states (with `state`, both must hold). */
  states?: JobState[];
  batchId?: string;
  /** Created at or after this time. */
  createdSince?: number;
  /** Created before this time. */
  createdUntil?: number;
  limit: number;
  /** Only jobs with a smaller id (listings go newest first). */
  beforeId?: string;
}

/** A text search: jobs whose input, result or error contains `text` (case-insensitive), among the newest `scanLimit` that the other filters keep. */
export interface SearchJobsParams extends ListJobsParams {
  text: string;
  scanLimit: number;
}

export interface SearchJobsResult {
  /** Matching jobs, newest first, at most `limit`. */
  jobs: JobRow[];
  /** When fewer than `limit` matched and the scan stopped at `scanLimit` jobs: the smallest id it looked at (search on below it). */
  scannedDownTo: string | null;
}

/** Failed jobs grouped by task and error message. */
export interface ErrorGroupRow {
  task: string;
  message: string;
  count: number;
  lastAt: number;
  /** The newest failed job of the group. */
  sampleJobId: string;
}

/** A job's dependency or dependent, as a detail page shows it. */
export interface LinkedJob {
  id: string;
  task: string;
  step: string | null;
  state: JobState;
}

export interface DeleteJobsResult {
  deleted: string[];
  /** Ids that were not finished (or that a job still to run waits for): left as they are. */
  notFinished: string[];
  /** Ids no job has. */
  missing: string[];
}

/** One action written to the audit log. */
export interface AuditEntry {
  /** A token's name, or `local:<address>` for the anonymous loopback caller. */
  actor: string;
  method: string;
  /** The route's pattern (`/v1/jobs/:id/retry`). */
  route: string;
  /** Ids or names the action was about. */
  targets: string[];
  /** A summary of the body, without secrets (JSON text). */
  summary: string | null;
  status: number;
  at: number;
}

export interface AuditRecord extends AuditEntry {
  id: string;
}

/** How long the audit log keeps an entry: the pruner deletes older ones. */
export const AUDIT_RETENTION_MS = 90 * 86_400_000;

export interface CountRow {
  task: string;
  state: JobState;
  count: number;
}

export interface PriorityCountRow {
  task: string;
  priority: number;
  count: number;
}

export interface WorkerRecord {
  id: string;
  kind: string;
  host: string | null;
  pid: number | null;
  tasks: string[];
  concurrency: number;
  startedAt: number;
  lastSeenAt: number;
  /** Jobs it holds now (running under its id): filled in by listWorkers. */
  busy?: number;
  /** When an operator asked it to stop (it claims no more jobs): filled in by listWorkers. */
  stopRequestedAt?: number | null;
}

export type TokenScope = 'submit' | 'work' | 'read' | 'admin';

/** A dashboard login, kept in the store so that every server of the store knows it, across restarts. */
export interface DashboardSessionRecord {
  /** SHA-256 of the session id: the cookie holds the id, the store only its hash. */
  idHash: string;
  /** SHA-256 of the token's secret, looked up again on every request. */
  tokenHash: string;
  createdAt: number;
  lastUsedAt: number;
}

/** An API token as stored: never the secret, only its SHA-256 hash. */
export interface TokenRecord {
  id: string;
  name: string;
  scope: TokenScope;
  /** Task name patterns (`*` matches any run of characters); empty means every task. */
  tasks: string[];
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface JobRef {
  id: string;
  task: string;
}

/** A job whose lease expired, and the attempt that ended so. */
export interface ReapedJob extends JobRef {
  attempt: number;
  concurrencyKey: string | null;
  batchId?: string | null;
}

export interface ReapResult {
  requeued: ReapedJob[];
  failed: ReapedJob[];
  finishedBatches: BatchRow[];
  followUps: InsertedJob[];
  ended: EndedJob[];
}

export interface CancelResult {
  row: JobRow;
  /** The state before the cancel; `running` means a worker must be told to stop. */
  previous: JobState;
  finishedBatch: BatchRow | null;
  followUps: InsertedJob[];
  ended: EndedJob[];
  /** Batches other than the job's own that finished because dependents were ended. */
  finishedBatches: BatchRow[];
}

export interface PurgeResult {
  deleted: number;
  finishedBatches: BatchRow[];
  followUps: InsertedJob[];
  ended: EndedJob[];
}

/** What cancelling a batch or flow did: its jobs that had not started, cancelled. */
export interface CancelBatchResult {
  cancelled: EndedJob[];
  finishedBatches: BatchRow[];
  followUps: InsertedJob[];
  ended: EndedJob[];
}

export interface StoreChange {
  /** Tasks that may have new runnable jobs; null when the store cannot tell what changed. */
  tasks: string[] | null;
  /** Jobs that reached a final state, when the store can tell; absent means "maybe any". */
  finished?: string[];
  /** Batches that finished, when the store can tell. */
  finishedBatches?: string[];
}

/** One tick of a schedule, as the scheduler planned it from the schedule's cursor. */
export interface ScheduleTick {
  /** The cursor the plan was made from: the tick is recorded only while the schedule's cursor is still this. */
  cursor: number;
  /** The tick's time. */
  at: number;
  /** The cursor after this tick. */
  next: number | null;
}

export interface FireScheduleParams {
  name: string;
  /** The job to enqueue; null to move the cursor past a tick that does not fire (missed). */
  job: NewJob | null;
  /** A tick (fired once, by whoever records it first), or absent for a run asked for by hand. */
  tick?: ScheduleTick;
  /** Fire even while the last job is queued or running: a later tick made up in the same catch-up as a tick that just fired. */
  ignoreOverlap?: boolean;
  /** The tick's key (schedule and tick time): a key already held stores nothing. */
  submitKey?: SubmitKey;
  now: number;
}

export interface FireScheduleResult {
  /**
   * `fired`: the job was stored; `skipped`: the previous job is still queued or running (overlap
   * skip), the cursor moved; `dropped`: the cursor moved past a missed tick; `stale`: another
   * process handled this tick first, or the schedule changed or was paused; `gone`: no such schedule.
   */
  outcome: 'fired' | 'skipped' | 'dropped' | 'stale' | 'gone';
  job: InsertedJob | null;
}

/** One job's claim on an endpoint of its group, and the endpoints it may take in the order the balancer prefers. */
export interface PushSlotRequest {
  jobId: string;
  leaseToken: string;
  /** Endpoint ids, most preferred first; only healthy ones. */
  order: string[];
}

export interface TakePushSlotsParams {
  group: string;
  requests: PushSlotRequest[];
  /** Each endpoint's cap (null: none) and weight. */
  endpoints: { id: string; concurrency: number | null; weight: number }[];
  /** The group's cap. */
  groupConcurrency: number;
  /** Take the endpoint with the fewest outstanding per weight (ties by order), not the first of the order with room. */
  leastOutstanding: boolean;
  /** Slots given back first, in the same call (their endpoints answered): their room is there for these requests. */
  release?: { jobId: string; leaseToken: string }[];
  now: number;
}

/** One alert of a condition rule starting (`firing`) or clearing, with the job that tells people, written together. */
export interface RecordRuleAlertParams {
  rule: string;
  /** The task, or the worker's id, the alert is about. */
  subject: string;
  /** True: the condition holds (the alert is stored, unless it already was); false: it cleared (the alert is removed, if stored). */
  firing: boolean;
  value: number;
  /** Enqueued only when the alert changed, in the same transaction; null to change the alert alone. */
  job: NewJob | null;
  now: number;
}

export interface RecordRuleAlertResult {
  /** False when the alert already stood so (another process recorded it first): nothing was written. */
  changed: boolean;
  job: InsertedJob | null;
}

/** A task's queued jobs: how many, and the earliest run time among them. */
export interface QueueStatsRow {
  task: string;
  queued: number;
  oldestRunAt: number | null;
}

export interface FinishedCountRow {
  task: string;
  succeeded: number;
  failed: number;
}

/** Jobs of a task that finished in one minute, and its failed attempts that were retried then. */
export interface ThroughputRow {
  task: string;
  /** The start of the minute (ms since the epoch). */
  minute: number;
  succeeded: number;
  /** Failed for good (no attempt left, or a permanent error). */
  failed: number;
  /** Failed attempts sent back to the queue to be tried again. */
  retried: number;
}

/** How long the store keeps throughput buckets: at least a day (the pruner forgets older ones). */
export const THROUGHPUT_KEPT_MS = 86_400_000 + 60_000;

export interface Store {
  readonly capabilities: StoreCapabilities;
  /** A short description for logs, without secrets (e.g. `sqlite:/srv/offload.db`). */
  readonly description: string;
  /** The state of a networked store's connections, for metrics (absent: no pool, as in SQLite). */
  connectionStats?(): ConnectionStats;

  // submitting
  /** Stores jobs (and a batch) in one transaction; with `submitKey`, a key held by a live submission stores nothing (`replayed`). */
  insertJobs(p: InsertJobsParams): Promise<InsertJobsResult>;

  // working
  claimJobs(p: ClaimParams): Promise<ClaimedJob[]>;
  /** Records attempts' outcomes; with `claim`, also claims the next jobs in the same transaction. */
  finishJobs(p: { transitions: Transition[]; now: number; claim?: ClaimParams }): Promise<FinishResult>;
  /** Extends leases (when `leaseExpiresAt` is set) and records progress; returns the ids whose lease was lost. */
  touchJobs(p: { touches: Touch[]; leaseExpiresAt: number | null; now: number }): Promise<{ lost: string[] }>;
  /** The earliest run_at of a queued job of these tasks, to wake up on time. */
  nextRunAt(p: { tasks: string[] }): Promise<number | null>;

  // reading
  getJob(p: { id: string }): Promise<JobRow | null>;
  getJobs(p: { ids: string[] }): Promise<JobRow[]>;
  listJobs(p: ListJobsParams): Promise<JobRow[]>;
  /** Text search among the newest jobs the filters keep, bounded by `scanLimit` rows examined. */
  searchJobs(p: SearchJobsParams): Promise<SearchJobsResult>;
  /** Failed jobs (finished at or after `since`) grouped by task and error message, most recent first, up to `limit` groups. */
  groupErrors(p: { task?: string; since: number; limit: number }): Promise<ErrorGroupRow[]>;
  /** The jobs a job waits or waited for (`dependencies`) and the jobs that wait or waited for it (`dependents`). */
  getJobLinks(p: { id: string }): Promise<{ dependencies: LinkedJob[]; dependents: LinkedJob[] }>;
  /** Job counts per task and state; `states` limits the count to those states (cheaper without the finished ones). */
  countJobs(p: { task?: string; states?: JobState[] }): Promise<CountRow[]>;
  /** Jobs per task and minute, for the minutes starting at or after `since`, oldest first; `tasks` limits them to those tasks. Kept for THROUGHPUT_KEPT_MS. */
  throughput(p: { since: number; tasks?: string[] }): Promise<ThroughputRow[]>;
  /** Queued jobs per task and priority (Gearman's `prioritystatus`). */
  countQueuedByPriority(): Promise<PriorityCountRow[]>;
  getBatch(p: { id: string }): Promise<BatchRow | null>;
  /** Batches and flows, newest first; `beforeId` pages on (ids below it). */
  listBatches(p: { limit: number; beforeId?: string }): Promise<BatchRow[]>;
  /** The edges of these waiting (or once waiting) jobs, with the state and result of each job waited for. */
  getDependencies(p: { jobIds: string[] }): Promise<DependencyRow[]>;
  /** Every job of a batch (a flow's steps), oldest first, up to `limit`. */
  listBatchJobs(p: { batchId: string; limit: number }): Promise<JobRow[]>;

  // acting on jobs
  cancelJob(p: { id: string; now: number }): Promise<CancelResult>;
  /** Cancels the jobs of a batch that have not started (waiting or queued); its running jobs finish. */
  cancelBatch(p: { id: string; now: number }): Promise<CancelBatchResult>;
  retryJob(p: { id: string; now: number }): Promise<JobRow>;
  purgeJobs(p: { task: string; states: JobState[]; now: number }): Promise<PurgeResult>;
  /** Deletes finished jobs by id (not one that a job still to run waits for), their own edges with them. */
  deleteJobs(p: { ids: string[] }): Promise<DeleteJobsResult>;

  /** Queued or running jobs holding this unique key, in any task (Gearman's GET_STATUS_UNIQUE). */
  findJobsByUniqueKey(p: { uniqueKey: string }): Promise<JobRow[]>;

  // task registry
  /** Adds or replaces task settings; with `onlyIfMissing`, leaves tasks that exist untouched. */
  registerTasks(p: { tasks: { name: string; settings: ResolvedTaskSettings }[]; now: number; onlyIfMissing?: boolean }): Promise<void>;
  getTasks(p: { names?: string[] }): Promise<TaskRecord[]>;
  pauseTask(p: { task: string; until: number }): Promise<void>;
  /** Ends a task's suspension at once; false when the task does not exist. */
  resumeTask(p: { task: string }): Promise<boolean>;
  /** Removes a task from the registry; false when it has queued or running jobs (or does not exist). */
  removeTask(p: { name: string }): Promise<boolean>;

  // schedules
  /**
   * Adds or replaces a schedule's definition, keeping its pause and its last tick and job; the
   * cursor becomes `nextTickAt` when the rule or time zone changed (or the schedule is new), else
   * stays. Returns the record.
   */
  saveSchedule(p: { schedule: ScheduleDefinition; nextTickAt: number | null; now: number }): Promise<ScheduleRecord>;
  /** Schedules by name (all without `names`), by name order, with their last job's state. */
  getSchedules(p: { names?: string[] }): Promise<ScheduleRecord[]>;
  /** Schedules not paused whose cursor is due at `now`, earliest first. */
  dueSchedules(p: { now: number; limit: number }): Promise<ScheduleRecord[]>;
  /** The earliest cursor of the schedules not paused: when the scheduler next has work. */
  nextScheduleTick(): Promise<number | null>;
  /** Pauses or resumes; on resume the cursor becomes `nextTickAt` (ticks while paused are not caught up). False when no such schedule. */
  setSchedulePaused(p: { name: string; paused: boolean; nextTickAt: number | null; now: number }): Promise<boolean>;
  removeSchedule(p: { name: string }): Promise<boolean>;
  /**
   * Records one tick of a schedule and enqueues its job, in one transaction, exactly once however
   * many processes try: the tick is taken only while the schedule's cursor is `tick.cursor`, and
   * the job carries the tick's key. Overlap `skip` is judged in the same transaction.
   */
  fireSchedule(p: FireScheduleParams): Promise<FireScheduleResult>;

  // endpoint groups (push)
  /**
   * Saves a group and binds its tasks to it: with the group's `taskSettings` they are registered
   * with those settings, else a task missing from the registry is registered with the defaults.
   * Tasks it no longer names are unbound. INVALID_ENDPOINT_GROUP when one of its
   * tasks is bound to another group.
   */
  saveEndpointGroup(p: { group: EndpointGroup; now: number }): Promise<EndpointGroupRecord>;
  getEndpointGroups(p: { names?: string[] }): Promise<EndpointGroupRecord[]>;
  /** Deletes a group and unbinds its tasks (pull workers may claim them again); false when there is none. */
  removeEndpointGroup(p: { name: string }): Promise<boolean>;
  /**
   * Gives each request an endpoint of the group with room under its cap and the group's, or null
   * when none has: atomic across every process on the store. A slot lives while its job runs
   * under the same lease token (an outcome, a lost lease or a new attempt ends it).
   */
  takePushSlots(p: TakePushSlotsParams): Promise<(string | null)[]>;
  /** Gives slots back once their endpoint answered (a slot taken under another token stays). */
  releasePushSlots(p: { slots: { jobId: string; leaseToken: string }[] }): Promise<void>;
  /** Jobs outstanding per endpoint of a group, across every process. */
  countPushSlots(p: { group: string }): Promise<{ endpoint: string; outstanding: number }[]>;
  // rules
  /** Adds or replaces a rule's definition, keeping its pause and its alerts. Returns the record. */
  saveRule(p: { rule: RuleDefinition; now: number }): Promise<RuleRecord>;
  /** Rules by name (all without `names`), by name order. */
  getRules(p: { names?: string[] }): Promise<RuleRecord[]>;
  /** False when no such rule. */
  setRulePaused(p: { name: string; paused: boolean; now: number }): Promise<boolean>;
  /** Deletes a rule and its alerts; false when no such rule. */
  removeRule(p: { name: string }): Promise<boolean>;
  /** The alerts that are firing (of one rule, or of all), by rule and subject. */
  getRuleAlerts(p: { rule?: string }): Promise<RuleAlert[]>;
  /**
   * Stores or clears one alert and enqueues its job, in one transaction, once however many
   * processes try: only the call that changes the alert writes the job.
   */
  recordRuleAlert(p: RecordRuleAlertParams): Promise<RecordRuleAlertResult>;
  /** Per task of `tasks` that has queued jobs: how many, and their earliest run time. */
  queueStats(p: { tasks: string[] }): Promise<QueueStatsRow[]>;
  /** Per task of `tasks`: jobs that succeeded and failed (for good) at or after `since`. */
  countFinishedSince(p: { tasks: string[]; since: number }): Promise<FinishedCountRow[]>;

  // API tokens
  /** Stores a token; INVALID_OPTION when the name is taken. */
  createToken(p: { name: string; scope: TokenScope; tasks: string[]; hash: string; now: number }): Promise<TokenRecord>;
  listTokens(p: { includeRevoked?: boolean }): Promise<TokenRecord[]>;
  /** Marks a token revoked; false when no active token has this name. */
  revokeToken(p: { name: string; now: number }): Promise<boolean>;
  /** The active (not revoked) token with this hash. */
  findToken(p: { hash: string }): Promise<TokenRecord | null>;

  // dashboard sessions
  /** Stores a new session, and forgets every session last used before `idleBefore`. */
  createDashboardSession(p: { session: DashboardSessionRecord; idleBefore: number }): Promise<void>;
  getDashboardSession(p: { idHash: string }): Promise<DashboardSessionRecord | null>;
  /** The session was used now: its idle time starts again. */
  touchDashboardSession(p: { idHash: string; now: number }): Promise<void>;
  /** Forgets one session (by its id's hash), or every session of a token (by the token's hash). */
  deleteDashboardSessions(p: { idHash?: string; tokenHash?: string }): Promise<void>;

  // workers
  /** Adds or refreshes a worker's record; says whether an operator asked it to stop. */
  upsertWorker(p: { worker: WorkerRecord }): Promise<{ stopRequested: boolean }>;
  removeWorker(p: { id: string }): Promise<void>;
  /** Workers seen since then, with `busy` (running jobs under their id) and `stopRequestedAt`. */
  listWorkers(p: { seenSince?: number }): Promise<WorkerRecord[]>;
  /** Asks a worker to stop claiming (it learns at its next heartbeat or claim); false when no such worker. */
  requestWorkerStop(p: { id: string; now: number }): Promise<boolean>;

  // audit log
  /** Appends actions to the audit log, in one write. */
  recordAudit(p: { entries: AuditEntry[] }): Promise<void>;
  /** Entries newest first, below `beforeId` when given. */
  listAudit(p: { beforeId?: string; limit: number }): Promise<AuditRecord[]>;

  // maintenance
  reapExpiredLeases(p: { now: number; limit: number }): Promise<ReapResult>;
  /** Deletes finished jobs past their task's retention, old batches, keys and workers, and audit entries older than AUDIT_RETENTION_MS. */
  pruneJobs(p: { now: number; limit: number }): Promise<{ deleted: number }>;
  /**
   * Folds the counters' pending deltas into their totals (reads add the deltas not yet folded, so
   * this only keeps reads short): a cluster duty, held once (maintenance/counter-folder.ts).
   * Absent where counters are kept in place (SQLite). Returns how many delta rows were folded.
   */
  foldCounters?(): Promise<{ folded: number }>;
  /**
   * Takes or keeps the cluster-wide lock of a duty (`rescuer`, `pruner`…): true while this process
   * should run it. Ask before each run. Stores whose `clusterDuties` is `every-process` say true.
   */
  holdDuty(p: { duty: string }): Promise<boolean>;

  /** Calls `listener` when another process changes the store. Returns the unsubscribe function. */
  watch(listener: (change: StoreChange) => void): () => void;
  close(): Promise<void>;
}

import { buildFlowJobs, type Flow, type FlowSteps, flowStepsOf, flowTasks } from './client/flows.js';
import { BatchHandle, FlowHandle, type HandleHost, JobHandle, resultOf } from './client/handles.js';
import { DEFAULT_IDEMPOTENCY_WINDOW_MS, replayedIds, type SubmitOptions, submitKeyOf } from './client/idempotency.js';
import { checkId, decodeCursor, encodeCursor } from './client/ids.js';
import type { AgentOutcome, ClaimOptions, FailOptions, OutcomeResult } from './client/leases.js';
import * as leases from './client/leases.js';
import { buildNewJob, buildNewJobs, DEFAULT_MAX_INPUT_BYTES, type EnqueueOptions } from './client/submission.js';
import { Waiters, type WaitOptions } from './client/waiters.js';
import { BATCH_FAILURES_LISTED, type Batch, type BatchFailure, type BatchOutcome, type BatchResult, batchOutcome, toBatch } from './core/batch.js';
import { type Clock, sleep, systemClock } from './core/clock.js';
import { type DependencyPolicy, MAX_FLOW_STEPS } from './core/dependencies.js';
import {
  BatchNotFoundError,
  ClosedError,
  FlowNotFoundError,
  InvalidFlowError,
  InvalidOptionError,
  JobNotFoundError,
  ScheduleNotFoundError,
  UnknownTaskError,
  WaitTimeoutError,
} from './core/errors.js';
import { EventBus, type EventName, type Listener } from './core/events.js';
import { isJobState, JOB_STATES, type Job, type JobProgress, type JobState, toJob } from './core/job.js';
import { defaultLogger, type Logger } from './core/logger.js';
import { TaskRegistry } from './core/registry.js';
import { checkScheduleName, resolveSchedule, type Schedule, type ScheduleSettings, tickAfter, toSchedule } from './core/schedule.js';
import { defineTask, type Handler, type ResolvedTaskSettings, type TaskDefinition, type TaskSettings } from './core/task.js';
import { HttpRequests } from './http-requests/http-batch.js';
import { httpRequestTask } from './http-requests/request-task.js';
import { CounterFolder } from './maintenance/counter-folder.js';
import { Pruner } from './maintenance/pruner.js';
import { Rescuer } from './maintenance/rescuer.js';
import { createMailer, type Mailer, type MailerConfig } from './notify/mailer.js';
import { OffloadMetrics } from './observability/metrics.js';
import { JobTracing } from './observability/tracing.js';
import { PushService } from './push/push-service.js';
import { DELIVERY_TASKS, deliveryTasks } from './rules/deliveries.js';
import { RulesEngine, type RulesEngineOptions } from './rules/engine.js';
import { RuleBook } from './rules/rule-book.js';
import { Scheduler } from './schedules/scheduler.js';
import { GroupCommit } from './store/group-commit.js';
import { instrumentStore } from './store/instrumented.js';
import { DEFAULT_STORE_URL, openStore } from './store/open.js';
import { Runnability } from './store/runnability.js';
import {
  type ClaimedJob,
  type InsertedJob,
  type InsertJobsResult,
  type ListJobsParams,
  type NewJob,
  type Store,
  type SubmitKey,
  THROUGHPUT_KEPT_MS,
  type ThroughputRow,
} from './store/store.js';
import { storeBackend } from './worker/store-backend.js';
import { Worker, type WorkerOptions } from './worker/worker.js';

/** Maps task names to their input and output types, for `enqueue('name', …)` type checks. */
export type TaskMap = Record<string, { input: unknown; output: unknown }>;

/** Builds a TaskMap from task definitions: `Offload<TaskMapOf<typeof tasks>>`. */
export type TaskMapOf<T extends Record<string, TaskDefinition<any, any, string>>> = {
  [K in keyof T as T[K]['name']]: T[K] extends TaskDefinition<infer I, infer O, string> ? { input: I; output: O } : never;
};

export interface OffloadOptions {
  /** A store URL (`sqlite:./offload.db`, `postgres://…`) or an open Store. Default: $OFFLOAD_STORE or sqlite:./offload.db. */
  store?: string | Store;
  /** Task definitions this process knows (and may run). */
  tasks?: TaskDefinition<any, any>[];
  clock?: Clock;
  logger?: Logger;
  /** Largest accepted job input, in bytes of JSON (default 1 MiB). */
  maxInputBytes?: number;
  /** How long an idempotency key returns its submission's jobs (default 24 hours). */
  idempotencyWindowMs?: number;
  /** The SMTP server that rules sending e-mail use, in the processes that work (see docs/guides/rules.md). */
  mail?: MailerConfig;
}

export interface SubmitItem<I = any> {
  task: TaskDefinition<I, any> | string;
  input: I;
  options?: EnqueueOptions;
}

export interface BatchOptions extends SubmitOptions {
  title?: string;
  /** A job to enqueue once, when every job of the batch has finished; its input becomes `{ batch, input }`. */
  onFinish?: { task: TaskDefinition<any, any> | string; input?: unknown; options?: EnqueueOptions };
}

export interface FlowOptions extends BatchOptions {
  /** The steps by name: `{ fetch: { task, input }, parse: { task, input, after: ['fetch'] } }`. */
  steps: FlowSteps;
  /** When a job waited for fails or is cancelled: cancel the waiting step (default), fail it, or run it anyway. Per edge with `{ step, onFailure }`. */
  onDependencyFailure?: DependencyPolicy;
}

export interface ListJobsOptions {
  task?: string;
  state?: JobState;
  /** Any of these states. */
  states?: JobState[];
  batchId?: string;
  /** The steps of this flow. */
  flowId?: string;
  /** Created at or after this time (ms). */
  createdSince?: number;
  /** Created before this time (ms). */
  createdUntil?: number;
  /**
   * Jobs whose input, result or error contains this text (case-insensitive). Each call examines at
   * most SEARCH_SCAN_LIMIT jobs (newest first, after the other filters): a page may then hold fewer
   * than `limit` jobs, even none, with a `nextCursor` to search on.
   */
  text?: string;
  /** 1–1000, default 50. */
  limit?: number;
  cursor?: string;
}

/** How many jobs one text search examines at most (see ListJobsOptions.text). */
export const SEARCH_SCAN_LIMIT = 10_000;

export interface TaskCounts {
  task: string;
  /** Waiting for other jobs (dependencies). */
  waiting: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** While the task is suspended (none of its jobs is claimed): until when, in epoch ms; null otherwise. */
  suspendedUntil: number | null;
}

export interface WorkOptions extends WorkerOptions {
  /** Also run the lease rescuer and the pruner in this process (default true). */
  maintenance?: boolean;
  /** Also run the rules engine in this process: rules match the outcomes it records, and it works their deliveries (default true). */
  rules?: boolean;
}

/** Workers that run rule deliveries in a process: notices are small and mostly wait on the network. */
const DELIVERY_CONCURRENCY = 5;

type TaskRef = TaskDefinition<any, any> | string;
type InputFor<M extends TaskMap, T> = T extends TaskDefinition<infer I, any> ? I : T extends keyof M ? M[T]['input'] : unknown;
type OutputFor<M extends TaskMap, T> = T extends TaskDefinition<any, infer O> ? O : T extends keyof M ? M[T]['output'] : unknown;

/**
 * Offload in one object: submit jobs, await them, read them back, and run workers.
 *
 * @example
 * const offload = await Offload.open({ store: 'sqlite:./offload.db', tasks: [sendEmail] });
 * const job = await offload.enqueue(sendEmail, { to: 'a@example.com' });
 * offload.work({ concurrency: 5 });
 * console.log(await job.result());
 */
export class Offload<M extends TaskMap = TaskMap> implements HandleHost {
  readonly store: Store;
  /** Store calls of this process under way (the instrumented store counts them). */
  private readonly storeCallsInFlight: () => number;
  readonly bus = new EventBus();
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: TaskRegistry;
  /** The one "work may be runnable" signal of this process: workers, long-polled claims and the Gearman port wait on it. */
  readonly runnability: Runnability;
  /** The one group-commit writer of this process: outcomes and claims of every way in, one transaction per turn. */
  readonly commits: GroupCommit;
  private readonly waiters: Waiters;
  /**
   * Push to endpoint groups: save and read groups here; `push.start()` runs a dispatcher for each
   * group in this process (`offload start` does it), and `push.callback()` takes the callbacks of
   * accepted attempts (the HTTP API's `/v1/push/jobs/:id/…`).
   */
  readonly push: PushService;
  /** Parallel HTTP requests as durable jobs: `offload.http.batch(requests, { limit, onEach, onFinish })`. */
  readonly http: HttpRequests;
  /** Submission limits, also applied by front doors that build jobs themselves (the Gearman port). */
  readonly limits: { readonly maxInputBytes: number };
  private readonly idempotencyWindowMs: number;
  private readonly workers = new Set<Worker>();
  /** Tasks whose declared schedule this process has saved in the store. */
  private readonly savedSchedules = new Set<string>();
  private maintenance: { rescuer: Rescuer; pruner: Pruner; scheduler: Scheduler; counterFolder: CounterFolder } | undefined;
  private closing: Promise<void> | undefined;
  /** The SMTP mailer of rules that send e-mail, when `mail` was given. */
  private readonly mailer: Mailer | undefined;
  private rulesEngine: RulesEngine | undefined;
  /** Rules: on events and conditions, send a webhook or an e-mail, or enqueue a job (docs/guides/rules.md). */
  readonly rules: RuleBook;
  /** This process's metrics, for `GET /metrics` or any Prometheus scrape (docs/guides/observability.md). */
  readonly metrics: OffloadMetrics;
  /** Spans around submit and run, once the application registers an OpenTelemetry tracer provider. */
  readonly tracing: JobTracing;

  private constructor(
    store: Store,
    private readonly ownsStore: boolean,
    opts: OffloadOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? defaultLogger();
    const instrumented = instrumentStore(store, this.bus);
    this.store = instrumented;
    this.storeCallsInFlight = () => instrumented.inFlight;
    this.metrics = new OffloadMetrics({ bus: this.bus, store: instrumented, clock: this.clock, logger: this.logger });
    this.tracing = new JobTracing(this.bus);
    this.registry = new TaskRegistry(this.store, this.clock);
    this.waiters = new Waiters(this.store, this.bus, this.clock);
    this.runnability = new Runnability(
      this.bus,
      this.store,
      (task) => this.registry.knownSettings(task)?.concurrency != null,
      (task) => this.registry.knownSettings(task)?.rateLimit ?? null,
      () => this.clock.now(),
    );
    this.commits = new GroupCommit(this.store, this.clock, this.logger);
    this.push = new PushService(this, {
      heartbeat: (id, o) => this.heartbeat(id, o),
      complete: (id, o) => this.complete(id, o),
      fail: (id, o) => this.fail(id, o),
    });
    this.limits = { maxInputBytes: opts.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES };
    if (!Number.isSafeInteger(this.limits.maxInputBytes) || this.limits.maxInputBytes < 1)
      throw new InvalidOptionError('maxInputBytes', 'must be a positive integer');
    this.idempotencyWindowMs = opts.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    if (!Number.isSafeInteger(this.idempotencyWindowMs) || this.idempotencyWindowMs < 1000)
      throw new InvalidOptionError('idempotencyWindowMs', 'must be an integer ≥ 1000 (milliseconds)');
    for (const def of opts.tasks ?? []) this.registry.define(def);
    // Offload's own tasks: every process defines them, so any worker on the store runs them.
    this.registry.defineBuiltIn(httpRequestTask);
    this.http = new HttpRequests({
      store: this.store,
      registry: this.registry,
      limits: this.limits,
      clock: this.clock,
      idempotencyWindowMs: this.idempotencyWindowMs,
      handles: this,
      checkOpen: () => this.checkOpen(),
    });
    this.mailer = opts.mail === undefined ? undefined : createMailer(opts.mail);
    const getRule = async (name: string) => (await this.store.getRules({ names: [name] }))[0];
    for (const def of deliveryTasks({ getRule, mailer: () => this.mailer, clock: this.clock })) this.registry.defineBuiltIn(def);
    this.rules = new RuleBook({ store: this.store, clock: this.clock, registry: this.registry, changed: async () => this.rulesEngine?.changed() });
  }

  static async open<M extends TaskMap = TaskMap>(opts: OffloadOptions = {}): Promise<Offload<M>> {
    const given = opts.store ?? process.env.OFFLOAD_STORE ?? DEFAULT_STORE_URL;
    const store = typeof given === 'string' ? await openStore(given) : given;
    const offload = new Offload<M>(store, typeof given === 'string', opts);
    await offload.registry.ensureRegistered();
    await offload.saveDefinedSchedules();
    return offload;
  }

  /**
   * Saves the schedules declared with tasks (`defineTask(…, { schedule })`) that this process has
   * not saved yet: the code's definition wins; a pause stays.
   */
  private async saveDefinedSchedules(): Promise<void> {
    const now = this.clock.now();
    for (const name of this.registry.localNames()) {
      const schedule = this.registry.get(name)?.schedule;
      if (!schedule || this.savedSchedules.has(name)) continue;
      await this.store.saveSchedule({ schedule, nextTickAt: tickAfter(schedule, now - 1), now });
      this.savedSchedules.add(name);
    }
  }

  // ---- tasks -----------------------------------------------------------------------------------

  /** Defines a task in this process (see `defineTask`) and returns its definition. */
  task<N extends string, I, O>(name: N, handler: Handler<I, O>, settings?: TaskSettings): TaskDefinition<I, Awaited<O>, N> {
    const def = defineTask(name, handler, settings);
    this.registry.define(def);
    return def;
  }

  /** Makes existing definitions known to this process (their schedules are saved when this process next works or opens). */
  register(...defs: TaskDefinition<any, any>[]): this {
    for (const def of defs) this.registry.define(def);
    return this;
  }

  // ---- schedules -------------------------------------------------------------------------------

  /**
   * Adds a schedule, or replaces the one of that name: a cron rule that enqueues `task` with
   * `input`. Every process that works on the store fires its ticks, once per tick across all of
   * them. Editing the rule or time zone starts it afresh from now; other edits keep its place.
   *
   * @example
   * await offload.schedule('nightly-report', { task: 'report.build', cron: '0 3 * * *', timezone: 'Europe/Berlin', input: { kind: 'daily' } });
   */
  async schedule(name: string, settings: ScheduleSettings & { task: TaskRef }): Promise<Schedule> {
    this.checkOpen();
    const task = nameOf(settings?.task);
    const def = resolveSchedule(checkScheduleName(name), task, settings);
    const now = this.clock.now();
    // A tick's job is built like any submission: the input must fit the task's schema and the size limit now, not at 03:00.
    await buildNewJob(this.registry, this.limits, now, task, JSON.parse(def.input), { priority: def.priority ?? undefined });
    const record = await this.store.saveSchedule({ schedule: def, nextTickAt: tickAfter(def, now - 1), now });
    this.maintenance?.scheduler.poke();
    return toSchedule(record);
  }

  /** Every schedule on the store, by name, with its next and last tick and its last job's state. */
  async schedules(): Promise<Schedule[]> {
    return (await this.store.getSchedules({})).map(toSchedule);
  }

  async getSchedule(name: string): Promise<Schedule> {
    const [record] = await this.store.getSchedules({ names: [checkScheduleName(name)] });
    if (!record) throw new ScheduleNotFoundError(name);
    return toSchedule(record);
  }

  /** Stops a schedule's ticks until it is resumed; ticks while paused are not caught up. */
  async pauseSchedule(name: string): Promise<Schedule> {
    return this.setPaused(name, true);
  }

  /** Resumes a paused schedule from its next tick after now. */
  async resumeSchedule(name: string): Promise<Schedule> {
    return this.setPaused(name, false);
  }

  private async setPaused(name: string, paused: boolean): Promise<Schedule> {
    const current = await this.getSchedule(name);
    const now = this.clock.now();
    if (!(await this.store.setSchedulePaused({ name, paused, nextTickAt: tickAfter(current, now - 1), now }))) throw new ScheduleNotFoundError(name);
    this.maintenance?.scheduler.poke();
    return this.getSchedule(name);
  }

  /** Enqueues the schedule's job now, off its rule (its cursor stays; the job counts as its last). */
  async runSchedule(name: string): Promise<JobHandle> {
    this.checkOpen();
    const s = await this.getSchedule(name);
    const now = this.clock.now();
    const job = await buildNewJob(this.registry, this.limits, now, s.task, s.input, { priority: s.priority ?? undefined, origin: `schedule:${name}` });
    const r = await this.store.fireSchedule({ name, job, now });
    if (!r.job) throw new ScheduleNotFoundError(name);
    return this.handleOf(r.job);
  }

  /** Deletes a schedule (its jobs stay). A schedule declared in code comes back when a process defining it opens the store. */
  async removeSchedule(name: string): Promise<void> {
    if (!(await this.store.removeSchedule({ name: checkScheduleName(name) }))) throw new ScheduleNotFoundError(name);
  }

  // ---- submitting ------------------------------------------------------------------------------

  /** Submits one job; resolves once it is stored. With `idempotencyKey`, a repeat returns the first submission's job. */
  async enqueue<T extends TaskRef>(
    task: T,
    input: InputFor<M, T>,
    options?: EnqueueOptions & SubmitOptions,
  ): Promise<JobHandle<InputFor<M, T>, OutputFor<M, T>>> {
    this.checkOpen();
    return this.tracing.submit('offload.enqueue', { 'offload.task': nameOf(task) }, async () => {
      const { idempotencyKey, ...enqueueOptions } = options ?? {};
      const now = this.clock.now();
      const job = await buildNewJob(this.registry, this.limits, now, nameOf(task), input, enqueueOptions);
      job.traceContext = this.tracing.activeTraceparent();
      const submitKey = submitKeyOf(idempotencyKey, job.origin, ['job', job.task, job.input, enqueueOptions], now, this.idempotencyWindowMs);
      const r = await this.store.insertJobs({ jobs: [job], now, submitKey });
      this.tracing.remember(r.jobs, job.traceContext);
      const [handle] = await this.handlesOf(r, idempotencyKey, submitKey);
      return handle as JobHandle<InputFor<M, T>, OutputFor<M, T>>;
    });
  }

  /** Submits many jobs in one transaction: all are stored, or none. */
  async enqueueMany(items: SubmitItem[], options: SubmitOptions = {}): Promise<JobHandle[]> {
    this.checkOpen();
    return this.tracing.submit('offload.enqueueMany', { 'offload.jobs': Array.isArray(items) ? items.length : 0 }, () => this.insertMany(items, options));
  }

  private async insertMany(items: SubmitItem[], options: SubmitOptions): Promise<JobHandle[]> {
    if (!Array.isArray(items)) throw new InvalidOptionError('items', 'must be an array of { task, input, options? }');
    const now = this.clock.now();
    const jobs = await buildNewJobs(
      this.registry,
      this.limits,
      now,
      items.map((it) => ({ ...it, task: nameOf(it?.task) })),
    );
    if (jobs.length === 0) return [];
    const traceContext = this.carryTrace(jobs);
    const submitKey = submitKeyOf(
      options.idempotencyKey,
      jobs[0].origin,
      ['jobs', jobs.map((j, i) => [j.task, j.input, items[i].options ?? {}])],
      now,
      this.idempotencyWindowMs,
    );
    const r = await this.store.insertJobs({ jobs, now, submitKey });
    this.tracing.remember(r.jobs, traceContext);
    return this.handlesOf(r, options.idempotencyKey, submitKey);
  }

  /** Submits a job and waits for its result (rejects with JobFailedError / JobCancelledError). */
  async run<T extends TaskRef>(task: T, input: InputFor<M, T>, options?: EnqueueOptions & SubmitOptions & WaitOptions): Promise<OutputFor<M, T>> {
    const { timeoutMs: _t, signal: _s, ...enqueueOptions } = options ?? {};
    const handle = await this.enqueue(task, input, enqueueOptions);
    return handle.result({ timeoutMs: options?.timeoutMs, signal: options?.signal }) as Promise<OutputFor<M, T>>;
  }

  /** Submits jobs as one batch with live counts; `await batch.wait()` gives `{ ok, succeeded, failed }`. */
  async batch(items: SubmitItem[], options: BatchOptions = {}): Promise<BatchHandle> {
    this.checkOpen();
    return this.tracing.submit('offload.batch', { 'offload.jobs': Array.isArray(items) ? items.length : 0 }, () => this.insertBatch(items, options));
  }

  private async insertBatch(items: SubmitItem[], options: BatchOptions): Promise<BatchHandle> {
    const now = this.clock.now();
    if (!Array.isArray(items)) throw new InvalidOptionError('items', 'must be an array of { task, input, options? }');
    const jobs = await buildNewJobs(
      this.registry,
      this.limits,
      now,
      items.map((it) => ({ ...it, task: nameOf(it?.task) })),
    );
    const onFinish = await this.onFinishJob(options.onFinish, now);
    const traceContext = this.carryTrace(onFinish ? [...jobs, onFinish] : jobs);
    const title = checkTitle(options.title);
    const submitKey = submitKeyOf(
      options.idempotencyKey,
      jobs[0]?.origin ?? onFinish?.origin ?? null,
      ['batch', jobs.map((j, i) => [j.task, j.input, items[i].options ?? {}]), title, options.onFinish ?? null],
      now,
      this.idempotencyWindowMs,
    );
    const r = await this.store.insertJobs({ jobs, batch: { title, onFinish }, now, submitKey });
    this.tracing.remember(r.jobs, traceContext);
    return new BatchHandle(this, r.batchId!, await this.handlesOf(r, options.idempotencyKey, submitKey), r.replayed !== undefined);
  }

  /** The job a batch or flow enqueues once it has finished (its input must be JSON: it is wrapped in `{ batch, input }`). */
  private async onFinishJob(onFinish: BatchOptions['onFinish'], now: number): Promise<NewJob | null> {
    if (!onFinish) return null;
    const job = await buildNewJob(this.registry, this.limits, now, nameOf(onFinish.task), onFinish.input ?? null, onFinish.options);
    if (typeof job.input !== 'string') throw new InvalidOptionError('onFinish.input', 'must be a JSON value');
    return job;
  }

  /**
   * Submits a flow: named steps that wait for each other (and for jobs stored before), all or
   * nothing. Each step is stored `waiting` until what it waits for has succeeded, then runs with
   * their results in `ctx.dependencies`. The flow is a batch: `wait()`, `result()`, live counts;
   * `read()` gives every step's state; `cancel()` cancels what has not started.
   */
  async flow(options: FlowOptions): Promise<FlowHandle> {
    this.checkOpen();
    const steps =
      typeof options === 'object' && options !== null && typeof options.steps === 'object' && options.steps !== null ? Object.keys(options.steps).length : 0;
    return this.tracing.submit('offload.flow', { 'offload.jobs': steps }, () => this.insertFlow(options));
  }

  private async insertFlow(options: FlowOptions): Promise<FlowHandle> {
    if (typeof options !== 'object' || options === null) throw new InvalidFlowError('give { steps: { name: { task, input, after } } }');
    const now = this.clock.now();
    const settings = new Map<string, ResolvedTaskSettings>();
    for (const task of flowTasks(options.steps)) if (!settings.has(task)) settings.set(task, await this.registry.settingsFor(task));
    const { jobs, names } = buildFlowJobs(this.registry, settings, this.limits, now, options.steps, options.onDependencyFailure);
    const onFinish = await this.onFinishJob(options.onFinish, now);
    const traceContext = this.carryTrace(onFinish ? [...jobs, onFinish] : jobs);
    const title = checkTitle(options.title);
    const submitKey = submitKeyOf(
      options.idempotencyKey,
      jobs[0]?.origin ?? null,
      ['flow', jobs.map((j) => [j.step, j.task, j.input, j.after]), title, options.onFinish ?? null],
      now,
      this.idempotencyWindowMs,
    );
    const r = await this.store.insertJobs({ jobs, batch: { title, onFinish, flow: true }, now, submitKey });
    this.tracing.remember(r.jobs, traceContext);
    const handles = await this.handlesOf(r, options.idempotencyKey, submitKey);
    return new FlowHandle(this, r.batchId!, handles, r.replayed ? await this.stepNamesOf(handles) : names, r.replayed !== undefined);
  }

  /** Jobs stored now carry the active span's context, so their runs join the submitter's trace (in any process). */
  private carryTrace(jobs: NewJob[]): string | null {
    const traceContext = this.tracing.activeTraceparent();
    if (traceContext !== null) for (const j of jobs) j.traceContext = traceContext;
    return traceContext;
  }

  private async stepNamesOf(handles: JobHandle[]): Promise<string[]> {
    const rows = new Map((await this.store.getJobs({ ids: handles.map((h) => h.id) })).map((r) => [r.id, r.step]));
    return handles.map((h) => rows.get(h.id) ?? h.id);
  }

  /** A flow's counts and every step's state (and what it waits for), in one read. */
  async getFlow(id: string): Promise<Flow> {
    const checked = checkId('batch', id);
    const row = await this.store.getBatch({ id: checked });
    if (!row?.isFlow) throw new FlowNotFoundError(checked);
    const jobs = await this.store.listBatchJobs({ batchId: checked, limit: MAX_FLOW_STEPS });
    const edges = await this.store.getDependencies({ jobIds: jobs.filter((j) => j.depsPending !== null).map((j) => j.id) });
    return { ...toBatch(row), steps: flowStepsOf(jobs, edges) };
  }

  /** Cancels a batch's or flow's jobs that have not started (running ones finish); returns how many. */
  async cancelBatch(id: string): Promise<number> {
    this.checkOpen();
    const r = await this.store.cancelBatch({ id: checkId('batch', id), now: this.clock.now() });
    return r.cancelled.length;
  }

  /** A handle for a job submitted earlier (by this process or another). */
  async handle(id: string): Promise<JobHandle> {
    const job = await this.getJob(id);
    return new JobHandle(this, job.id, job.task, false, job.state);
  }

  private handleOf(j: InsertedJob): JobHandle {
    return new JobHandle(this, j.id, j.task, j.deduplicated, j.state);
  }

  /** Handles for what an insert stored or, when its idempotency key was held, for the jobs the first submission stored. */
  private async handlesOf(r: InsertJobsResult, key: string | undefined, submitKey: SubmitKey | undefined): Promise<JobHandle[]> {
    if (!r.replayed) return r.jobs.map((j) => this.handleOf(j));
    const ids = replayedIds(key!, submitKey!, r.replayed);
    const rows = new Map((await this.store.getJobs({ ids })).map((row) => [row.id, row]));
    return ids.map((id) => {
      const row = rows.get(id);
      if (!row) throw new JobNotFoundError(id);
      return new JobHandle(this, id, row.task, false, row.state, true);
    });
  }

  // ---- reading and acting ----------------------------------------------------------------------

  async getJob(id: string): Promise<Job> {
    const checked = checkId('job', id);
    const row = await this.store.getJob({ id: checked });
    if (!row) throw new JobNotFoundError(checked);
    return toJob(row);
  }

  /** Jobs newest first, filtered by task, states, batch or flow, created time and text; pass `nextCursor` back for the next page. */
  async listJobs(opts: ListJobsOptions = {}): Promise<{ jobs: Job[]; nextCursor: string | null }> {
    const limit = opts.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new InvalidOptionError('limit', 'must be an integer from 1 to 1000');
    const filter = { ...(await this.jobFilter(opts)), beforeId: opts.cursor === undefined ? undefined : decodeCursor(opts.cursor), limit: limit + 1 };
    const found =
      opts.text === undefined || opts.text === ''
        ? { jobs: await this.store.listJobs(filter), scannedDownTo: null }
        : await this.store.searchJobs({ ...filter, text: opts.text, scanLimit: SEARCH_SCAN_LIMIT });
    const page = found.jobs.slice(0, limit);
    const next = found.jobs.length > limit ? page[page.length - 1].id : found.scannedDownTo;
    return { jobs: page.map((r) => toJob(r)), nextCursor: next === null ? null : encodeCursor(next) };
  }

  /** The store's filter for listing options, checked (a flow must be one). */
  private async jobFilter(opts: ListJobsOptions): Promise<Omit<ListJobsParams, 'limit'>> {
    for (const s of [...(opts.state === undefined ? [] : [opts.state]), ...(opts.states ?? [])])
      if (!isJobState(s)) throw new InvalidOptionError('state', `must be one of ${JOB_STATES.join(', ')}`);
    for (const [name, at] of [
      ['createdSince', opts.createdSince],
      ['createdUntil', opts.createdUntil],
    ] as const) {
      if (at !== undefined && !Number.isFinite(at)) throw new InvalidOptionError(name, 'must be a time in ms since the epoch');
    }
    let batchId = opts.batchId === undefined ? undefined : checkId('batch', opts.batchId);
    if (opts.flowId !== undefined) {
      const flowId = checkId('batch', opts.flowId);
      if (!(await this.store.getBatch({ id: flowId }))?.isFlow) throw new FlowNotFoundError(flowId);
      if (batchId !== undefined && batchId !== flowId) throw new InvalidOptionError('flowId', 'names another batch than batchId; give one of them');
      batchId = flowId;
    }
    return { task: opts.task, state: opts.state, states: opts.states, batchId, createdSince: opts.createdSince, createdUntil: opts.createdUntil };
  }

  /** Jobs per task and state, for every task the store knows. */
  async counts(): Promise<TaskCounts[]> {
    const [rows, tasks] = await Promise.all([this.store.countJobs({}), this.store.getTasks({})]);
    const byTask = new Map<string, TaskCounts>();
    const entry = (task: string) => {
      let c = byTask.get(task);
      if (!c) byTask.set(task, (c = { task, waiting: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, suspendedUntil: null }));
      return c;
    };
    const now = this.clock.now();
    for (const t of tasks) entry(t.name).suspendedUntil = t.pausedUntil !== null && t.pausedUntil > now ? t.pausedUntil : null;
    for (const r of rows) entry(r.task)[r.state] += r.count;
    return [...byTask.values()].sort((a, b) => a.task.localeCompare(b.task));
  }

  /**
   * Jobs finished per task and minute over the last `minutes` minutes (default 60, the current
   * one included, at most a day), oldest first; a minute in which a task finished nothing has no
   * row. `since`: the start of the first minute. Read from the buckets the store keeps, not by counting jobs.
   */
  async throughput(opts: { minutes?: number; task?: string } = {}): Promise<{ since: number; rows: ThroughputRow[] }> {
    const minutes = opts.minutes ?? 60;
    const most = Math.floor(THROUGHPUT_KEPT_MS / 60_000) - 1;
    if (!Number.isSafeInteger(minutes) || minutes < 1 || minutes > most) throw new InvalidOptionError('minutes', `must be an integer from 1 to ${most}`);
    const now = this.clock.now();
    const since = now - (now % 60_000) - (minutes - 1) * 60_000;
    return { since, rows: await this.store.throughput({ since, tasks: opts.task === undefined ? undefined : [opts.task] }) };
  }

  /** Deletes a task's jobs in the given states (default: queued). Returns how many. */
  async purge(task: string, states: JobState[] = ['queued']): Promise<number> {
    for (const s of states) if (!isJobState(s)) throw new InvalidOptionError('state', `must be one of ${JOB_STATES.join(', ')}`);
    await this.registry.settingsFor(task);
    const r = await this.store.purgeJobs({ task, states, now: this.clock.now() });
    return r.deleted;
  }

  /**
   * Suspends a task on every worker of the store: none of its jobs is claimed for `ms` (jobs
   * already running go on). A suspension only ever lengthens one in place. Returns its end.
   */
  async suspend(task: string, ms: number): Promise<number> {
    if (!Number.isSafeInteger(ms) || ms < 1) throw new InvalidOptionError('ms', 'must be a whole number of milliseconds ≥ 1');
    await this.registry.settingsFor(task);
    const until = this.clock.now() + ms;
    await this.store.pauseTask({ task, until });
    const [record] = await this.store.getTasks({ names: [task] });
    return Math.max(until, record?.pausedUntil ?? until);
  }

  /** Ends a task's suspension at once; its queued jobs are claimed again. */
  async resume(task: string): Promise<void> {
    await this.registry.settingsFor(task);
    if (!(await this.store.resumeTask({ task }))) throw new UnknownTaskError(task);
  }

  /** Puts a failed or cancelled job back in the queue, with its attempts reset. */
  async retry(id: string): Promise<Job> {
    return toJob(await this.store.retryJob({ id: checkId('job', id), now: this.clock.now() }));
  }

  /** Cancels a queued or running job; a running handler sees its signal abort. */
  async cancel(id: string): Promise<Job> {
    const r = await this.store.cancelJob({ id: checkId('job', id), now: this.clock.now() });
    return toJob(r.row);
  }

  /** Batches and flows, newest first, a page at a time (`cursor`: the previous page's nextCursor). */
  async listBatches(opts: { limit?: number; cursor?: string } = {}): Promise<{ batches: Batch[]; nextCursor: string | null }> {
    const limit = opts.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidOptionError('limit', 'must be an integer from 1 to 1000');
    const beforeId = opts.cursor === undefined ? undefined : checkId('batch', opts.cursor);
    const rows = await this.store.listBatches({ limit: limit + 1, beforeId });
    const page = rows.slice(0, limit).map(toBatch);
    return { batches: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  async getBatch(id: string): Promise<Batch> {
    const checked = checkId('batch', id);
    const row = await this.store.getBatch({ id: checked });
    if (!row) throw new BatchNotFoundError(checked);
    return toBatch(row);
  }

  /** The jobs of a batch that failed or were cancelled, by id: the latest 100 (the batch's counts say how many in all). */
  async batchFailures(id: string): Promise<BatchFailure[]> {
    const batchId = checkId('batch', id);
    const rows = (
      await Promise.all((['failed', 'cancelled'] as const).map((state) => this.store.listJobs({ batchId, state, limit: BATCH_FAILURES_LISTED })))
    ).flat();
    rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return rows.slice(-BATCH_FAILURES_LISTED).map((r) => {
      const job = toJob(r);
      const error = job.error ? { message: job.error.message, ...(job.error.code ? { code: job.error.code } : {}) } : null;
      return { id: job.id, task: job.task, state: job.state as 'failed' | 'cancelled', error };
    });
  }

  /**
   * A foreground batch: submits the jobs as one batch and waits until every one has finished.
   * Resolves to `{ ok, succeeded, failed, cancelled, total, failures }` whatever the outcome (it
   * never rejects for a failed job); with `timeoutMs`, rejects with WAIT_TIMEOUT when the wait ends first.
   */
  async runBatch(items: SubmitItem[], options: BatchOptions & WaitOptions = {}): Promise<BatchResult> {
    const { timeoutMs, signal, ...batchOptions } = options;
    const batch = await this.batch(items, batchOptions);
    return batch.result({ timeoutMs, signal });
  }

  waitForJob(id: string, opts?: WaitOptions) {
    return this.waiters.waitForJob(checkId('job', id), opts);
  }

  async waitForBatch(id: string, opts?: WaitOptions): Promise<BatchOutcome> {
    const checked = checkId('batch', id);
    const row = await this.store.getBatch({ id: checked });
    if (!row) throw new BatchNotFoundError(checked);
    try {
      return batchOutcome(await this.waiters.waitForBatch(checked, opts));
    } catch (err) {
      // A flow's wait that ends first names the flow, and how to watch it.
      if (row.isFlow && err instanceof WaitTimeoutError) throw new WaitTimeoutError(checked, Number(err.details?.ms), 'flow');
      throw err;
    }
  }

  /** The result of a finished job (throws JobFailedError / JobCancelledError like `run`). */
  async result(id: string, opts?: WaitOptions): Promise<unknown> {
    return resultOf(await this.waitForJob(id, opts));
  }

  // ---- working by hand (agents, Gearman, custom runtimes) --------------------------------------

  /** Claims up to `max` jobs of the given tasks, each with a lease token. */
  claim(opts: ClaimOptions): Promise<ClaimedJob[]> {
    this.checkOpen();
    return leases.claim(this, opts);
  }

  /** Extends a claimed job's lease and records progress; LeaseLostError when the token is stale. */
  heartbeat(id: string, opts: { leaseToken: string; progress?: JobProgress; leaseMs?: number; task?: string }): Promise<{ leaseExpiresAt: number }> {
    return leases.heartbeat(this, checkId('job', id), opts);
  }

  /** Records a claimed job's result; LeaseLostError when the token is stale. */
  complete(id: string, opts: { leaseToken: string; result?: unknown }): Promise<void> {
    return leases.complete(this, checkId('job', id), opts);
  }

  /** Records a failed attempt (retried per the task's policy); LeaseLostError when the token is stale. */
  fail(id: string, opts: FailOptions): Promise<{ state: 'queued' | 'failed'; runAt: number | null }> {
    return leases.fail(this, checkId('job', id), opts);
  }

  /**
   * Records many outcomes of claimed jobs in one transaction, and with `next` claims the next jobs
   * in the same one. Each outcome gets its own result (a stale token is that outcome's LeaseLostError).
   */
  finishMany(outcomes: AgentOutcome[], next?: ClaimOptions): Promise<{ results: OutcomeResult[]; claimed: ClaimedJob[] }> {
    this.checkOpen();
    return leases.finishAndClaim(
      this,
      outcomes.map((o) => ({ ...o, id: checkId('job', o.id) })),
      next,
    );
  }

  /** Gives a claimed job back without counting the attempt. */
  release(id: string, opts: { leaseToken: string; delayMs?: number }): Promise<void> {
    return leases.release(this, checkId('job', id), opts);
  }

  on<K extends EventName>(event: K, fn: Listener<K>): () => void {
    return this.bus.on(event, fn);
  }

  // ---- working ---------------------------------------------------------------------------------

  /** Starts a worker in this process (and, by default, the lease rescuer and pruner). */
  async work(opts: WorkOptions = {}): Promise<Worker> {
    this.checkOpen();
    const worker = this.newWorker(opts);
    if (opts.maintenance !== false) await this.startMaintenance();
    if (opts.rules !== false) await this.startRules();
    await worker.start();
    return worker;
  }

  private newWorker(opts: WorkerOptions): Worker {
    const backend = storeBackend(this.store, this.bus, this.registry, this.runnability, this.commits);
    const worker = new Worker(
      {
        backend,
        clock: this.clock,
        registry: this.registry,
        logger: this.logger,
        runHandler: (row, call) => this.tracing.run(row, call, this.storedTraceContext),
      },
      opts,
    );
    this.workers.add(worker);
    return worker;
  }

  /**
   * Runs the rules engine in this process (`work()` does): the rules match the job and batch
   * outcomes this process records, a worker here delivers their notices once a rule exists, and
   * condition rules are judged on a timer (one process at a time where the store elects one).
   */
  async startRules(opts: RulesEngineOptions = {}): Promise<void> {
    this.checkOpen();
    if (!this.rulesEngine) {
      this.rulesEngine = new RulesEngine(
        {
          store: this.store,
          bus: this.bus,
          clock: this.clock,
          logger: this.logger,
          registry: this.registry,
          limits: this.limits,
          startDeliveries: async () => {
            if (this.closing) return;
            await this.newWorker({ tasks: [...DELIVERY_TASKS], concurrency: DELIVERY_CONCURRENCY }).start();
          },
        },
        opts,
      );
    }
    await this.rulesEngine.start();
  }

  /** Runs the rescuer (expired leases), the pruner (retention) and the scheduler (cron ticks) in this process. */
  async startMaintenance(
    opts: { rescueIntervalMs?: number; pruneIntervalMs?: number; schedulePollMs?: number } = {},
  ): Promise<{ rescuer: Rescuer; pruner: Pruner; scheduler: Scheduler; counterFolder: CounterFolder }> {
    if (!this.maintenance) {
      this.maintenance = {
        rescuer: new Rescuer(this.store, this.clock, this.logger, opts.rescueIntervalMs),
        pruner: new Pruner(this.store, this.clock, this.logger, opts.pruneIntervalMs),
        scheduler: new Scheduler(
          { store: this.store, registry: this.registry, limits: this.limits, clock: this.clock, logger: this.logger },
          opts.schedulePollMs,
        ),
        // On real time, not this Offload's clock: folding changes no count, it only keeps reads
        // short (a test's manual clock moved an hour ahead would otherwise fold 3,600 times).
        counterFolder: new CounterFolder(this.store, systemClock, this.logger),
      };
      await this.saveDefinedSchedules();
      const { rescuer, pruner, scheduler, counterFolder } = this.maintenance;
      await Promise.all([rescuer.start(), pruner.start(), scheduler.start(), ...(this.store.foldCounters ? [counterFolder.start()] : [])]);
    }
    return this.maintenance;
  }

  /**
   * Stops workers gracefully (running jobs get until their shutdown timeout, then are released),
   * stops maintenance, rejects pending waits and closes the store if this instance opened it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([this.push.stop(), ...[...this.workers].map((w) => w.stop())]);
      await this.drainCommits();
      // After the workers: the outcomes they recorded last still get their deliveries enqueued.
      await this.rulesEngine?.stop();
      await this.mailer?.close();
      if (this.maintenance) {
        const { rescuer, pruner, scheduler, counterFolder } = this.maintenance;
        await Promise.all([rescuer.stop(), pruner.stop(), scheduler.stop(), counterFolder.stop()]);
      }
      this.waiters.rejectAll(new ClosedError('This Offload instance'));
      if (this.ownsStore) await this.store.close();
    })();
    return this.closing;
  }

  /** The trace context a job was stored with, for the span of a run in a process that did not submit it. */
  private readonly storedTraceContext = async (id: string): Promise<string | null> => (await this.store.getJob({ id }))?.traceContext ?? null;

  /** Whether store calls of this process are under way, or outcomes wait for the group commit (for test clocks). */
  get storeBusy(): boolean {
    return this.storeCallsInFlight() > 0 || this.commits.pending > 0;
  }

  /** Writes what the group commit still holds; a store that stays down gets a moment, then those writes fail. */
  private async drainCommits(): Promise<void> {
    const timer = new AbortController();
    const given = sleep(this.clock, 2000, timer.signal).then(
      () => this.commits.abandon(new ClosedError('This Offload instance')),
      () => undefined,
    );
    await Promise.race([this.commits.drain(), given]);
    timer.abort();
  }

  private checkOpen(): void {
    if (this.closing) throw new ClosedError('This Offload instance');
  }
}

/** The task's name, or '' for anything that is neither a name nor a definition (rejected later by name). */
function nameOf(task: TaskRef | undefined): string {
  if (typeof task === 'string') return task;
  return typeof task?.name === 'string' ? task.name : '';
}

function checkTitle(title: unknown): string | null {
  if (title === undefined || title === null) return null;
  if (typeof title !== 'string' || title.length > 500) throw new InvalidOptionError('title', 'must be a string of at most 500 characters');
  return title;
}

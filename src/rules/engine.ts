/**
 * The rules engine of one process: matches the job and batch events this process records (its
 * EventBus) against the rules in the store and enqueues a delivery job for each match, runs the
 * alert watcher for condition rules, and has the delivery tasks worked here.
 *
 * The limit of events: a job's outcome is seen by the process that records it, so every process
 * that works (or records outcomes by hand) should run the engine (`offload.work()` and
 * `offload start` do). A process that crashes between recording an outcome and enqueueing its
 * delivery loses that one notice; once enqueued, a delivery is a job, retried until it goes out.
 *
 * The engine costs nothing while no rule exists: no timer runs, and an event only compares a
 * clock reading with the time the rules were last read (they are read again at most every
 * RULES_FRESH_MS, when an event comes).
 */
import { buildNewJob, type SubmissionLimits } from '../client/submission.js';
import type { Clock } from '../core/clock.js';
import type { EventBus, OffloadEvents } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { TaskRegistry } from '../core/registry.js';
import { type BatchRuleEvent, isConditionEvent, type JobRuleEvent, type RuleNotice, type RuleRecord, ruleCoversTask } from '../core/rule.js';
import { Service } from '../core/service.js';
import type { NewJob, Store } from '../store/store.js';
import { AlertWatcher, DEFAULT_RULES_INTERVAL_MS } from './alert-watcher.js';
import { type DeliveryInput, EMAIL_TASK, WEBHOOK_TASK } from './deliveries.js';
import { batchNotice, jobNotice, noticeEmail } from './notices.js';

/** How old the rules this process matches events with may be: a rule saved by another process applies within this long. */
export const RULES_FRESH_MS = 5000;

export interface RulesEngineDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  registry: TaskRegistry;
  limits: SubmissionLimits;
  /** Starts the worker that runs the delivery tasks in this process (called once, when a rule is first seen). */
  startDeliveries(): Promise<void>;
}

export interface RulesEngineOptions {
  /** How often condition rules are judged, and the rules read again (default 10 000 ms). */
  intervalMs?: number;
  /** Judge conditions and look for new rules on that timer even while no rule exists (a server: `offload start`). Default false. */
  watchAlways?: boolean;
}

export class RulesEngine extends Service {
  private rules: RuleRecord[] = [];
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private unsubscribe: (() => void)[] = [];
  private watcher: AlertWatcher | undefined;
  private deliveriesStarted: Promise<void> | undefined;
  private active = false;

  constructor(
    private readonly deps: RulesEngineDeps,
    private readonly opts: RulesEngineOptions = {},
  ) {
    super();
  }

  protected async onStart(): Promise<void> {
    const { bus } = this.deps;
    this.active = true;
    this.unsubscribe = [
      bus.on('job:succeeded', (e) => this.onJob(['job.succeeded'], e)),
      bus.on('job:retrying', (e) => this.onJob(['job.failed', 'job.retried'], e)),
      bus.on('job:failed', (e) => this.onJob(['job.failed', 'job.dead'], e)),
      bus.on('batch:finished', (e) => this.onBatch(e)),
    ];
    await this.read();
    if (this.opts.watchAlways) await this.startWatcher();
  }

  protected async onStop(): Promise<void> {
    this.active = false;
    for (const off of this.unsubscribe) off();
    await this.watcher?.stop();
    await Promise.all(this.pending);
  }

  /** Reads the rules again now and judges the conditions: a rule was just saved, paused or removed in this process. */
  async changed(): Promise<void> {
    await this.read();
    this.watcher?.poke();
  }

  /** The rules as last read, and after each read: delivery worker and watcher start once there are rules. */
  private rulesRead(rules: RuleRecord[]): void {
    this.rules = rules;
    this.readAt = this.deps.clock.now();
    if (rules.length === 0 || !this.active) return;
    this.deliveriesStarted ??= this.deps.startDeliveries().catch((err: unknown) => {
      this.deliveriesStarted = undefined;
      this.deps.logger.error({ err }, 'the worker for rule deliveries did not start; it is tried again when rules are next read');
    });
    if (rules.some((r) => !r.paused && isConditionEvent(r.on.event))) void this.startWatcher();
  }

  private read(): Promise<void> {
    this.reading ??= this.deps.store
      .getRules({})
      .then((rules) => this.rulesRead(rules))
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  private async startWatcher(): Promise<void> {
    if (this.watcher) return;
    this.watcher = new AlertWatcher(
      {
        store: this.deps.store,
        clock: this.deps.clock,
        logger: this.deps.logger,
        rulesRead: (rules) => this.rulesRead(rules),
        deliveryJob: (rule, notice) => this.deliveryJob(rule, notice),
      },
      this.opts.intervalMs ?? DEFAULT_RULES_INTERVAL_MS,
    );
    await this.watcher.start();
  }

  /** The rules to match an event with: as read, or read again first when they are older than RULES_FRESH_MS. */
  private async current(): Promise<RuleRecord[]> {
    if (this.deps.clock.now() - this.readAt >= RULES_FRESH_MS) await this.read();
    return this.rules;
  }

  private fresh(): boolean {
    return this.deps.clock.now() - this.readAt < RULES_FRESH_MS;
  }

  // ---- events of this process → deliveries -------------------------------------------------------

  private onJob(events: JobRuleEvent[], e: { id: string; task: string }): void {
    // The common case, with no rule: no promise, no read.
    if ((this.rules.length === 0 && this.fresh()) || !ruleCanMatch(e.task)) return;
    this.track(async () => {
      const matches = (await this.current()).filter((r) => !r.paused && events.includes(r.on.event as JobRuleEvent) && ruleCoversTask(r, e.task));
      if (matches.length === 0) return;
      const row = await this.deps.store.getJob({ id: e.id });
      if (!row) return;
      const now = this.deps.clock.now();
      for (const rule of matches) await this.deliver(rule, jobNotice(rule.name, rule.on.event as JobRuleEvent, row, now));
    });
  }

  private onBatch(e: OffloadEvents['batch:finished']): void {
    if (this.rules.length === 0 && this.fresh()) return;
    this.track(async () => {
      const candidates = (await this.current()).filter((r) => !r.paused && (r.on.event === 'batch.finished' || r.on.event === 'flow.finished'));
      if (candidates.length === 0) return;
      const row = await this.deps.store.getBatch({ id: e.id });
      if (!row) return;
      const event: BatchRuleEvent = row.isFlow ? 'flow.finished' : 'batch.finished';
      const now = this.deps.clock.now();
      for (const rule of candidates.filter((r) => r.on.event === event)) await this.deliver(rule, batchNotice(rule.name, event, row, now));
    });
  }

  private async deliver(rule: RuleRecord, notice: RuleNotice): Promise<void> {
    const job = await this.deliveryJob(rule, notice);
    await this.deps.store.insertJobs({ jobs: [job], now: this.deps.clock.now() });
  }

  /** The job that carries out the rule's action for this notice. */
  async deliveryJob(rule: RuleRecord, notice: RuleNotice): Promise<NewJob> {
    const { registry, limits, clock } = this.deps;
    const origin = `rule:${rule.name}`;
    const action = rule.action;
    const build = (task: string, input: unknown, priority?: number) => buildNewJob(registry, limits, clock.now(), task, input, { origin, priority });
    switch (action.type) {
      case 'webhook':
        return build(WEBHOOK_TASK, { rule: rule.name, notice } satisfies DeliveryInput);
      case 'email':
        return build(EMAIL_TASK, { rule: rule.name, notice, ...noticeEmail(notice, action.subject) });
      case 'enqueue':
        return build(action.task, notice, action.priority);
    }
  }

  /** Runs a matching in the background; its failure is logged, never thrown at the job that set it off. */
  private track(fn: () => Promise<void>): void {
    const p = fn().catch((err: unknown) => this.deps.logger.error({ err }, 'a rule could not enqueue its delivery; this notice is lost'));
    this.pending.add(p);
    void p.then(() => this.pending.delete(p));
  }
}

/** Offload's own tasks (deliveries) never set rules off, so a failing delivery cannot make another. */
function ruleCanMatch(task: string): boolean {
  return ruleCoversTask({ tasks: ['*'] }, task);
}

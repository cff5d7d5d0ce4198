/**
 * The alert watcher: a cluster-wide duty (one process at a time where the store elects one) that
 * judges every condition rule on a timer and, for each task or worker, fires an alert when the
 * condition starts to hold and resolves it when it clears. The alerts that are firing live in the
 * store, and each change is written with its delivery job by one transaction that only the first
 * process to try makes (`Store.recordRuleAlert`), so an alert fires once and resolves once, across
 * restarts and processes.
 */
import type { Clock } from '../core/clock.js';
import { isOffloadError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isConditionEvent, type RuleRecord } from '../core/rule.js';
import { PeriodicService } from '../maintenance/periodic.js';
import type { NewJob, Store } from '../store/store.js';
import { conditionHolds } from './conditions.js';
import { alertNotice } from './notices.js';

export interface AlertWatcherDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Every rule, just read: the watcher shares what it read with the event matcher. */
  rulesRead(rules: RuleRecord[]): void;
  /** The job that tells of one alert. */
  deliveryJob(rule: RuleRecord, notice: ReturnType<typeof alertNotice>): Promise<NewJob>;
}

export const DEFAULT_RULES_INTERVAL_MS = 10_000;

export class AlertWatcher extends PeriodicService {
  constructor(
    private readonly deps: AlertWatcherDeps,
    intervalMs = DEFAULT_RULES_INTERVAL_MS,
  ) {
    super(deps.clock, deps.logger, intervalMs, { store: deps.store, name: 'rules' });
  }

  protected override async onStart(): Promise<void> {
    this.poke();
  }

  protected async runOnce(): Promise<void> {
    const { store } = this.deps;
    const rules = await store.getRules({});
    this.deps.rulesRead(rules);
    const conditions = rules.filter((r) => !r.paused && isConditionEvent(r.on.event));
    if (conditions.length === 0) return;
    const [tasks, alerts] = await Promise.all([store.getTasks({}), store.getRuleAlerts({})]);
    const taskNames = tasks.map((t) => t.name);
    for (const rule of conditions) {
      const now = this.deps.clock.now();
      const holding = await conditionHolds(store, rule, taskNames, now);
      const firing = new Set(alerts.filter((a) => a.rule === rule.name).map((a) => a.subject));
      for (const [subject, value] of holding) if (!firing.has(subject)) await this.record(rule, subject, true, value, now);
      for (const subject of firing) if (!holding.has(subject)) await this.record(rule, subject, false, 0, now);
    }
  }

  private async record(rule: RuleRecord, subject: string, firing: boolean, value: number, now: number): Promise<void> {
    const notice = alertNotice(rule, subject, firing ? 'firing' : 'resolved', value, now);
    let job: NewJob;
    try {
      job = await this.deps.deliveryJob(rule, notice);
    } catch (err) {
      // A follow-up task nobody defines (or whose schema the notice does not fit): the alert stays
      // as it was, and the next pass tries again.
      if (!isOffloadError(err) || err.httpStatus >= 500) throw err;
      this.deps.logger.error({ err, rule: rule.name, subject }, "the rule's alert could not make its job; it is tried again on the next pass");
      return;
    }
    const r = await this.deps.store.recordRuleAlert({ rule: rule.name, subject, firing, value, job, now });
    if (r.changed) this.deps.logger.info({ rule: rule.name, subject, state: notice.alert?.state, job: r.job?.id }, notice.summary);
  }
}

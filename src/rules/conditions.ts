/**
 * Conditions judged across the cluster: for each condition rule, which subjects (tasks, or
 * workers) it holds for now, with the value that makes it hold. Reads the store, decides nothing
 * about alerts (the alert watcher compares this with the alerts that are firing).
 */
import { type RuleRecord, ruleCoversTask } from '../core/rule.js';
import type { Store } from '../store/store.js';

/** Subject → the measured value, for the subjects over the rule's threshold. */
export type Holding = Map<string, number>;

export async function conditionHolds(store: Store, rule: RuleRecord, taskNames: string[], now: number): Promise<Holding> {
  const on = rule.on;
  const holding: Holding = new Map();
  const tasks = taskNames.filter((t) => ruleCoversTask(rule, t));
  switch (on.event) {
    case 'task.backlog':
      for (const s of await store.queueStats({ tasks })) if (s.queued > on.over) holding.set(s.task, s.queued);
      break;
    case 'task.oldest-queued':
      for (const s of await store.queueStats({ tasks })) {
        // Only jobs that are due count: one delayed to tomorrow is not waiting yet.
        const waited = s.oldestRunAt === null ? 0 : now - s.oldestRunAt;
        if (waited > on.olderThanMs) holding.set(s.task, waited);
      }
      break;
    case 'task.failure-rate':
      for (const c of await store.countFinishedSince({ tasks, since: now - on.windowMs })) {
        const finished = c.succeeded + c.failed;
        const percent = finished === 0 ? 0 : (100 * c.failed) / finished;
        if (finished >= (on.minJobs ?? 10) && percent > on.overPercent) holding.set(c.task, percent);
      }
      break;
    case 'worker.silent':
      for (const w of await store.listWorkers({})) {
        const silentFor = now - w.lastSeenAt;
        if (silentFor > on.forMs && w.tasks.some((t) => ruleCoversTask(rule, t))) holding.set(w.id, silentFor);
      }
      break;
  }
  return holding;
}

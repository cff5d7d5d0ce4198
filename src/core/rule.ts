/**
 * Rules: on an event about jobs, batches, tasks or workers, matching task patterns, do one thing
 * (send a signed webhook, send an e-mail, enqueue a follow-up job). This file holds what a rule is
 * and how one is checked; the engine in `rules/` applies them, and the store keeps them (and the
 * state of each alert) for every process.
 */
import { InvalidRuleError } from './errors.js';
import { isTaskPattern, patternMatches } from './task-patterns.js';

/** Events of one job or batch, matched as this process records them. */
export const JOB_RULE_EVENTS = ['job.succeeded', 'job.failed', 'job.retried', 'job.dead'] as const;
export const BATCH_RULE_EVENTS = ['batch.finished', 'flow.finished'] as const;
/** Conditions, judged on a timer across the cluster: an alert fires when one starts to hold and once more when it clears. */
export const CONDITION_RULE_EVENTS = ['task.backlog', 'task.oldest-queued', 'task.failure-rate', 'worker.silent'] as const;
export const RULE_EVENTS = [...JOB_RULE_EVENTS, ...BATCH_RULE_EVENTS, ...CONDITION_RULE_EVENTS] as const;

export type JobRuleEvent = (typeof JOB_RULE_EVENTS)[number];
export type BatchRuleEvent = (typeof BATCH_RULE_EVENTS)[number];
export type ConditionRuleEvent = (typeof CONDITION_RULE_EVENTS)[number];
export type RuleEvent = (typeof RULE_EVENTS)[number];

/**
 * What a rule reacts to. `job.failed` is any failed attempt; `job.retried` one that will run
 * again; `job.dead` one that failed for good (no attempt left, or `permanent()`).
 */
export type RuleTrigger =
  | { event: JobRuleEvent | BatchRuleEvent }
  /** More than `over` jobs of a task queued. */
  | { event: 'task.backlog'; over: number }
  /** A task's oldest job that is due (queued, its run time past) has waited longer than this. */
  | { event: 'task.oldest-queued'; olderThanMs: number }
  /** Of a task's jobs that finished in the last `windowMs`, more than `overPercent` % failed; judged once at least `minJobs` finished (default 10). */
  | { event: 'task.failure-rate'; overPercent: number; windowMs: number; minJobs?: number }
  /** A worker of a matching task has not been heard from for this long (it crashed or hangs). */
  | { event: 'worker.silent'; forMs: number };

export type RuleAction =
  /** POST the notice as JSON, signed with `secret` (the Offload-Signature header). */
  | { type: 'webhook'; url: string; secret: string; allowAddresses?: string[]; timeoutMs?: number }
  /** Send the notice as an e-mail over the SMTP server the processes are configured with. */
  | { type: 'email'; to: string | string[]; subject?: string }
  /** Enqueue a job of `task`, whose input is the notice. */
  | { type: 'enqueue'; task: string; priority?: number };

/** What a user writes: in `offload.rules.save()`, the CLI or the API. */
export interface RuleSettings {
  on: RuleTrigger;
  /** Task patterns (`*` is a wildcard); default every task. Not for batch and flow events. */
  tasks?: string[];
  action: RuleAction;
  description?: string | null;
}

/** A rule as stored: every field filled in. */
export interface RuleDefinition {
  name: string;
  on: RuleTrigger;
  tasks: string[];
  action: RuleAction;
  description: string | null;
}

export interface RuleRecord extends RuleDefinition {
  paused: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A rule as shown to people and other programs: a webhook's secret is never shown back. */
export type Rule = Omit<RuleRecord, 'action'> & { action: PublicRuleAction };
export type PublicRuleAction = Exclude<RuleAction, { type: 'webhook' }> | (Omit<Extract<RuleAction, { type: 'webhook' }>, 'secret'> & { secret: '(set)' });

/** An alert of a condition rule that holds now: for one task (or one worker), since when, with the value that made it fire. */
export interface RuleAlert {
  rule: string;
  /** The task, or for `worker.silent` the worker's id. */
  subject: string;
  value: number;
  since: number;
}

/** What a rule's action is told: the webhook's JSON body, the e-mail's content, the follow-up job's input. */
export interface RuleNotice {
  rule: string;
  event: RuleEvent;
  /** When the event happened, ISO 8601. */
  at: string;
  /** One line for people, e.g. `job 42 of billing.charge failed for good: card declined`. */
  summary: string;
  job?: NoticeJob;
  batch?: { id: string; title: string | null; ok: boolean; total: number; succeeded: number; failed: number; cancelled: number };
  /** A condition's alert: `firing` when it started to hold, `resolved` when it cleared. */
  alert?: { state: 'firing' | 'resolved'; task?: string; worker?: string; value: number; threshold: number; windowMs?: number };
}

export interface NoticeJob {
  id: string;
  task: string;
  state: string;
  attempt: number;
  maxAttempts: number;
  error: { message: string; code?: string } | null;
  /** The input and result, when their JSON is at most NOTICE_PAYLOAD_BYTES (else left out, see `truncated`). */
  input?: unknown;
  result?: unknown;
  truncated?: true;
  createdAt: string;
  finishedAt: string | null;
  /** When a retried job runs again. */
  runAt?: string;
}

/** The largest input or result copied into a notice, in bytes of JSON. */
export const NOTICE_PAYLOAD_BYTES = 4096;

/** Tasks Offload defines itself (rule deliveries): rules never match them, so a failing delivery cannot set off another. */
export const BUILT_IN_TASK_PREFIX = 'offload.';

const RULE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:\-/]{0,199}$/;
const MAX_PATTERNS = 50;
const MAX_RECIPIENTS = 50;
const DAY_MS = 86_400_000;

export function isConditionEvent(event: RuleEvent): event is ConditionRuleEvent {
  return (CONDITION_RULE_EVENTS as readonly string[]).includes(event);
}

export function checkRuleName(name: unknown): string {
  if (typeof name !== 'string' || !RULE_NAME.test(name)) {
    throw new InvalidRuleError(String(name), 'names are 1–200 characters of letters, digits and _ . : - /, not starting with a punctuation mark');
  }
  return name;
}

/** Checks a rule's settings and fills in the defaults; INVALID_RULE says what is wrong. */
export function resolveRule(name: string, s: RuleSettings): RuleDefinition {
  checkRuleName(name);
  const fail = (problem: string): never => {
    throw new InvalidRuleError(name, problem);
  };
  if (typeof s !== 'object' || s === null) fail('settings must be an object with on, action and optionally tasks');
  const on = resolveTrigger(s.on, fail);
  const batchEvent = (BATCH_RULE_EVENTS as readonly string[]).includes(on.event);
  if (batchEvent && s.tasks !== undefined) fail(`${on.event} concerns a whole batch, not one task: leave tasks out`);
  const tasks = s.tasks ?? ['*'];
  if (!Array.isArray(tasks) || tasks.length === 0 || tasks.length > MAX_PATTERNS) fail(`tasks must be a list of 1 to ${MAX_PATTERNS} task patterns`);
  for (const pattern of tasks) if (typeof pattern !== 'string' || !isTaskPattern(pattern)) fail(`${JSON.stringify(pattern)} is not a task pattern`);
  if (s.description != null && (typeof s.description !== 'string' || s.description.length > 500))
    fail('description must be a string of at most 500 characters');
  return { name, on, tasks: [...tasks], action: resolveAction(s.action, fail), description: s.description ?? null };
}

function resolveTrigger(on: RuleTrigger | undefined, fail: (problem: string) => never): RuleTrigger {
  if (typeof on !== 'object' || on === null || !(RULE_EVENTS as readonly string[]).includes(on.event)) {
    return fail(`on.event must be one of ${RULE_EVENTS.join(', ')}`);
  }
  const t = on as Record<string, unknown>;
  const known = (fields: string[]) => {
    for (const key of Object.keys(t)) if (key !== 'event' && !fields.includes(key)) fail(`on.${key} does not apply to ${on.event}`);
  };
  const number = (field: string, min: number, max: number, integer = true): number => {
    const v = t[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v)) || v < min || v > max) {
      return fail(`on.${field} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    return v;
  };
  switch (on.event) {
    case 'task.backlog':
      known(['over']);
      return { event: on.event, over: number('over', 0, 1e12) };
    case 'task.oldest-queued':
      known(['olderThanMs']);
      return { event: on.event, olderThanMs: number('olderThanMs', 1000, 365 * DAY_MS) };
    case 'task.failure-rate':
      known(['overPercent', 'windowMs', 'minJobs']);
      return {
        event: on.event,
        overPercent: number('overPercent', 0, 99.999, false),
        windowMs: number('windowMs', 60_000, 30 * DAY_MS),
        minJobs: t.minJobs === undefined ? 10 : number('minJobs', 1, 1e9),
      };
    case 'worker.silent':
      known(['forMs']);
      return { event: on.event, forMs: number('forMs', 1000, 30 * DAY_MS) };
    default:
      known([]);
      return { event: on.event };
  }
}

function resolveAction(action: RuleAction | undefined, fail: (problem: string) => never): RuleAction {
  if (typeof action !== 'object' || action === null) return fail('action must be an object: { type: "webhook" | "email" | "enqueue", … }');
  const a = action as Record<string, unknown>;
  switch (action.type) {
    case 'webhook': {
      if (typeof a.url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(a.url) || !URL.canParse(a.url))
        fail('action.url must be an absolute http:// or https:// URL');
      if (typeof a.secret !== 'string' || a.secret.length < 16 || a.secret.length > 500)
        fail('action.secret must be a string of 16 to 500 characters: the receiver checks the Offload-Signature header with it');
      const allow = a.allowAddresses;
      if (allow !== undefined && (!Array.isArray(allow) || allow.some((x) => typeof x !== 'string') || allow.length > 100))
        fail('action.allowAddresses must be a list of addresses or CIDRs, such as ["10.0.0.0/8"]');
      if (a.timeoutMs !== undefined && !(Number.isSafeInteger(a.timeoutMs) && (a.timeoutMs as number) >= 100 && (a.timeoutMs as number) <= 120_000))
        fail('action.timeoutMs must be an integer from 100 to 120000');
      return {
        type: 'webhook',
        url: a.url as string,
        secret: a.secret as string,
        ...(allow === undefined ? {} : { allowAddresses: [...(allow as string[])] }),
        ...(a.timeoutMs === undefined ? {} : { timeoutMs: a.timeoutMs as number }),
      };
    }
    case 'email': {
      const to = typeof a.to === 'string' ? [a.to] : a.to;
      if (!Array.isArray(to) || to.length === 0 || to.length > MAX_RECIPIENTS)
        fail(`action.to must be an address or a list of 1 to ${MAX_RECIPIENTS} addresses`);
      for (const address of to as unknown[])
        if (typeof address !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(address.replace(/^.*<(.*)>$/, '$1')))
          fail(`${JSON.stringify(address)} in action.to is not an e-mail address`);
      if (a.subject !== undefined && (typeof a.subject !== 'string' || /[\r\n]/.test(a.subject) || a.subject.length > 200))
        fail('action.subject must be one line of at most 200 characters');
      return { type: 'email', to: [...(to as string[])], ...(a.subject === undefined ? {} : { subject: a.subject as string }) };
    }
    case 'enqueue': {
      if (typeof a.task !== 'string' || !isTaskPattern(a.task) || a.task.includes('*')) fail('action.task must name the task to enqueue');
      if (a.priority !== undefined && !Number.isSafeInteger(a.priority)) fail('action.priority must be an integer');
      return { type: 'enqueue', task: a.task as string, ...(a.priority === undefined ? {} : { priority: a.priority as number }) };
    }
    default:
      return fail('action.type must be webhook, email or enqueue');
  }
}

/** Whether a rule covers a task: one of its patterns matches, and the task is not one of Offload's own. */
export function ruleCoversTask(rule: Pick<RuleDefinition, 'tasks'>, task: string): boolean {
  return !task.startsWith(BUILT_IN_TASK_PREFIX) && rule.tasks.some((pattern) => patternMatches(pattern, task));
}

/** The rule without its webhook secret, for listings and the API. */
export function publicRule(r: RuleRecord | Rule): Rule {
  if (r.action.type !== 'webhook') return r as Rule;
  const { secret: _secret, ...rest } = r.action;
  return { ...r, action: { ...rest, secret: '(set)' } };
}

/** The one JSON shape of a rule (the API's, the CLI's --json): times as ISO 8601. */
export function ruleToJson(r: RuleRecord | Rule): Omit<Rule, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string } {
  const shown = publicRule(r);
  return { ...shown, createdAt: new Date(r.createdAt).toISOString(), updatedAt: new Date(r.updatedAt).toISOString() };
}

/** The threshold a condition compares with, for the alert's notice. */
export function thresholdOf(on: RuleTrigger): number {
  switch (on.event) {
    case 'task.backlog':
      return on.over;
    case 'task.oldest-queued':
      return on.olderThanMs;
    case 'task.failure-rate':
      return on.overPercent;
    case 'worker.silent':
      return on.forMs;
    default:
      return 0;
  }
}

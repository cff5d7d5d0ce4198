import type { Static, TSchema } from 'typebox';
import { type Backoff, DEFAULT_BACKOFF, validateBackoff } from './backoff.js';
import type { JobContext } from './context.js';
import { InvalidTaskError } from './errors.js';
import { resolveSchedule, type ScheduleDefinition, type ScheduleSettings } from './schedule.js';

/** How long finished jobs are kept, per final state, in milliseconds. */
export interface Retention {
  succeeded: number;
  failed: number;
  cancelled: number;
}

const DAY = 86_400_000;
export const DEFAULT_RETENTION: Retention = { succeeded: 7 * DAY, failed: 30 * DAY, cancelled: 7 * DAY };

/** What the pruner deletes of one task: its jobs finished in `state` before `cutoff`. */
export interface PruneCutoff {
  task: string;
  state: keyof Retention;
  cutoff: number;
}

/** Each task's finished states with the time before which their jobs are past their retention. */
export function pruneCutoffs(tasks: readonly TaskRecord[], now: number): PruneCutoff[] {
  const states = Object.keys(DEFAULT_RETENTION) as (keyof Retention)[];
  return tasks.flatMap((t) => states.map((state) => ({ task: t.name, state, cutoff: now - t.settings.retention[state] })));
}

export interface TaskSettings {
  /** Attempts before the job fails for good (default 3). */
  maxAttempts?: number;
  /** Delay between attempts (default exponential from 1 s, jittered, capped at 1 h). */
  backoff?: Backoff;
  /** Abort the handler and fail the attempt after this long (default: no timeout). */
  timeoutMs?: number | null;
  /** Default priority of this task's jobs; higher runs first (default 0). */
  priority?: number;
  /** Most jobs of this task running at once across every worker on the store (default: no limit). */
  concurrency?: number | null;
  /** Most jobs running at once per `concurrencyKey` (default 1). */
  concurrencyPerKey?: number;
  /**
   * At most `limit` of this task's jobs start in any `periodMs`, across every worker on the store
   * (a sliding window); jobs over it wait in the queue. Tasks naming the same `key` share one
   * limit (every task that calls one upstream API); without a key, the limit is the task's own.
   */
  rateLimit?: RateLimit | null;
  /** How long finished jobs are kept, in ms, per state, or one number for all. */
  retention?: Partial<Retention> | number;
  /** JSON Schema (a TypeBox type, or a plain schema object) that every input must match. */
  input?: TSchema | Record<string, unknown>;
  /** A line for listings and the dashboard. */
  description?: string;
  /**
   * Enqueue a job of this task on a cron rule: the rule alone (`'0 3 * * *'`), or the rule with an
   * input, a time zone, an overlap and catch-up policy (see ScheduleSettings). The schedule is
   * named after the task and saved in the store when the process opens it.
   */
  schedule?: string | ScheduleSettings;
}

export interface RateLimit {
  /** Starts allowed per period (≥ 1). */
  limit: number;
  /** The window's length in ms (≥ 1, up to a day). */
  periodMs: number;
  /** A limit shared by every task that names this key; default: the task's name. */
  key?: string;
}

/** A rate limit after defaults: its key is always set. */
export type ResolvedRateLimit = Required<RateLimit>;

const MAX_RATE_PERIOD_MS = 86_400_000;

/** Settings after defaults; what the store keeps in its task registry. */
export interface ResolvedTaskSettings {
  maxAttempts: number;
  backoff: Backoff;
  timeoutMs: number | null;
  priority: number;
  concurrency: number | null;
  concurrencyPerKey: number;
  rateLimit: ResolvedRateLimit | null;
  retention: Retention;
  inputSchema: Record<string, unknown> | null;
  description: string | null;
}

export type Handler<I, O> = (input: I, ctx: JobContext) => O | Promise<O>;

export interface TaskDefinition<I = unknown, O = unknown, N extends string = string> {
  readonly name: N;
  readonly handler: Handler<I, O>;
  readonly settings: ResolvedTaskSettings;
  /** The schedule declared with the task (`defineTask(…, { schedule })`), checked. */
  readonly schedule?: ScheduleDefinition;
  /** Phantom field that carries the input type; never set. */
  readonly __input?: I;
  readonly __output?: O;
}

export type InputOf<T> = T extends TaskDefinition<infer I, unknown> ? I : never;
export type OutputOf<T> = T extends TaskDefinition<unknown, infer O> ? O : never;

const TASK_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:\-/]{0,199}$/;

/**
 * Declares a task: its name, its handler and its settings. The input type is declared once,
 * either by the handler's parameter or by an `input` schema, and is checked by the compiler at
 * `enqueue` and inside the handler (and, with a schema, at run time too).
 *
 * @example
 * export const sendEmail = defineTask('email.send', async (input: { to: string }, ctx) => {
 *   ctx.progress(1, 1);
 *   return { sent: true };
 * }, { maxAttempts: 5 });
 */
export function defineTask<N extends string, S extends TSchema, O>(
  name: N,
  settings: TaskSettings & { input: S },
  handler: Handler<Static<S>, O>,
): TaskDefinition<Static<S>, Awaited<O>, N>;
export function defineTask<N extends string, I, O>(name: N, handler: Handler<I, O>, settings?: TaskSettings): TaskDefinition<I, Awaited<O>, N>;
export function defineTask(name: string, a: Handler<unknown, unknown> | TaskSettings, b?: Handler<unknown, unknown> | TaskSettings): TaskDefinition {
  const handler = (typeof a === 'function' ? a : b) as Handler<unknown, unknown> | undefined;
  const settings = (typeof a === 'function' ? b : a) as TaskSettings | undefined;
  if (typeof handler !== 'function') throw new InvalidTaskError(name, 'a handler function is required');
  const resolved = resolveTaskSettings(checkTaskName(name), settings ?? {});
  const schedule = settings?.schedule;
  if (schedule === undefined) return { name, handler, settings: resolved };
  return { name, handler, settings: resolved, schedule: resolveSchedule(name, name, typeof schedule === 'string' ? { cron: schedule } : schedule) };
}

/** Offload's own tasks (`offload.http.request`, `offload.rule.*`) are named under this prefix. */
export const BUILT_IN_TASK_PREFIX = 'offload.';

/** Whether the name is one of Offload's own tasks: only the library submits and runs them, never a request from outside. */
export function isBuiltInTaskName(name: string): boolean {
  return name.startsWith(BUILT_IN_TASK_PREFIX);
}

export function checkTaskName(name: unknown): string {
  if (typeof name !== 'string' || !TASK_NAME.test(name)) {
    throw new InvalidTaskError(String(name), 'names are 1–200 characters of letters, digits and _ . : - /, not starting with a punctuation mark');
  }
  return name;
}

export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TaskDefinition).name === 'string' &&
    typeof (value as TaskDefinition).handler === 'function' &&
    typeof (value as TaskDefinition).settings === 'object'
  );
}

export function resolveTaskSettings(name: string, s: TaskSettings): ResolvedTaskSettings {
  const fail = (problem: string): never => {
    throw new InvalidTaskError(name, problem);
  };
  const positiveInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
  if (s.maxAttempts !== undefined && !positiveInt(s.maxAttempts)) fail('maxAttempts must be an integer ≥ 1');
  if (s.timeoutMs != null && !positiveInt(s.timeoutMs)) fail('timeoutMs must be an integer ≥ 1 (or null for none)');
  if (s.priority !== undefined && !Number.isSafeInteger(s.priority)) fail('priority must be an integer');
  if (s.concurrency != null && !positiveInt(s.concurrency)) fail('concurrency must be an integer ≥ 1 (or null for no limit)');
  if (s.concurrencyPerKey !== undefined && !positiveInt(s.concurrencyPerKey)) fail('concurrencyPerKey must be an integer ≥ 1');
  if (s.backoff !== undefined) {
    const problem = validateBackoff(s.backoff);
    if (problem) fail(problem);
  }
  const rateLimit = resolveRateLimit(name, s.rateLimit, fail);
  return {
    maxAttempts: s.maxAttempts ?? 3,
    backoff: s.backoff ?? DEFAULT_BACKOFF,
    timeoutMs: s.timeoutMs ?? null,
    priority: s.priority ?? 0,
    concurrency: s.concurrency ?? null,
    concurrencyPerKey: s.concurrencyPerKey ?? 1,
    rateLimit,
    retention: resolveRetention(name, s.retention),
    inputSchema: s.input ? (JSON.parse(JSON.stringify(s.input)) as Record<string, unknown>) : null,
    description: s.description ?? null,
  };
}

function resolveRateLimit(name: string, r: TaskSettings['rateLimit'], fail: (problem: string) => never): ResolvedRateLimit | null {
  if (r == null) return null;
  if (typeof r !== 'object') fail('rateLimit must be { limit, periodMs, key? }');
  if (!Number.isSafeInteger(r.limit) || r.limit < 1) fail('rateLimit.limit must be an integer ≥ 1 (to stop a task altogether, suspend it)');
  if (!Number.isSafeInteger(r.periodMs) || r.periodMs < 1 || r.periodMs > MAX_RATE_PERIOD_MS)
    fail(`rateLimit.periodMs must be an integer from 1 to ${MAX_RATE_PERIOD_MS} (a day)`);
  const key = r.key ?? name;
  if (typeof key !== 'string' || key.length === 0 || key.length > 200) fail('rateLimit.key must be a string of 1–200 characters');
  return { limit: r.limit, periodMs: r.periodMs, key };
}

function resolveRetention(name: string, r: TaskSettings['retention']): Retention {
  const valid = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (r === undefined) return { ...DEFAULT_RETENTION };
  if (typeof r === 'number') {
    if (!valid(r)) throw new InvalidTaskError(name, 'retention must be a non-negative number of milliseconds');
    return { succeeded: r, failed: r, cancelled: r };
  }
  const out = { ...DEFAULT_RETENTION, ...r };
  if (!valid(out.succeeded) || !valid(out.failed) || !valid(out.cancelled)) {
    throw new InvalidTaskError(name, 'retention values must be non-negative numbers of milliseconds');
  }
  return out;
}

/** A task as the store's registry knows it: what any process needs to submit to it or prune it. */
export interface TaskRecord {
  name: string;
  settings: ResolvedTaskSettings;
  pausedUntil: number | null;
  updatedAt: number;
}

/**
 * Schedules: a cron rule that enqueues a task with an input. This file holds what a schedule is
 * and the rules of its ticks (which are due, which fire); the scheduler in `schedules/` applies
 * them, and the store records each tick once (see `Store.fireScheduleTick`).
 */
import { Cron } from 'croner';
import { InvalidScheduleError } from './errors.js';

/** While the previous job of the schedule is queued or running: `skip` the tick, or `allow` another job. */
export type OverlapPolicy = 'skip' | 'allow';
/** Ticks that fell due while no process could fire them: `none` drops them, `latest` fires the last one, `all` fires each (up to `catchUpLimit`). */
export type CatchUpPolicy = 'none' | 'latest' | 'all';

export const OVERLAP_POLICIES: readonly OverlapPolicy[] = ['skip', 'allow'];
export const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ['none', 'latest', 'all'];

/** What a user writes: in `defineTask(…, { schedule })`, `offload.schedule()`, the CLI or the API. */
export interface ScheduleSettings {
  /** A cron rule as croner reads it: 5 fields (minutes), 6 (seconds first) or 7 (a year last). */
  cron: string;
  /** The job's input (any JSON value; default null). */
  input?: unknown;
  /** An IANA time zone the rule is read in (default UTC). */
  timezone?: string | null;
  /** Default `skip`: no new job while the previous one of this schedule is queued or running. */
  overlap?: OverlapPolicy;
  /** Default `latest`. */
  catchUp?: CatchUpPolicy;
  /** With `catchUp: 'all'`, the most ticks fired at once after downtime, the latest ones (default 10). */
  catchUpLimit?: number;
  /** Each job runs up to this many ms after its tick, at random, so many schedules on one tick spread out (default 0). */
  jitterMs?: number;
  /** Job priority (default: the task's). */
  priority?: number;
  /** A line for listings. */
  description?: string | null;
}

/** A schedule as stored: every field filled in. */
export interface ScheduleDefinition {
  name: string;
  task: string;
  cron: string;
  /** The input as JSON text. */
  input: string;
  timezone: string | null;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  catchUpLimit: number;
  jitterMs: number;
  priority: number | null;
  description: string | null;
}

/** A schedule's record: its definition and where it stands. */
export interface ScheduleRecord extends ScheduleDefinition {
  paused: boolean;
  /** The earliest tick not yet handled (fired or skipped): the scheduler's cursor. Null for a rule with no tick ahead. */
  nextTickAt: number | null;
  lastTickAt: number | null;
  /** The job made by the last tick that fired (or by `run`). */
  lastJobId: string | null;
  /** That job's state now (null when it was pruned). */
  lastJobState: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Past this lateness a tick counts as missed (for `catchUp: 'none'`): longer than any pause of a live scheduler. */
export const MISSED_AFTER_MS = 60_000;
const MAX_CATCH_UP = 1000;
const MAX_JITTER_MS = 86_400_000;
const SCHEDULE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:\-/]{0,199}$/;

export function checkScheduleName(name: unknown): string {
  if (typeof name !== 'string' || !SCHEDULE_NAME.test(name)) {
    throw new InvalidScheduleError(String(name), 'names are 1–200 characters of letters, digits and _ . : - /, not starting with a punctuation mark');
  }
  return name;
}

/** Checks a schedule's settings and fills in the defaults; INVALID_SCHEDULE says what is wrong. */
export function resolveSchedule(name: string, task: string, s: ScheduleSettings): ScheduleDefinition {
  checkScheduleName(name);
  const fail = (problem: string): never => {
    throw new InvalidScheduleError(name, problem);
  };
  if (typeof s !== 'object' || s === null) fail('settings must be an object with a cron rule');
  if (typeof s.cron !== 'string' || s.cron.trim() === '') fail('a cron rule is required, e.g. "*/5 * * * *"');
  const timezone = s.timezone ?? null;
  if (timezone !== null) checkTimeZone(name, timezone);
  if (s.overlap !== undefined && !OVERLAP_POLICIES.includes(s.overlap)) fail(`overlap must be one of ${OVERLAP_POLICIES.join(', ')}`);
  if (s.catchUp !== undefined && !CATCH_UP_POLICIES.includes(s.catchUp)) fail(`catchUp must be one of ${CATCH_UP_POLICIES.join(', ')}`);
  const intIn = (v: unknown, min: number, max: number) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
  if (s.catchUpLimit !== undefined && !intIn(s.catchUpLimit, 1, MAX_CATCH_UP)) fail(`catchUpLimit must be an integer from 1 to ${MAX_CATCH_UP}`);
  if (s.jitterMs !== undefined && !intIn(s.jitterMs, 0, MAX_JITTER_MS)) fail(`jitterMs must be an integer from 0 to ${MAX_JITTER_MS} (a day)`);
  if (s.priority != null && !Number.isSafeInteger(s.priority)) fail('priority must be an integer');
  if (s.description != null && (typeof s.description !== 'string' || s.description.length > 500))
    fail('description must be a string of at most 500 characters');
  const input = JSON.stringify(s.input ?? null);
  if (input === undefined) fail('input must be a JSON value');
  const def: ScheduleDefinition = {
    name,
    task,
    cron: s.cron.trim(),
    input,
    timezone,
    overlap: s.overlap ?? 'skip',
    catchUp: s.catchUp ?? 'latest',
    catchUpLimit: s.catchUpLimit ?? 10,
    jitterMs: s.jitterMs ?? 0,
    priority: s.priority ?? null,
    description: s.description ?? null,
  };
  cronOf(def);
  return def;
}

function checkTimeZone(name: string, timezone: unknown): void {
  try {
    if (typeof timezone !== 'string' || timezone === '') throw new RangeError('empty');
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new InvalidScheduleError(name, `unknown time zone "${String(timezone)}"; use an IANA name such as "Europe/Berlin" or "America/New_York"`);
  }
}

const crons = new Map<string, Cron>();

/** The croner object of a rule (cached: a scheduler asks for the same few rules on every pass). */
function cronOf(def: Pick<ScheduleDefinition, 'name' | 'cron' | 'timezone'>): Cron {
  const key = `${def.timezone ?? ''}\u0000${def.cron}`;
  let cron = crons.get(key);
  if (!cron) {
    try {
      cron = new Cron(def.cron, { timezone: def.timezone ?? 'Etc/UTC', paused: true });
      // Some rules only fail when a time is computed from them.
      cron.nextRun(new Date(0));
    } catch (err) {
      throw new InvalidScheduleError(def.name, `croner rejected the cron rule "${def.cron}": ${err instanceof Error ? err.message : String(err)}`);
    }
    if (crons.size >= 10_000) crons.clear();
    crons.set(key, cron);
  }
  return cron;
}

/** The first tick strictly after `after` (epoch ms), or null when the rule has none. */
export function tickAfter(def: Pick<ScheduleDefinition, 'name' | 'cron' | 'timezone'>, after: number): number | null {
  return cronOf(def).nextRun(new Date(after))?.getTime() ?? null;
}

/** What one pass of the scheduler does for a schedule whose cursor is due. */
export interface TickPlan {
  /** Ticks to fire, oldest first. */
  fire: number[];
  /** The cursor after them: the first tick after the last tick handled. */
  next: number | null;
  /** Ticks passed over by the catch-up policy. */
  dropped: number;
}

/** Due ticks counted one by one up to this many; past it, the latest ones are found from the end. */
const COUNT_LIMIT = 10_000;

/**
 * Which of the ticks from `cursor` (the earliest tick not handled yet) up to `now` fire, by the
 * schedule's catch-up policy; ticks later than `MISSED_AFTER_MS` count as missed.
 */
export function planTicks(def: ScheduleDefinition, cursor: number, now: number): TickPlan {
  if (cursor > now) return { fire: [], next: cursor, dropped: 0 };
  const keep = def.catchUp === 'all' ? def.catchUpLimit : 1;
  // The latest `keep` ticks up to now, oldest first (a year of per-second ticks is not walked).
  const latest = cronOf(def)
    .previousRuns(keep, new Date(now + 1))
    .map((d) => d.getTime())
    .filter((t) => t >= cursor)
    .reverse();
  const due = latest.length ? latest : [cursor];
  const next = tickAfter(def, due[due.length - 1]);
  const fire = def.catchUp === 'none' ? due.filter((t) => now - t <= MISSED_AFTER_MS) : due;
  return { fire, next, dropped: countTicks(def, cursor, now) - fire.length };
}

/** Ticks from `from` to `to`, both included, counted up to COUNT_LIMIT. */
function countTicks(def: ScheduleDefinition, from: number, to: number): number {
  let n = 0;
  for (let t: number | null = from; t !== null && t <= to && n < COUNT_LIMIT; t = tickAfter(def, t)) n++;
  return n;
}

/** A schedule as the API gives it: its record, with the input as a value. */
export interface Schedule extends Omit<ScheduleRecord, 'input'> {
  input: unknown;
}

export function toSchedule(r: ScheduleRecord): Schedule {
  return { ...r, input: JSON.parse(r.input) };
}

/** A schedule as JSON for the CLI and the HTTP API: times as ISO 8601 (UTC). */
export function scheduleToJson(s: Schedule): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    name: s.name,
    task: s.task,
    cron: s.cron,
    timezone: s.timezone,
    input: s.input,
    overlap: s.overlap,
    catchUp: s.catchUp,
    catchUpLimit: s.catchUpLimit,
    jitterMs: s.jitterMs,
    priority: s.priority,
    description: s.description,
    paused: s.paused,
    nextTickAt: iso(s.nextTickAt),
    lastTickAt: iso(s.lastTickAt),
    lastJobId: s.lastJobId,
    lastJobState: s.lastJobState,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

import { checkPolicy, type DependencyPolicy, MAX_DEPENDENCIES } from '../core/dependencies.js';
import { InputTooLargeError, InvalidInputError, InvalidOptionError } from '../core/errors.js';
import type { Payload } from '../core/job.js';
import type { TaskRegistry } from '../core/registry.js';
import type { ResolvedTaskSettings } from '../core/task.js';
import type { NewDependency, NewJob } from '../store/store.js';
import { checkId } from './ids.js';

/** A job to wait for: its id, its handle, or either with a name and a policy of its own. */
export type DependencyRef = string | { readonly id: string } | { job: string | { readonly id: string }; name?: string; onFailure?: DependencyPolicy };

export interface EnqueueOptions {
  /** Higher runs first; default: the task's priority (0 unless set). */
  priority?: number;
  /** When the job may start: a Date, epoch milliseconds or an ISO 8601 string. */
  runAt?: Date | number | string;
  /** Start no sooner than this many milliseconds from now. */
  delayMs?: number;
  /** While a queued or running job of this task has this key, submitting returns that job. */
  uniqueKey?: string;
  /**
   * With `uniqueKey`: wait this long before the job may start, and let a submit with the same key
   * within that time replace the queued job's input (and start the wait again) instead of adding
   * a job, so a burst of submits runs once, with the last input.
   */
  debounceMs?: number;
  /** Jobs sharing a key run at most `concurrencyPerKey` (task setting, default 1) at a time. */
  concurrencyKey?: string;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Who submitted (shown in listings): "api", "cli", a user id… */
  origin?: string;
  /**
   * Jobs to wait for: the job is stored `waiting` and runs once they have all succeeded; its handler
   * reads their results in `ctx.dependencies`. An array of ids or handles, or an object naming them
   * (`{ fetch: handleA, parse: '42' }`: then `ctx.dependencies.result('fetch')`).
   */
  after?: DependencyRef | DependencyRef[] | Record<string, string | { readonly id: string }>;
  /** When a job waited for fails or is cancelled: cancel this one (default), fail it, or run it anyway. */
  onDependencyFailure?: DependencyPolicy;
}

export interface SubmissionLimits {
  maxInputBytes: number;
}

export const DEFAULT_MAX_INPUT_BYTES = 1024 * 1024;
const MAX_KEY_LENGTH = 255;
const MAX_DEBOUNCE_MS = 86_400_000;

/**
 * Turns (task, input, options) into a row to insert, or throws a named error before anything is
 * written: unknown task, input that is not JSON or fails the task's schema, input too large, bad option.
 */
export async function buildNewJob(
  registry: TaskRegistry,
  limits: SubmissionLimits,
  now: number,
  task: string,
  input: unknown,
  opts: EnqueueOptions = {},
): Promise<NewJob> {
  if (typeof task !== 'string' || task === '') throw new InvalidOptionError('task', 'a task name (string) is required');
  return newJobWith(registry, await registry.settingsFor(task), limits, now, task, input, opts);
}

/** Builds many rows, looking each task's settings up once. */
export async function buildNewJobs(
  registry: TaskRegistry,
  limits: SubmissionLimits,
  now: number,
  items: { task: string; input: unknown; options?: EnqueueOptions }[],
): Promise<NewJob[]> {
  const settings = new Map<string, ResolvedTaskSettings>();
  for (const it of items) {
    if (typeof it?.task !== 'string' || it.task === '') throw new InvalidOptionError('task', 'a task name (string) is required');
    if (!settings.has(it.task)) settings.set(it.task, await registry.settingsFor(it.task));
  }
  return items.map((it) => newJobWith(registry, settings.get(it.task)!, limits, now, it.task, it.input, it.options));
}

/** `buildNewJob` with the task's settings already at hand. */
export function newJobWith(
  registry: TaskRegistry,
  settings: ResolvedTaskSettings,
  limits: SubmissionLimits,
  now: number,
  task: string,
  input: unknown,
  opts: EnqueueOptions = {},
): NewJob {
  checkOptions(opts);
  const payload = encodeInput(task, input);
  if (typeof payload === 'string') registry.validate(task, settings, input);
  const size = typeof payload === 'string' ? byteLength(payload, limits.maxInputBytes) : payload.length;
  if (size > limits.maxInputBytes) throw new InputTooLargeError(task, size, limits.maxInputBytes);
  return {
    task,
    input: payload,
    priority: opts.priority ?? settings.priority,
    runAt: runAtOf(opts, now),
    maxAttempts: opts.maxAttempts ?? settings.maxAttempts,
    timeoutMs: opts.timeoutMs ?? settings.timeoutMs,
    uniqueKey: opts.uniqueKey ?? null,
    concurrencyKey: opts.concurrencyKey ?? null,
    origin: opts.origin ?? null,
    ...(opts.debounceMs !== undefined && { debounce: true }),
    ...(opts.after !== undefined && { after: dependenciesOf(opts.after, opts.onDependencyFailure) }),
  };
}

/** `after` as edges to stored jobs; INVALID_ID for an id that cannot be one. */
export function dependenciesOf(after: NonNullable<EnqueueOptions['after']>, onFailure: DependencyPolicy | undefined): NewDependency[] {
  const policy = checkPolicy(onFailure, 'onDependencyFailure') ?? 'cancel';
  let deps: NewDependency[];
  if (typeof after === 'string' || (typeof after === 'object' && after !== null && 'id' in after && !Array.isArray(after))) {
    deps = [{ on: { id: jobIdOf(after) }, name: null, policy }];
  } else if (Array.isArray(after)) {
    deps = after.map((a) => (typeof a === 'object' && a !== null && 'job' in a ? jobEdgeOf(a, policy) : { on: { id: jobIdOf(a) }, name: null, policy }));
  } else if (typeof after === 'object' && after !== null) {
    deps = Object.entries(after).map(([name, ref]) => ({ on: { id: jobIdOf(ref) }, name, policy }));
  } else {
    throw new InvalidOptionError('after', 'must be a job id, a handle, an array of them, or an object naming them');
  }
  if (deps.length > MAX_DEPENDENCIES) throw new InvalidOptionError('after', `names ${deps.length} jobs; a job may wait for at most ${MAX_DEPENDENCIES}`);
  return deps;
}

/** `{ job, name?, onFailure? }`: an edge to a job stored before (as `after` and a flow's steps take it). */
export function jobEdgeOf(
  e: { job: string | { readonly id: string }; name?: string; onFailure?: DependencyPolicy },
  fallback: DependencyPolicy,
): NewDependency {
  if (e.name !== undefined && (typeof e.name !== 'string' || e.name.length === 0 || e.name.length > 100))
    throw new InvalidOptionError('after', 'a name must be a string of 1–100 characters');
  return { on: { id: jobIdOf(e.job) }, name: e.name ?? null, policy: checkPolicy(e.onFailure, 'after.onFailure') ?? fallback };
}

/** A job id, or the id of a handle; INVALID_ID for anything that cannot be one. */
function jobIdOf(ref: unknown): string {
  return checkId('job', typeof ref === 'object' && ref !== null && 'id' in ref ? (ref as { id: unknown }).id : ref);
}

/** JSON text for values, the bytes themselves for Buffers (Gearman payloads). */
export function encodeInput(task: string, input: unknown): Payload {
  if (Buffer.isBuffer(input)) return input;
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  let text: string | undefined;
  try {
    text = JSON.stringify(input === undefined ? null : input);
  } catch (err) {
    throw new InvalidInputError(task, `it cannot be serialised as JSON (${(err as Error).message})`);
  }
  if (text === undefined) throw new InvalidInputError(task, `a ${typeof input} is not a JSON value`);
  return text;
}

/** UTF-8 length, without encoding short strings that cannot be over the limit anyway. */
function byteLength(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text);
}

function checkOptions(o: EnqueueOptions): void {
  const bad = (option: string, problem: string): never => {
    throw new InvalidOptionError(option, problem);
  };
  if (typeof o !== 'object' || o === null) bad('options', 'must be an object');
  if (o.priority !== undefined && (!Number.isSafeInteger(o.priority) || Math.abs(o.priority) > 2 ** 31))
    bad('priority', 'must be an integer between -2^31 and 2^31');
  if (o.delayMs !== undefined && (typeof o.delayMs !== 'number' || !Number.isFinite(o.delayMs) || o.delayMs < 0))
    bad('delayMs', `must be a non-negative number of milliseconds, got ${String(o.delayMs)}`);
  if (o.delayMs !== undefined && o.runAt !== undefined) bad('runAt', 'give runAt or delayMs, not both');
  if (o.debounceMs !== undefined) {
    if (!Number.isSafeInteger(o.debounceMs) || o.debounceMs < 1 || o.debounceMs > MAX_DEBOUNCE_MS)
      bad('debounceMs', `must be an integer from 1 to ${MAX_DEBOUNCE_MS} (a day), got ${String(o.debounceMs)}`);
    if (o.uniqueKey === undefined) bad('debounceMs', 'needs a uniqueKey: the key names the queued job a later submit replaces');
    if (o.delayMs !== undefined || o.runAt !== undefined) bad('debounceMs', 'sets when the job may start; give it without runAt or delayMs');
  }
  if (o.after !== undefined && o.debounceMs !== undefined) bad('after', 'a job that waits for others cannot be debounced');
  if (o.maxAttempts !== undefined && (!Number.isSafeInteger(o.maxAttempts) || o.maxAttempts < 1)) bad('maxAttempts', 'must be an integer ≥ 1');
  if (o.timeoutMs !== undefined && (!Number.isSafeInteger(o.timeoutMs) || o.timeoutMs < 1)) bad('timeoutMs', 'must be an integer ≥ 1');
  for (const key of ['uniqueKey', 'concurrencyKey', 'origin'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > MAX_KEY_LENGTH))
      bad(key, `must be a string of 1–${MAX_KEY_LENGTH} characters`);
  }
}

function runAtOf(o: EnqueueOptions, now: number): number {
  if (o.debounceMs !== undefined) return now + o.debounceMs;
  if (o.delayMs !== undefined) return now + Math.round(o.delayMs);
  if (o.runAt === undefined) return now;
  const ms = o.runAt instanceof Date ? o.runAt.getTime() : typeof o.runAt === 'number' ? o.runAt : Date.parse(o.runAt);
  if (!Number.isFinite(ms) || ms < 0)
    throw new InvalidOptionError('runAt', `must be a valid date, epoch milliseconds or ISO 8601 string, got ${JSON.stringify(o.runAt)}`);
  return Math.round(ms);
}

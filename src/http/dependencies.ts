/**
 * Dependencies over HTTP: what `after` names, checked against the token before anything is
 * stored, and what a claimed job waited for, as the claim sends it.
 */
import type { FastifyRequest } from 'fastify';
import { allowsTask, isTaskRestricted } from '../auth/permissions.js';
import type { EnqueueOptions } from '../client/submission.js';
import { InvalidRequestError } from '../core/errors.js';
import { decodePayload, payloadToJson } from '../core/job.js';
import type { Offload } from '../offload.js';
import type { ClaimedJob, DependencyRow } from '../store/store.js';
import { requireTask } from './access.js';
import { iso } from './context.js';

type After = NonNullable<EnqueueOptions['after']>;
type AfterBody = (string | { job: string; name?: string; onFailure?: 'cancel' | 'fail' | 'run' })[] | Record<string, string>;

/** `after` as the library takes it; undefined when it names nothing (an empty list waits for nothing). */
export function afterOf(after: AfterBody | undefined, field: string): After | undefined {
  if (after === undefined) return undefined;
  if (Array.isArray(after)) return after.length === 0 ? undefined : after;
  const names = Object.keys(after);
  if (names.length === 0) return undefined;
  const bad = names.find((n) => n.length === 0 || n.length > 100);
  if (bad !== undefined) throw new InvalidRequestError(field, `names a dependency ${JSON.stringify(bad.slice(0, 120))}; names are 1–100 characters`);
  return after;
}

/** The job ids an `after` names. */
export function dependencyIds(after: After | undefined): string[] {
  if (after === undefined) return [];
  if (Array.isArray(after)) return after.map((a) => (typeof a === 'string' ? a : typeof a === 'object' && a !== null && 'job' in a ? String(a.job) : ''));
  return Object.values(after).map(String);
}

/**
 * A token narrowed to some tasks may make a job wait only for jobs of its tasks: the waiting job's
 * handler reads their results. Jobs that do not exist are left to the store (UNKNOWN_DEPENDENCY).
 */
export async function requireDependencyTasks(request: FastifyRequest, offload: Offload, ids: string[]): Promise<void> {
  if (ids.length === 0 || !isTaskRestricted(request.principal)) return;
  for (const row of await offload.store.getJobs({ ids: [...new Set(ids)] })) requireTask(request, row.task);
}

/**
 * Claimed jobs as the agent API sends them, each job that waited for others with its
 * dependencies, and with the trace context it was submitted under when the server traces.
 */
export async function claimedJobsJson(request: FastifyRequest, offload: Offload, jobs: ClaimedJob[]) {
  const traceparents = await offload.tracing.traceparentsOf(jobs, (ids) => offload.store.getJobs({ ids }));
  // The store's claim brings each job's dependencies (ClaimedJob.dependencies).
  return jobs.map((j) => {
    const traceparent = traceparents.get(j.id);
    const out = traceparent === undefined ? claimedJson(j) : { ...claimedJson(j), traceparent };
    if (!j.hasDependencies) return out;
    return { ...out, dependencies: (j.dependencies ?? []).map((d) => dependencyJson(request, d)) };
  });
}

function dependencyJson(request: FastifyRequest, d: DependencyRow) {
  // A result is the task's data: only for an agent whose token may use that task.
  const visible = allowsTask(request.principal, d.task);
  const error = visible && d.error !== null ? (JSON.parse(d.error) as { message: string; code?: string }) : null;
  return {
    id: d.depId,
    name: d.name,
    task: d.task,
    state: d.state,
    result: visible ? (payloadToJson(decodePayload(d.result)) ?? null) : null,
    error: error && { message: error.message, ...(error.code !== undefined && { code: error.code }) },
    policy: d.policy,
  };
}

function claimedJson(j: ClaimedJob) {
  return {
    id: j.id,
    task: j.task,
    input: payloadToJson(decodePayload(j.input)),
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    priority: j.priority,
    timeoutMs: j.timeoutMs,
    batchId: j.batchId,
    createdAt: iso(j.createdAt),
    leaseToken: j.leaseToken,
    leaseExpiresAt: iso(j.leaseExpiresAt),
    uniqueKey: j.uniqueKey,
  };
}

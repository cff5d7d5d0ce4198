/**
 * The job filters of GET /v1/jobs and of bulk actions, from their query (or body) form to the
 * listing's options: states as a comma list, times as ISO 8601, on the created time.
 */
import type { FastifyRequest } from 'fastify';
import { isTaskRestricted } from '../auth/permissions.js';
import { ForbiddenError, InvalidRequestError } from '../core/errors.js';
import type { JobState } from '../core/job.js';
import type { ListJobsOptions } from '../offload.js';
import { requireTask } from './access.js';

export interface JobFilterQuery {
  task?: string;
  state?: string;
  batch?: string;
  flow?: string;
  since?: string;
  until?: string;
  q?: string;
}

/** The listing options of a filter; FORBIDDEN when a token narrowed to some tasks names none of them. */
export function listOptionsOf(request: FastifyRequest, f: JobFilterQuery, where: string): Omit<ListJobsOptions, 'limit' | 'cursor'> {
  if (f.task !== undefined) requireTask(request, f.task);
  else if (isTaskRestricted(request.principal)) {
    throw new ForbiddenError(`token "${request.principal.name}" may read only some tasks' jobs; name one in ${where}task`, {
      patterns: request.principal.tasks,
    });
  }
  const states = f.state === undefined ? undefined : ([...new Set(f.state.split(','))] as JobState[]);
  return {
    task: f.task,
    ...(states && (states.length === 1 ? { state: states[0] } : { states })),
    batchId: f.batch,
    flowId: f.flow,
    createdSince: timeOf(f.since, `${where}since`),
    createdUntil: timeOf(f.until, `${where}until`),
    text: f.q,
  };
}

/** An ISO 8601 time in ms; a time the pattern let through but no calendar has is refused. */
export function timeOf(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new InvalidRequestError(field, `is not a time: ${JSON.stringify(text)} (give ISO 8601, e.g. 2026-01-31T12:00:00Z)`);
  return ms;
}

/** True when the filter names at least one criterion (a bulk action never covers every job by accident). */
export function isNarrowed(f: JobFilterQuery): boolean {
  return Object.values(f).some((v) => v !== undefined);
}

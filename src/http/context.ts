import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { Static } from 'typebox';
import type { Principal } from '../auth/permissions.js';
import { JobNotFoundError } from '../core/errors.js';
import { type Job, jobToJson, toJob } from '../core/job.js';
import type { Offload } from '../offload.js';
import type { AgentRegistry } from './agents.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { LongRequests } from './long-requests.js';
import type { ResolvedHttpApiOptions } from './options.js';
import type { JobSchema } from './schemas.js';
import type { DashboardSessions } from './sessions.js';

/** What every route module gets: the Offload it fronts, the settings and the shared state. */
export interface ApiContext {
  offload: Offload;
  options: ResolvedHttpApiOptions;
  longRequests: LongRequests;
  agents: AgentRegistry;
  /** Failed authentications per address (the dashboard's login counts them too). */
  throttle: AuthThrottle;
  sessions: DashboardSessions;
}

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export type JobJson = Static<typeof JobSchema>;

/** Jobs as JSON, in the order of `ids` (one query for all). */
export async function readJobs(offload: Offload, ids: string[]): Promise<JobJson[]> {
  const rows = await offload.store.getJobs({ ids });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => {
    const row = byId.get(id);
    if (!row) throw new JobNotFoundError(id);
    return jobToJson(toJob(row)) as JobJson;
  });
}

export function jobJson(job: Job): JobJson {
  return jobToJson(job) as JobJson;
}

/** Recorded on submitted jobs: who sent them. */
export function originOf(p: Principal): string {
  return p.name === null ? 'http' : `http:${p.name}`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * An AbortSignal that fires when the client goes away or the server stops, for requests that
 * wait. The returned `done` releases the caller's long-request slot and the listeners.
 */
export function holdLongRequest(
  ctx: ApiContext,
  request: { principal: Principal; raw: NodeJS.EventEmitter },
  reply: { raw: NodeJS.EventEmitter },
): { signal: AbortSignal; done: () => void } {
  const release = ctx.longRequests.acquire(request.principal.key);
  const controller = new AbortController();
  const abort = () => controller.abort(new Error('the client went away or the server is stopping'));
  // 'close' on the response fires when the socket closes, before or after a reply.
  reply.raw.once('close', abort);
  const forget = ctx.longRequests.onClose(abort);
  return {
    signal: controller.signal,
    done: () => {
      release();
      forget();
      reply.raw.removeListener('close', abort);
    },
  };
}

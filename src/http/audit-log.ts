/**
 * The audit log: every request that acts (any method but GET, HEAD, OPTIONS) is written down once
 * answered: who (the token's name, or local:<address>), the route, the ids it was about, the
 * gist of its body without secrets, the status, when. Work is not action: the agent routes
 * (claim, heartbeat, complete, fail, release, finish: access `work`), push callbacks (their own
 * token) and submissions (access `submit`: each job records who sent it in `origin`) are left out,
 * so the hot paths write nothing more: an entry per submission would be one more commit per
 * turn of the event loop beside the submissions' own.
 * Entries answered in one turn of the event loop are written together, after the answers went out.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../core/logger.js';
import type { AuditEntry, Store } from '../store/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Ids or names the route acted on that its parameters do not name (a bulk action's jobs, a new token). */
    auditTargets?: string[];
  }
}

/** Ids kept per entry: a bulk action over a million jobs is one entry, not a million ids. */
const MAX_TARGETS = 100;
const MAX_SUMMARY_CHARS = 2000;
const QUIET_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Fields whose values are secrets, or the user's data rather than the action's shape. */
const SECRET_FIELD = /secret|password|passwd|token|authorization|credential|api[-_]?key|smtp/i;
const DATA_FIELD = /^(input|result|body|headers)$/;

export class AuditWriter {
  private pending: AuditEntry[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  add(entry: AuditEntry): void {
    this.pending.push(entry);
    if (this.pending.length === 1) setImmediate(() => void this.flush());
  }

  /** Writes what is pending (also on close). A failed write is logged: the action itself was done. */
  async flush(): Promise<void> {
    await this.flushing;
    const entries = this.pending;
    if (entries.length === 0) return;
    this.pending = [];
    this.flushing = this.store.recordAudit({ entries }).catch((err: unknown) => {
      this.logger.error({ err, entries: entries.length }, 'could not write to the audit log');
    });
    await this.flushing;
  }
}

export function installAuditLog(app: FastifyInstance, writer: AuditWriter, now: () => number): void {
  app.addHook('onResponse', async (request, reply) => {
    const entry = auditEntryOf(request, reply, now());
    if (entry) writer.add(entry);
  });
}

/** The entry for an answered request, or null when it is not an action (a read, work, a caller not identified). */
export function auditEntryOf(request: FastifyRequest, reply: FastifyReply, at: number): AuditEntry | null {
  if (QUIET_METHODS.has(request.method)) return null;
  const config = request.routeOptions.config;
  const route = request.routeOptions.url;
  // No route (404), work, submissions, callbacks, and callers turned away before they were known (401, 429).
  if (!route || !request.principal || config?.access === 'work' || config?.access === 'submit' || config?.ownToken) return null;
  const params = (request.params ?? {}) as Record<string, string>;
  const targets = [...Object.values(params), ...(request.auditTargets ?? [])];
  return {
    actor: request.principal.name ?? request.principal.key,
    method: request.method,
    route,
    targets: targets.slice(0, MAX_TARGETS),
    summary: summaryOf(withQuery(request.body, request.query), targets.length > MAX_TARGETS ? targets.length : undefined),
    status: reply.statusCode,
    at,
  };
}

/** A query string says what an action does too (`DELETE /v1/tasks/x/jobs?state=failed`): it goes with the body, under `query`. */
function withQuery(body: unknown, query: unknown): unknown {
  if (typeof query !== 'object' || query === null || Object.keys(query).length === 0) return body;
  if (body === undefined || body === null) return { query };
  return typeof body === 'object' && !Array.isArray(body) ? { ...body, query } : { body, query };
}

/** The gist of a body as JSON text: its fields and small values, secrets and job data left out. */
export function summaryOf(body: unknown, targetCount?: number): string | null {
  if (body === undefined || body === null) return targetCount === undefined ? null : JSON.stringify({ targets: targetCount });
  const gist = gistOf(body, 0) as Record<string, unknown>;
  const summary = targetCount === undefined ? gist : { ...(typeof gist === 'object' ? gist : { body: gist }), targets: targetCount };
  const text = JSON.stringify(summary);
  return text.length <= MAX_SUMMARY_CHARS ? text : JSON.stringify({ truncated: true, fields: Object.keys(summary) });
}

function gistOf(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubbed(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    if (depth > 0 || value.length > 20) return { items: value.length };
    return value.map((v) => gistOf(v, depth + 1));
  }
  if (depth > 2) return '{…}';
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_FIELD.test(k)) out[k] = '[redacted]';
    else if (DATA_FIELD.test(k)) out[k] = '[data]';
    else out[k] = gistOf(v, depth + 1);
  }
  return out;
}

/** Long text shortened; a URL without its credentials and query (where secrets ride). */
function scrubbed(text: string): string {
  const short = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(short)) return short;
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString();
  } catch {
    return short;
  }
}

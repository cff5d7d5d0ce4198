/**
 * Who may do what, checked before a body is read: the client address against the allow-list,
 * then the bearer token (401 when missing where required, unknown or revoked; 429 after too many
 * failures from one address) or the dashboard's session cookie, then the route's action against
 * the token's scope (403). Task patterns are checked by the routes, which know the task
 * (`requireTask`). A browser request that changes something must come from this origin, and with
 * a session cookie carry the session's CSRF header (403 CSRF_REFUSED): another site's page cannot
 * act with the dashboard's cookie, nor as the anonymous local user.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AllowList, isLoopbackHost, unmapped } from '../auth/allow-list.js';
import { type Action, allowsAction, allowsTask, anonymousLocal, type Principal } from '../auth/permissions.js';
import { authenticate, authenticateHash } from '../auth/tokens.js';
import { BuiltInTaskError, CsrfRefusedError, ForbiddenError, RateLimitedError, UnauthorizedError } from '../core/errors.js';
import { isBuiltInTaskName } from '../core/task.js';
import type { Store } from '../store/store.js';
import type { AuthThrottle } from './auth-throttle.js';
import { CSRF_HEADER, type DashboardSession, type DashboardSessions, sessionIdOf } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** The dashboard session the request was authenticated by, if it came with the cookie. */
    dashboardSession: DashboardSession | null;
  }
  interface FastifyContextConfig {
    /** What the route does, checked against the token's scope. */
    access?: Action;
    /**
     * The route proves its caller by a token of its own (a push callback's, bound to a lease), not
     * by an API token: no Authorization header is required or read. The allow-list still applies.
     */
    ownToken?: true;
    /**
     * Served to anyone the allow-list lets in, token or not (the dashboard's page, its assets and
     * its login): no principal is looked up, and the route must not read or change jobs.
     */
    public?: true;
  }
}

export interface AccessOptions {
  store: Store;
  requireToken: boolean;
  allowList: AllowList | null;
  throttle: AuthThrottle;
  /** Dashboard sessions, when the dashboard is served. */
  sessions?: DashboardSessions;
}

export function installAccessControl(app: FastifyInstance, o: AccessOptions): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('dashboardSession', null);
  app.addHook('onRequest', async (request) => {
    const address = unmapped(request.ip);
    if (o.allowList && !o.allowList.allows(address))
      throw new ForbiddenError(`the address ${address} is not on the server's allow-list; add its network to --allow to let it in`, { address });
    if (request.routeOptions.config?.ownToken) {
      request.principal = { name: null, scope: 'submit', tasks: [], key: `callback:${address}` };
      return;
    }
    if (request.routeOptions.config?.public) {
      if (changes(request)) refuseCrossSite(request);
      request.principal = { name: null, scope: 'read', tasks: [], key: `public:${address}` };
      return;
    }
    request.principal = await identify(request, address, o);
    const action = request.routeOptions.config?.access;
    if (action && !allowsAction(request.principal, action)) {
      throw new ForbiddenError(`token "${request.principal.name}" has scope ${request.principal.scope}, which does not allow ${action} requests`, {
        scope: request.principal.scope,
        action,
      });
    }
  });
}

async function identify(request: FastifyRequest, address: string, o: AccessOptions): Promise<Principal> {
  const header = request.headers.authorization;
  if (header === undefined) {
    const bySession = await identifyBySession(request, o);
    if (bySession) return bySession;
    if (o.requireToken) throw new UnauthorizedError('this server requires an API token and the request has none');
    requireLoopbackName(request);
    if (changes(request)) refuseCrossSite(request);
    return anonymousLocal(address);
  }
  const wait = o.throttle.retryAfterSeconds(address);
  if (wait > 0) throw new RateLimitedError(`too many failed authentications from ${address}`, wait);
  const m = /^Bearer ([^\s]+)$/i.exec(header);
  const principal = m ? await authenticate(o.store, m[1]!) : null;
  if (!principal) {
    o.throttle.recordFailure(address);
    throw new UnauthorizedError(m ? 'the token is unknown or revoked' : 'the Authorization header is not "Bearer <token>"');
  }
  return principal;
}

/** The principal of the request's dashboard session cookie; null without a live session. */
async function identifyBySession(request: FastifyRequest, o: AccessOptions): Promise<Principal | null> {
  const id = o.sessions ? sessionIdOf(request.headers.cookie) : undefined;
  const session = id ? await o.sessions!.use(id) : undefined;
  if (!session) return null;
  const principal = await authenticateHash(o.store, session.tokenHash);
  if (!principal) {
    await o.sessions!.deleteToken(session.tokenHash);
    throw new UnauthorizedError("the dashboard session's token has been revoked; log in again with another token");
  }
  if (changes(request)) {
    refuseCrossSite(request);
    if (request.headers[CSRF_HEADER] !== session.csrf) throw new CsrfRefusedError('the request carries the session cookie but not its Offload-CSRF header');
  }
  request.dashboardSession = session;
  return principal;
}

/**
 * A request without a token acts as admin only when it names this machine in its Host header. A
 * web page on another name that resolves to 127.0.0.1 (DNS rebinding) is same-origin with itself,
 * so Origin checks pass it; a proxy on this machine forwards other names too. Both must use a token.
 */
function requireLoopbackName(request: FastifyRequest): void {
  const host = request.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  if (isLoopbackHost(name)) return;
  throw new UnauthorizedError(
    `a request without a token must name this machine in its Host header (localhost, 127.0.0.1 or [::1]), not "${host.slice(0, 200)}"; through a proxy or another name, send a token`,
  );
}

function changes(request: FastifyRequest): boolean {
  return request.method !== 'GET' && request.method !== 'HEAD';
}

/** Browsers say where a request comes from; one from another site's page is refused. */
function refuseCrossSite(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {}
  if (host === null || host !== request.headers.host)
    throw new CsrfRefusedError(`the request comes from ${origin.slice(0, 200)}, not from this server's pages`);
}

/**
 * Throws BUILT_IN_TASK for one of Offload's own tasks, then FORBIDDEN unless the token may touch
 * jobs of this task: for what submits or claims jobs (their inputs say where requests go).
 */
export function requireOpenTask(request: FastifyRequest, task: string): void {
  if (isBuiltInTaskName(task)) throw new BuiltInTaskError(task);
  requireTask(request, task);
}

/** Throws FORBIDDEN unless the request's token may touch jobs of this task. */
export function requireTask(request: FastifyRequest, task: string): void {
  const p = request.principal;
  if (!allowsTask(p, task)) {
    throw new ForbiddenError(`token "${p.name}" may not use task "${task}" (its task patterns: ${p.tasks.join(', ')})`, { task, patterns: p.tasks });
  }
}

/** Throws FORBIDDEN for a token narrowed to some tasks: for what spans every task (tokens, the audit log). */
export function requireEveryTask(request: FastifyRequest, what: string): void {
  const p = request.principal;
  if (p.tasks.length > 0)
    throw new ForbiddenError(`token "${p.name}" is limited to some tasks (${p.tasks.join(', ')}), and ${what} span every task; use a token without --tasks`, {
      patterns: p.tasks,
    });
}

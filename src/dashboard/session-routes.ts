/**
 * The dashboard's login: POST /dashboard/session trades a token for an HttpOnly, SameSite=Strict
 * cookie holding a random session id; GET tells the page who it is and the CSRF value to send;
 * DELETE logs out. The token's secret is never kept: the session holds its hash, looked up again
 * on every request (src/http/access.ts), so a revoked token's sessions stop at once.
 */
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { Type } from 'typebox';
import { unmapped } from '../auth/allow-list.js';
import { hashSecret } from '../auth/secrets.js';
import { authenticate } from '../auth/tokens.js';
import { RateLimitedError, UnauthorizedError } from '../core/errors.js';
import type { Api, ApiContext } from '../http/context.js';
import { SESSION_COOKIE } from '../http/sessions.js';

const LoginBody = Type.Object({ token: Type.String({ maxLength: 200 }) }, { additionalProperties: false });

export function sessionRoutes(app: Api, ctx: ApiContext): void {
  app.get('/dashboard/session', { schema: { hide: true } as FastifySchema }, async (request) => whoIs(request));

  app.post('/dashboard/session', { config: { public: true }, schema: { hide: true, body: LoginBody } as FastifySchema }, async (request, reply) => {
    const address = unmapped(request.ip);
    const wait = ctx.throttle.retryAfterSeconds(address);
    if (wait > 0) throw new RateLimitedError(`too many failed logins from ${address}`, wait);
    const { token } = request.body as { token: string };
    const principal = await authenticate(ctx.offload.store, token.trim());
    if (!principal) {
      ctx.throttle.recordFailure(address);
      throw new UnauthorizedError('the token is unknown or revoked');
    }
    // The audit log names who logged in, not the anonymous caller the page's route saw.
    request.principal = principal;
    const session = await ctx.sessions.create(hashSecret(token.trim()));
    setCookie(request, reply, session.id);
    return { name: principal.name, scope: principal.scope, tasks: principal.tasks, via: 'session', csrf: session.csrf };
  });

  app.delete('/dashboard/session', { schema: { hide: true } as FastifySchema }, async (request, reply) => {
    if (request.dashboardSession) await ctx.sessions.delete(request.dashboardSession.id);
    setCookie(request, reply, '', 0);
    return reply.code(204).send();
  });
}

function whoIs(request: FastifyRequest) {
  const p = request.principal;
  const session = request.dashboardSession;
  return { name: p.name, scope: p.scope, tasks: p.tasks, via: session ? 'session' : p.name === null ? 'local' : 'token', csrf: session?.csrf ?? null };
}

function setCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds?: number): void {
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (request.protocol === 'https') parts.push('Secure');
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${maxAgeSeconds}`);
  void reply.header('set-cookie', parts.join('; '));
}

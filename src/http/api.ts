/**
 * The HTTP API as a Fastify instance, not yet listening: `front-door.ts` listens, tests `inject()`.
 * Order matters: security headers, then access control (before any body is read), then the
 * schema-validated routes; every error leaves through one handler.
 */

import { readFileSync } from 'node:fs';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AllowList } from '../auth/allow-list.js';
import { MalformedJsonError, RouteNotFoundError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { Offload } from '../offload.js';
import { installAccessControl } from './access.js';
import { AgentRegistry } from './agents.js';
import { AuditWriter, installAuditLog } from './audit-log.js';
import { AuthThrottle } from './auth-throttle.js';
import type { Api, ApiContext } from './context.js';
import { errorHandler, sendError } from './errors.js';
import { LongRequests } from './long-requests.js';
import { buildOpenApi, type CollectedRoute, collectRoute } from './openapi.js';
import { type HttpApiOptions, resolveHttpOptions } from './options.js';
import { agentRoutes } from './routes/agents.js';
import { auditRoutes } from './routes/audit.js';
import { batchRoutes } from './routes/batches.js';
import { bulkRoutes } from './routes/bulk.js';
import { errorRoutes } from './routes/errors.js';
import { eventRoutes } from './routes/events.js';
import { flowRoutes } from './routes/flows.js';
import { jobRoutes } from './routes/jobs.js';
import { metaRoutes } from './routes/meta.js';
import { pushRoutes } from './routes/push.js';
import { ruleRoutes } from './routes/rules.js';
import { scheduleRoutes } from './routes/schedules.js';
import { taskRoutes } from './routes/tasks.js';
import { throughputRoutes } from './routes/throughput.js';
import { tokenRoutes } from './routes/tokens.js';
import { workerRoutes } from './routes/workers.js';
import { SECURITY_HEADERS } from './security-headers.js';
import { DashboardSessions } from './sessions.js';
import { validatorCompiler } from './validation.js';

export interface HttpApi {
  readonly app: FastifyInstance;
  /** Ends long requests (claims answer with what they have, streams end), then closes the server. */
  close(): Promise<void>;
  /** The OpenAPI document. */
  openapi(): Record<string, unknown>;
  /** Long requests (waiting claims and submits, event streams) open now. */
  openLongRequests(): number;
}

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** More routes on the API's port, registered after the API's own: the dashboard. */
export type ApiPlugin = (app: Api, ctx: ApiContext) => void;

export async function buildApi(offload: Offload, opts: HttpApiOptions & { logger?: Logger; plugins?: ApiPlugin[] } = {}): Promise<HttpApi> {
  const options = resolveHttpOptions(opts);
  const logger = opts.logger ?? silentLogger;
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    // A slow sender cannot hold a socket forever while its request trickles in.
    requestTimeout: 30_000,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>() as Api;

  const routes: CollectedRoute[] = [];
  let document: Record<string, unknown> | undefined;
  const openapi = () => (document ??= buildOpenApi(routes, { version: VERSION }));
  app.addHook('onRoute', (route) => collectRoute(routes, route));

  const inFlight = trackInFlight(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(options.checkResponses ? checkingSerializer : () => (data) => JSON.stringify(data));
  installJsonParser(app);
  app.addHook('onRequest', async (_request, reply) => {
    void reply.headers(SECURITY_HEADERS);
  });
  // The route's pattern, not its URL, labels the series: job ids must not make a series each.
  app.addHook('onResponse', async (request, reply) => {
    offload.metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  const throttle = new AuthThrottle(offload.clock, options.failedAuthLimit, options.failedAuthWindowMs);
  const sessions = new DashboardSessions(offload.store, offload.clock);
  installAccessControl(app, {
    store: offload.store,
    requireToken: options.requireToken,
    allowList: options.allow ? new AllowList(options.allow, 'allow') : null,
    throttle,
    sessions,
  });
  const audit = new AuditWriter(offload.store, logger);
  installAuditLog(app, audit, () => offload.clock.now());
  app.setErrorHandler(errorHandler(logger, options.maxBodyBytes));
  app.setNotFoundHandler((request, reply) => sendError(reply, new RouteNotFoundError(request.method, request.url.split('?')[0]!.slice(0, 200))));

  const ctx: ApiContext = {
    offload,
    options,
    longRequests: new LongRequests(options.maxOpenLongPolls),
    agents: new AgentRegistry(offload),
    throttle,
    sessions,
  };
  jobRoutes(app, ctx);
  batchRoutes(app, ctx);
  flowRoutes(app, ctx);
  agentRoutes(app, ctx);
  taskRoutes(app, ctx);
  throughputRoutes(app, ctx);
  scheduleRoutes(app, ctx);
  pushRoutes(app, ctx);
  ruleRoutes(app, ctx);
  eventRoutes(app, ctx);
  bulkRoutes(app, ctx);
  errorRoutes(app, ctx);
  workerRoutes(app, ctx);
  tokenRoutes(app, ctx);
  auditRoutes(app, ctx);
  metaRoutes(app, ctx, openapi);
  for (const plugin of opts.plugins ?? []) plugin(app, ctx);
  await app.ready();

  return {
    app,
    openapi,
    openLongRequests: () => ctx.longRequests.size,
    async close() {
      ctx.longRequests.closeAll();
      const closing = app.close();
      // Once every response has gone out, remaining connections are idle keep-alives (or sockets
      // a client abandoned mid-request, which node would otherwise wait on): close them now.
      await inFlight.drained(10_000);
      app.server.closeAllConnections();
      await closing;
      await audit.flush();
    },
  };
}

/** Counts requests whose response has not finished (or been abandoned) yet. */
function trackInFlight(app: Api): { drained(timeoutMs: number): Promise<void> } {
  let count = 0;
  let onDrained: (() => void) | undefined;
  app.addHook('onRequest', async (_request, reply) => {
    count++;
    reply.raw.once('close', () => {
      if (--count === 0) onDrained?.();
    });
  });
  return {
    drained: (timeoutMs) =>
      new Promise<void>((resolve) => {
        if (count === 0) return resolve();
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        onDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
  };
}

/**
 * JSON bodies only (anything else is 415). An empty body is "no body", so POST /…/cancel works
 * with or without `{}`. Keys that could poison prototypes are refused.
 */
function installJsonParser(app: Api): void {
  app.removeAllContentTypeParsers();
  const secure = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    secure(request, text, (err, value) => {
      if (!err) return done(null, value);
      try {
        JSON.parse(text);
        done(new MalformedJsonError('"__proto__" and "constructor": {"prototype": …} keys are not accepted'), undefined);
      } catch (syntax) {
        done(new MalformedJsonError((syntax as Error).message.slice(0, 200)), undefined);
      }
    });
  });
}

/** Fails a response that does not match its schema (used by the tests, so the contract stays true). */
function checkingSerializer({ schema, method, url, httpStatus }: { schema: unknown; method: string; url: string; httpStatus?: string }) {
  const check = Compile(schema as TSchema);
  return (data: unknown) => {
    if (!check.Check(data)) {
      const first = check.Errors(data)[0] as { instancePath?: string; message?: string } | undefined;
      throw new Error(`response ${httpStatus} of ${method} ${url} does not match its schema: ${first?.instancePath} ${first?.message}`);
    }
    return JSON.stringify(data);
  };
}

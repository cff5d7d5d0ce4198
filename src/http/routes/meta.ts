/** GET /v1/health and GET /openapi.json: open to any caller the access rules let in. */
import { readFileSync } from 'node:fs';
import { redact } from '../../store/url.js';
import type { Api, ApiContext } from '../context.js';
import { EmptyQuery, ErrorSchema, HealthResponse, MetricsText } from '../schemas.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function metaRoutes(app: Api, ctx: ApiContext, openapi: () => unknown): void {
  app.get(
    '/v1/health',
    {
      schema: {
        summary: 'Whether the server and its store answer',
        description: 'Any valid token may call it (no token on a loopback listener).',
        tags: ['meta'],
        querystring: EmptyQuery,
        response: { 200: HealthResponse, 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema },
      },
    },
    async () => {
      // One primary-key lookup proves the store answers (a failure leaves as a 5xx with its code).
      await ctx.offload.store.getJob({ id: '1' });
      return { ok: true, version: VERSION, store: redact(ctx.offload.store.description) };
    },
  );

  app.get(
    '/openapi.json',
    {
      schema: {
        summary: "This API's OpenAPI 3.1 document, generated from the schemas that validate requests",
        tags: ['meta'],
        querystring: EmptyQuery,
        hide: true,
      },
    },
    async () => openapi(),
  );

  app.get(
    '/metrics',
    {
      config: { access: 'read' },
      schema: {
        summary: "This process's metrics in Prometheus's text format (version 0.0.4)",
        description: 'Jobs by task and state, enqueue/start/finish counts, run and wait times, lease losses, store calls, HTTP requests.',
        tags: ['meta'],
        querystring: EmptyQuery,
        response: { 200: MetricsText, 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema },
      },
    },
    async (_request, reply) => {
      const text = await ctx.offload.metrics.scrape();
      return reply.type(ctx.offload.metrics.contentType).send(text);
    },
  );
}

/**
 * The OpenAPI 3.1 document, built from the route schemas as Fastify registers them, so it can
 * never drift from what is validated. Schemas listed in NAMED_SCHEMAS become components and are
 * referenced wherever they appear.
 */
import type { RouteOptions } from 'fastify';
import type { TSchema } from 'typebox';
import { NAMED_SCHEMAS } from './schemas.js';

interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  hide?: boolean;
  params?: TSchema;
  querystring?: TSchema;
  headers?: TSchema;
  body?: TSchema;
  response?: Record<string, TSchema & { description?: string }>;
}

export interface CollectedRoute {
  method: string;
  url: string;
  schema: RouteSchema;
}

const STATUS_TEXT: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted (the wait ended first)',
  400: 'Invalid request',
  401: 'No valid token',
  403: 'Not allowed for this token or address',
  404: 'Not found',
  409: 'Conflict (LEASE_LOST, INVALID_STATE)',
  413: 'Too large',
  415: 'Not JSON',
  422: 'Idempotency key reused for another submission',
  429: 'Too many requests',
  503: 'Unavailable',
};

/** Call from an onRoute hook. */
export function collectRoute(routes: CollectedRoute[], route: RouteOptions): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  for (const method of methods) {
    if (method === 'HEAD') continue;
    routes.push({ method: method.toLowerCase(), url: route.url, schema: (route.schema ?? {}) as RouteSchema });
  }
}

export function buildOpenApi(routes: CollectedRoute[], info: { version: string }): Record<string, unknown> {
  const refs = new Map(Object.entries(NAMED_SCHEMAS).map(([name, s]) => [JSON.stringify(clean(s)), name]));
  const ref = (s: unknown, top = true): unknown => withRefs(clean(s), refs, top);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of [...routes].sort((a, b) => a.url.localeCompare(b.url))) {
    if (r.schema.hide && r.url !== '/openapi.json') continue;
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const s = r.schema;
    const parameters = [...paramsOf(s.params, 'path'), ...paramsOf(s.querystring, 'query'), ...paramsOf(s.headers, 'header')];
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(s.response ?? { 200: {} })) {
      const desc = (schema as { description?: string }).description;
      const isText = (schema as { type?: string }).type === 'string' && status === '200';
      // A text body names its media type (contentMediaType); one that does not is an event stream.
      const textType = (schema as { contentMediaType?: string }).contentMediaType ?? 'text/event-stream';
      responses[status] = {
        description: STATUS_TEXT[status] ?? desc ?? status,
        content: isText ? { [textType]: { schema: { type: 'string' } } } : { 'application/json': { schema: ref(schema) } },
      };
    }
    (paths[path] ??= {})[r.method] = {
      summary: s.summary,
      ...(s.description ? { description: s.description } : {}),
      ...(s.tags ? { tags: s.tags } : {}),
      ...(parameters.length ? { parameters: parameters.map((p) => ({ ...p, schema: ref(p.schema) })) } : {}),
      ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(s.body) } } } } : {}),
      responses,
    };
  }
  const components: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) components[name] = withRefs(clean(schema), refs, false);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Offload HTTP API',
      version: info.version,
      description:
        'Submit, read and work on jobs. Errors are `{"error":{"code","message","details?"}}` with a 4xx/5xx status; codes are listed in docs/reference/errors.md.',
    },
    servers: [{ url: 'http://127.0.0.1:7070' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from `offload token create` (optional on a loopback listener).' } },
      schemas: components,
    },
    paths,
  };
}

function paramsOf(
  schema: TSchema | undefined,
  where: 'path' | 'query' | 'header',
): { name: string; in: string; required: boolean; schema: unknown; description?: string }[] {
  const s = schema as { properties?: Record<string, { description?: string }>; required?: string[] } | undefined;
  if (!s?.properties) return [];
  return Object.entries(s.properties).map(([name, prop]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    ...(prop.description ? { description: prop.description } : {}),
    schema: prop,
  }));
}

/** Plain JSON Schema: no TypeBox symbols or undefined values. */
function clean(s: unknown): unknown {
  return JSON.parse(JSON.stringify(s ?? {}));
}

function withRefs(s: unknown, refs: Map<string, string>, top: boolean): unknown {
  if (Array.isArray(s)) return s.map((x) => withRefs(x, refs, true));
  if (typeof s !== 'object' || s === null) return s;
  const name = top ? refs.get(JSON.stringify(s)) : undefined;
  if (name) return { $ref: `#/components/schemas/${name}` };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) out[k] = withRefs(v, refs, true);
  return out;
}

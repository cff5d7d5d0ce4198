/**
 * The dashboard on the HTTP API's port: its page for every UI route, its two assets, its login.
 * The page is built only on the HTTP API (src/dashboard/ui/, bundled by esbuild); this side
 * serves files and sessions and reads no job itself.
 */
import type { FastifyReply, FastifySchema } from 'fastify';
import { RouteNotFoundError } from '../core/errors.js';
import type { ApiPlugin } from '../http/api.js';
import type { Api } from '../http/context.js';
import { sendError } from '../http/errors.js';
import { type DashboardAssets, indexHtml, loadAssets } from './assets.js';
import { ASSET_CACHE, PAGE_HEADERS } from './headers.js';
import { sessionRoutes } from './session-routes.js';

/** Not in the OpenAPI document: the page and its files are not API. */
const HIDDEN = { hide: true } as FastifySchema;

/** The UI's top-level paths; each and everything under it answers with the page. */
export const DASHBOARD_SECTIONS = ['login', 'jobs', 'errors', 'batches', 'flows', 'workers', 'schedules', 'groups', 'rules', 'tokens', 'audit'] as const;

export function dashboardPlugin(assets: DashboardAssets = loadAssets()): ApiPlugin {
  const page = indexHtml(assets);
  return (app, ctx) => {
    const sendPage = (reply: FastifyReply) => reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page);
    const pageRoute = { config: { public: true as const }, schema: HIDDEN };
    app.get('/', pageRoute, async (_request, reply) => sendPage(reply));
    for (const section of DASHBOARD_SECTIONS) {
      app.get(`/${section}`, pageRoute, async (_request, reply) => sendPage(reply));
      app.get(`/${section}/*`, pageRoute, async (_request, reply) => sendPage(reply));
    }
    serveAssets(app, assets);
    sessionRoutes(app, ctx);
  };
}

function serveAssets(app: Api, assets: DashboardAssets): void {
  app.get('/assets/:name', { config: { public: true }, schema: HIDDEN }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const asset = assets.files.get(name);
    if (!asset) return sendError(reply, new RouteNotFoundError('GET', `/assets/${name.slice(0, 100)}`));
    void reply.headers(PAGE_HEADERS).header('cache-control', ASSET_CACHE).header('etag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });
}

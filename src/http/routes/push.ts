/**
 * Push: endpoint groups (list, read, save, remove) and the callbacks an endpoint that answered
 * 202 sends for the job (progress, complete, fail), each proven by the lease-bound token the push
 * carried, not by an API token.
 */
import type { EndpointGroupView } from '../../push/push-service.js';
import type { Api, ApiContext } from '../context.js';
import {
  CallbackHeaders,
  CallbackParams,
  CallbackResponse,
  CompleteCallbackBody,
  FailCallbackBody,
  GroupBody,
  GroupParams,
  GroupRemovedResponse,
  GroupResponse,
  GroupsResponse,
  ProgressCallbackBody,
} from '../push-schemas.js';
import { EmptyQuery, errorResponses } from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 429);
const bodyErrors = { ...errors, ...errorResponses(413, 415) };
const callbackErrors = errorResponses(400, 403, 404, 409, 413, 415);

export function pushRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  app.get(
    '/v1/endpoint-groups',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Every endpoint group, with what is outstanding at each endpoint and its health as this server sees it',
        description: 'Secrets and credentials are never shown.',
        tags: ['push'],
        querystring: EmptyQuery,
        response: { 200: GroupsResponse, ...errors },
      },
    },
    async () => ({ groups: (await offload.push.groups()).map(groupJson) }),
  );

  app.get(
    '/v1/endpoint-groups/:name',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Read one endpoint group',
        description: '404 ENDPOINT_GROUP_NOT_FOUND when there is none of this name.',
        tags: ['push'],
        params: GroupParams,
        response: { 200: GroupResponse, ...errors },
      },
    },
    async (request) => ({ group: groupJson(await offload.push.getGroup(request.params.name)) }),
  );

  app.put(
    '/v1/endpoint-groups/:name',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Save an endpoint group, or replace the one of this name, and bind its tasks to it',
        description:
          'Its tasks are claimed only by push dispatchers from then on. Every server running push picks the change up within 5 s. ' +
          '400 INVALID_ENDPOINT_GROUP names what is wrong (a task bound to another group, a bad URL, a short secret); nothing is saved then.',
        tags: ['push'],
        params: GroupParams,
        body: GroupBody,
        response: { 200: GroupResponse, ...bodyErrors },
      },
    },
    async (request) => ({ group: groupJson(await offload.push.saveGroup({ ...(request.body as object), name: request.params.name } as never)) }),
  );

  app.delete(
    '/v1/endpoint-groups/:name',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Remove an endpoint group; its tasks are unbound, so pull workers may claim them again',
        tags: ['push'],
        params: GroupParams,
        response: { 200: GroupRemovedResponse, ...errors },
      },
    },
    async (request) => {
      await offload.push.removeGroup(request.params.name);
      return { removed: request.params.name };
    },
  );

  const callback = {
    progress: { body: ProgressCallbackBody, summary: "An accepted push's progress: keeps the attempt alive (its lease and the group's callback timeout)" },
    complete: { body: CompleteCallbackBody, summary: "An accepted push's result: the job succeeds" },
    fail: { body: FailCallbackBody, summary: "An accepted push failed: retried per the task's policy, or failed now with retryable false" },
  } as const;
  for (const [type, c] of Object.entries(callback)) {
    app.post(
      `/v1/push/jobs/:id/${type}`,
      {
        config: { ownToken: true },
        schema: {
          summary: c.summary,
          description:
            'For an endpoint that answered a push with 202. The `Offload-Callback-Token` header carries `callback.token` from the push. ' +
            '409 LEASE_LOST once the attempt is over (it timed out, was cancelled, went to another endpoint) or for a token that is not its own.',
          tags: ['push'],
          params: CallbackParams,
          headers: CallbackHeaders,
          body: c.body,
          response: { 200: CallbackResponse, ...callbackErrors },
        },
      },
      async (request) => {
        const token = String(request.headers['offload-callback-token']);
        const body = request.body as Record<string, unknown>;
        const { id } = request.params as { id: string };
        if (type === 'progress') {
          const { done, total, message } = body as { done: number; total: number; message?: string };
          await offload.push.callback(id, token, { type: 'progress', done, total, ...(message === undefined ? {} : { message }) });
        } else if (type === 'complete') await offload.push.callback(id, token, { type: 'complete', result: body?.result ?? null });
        else {
          const raw = body.error as string | { message: string; code?: string };
          const error = typeof raw === 'string' ? { message: raw } : raw;
          await offload.push.callback(id, token, { type: 'fail', error, retryable: body.retryable !== false });
        }
        return { ok: true as const };
      },
    );
  }
}

function groupJson(v: EndpointGroupView) {
  const g = v.group;
  return {
    name: g.name,
    balancer: g.balancer,
    tasks: g.tasks,
    concurrency: g.concurrency,
    timeoutMs: g.timeoutMs,
    callbackTimeoutMs: g.callbackTimeoutMs,
    endpoints: g.endpoints.map((e) => ({ id: e.id, url: e.url, weight: e.weight, concurrency: e.concurrency, outstanding: v.outstanding[e.id] ?? 0 })),
    health: v.health?.map((h) => ({ ...h, probeAt: h.probeAt === null ? null : new Date(h.probeAt).toISOString() })) ?? null,
    createdAt: new Date(v.createdAt).toISOString(),
    updatedAt: new Date(v.updatedAt).toISOString(),
  };
}

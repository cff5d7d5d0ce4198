/**
 * GET /v1/events: server-sent events of job and batch changes, filtered by task patterns and by
 * what the token may read. Idle streams get a comment line every `sseHeartbeatMs`; a client that
 * reads too slowly is disconnected rather than buffered without bound; everything is unsubscribed
 * when the client goes or the server stops.
 */
import { allowsTask, patternMatches } from '../../auth/permissions.js';
import type { Timer } from '../../core/clock.js';
import type { EventName, OffloadEvents } from '../../core/events.js';
import { type Api, type ApiContext, holdLongRequest, iso } from '../context.js';
import { ErrorSchema, EventsQuery } from '../schemas.js';
import { SECURITY_HEADERS } from '../security-headers.js';

const JOB_EVENTS = ['job:enqueued', 'job:started', 'job:progress', 'job:succeeded', 'job:retrying', 'job:failed', 'job:cancelled', 'job:released'] as const;
/** More unsent bytes than this and the client is too slow to follow: it is disconnected. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Changes made by other processes are announced at most this often per stream. */
const STORE_CHANGED_MIN_INTERVAL_MS = 1000;

export function eventRoutes(app: Api, ctx: ApiContext): void {
  const { offload, options } = ctx;

  app.get(
    '/v1/events',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Server-sent events of job and batch changes',
        description:
          'A `text/event-stream`. Events: ' +
          [...JOB_EVENTS, 'batch:finished', 'store:changed'].map((e) => `\`${e}\``).join(', ') +
          '; each `data:` is JSON with at least `id` and `task` for jobs (times ISO 8601). `store:changed` says another process changed jobs ' +
          'of `tasks` (null: any); read them back to see what. A `: ping` comment line comes every 15 s on an idle stream. Filter with `?task=a,b*`.',
        tags: ['events'],
        querystring: EventsQuery,
        response: {
          200: { description: 'An event stream (text/event-stream).', type: 'string' },
          400: ErrorSchema,
          401: ErrorSchema,
          403: ErrorSchema,
          429: ErrorSchema,
        },
      },
    },
    (request, reply) => {
      const principal = request.principal;
      const patterns = request.query.task?.split(',') ?? [];
      const wanted = (task: string) => allowsTask(principal, task) && (patterns.length === 0 || patterns.some((p) => patternMatches(p, task)));
      const held = holdLongRequest(ctx, request, reply);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no', connection: 'keep-alive' });
      res.write('retry: 2000\n: connected\n\n');

      let seq = 0;
      const cleanups: (() => void)[] = [];
      const close = () => {
        for (const fn of cleanups.splice(0)) fn();
        held.done();
        if (!res.writableEnded) res.end();
      };
      const write = (text: string) => {
        if (res.writableEnded) return;
        if (res.writableLength > MAX_BUFFERED_BYTES) return close();
        res.write(text);
      };
      const send = (name: string, data: unknown) => write(`id: ${++seq}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`);

      for (const name of JOB_EVENTS) {
        cleanups.push(
          offload.on(name, (e: OffloadEvents[typeof name]) => {
            if (wanted(e.task)) send(name, eventJson(name, e));
          }),
        );
      }
      cleanups.push(offload.on('batch:finished', (e) => send('batch:finished', e)));
      let lastStoreChange = -Infinity;
      cleanups.push(
        offload.store.watch((change) => {
          const tasks = change.tasks === null ? null : change.tasks.filter(wanted);
          const now = offload.clock.now();
          if ((tasks !== null && tasks.length === 0) || now - lastStoreChange < STORE_CHANGED_MIN_INTERVAL_MS) return;
          lastStoreChange = now;
          send('store:changed', { tasks });
        }),
      );
      let ping: Timer;
      const armPing = () => {
        ping = offload.clock.setTimer(() => {
          write(': ping\n\n');
          armPing();
        }, options.sseHeartbeatMs);
      };
      armPing();
      cleanups.push(() => ping.cancel());
      held.signal.addEventListener('abort', close, { once: true });
    },
  );
}

/**
 * An event as JSON: times in ms become ISO 8601 strings, like everywhere else in the API. A job's
 * result is left out (it can be large, and bytes): read it with GET /v1/jobs/:id.
 */
function eventJson(name: EventName, e: Record<string, unknown>): Record<string, unknown> {
  const { result: _result, ...out } = e;
  for (const key of ['runAt', 'until'] as const) if (typeof out[key] === 'number') out[key] = iso(out[key] as number);
  // Shown only for jobs that have one.
  if (out.concurrencyKey == null) delete out.concurrencyKey;
  void name;
  return out;
}

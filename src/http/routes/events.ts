/**
 * GET /v1/events: server-sent events of job and batch changes, filtered by task patterns and by
 * what the token may read. Idle streams get a comment line every `sseHeartbeatMs`; a client that
 * reads too slowly is disconnected rather than buffered without bound; everything is unsubscribed
 * when the client goes or the server stops.
 */
import type { FastifyRequest } from 'fastify';
import { allowsTask, isTaskRestricted, patternMatches } from '../../auth/permissions.js';
import { type BatchRow, batchOutcome, toBatch } from '../../core/batch.js';
import type { Timer } from '../../core/clock.js';
import { BatchNotFoundError } from '../../core/errors.js';
import type { EventName, OffloadEvents } from '../../core/events.js';
import type { Offload } from '../../offload.js';
import { requireTask } from '../access.js';
import { type Api, type ApiContext, holdLongRequest, iso } from '../context.js';
import { ErrorSchema, EventsQuery } from '../schemas.js';
import { SECURITY_HEADERS } from '../security-headers.js';

const JOB_EVENTS = ['job:enqueued', 'job:started', 'job:progress', 'job:succeeded', 'job:retrying', 'job:failed', 'job:cancelled', 'job:released'] as const;
/** More unsent bytes than this and the client is too slow to follow: it is disconnected. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Changes made by other processes are announced at most this often per stream. */
const STORE_CHANGED_MIN_INTERVAL_MS = 1000;
/** A batch stream's batch:progress is read and sent at most this often. */
const BATCH_PROGRESS_MIN_INTERVAL_MS = 100;
/** A batch stream knows the jobs of its batch up to this many (events that name their batch pass whatever its size). */
const MAX_BATCH_MEMBERS = 100_000;
const FINISH_EVENTS = new Set<string>(['job:succeeded', 'job:failed', 'job:cancelled']);

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
          'of `tasks` (null: any); read them back to see what. A `: ping` comment line comes every 15 s on an idle stream. Filter with `?task=a,b*`. ' +
          "With `?batch=ID` (a batch or a flow) the stream carries only that batch: its jobs' `job:*` events, `batch:progress` " +
          '`{id, total, succeeded, failed, cancelled, pending}` when it opens and as its jobs finish (here or in another process; at most every 100 ms), ' +
          'and its `batch:finished` (once; after a last `batch:progress`). A token narrowed to some tasks may follow only a batch whose every job is of its tasks. ' +
          'An unknown batch is 404 BATCH_NOT_FOUND.',
        tags: ['events'],
        querystring: EventsQuery,
        response: {
          200: { description: 'An event stream (text/event-stream).', type: 'string' },
          400: ErrorSchema,
          401: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
          429: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      const followed = request.query.batch === undefined ? null : await openBatch(request, offload, request.query.batch);
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

      if (followed) {
        followBatch(offload, followed, { wanted, send, cleanups, closed: () => res.writableEnded });
      } else {
        for (const name of JOB_EVENTS) {
          cleanups.push(
            offload.on(name, (e: OffloadEvents[typeof name]) => {
              if (wanted(e.task)) send(name, eventJson(name, e));
            }),
          );
        }
        cleanups.push(offload.on('batch:finished', (e) => send('batch:finished', e)));
      }
      let lastStoreChange = -Infinity;
      cleanups.push(
        offload.store.watch((change) => {
          if (followed) return;
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
      return reply;
    },
  );
}

interface FollowedBatch {
  row: BatchRow;
  members: Set<string>;
  tasks: Set<string>;
}

/** The batch a stream follows, after checking the token may read every job of it. */
async function openBatch(request: FastifyRequest, offload: Offload, id: string): Promise<FollowedBatch> {
  const row = await offload.store.getBatch({ id });
  if (!row) throw new BatchNotFoundError(id);
  const jobs = await offload.store.listBatchJobs({ batchId: id, limit: Math.min(Math.max(row.total, 1), MAX_BATCH_MEMBERS) });
  const tasks = new Set(jobs.map((j) => j.task));
  if (isTaskRestricted(request.principal)) for (const task of tasks) requireTask(request, task);
  return { row, members: new Set(jobs.map((j) => j.id)), tasks };
}

/**
 * One batch's events: its jobs' events, batch:progress (read from the store when the stream opens
 * and after its jobs finish, coalesced to one read per BATCH_PROGRESS_MIN_INTERVAL_MS), and its
 * batch:finished once, after a last batch:progress.
 */
function followBatch(
  offload: Offload,
  b: FollowedBatch,
  s: { wanted: (task: string) => boolean; send: (name: string, data: unknown) => void; cleanups: (() => void)[]; closed: () => boolean },
): void {
  const id = b.row.id;
  const clock = offload.clock;
  let lastRead = -Infinity;
  let timer: Timer | null = null;
  let reading = false;
  let again = false;
  let finishedSent = false;
  let finishedEvent: OffloadEvents['batch:finished'] | null = null;

  const progress = (row: BatchRow) => {
    const batch = toBatch(row);
    s.send('batch:progress', { id, total: batch.total, succeeded: batch.succeeded, failed: batch.failed, cancelled: batch.cancelled, pending: batch.pending });
    if (row.finishedAt !== null) finished(batchOutcome(row));
  };
  const finished = (outcome: OffloadEvents['batch:finished']) => {
    if (finishedSent) return;
    finishedSent = true;
    s.send('batch:finished', outcome);
  };
  const read = async () => {
    reading = true;
    lastRead = clock.now();
    try {
      const row = await offload.store.getBatch({ id });
      if (row && !s.closed()) progress(row);
    } catch {
      // The store is away for now: the next change reads again.
    } finally {
      reading = false;
      if (again) {
        again = false;
        // Once the batch has finished, its last counts are read at once.
        schedule(finishedEvent !== null);
      } else if (finishedEvent && !s.closed()) finished(finishedEvent);
    }
  };
  const schedule = (now = false) => {
    if (s.closed() || finishedSent) return;
    if (reading) {
      again = true;
      return;
    }
    const wait = lastRead + BATCH_PROGRESS_MIN_INTERVAL_MS - clock.now();
    if (now || wait <= 0) {
      timer?.cancel();
      timer = null;
      void read();
    } else {
      timer ??= clock.setTimer(() => {
        timer = null;
        schedule();
      }, wait);
    }
  };
  s.cleanups.push(() => timer?.cancel());

  const isMember = (e: { id: string; batchId?: string | null }) => e.batchId === id || b.members.has(e.id);
  for (const name of JOB_EVENTS) {
    s.cleanups.push(
      offload.on(name, (e: OffloadEvents[typeof name]) => {
        if (!isMember(e)) return;
        if (s.wanted(e.task)) s.send(name, eventJson(name, e));
        if (FINISH_EVENTS.has(name)) schedule();
      }),
    );
  }
  s.cleanups.push(
    offload.on('batch:finished', (e) => {
      if (e.id !== id) return;
      finishedEvent = e;
      // The last counts go out first, then batch:finished (from the read, or from this event if the read fails).
      if (reading) again = true;
      else schedule(true);
    }),
  );
  // Jobs finished by other processes (another server on the same PostgreSQL) show up as store changes.
  s.cleanups.push(
    offload.store.watch((change) => {
      if (change.tasks === null || change.tasks.some((t) => b.tasks.has(t))) schedule();
    }),
  );
  lastRead = clock.now();
  progress(b.row);
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
  if (out.batchId == null) delete out.batchId;
  void name;
  return out;
}

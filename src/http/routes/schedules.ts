/** Schedules: cron rules that enqueue a task with an input. List, read, add or replace, pause, resume, run now, remove. */
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { allowsTask } from '../../auth/permissions.js';
import { ScheduleNotFoundError } from '../../core/errors.js';
import { type Schedule, scheduleToJson } from '../../core/schedule.js';
import { requireOpenTask, requireTask } from '../access.js';
import { type Api, type ApiContext, readJobs } from '../context.js';
import {
  EmptyQuery,
  errorResponses,
  JobResponse,
  ScheduleBody,
  ScheduleParams,
  ScheduleRemovedResponse,
  ScheduleResponse,
  type ScheduleSchema,
  SchedulesResponse,
} from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 429);
const bodyErrors = { ...errors, ...errorResponses(413, 415) };

export function scheduleRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;

  /** The schedule, once the token may touch its task (403 otherwise, as for a job). */
  const scheduleFor = async (request: FastifyRequest, name: string): Promise<Schedule> => {
    const schedule = await offload.getSchedule(name);
    requireTask(request, schedule.task);
    return schedule;
  };

  app.get(
    '/v1/schedules',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Every schedule (whose task the token may read), by name, with its next and last tick and its last job',
        tags: ['schedules'],
        querystring: EmptyQuery,
        response: { 200: SchedulesResponse, ...errors },
      },
    },
    async (request) => ({
      schedules: (await offload.schedules()).filter((s) => allowsTask(request.principal, s.task)).map(scheduleJson),
    }),
  );

  app.get(
    '/v1/schedules/:name',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Read one schedule',
        description: '404 SCHEDULE_NOT_FOUND when no schedule has this name.',
        tags: ['schedules'],
        params: ScheduleParams,
        response: { 200: ScheduleResponse, ...errors },
      },
    },
    async (request) => ({ schedule: scheduleJson(await scheduleFor(request, request.params.name)) }),
  );

  app.put(
    '/v1/schedules/:name',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Add a schedule, or replace the one of this name',
        description:
          'What `offload.schedule(name, …)` does: every process that works on the store fires its ticks, once per tick across all of them. ' +
          'Changing the rule or time zone starts it afresh from now; other changes keep its place, and a pause stays. ' +
          '400 INVALID_SCHEDULE for a cron rule croner rejects or an unknown time zone, 404 UNKNOWN_TASK when no process has defined the task, ' +
          "400 INVALID_INPUT when the input does not match the task's schema; nothing is saved then. A token restricted to some tasks " +
          'must match the task, and the task of the schedule it replaces.',
        tags: ['schedules'],
        params: ScheduleParams,
        body: ScheduleBody,
        response: { 200: ScheduleResponse, ...bodyErrors },
      },
    },
    async (request) => {
      const { name } = request.params;
      const body = request.body;
      requireOpenTask(request, body.task);
      const existing = await offload.getSchedule(name).catch((err: unknown) => {
        if (err instanceof ScheduleNotFoundError) return null;
        throw err;
      });
      if (existing) requireTask(request, existing.task);
      const schedule = await offload.schedule(name, { ...body, priority: body.priority ?? undefined });
      return { schedule: scheduleJson(schedule) };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/v1/schedules/:name/${action}`,
      {
        config: { access: 'admin' },
        schema: {
          summary:
            action === 'pause' ? 'Pause a schedule: none of its ticks fires until it is resumed' : 'Resume a paused schedule from its next tick after now',
          description:
            action === 'pause'
              ? 'Ticks that fall while it is paused are not caught up. Pausing a paused schedule changes nothing.'
              : 'Resuming a schedule that is not paused changes nothing.',
          tags: ['schedules'],
          params: ScheduleParams,
          response: { 200: ScheduleResponse, ...errors },
        },
      },
      async (request) => {
        const { name } = await scheduleFor(request, request.params.name);
        const schedule = action === 'pause' ? await offload.pauseSchedule(name) : await offload.resumeSchedule(name);
        return { schedule: scheduleJson(schedule) };
      },
    );
  }

  app.post(
    '/v1/schedules/:name/run',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Run a schedule now: enqueue its job off its rule',
        description:
          "201 with the new job, as POST /v1/jobs answers (origin `schedule:NAME`). The schedule's next tick stays where it is; the job counts as its last. " +
          'A paused schedule runs too.',
        tags: ['schedules'],
        params: ScheduleParams,
        response: { 201: JobResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { name } = await scheduleFor(request, request.params.name);
      const handle = await offload.runSchedule(name);
      const [job] = await readJobs(offload, [handle.id]);
      void reply.code(201);
      return { job: job! };
    },
  );

  app.delete(
    '/v1/schedules/:name',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Remove a schedule (its jobs stay)',
        description: 'A schedule declared with its task in code (`defineTask(…, { schedule })`) comes back when a process defining it opens the store.',
        tags: ['schedules'],
        params: ScheduleParams,
        response: { 200: ScheduleRemovedResponse, ...errors },
      },
    },
    async (request) => {
      const { name } = await scheduleFor(request, request.params.name);
      await offload.removeSchedule(name);
      return { name, removed: true as const };
    },
  );
}

/** The one JSON shape of a schedule (the CLI's --json too), typed by its response schema. */
function scheduleJson(s: Schedule): Static<typeof ScheduleSchema> {
  return scheduleToJson(s) as Static<typeof ScheduleSchema>;
}

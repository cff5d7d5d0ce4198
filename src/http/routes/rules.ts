/** Rules: on an event or a condition, send a signed webhook or an e-mail, or enqueue a job. List, read, save, pause, resume, remove; the firing alerts. */
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { isTaskRestricted } from '../../auth/permissions.js';
import { ForbiddenError } from '../../core/errors.js';
import { type Rule, type RuleAlert, type RuleSettings, ruleToJson } from '../../core/rule.js';
import type { Api, ApiContext } from '../context.js';
import {
  AlertsResponse,
  EmptyQuery,
  errorResponses,
  RuleBody,
  RuleParams,
  RuleRemovedResponse,
  RuleResponse,
  type RuleSchema,
  RulesResponse,
} from '../schemas.js';

const errors = errorResponses(400, 401, 403, 404, 429);
const bodyErrors = { ...errors, ...errorResponses(413, 415) };

/** A rule spans tasks by pattern (and conditions the whole cluster): only a token for every task may see or change rules. */
function requireUnrestricted(request: FastifyRequest): void {
  const p = request.principal;
  if (isTaskRestricted(p))
    throw new ForbiddenError(`token "${p.name}" is limited to some tasks (${p.tasks.join(', ')}), and rules span tasks`, { patterns: p.tasks });
}

export function ruleRoutes(app: Api, ctx: ApiContext): void {
  const { offload } = ctx;
  const tags = ['rules'];

  app.get(
    '/v1/rules',
    {
      config: { access: 'read' },
      schema: { summary: 'Every rule, by name (webhook secrets hidden)', tags, querystring: EmptyQuery, response: { 200: RulesResponse, ...errors } },
    },
    async (request) => {
      requireUnrestricted(request);
      return { rules: (await offload.rules.list()).map(ruleJson) };
    },
  );

  app.get(
    '/v1/rules/:name',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Read one rule',
        description: '404 RULE_NOT_FOUND when no rule has this name.',
        tags,
        params: RuleParams,
        response: { 200: RuleResponse, ...errors },
      },
    },
    async (request) => {
      requireUnrestricted(request);
      return { rule: ruleJson(await offload.rules.get(request.params.name)) };
    },
  );

  app.put(
    '/v1/rules/:name',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Add a rule, or replace the one of this name',
        description:
          'What `offload.rules.save(name, …)` does: every process that works on the store matches it (within 5 s of their next event), and the alert watcher judges conditions. ' +
          'Its pause and its firing alerts stay. 400 INVALID_RULE for a threshold out of range, a bad task pattern or an action without what it needs; ' +
          '404 UNKNOWN_TASK for a follow-up task no process has defined; nothing is saved then.',
        tags,
        params: RuleParams,
        body: RuleBody,
        response: { 200: RuleResponse, ...bodyErrors },
      },
    },
    async (request) => {
      requireUnrestricted(request);
      return { rule: ruleJson(await offload.rules.save(request.params.name, request.body as RuleSettings)) };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/v1/rules/:name/${action}`,
      {
        config: { access: 'admin' },
        schema: {
          summary: action === 'pause' ? 'Pause a rule: nothing sets it off until it is resumed' : 'Resume a paused rule',
          description:
            action === 'pause'
              ? 'Deliveries already enqueued still go out. Pausing a paused rule changes nothing.'
              : 'Resuming an active rule changes nothing.',
          tags,
          params: RuleParams,
          response: { 200: RuleResponse, ...errors },
        },
      },
      async (request) => {
        requireUnrestricted(request);
        return { rule: ruleJson(await offload.rules[action](request.params.name)) };
      },
    );
  }

  app.delete(
    '/v1/rules/:name',
    {
      config: { access: 'admin' },
      schema: { summary: 'Remove a rule and its alerts', tags, params: RuleParams, response: { 200: RuleRemovedResponse, ...errors } },
    },
    async (request) => {
      requireUnrestricted(request);
      await offload.rules.remove(request.params.name);
      return { name: request.params.name, removed: true as const };
    },
  );

  app.get(
    '/v1/alerts',
    {
      config: { access: 'read' },
      schema: {
        summary: 'The alerts of condition rules that are firing now',
        description: 'One per rule and subject (a task, or for worker.silent a worker id), with the value measured when it fired.',
        tags,
        querystring: EmptyQuery,
        response: { 200: AlertsResponse, ...errors },
      },
    },
    async (request) => {
      requireUnrestricted(request);
      return { alerts: (await offload.rules.alerts()).map(alertJson) };
    },
  );
}

/** The one JSON shape of a rule (the CLI's --json too), typed by its response schema. */
function ruleJson(r: Rule): Static<typeof RuleSchema> {
  return ruleToJson(r) as Static<typeof RuleSchema>;
}

function alertJson(a: RuleAlert) {
  return { ...a, since: new Date(a.since).toISOString() };
}

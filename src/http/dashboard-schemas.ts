/**
 * Schemas of the routes a dashboard needs beyond the basics: job search filters, bulk actions,
 * grouped errors, a job's links, workers asked to stop, tokens and the audit log.
 */
import { Type } from 'typebox';
import { JOB_STATES } from '../core/job.js';
import { BatchId, JobId, JobSchema, TaskName, WorkerId } from './schemas.js';

const Iso = Type.String({ format: 'date-time', description: 'ISO 8601, UTC.' });
const NullableIso = Type.Union([Iso, Type.Null()]);
const STATE = `(${JOB_STATES.join('|')})`;

/** One state or several, comma-separated: `failed,cancelled`. */

/** A listing's `cursor`: the `nextCursor` its previous page answered. */
const PageCursor = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'nextCursor of the previous page.' });
export const StatesQuery = Type.String({
  pattern: `^${STATE}(,${STATE}){0,5}$`,
  maxLength: 80,
  description: `One state or several, comma-separated (${JOB_STATES.join(', ')}): any of them.`,
  examples: ['failed,cancelled'],
});

/** An ISO 8601 time in a query string (checked again when parsed). */
export const IsoQuery = Type.String({
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$',
  maxLength: 40,
  description: 'An ISO 8601 time, e.g. 2026-01-31T12:00:00Z (a date alone is its midnight UTC).',
  examples: ['2026-01-31T12:00:00Z'],
});

export const SearchText = Type.String({
  minLength: 1,
  maxLength: 200,
  description:
    'Text to find in the input, result or error (case-insensitive substring; `%` and `_` are plain characters). ' +
    'Each request examines at most 10 000 jobs, newest first, after the other filters: a page may hold fewer than `limit` jobs, even none, ' +
    'with a `nextCursor` to search on; raw-byte (Gearman) inputs and results are not searched.',
});

export const JobFilterSchema = Type.Object(
  {
    task: Type.Optional(TaskName),
    state: Type.Optional(StatesQuery),
    batch: Type.Optional(BatchId),
    flow: Type.Optional(BatchId),
    since: Type.Optional(IsoQuery),
    until: Type.Optional(IsoQuery),
    q: Type.Optional(SearchText),
  },
  { additionalProperties: false, description: 'Which jobs: the filters of GET /v1/jobs (at least one).' },
);

export const ListJobsQuery = Type.Object(
  {
    task: Type.Optional(TaskName),
    state: Type.Optional(StatesQuery),
    batch: Type.Optional(BatchId),
    flow: Type.Optional(BatchId),
    since: Type.Optional(IsoQuery),
    until: Type.Optional(IsoQuery),
    q: Type.Optional(SearchText),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Default 50.' })),
    cursor: Type.Optional(PageCursor),
  },
  { additionalProperties: false },
);

export const BulkBody = Type.Object(
  {
    action: Type.Union([Type.Literal('retry'), Type.Literal('cancel'), Type.Literal('delete')], {
      description: 'retry: failed or cancelled jobs go back to the queue; cancel: waiting, queued or running jobs; delete: finished jobs only.',
    }),
    ids: Type.Optional(Type.Array(JobId, { minItems: 1, maxItems: 1000, description: 'Up to 1000 job ids.' })),
    filter: Type.Optional(JobFilterSchema),
  },
  { additionalProperties: false },
);

export const BulkResponse = Type.Object({
  matched: Type.Integer({ description: 'Jobs the ids or the filter named (ids of no job included).' }),
  changed: Type.Integer({ description: 'Jobs the action changed.' }),
  skipped: Type.Integer({ description: 'matched − changed.' }),
  reasons: Type.Record(Type.String(), Type.Integer(), {
    description:
      'Skipped jobs by why, an error code: INVALID_STATE (the job rules refuse the action in its state), NOT_FINISHED (delete: not finished, or a job still to run waits for it), JOB_NOT_FOUND.',
  }),
});

export const ErrorsQuery = Type.Object(
  {
    task: Type.Optional(TaskName),
    since: Type.Optional(IsoQuery),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Groups, default 100.' })),
  },
  { additionalProperties: false },
);

export const ErrorGroupsResponse = Type.Object({
  errors: Type.Array(
    Type.Object({
      task: Type.String(),
      message: Type.String({ description: "The error's message, as recorded on the jobs." }),
      count: Type.Integer({ description: 'Failed jobs with this task and message.' }),
      lastAt: Iso,
      sampleJobId: JobId,
    }),
    { description: 'Most recent first.' },
  ),
});

export const JobDetailQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 3600,
        description: "Hold the request until the job finishes or this many seconds pass, capped by the server's long-poll limit.",
      }),
    ),
    include: Type.Optional(Type.Literal('dependencies', { description: 'Also answer `dependencies` and `dependents`.' })),
  },
  { additionalProperties: false },
);

const LinkedJobSchema = Type.Object({
  id: JobId,
  task: Type.String(),
  step: Type.Union([Type.String(), Type.Null()]),
  state: Type.String(),
});

export const JobDetailResponse = Type.Object({
  job: JobSchema,
  dependencies: Type.Optional(Type.Array(LinkedJobSchema, { description: 'With include=dependencies: the jobs it waits (or waited) for.' })),
  dependents: Type.Optional(Type.Array(LinkedJobSchema, { description: 'With include=dependencies: the jobs that wait (or waited) for it.' })),
});

export const WorkerParams = Type.Object({ id: WorkerId }, { additionalProperties: false });

export const WorkerStopResponse = Type.Object({
  id: Type.String(),
  stopping: Type.Literal(true),
});

const TokenScopeSchema = Type.Union([Type.Literal('submit'), Type.Literal('work'), Type.Literal('read'), Type.Literal('admin')]);
const TokenName = Type.String({
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,63}$',
  maxLength: 64,
  description: 'A token name: 1–64 letters, digits and _ . : @ -, not starting with punctuation.',
});
const TaskPattern = Type.String({
  pattern: '^[A-Za-z0-9_.:\\-/*]{1,200}$',
  maxLength: 200,
  description: 'A task name pattern; * matches any run of characters.',
});

export const TokenSchema = Type.Object({
  name: Type.String(),
  scope: TokenScopeSchema,
  tasks: Type.Array(Type.String(), { description: 'Task patterns; empty: every task.' }),
  createdAt: Iso,
  revokedAt: NullableIso,
});

export const TokensQuery = Type.Object({ all: Type.Optional(Type.Boolean({ description: 'Include revoked tokens.' })) }, { additionalProperties: false });
export const TokensResponse = Type.Object({ tokens: Type.Array(TokenSchema) });
export const TokenParams = Type.Object({ name: TokenName }, { additionalProperties: false });

export const CreateTokenBody = Type.Object(
  {
    name: TokenName,
    scope: TokenScopeSchema,
    tasks: Type.Optional(Type.Array(TaskPattern, { maxItems: 100, description: 'Task patterns the token is narrowed to; absent or empty: every task.' })),
  },
  { additionalProperties: false },
);

export const CreateTokenResponse = Type.Object({
  token: TokenSchema,
  secret: Type.String({ description: 'The secret, shown only in this answer: send it as `Authorization: Bearer <secret>`.' }),
});

export const RevokeTokenResponse = Type.Object({ name: Type.String(), revoked: Type.Literal(true) });

export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Default 100.' })),
    cursor: Type.Optional(PageCursor),
  },
  { additionalProperties: false },
);

export const AuditResponse = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.String(),
      actor: Type.String({ description: 'The token name, or local:<address> for a caller without a token on a loopback listener.' }),
      method: Type.String(),
      route: Type.String({ description: "The route's pattern, e.g. /v1/jobs/:id/retry." }),
      targets: Type.Array(Type.String(), { description: 'The ids or names acted on.' }),
      summary: Type.Unknown({ description: "The body's gist (action, fields given, counts), secrets and inputs left out; null without a body." }),
      status: Type.Integer({ description: "The answer's HTTP status." }),
      at: Iso,
    }),
    { description: 'Newest first.' },
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

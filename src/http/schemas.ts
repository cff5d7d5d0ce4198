/**
 * The HTTP contract, defined once. These schemas validate requests, give the handlers their
 * types (through the TypeBox type provider) and are the OpenAPI document (GET /openapi.json).
 */
import { type Static, type TSchema, Type } from 'typebox';
import { MAX_DEPENDENCIES } from '../core/dependencies.js';
import { JOB_STATES } from '../core/job.js';

// ---- building blocks ----------------------------------------------------------------------------

export const JobId = Type.String({ pattern: '^[1-9][0-9]{0,18}$', maxLength: 19, description: 'A job id: a positive integer, as a string.', examples: ['42'] });
export const BatchId = Type.String({
  pattern: '^[1-9][0-9]{0,18}$',
  maxLength: 19,
  description: 'A batch id: a positive integer, as a string.',
  examples: ['7'],
});
export const TaskName = Type.String({
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:\\-/]{0,199}$',
  maxLength: 200,
  description: 'A task name: 1–200 letters, digits and _ . : - /, not starting with punctuation.',
  examples: ['report.render'],
});
export const JobStateSchema = Type.Union(
  [Type.Literal('waiting'), Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')],
  { description: 'waiting (for other jobs), queued, running, succeeded, failed or cancelled.' },
);
export const Key = Type.String({ minLength: 1, maxLength: 255 });
export const LeaseToken = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,100}$',
  maxLength: 100,
  description: 'The fencing token the claim returned; a stale one gets 409 LEASE_LOST.',
});
export const WorkerId = Type.String({ pattern: '^[A-Za-z0-9_.:@/-]{1,200}$', maxLength: 200, description: 'Who works: shown on jobs and in GET /v1/workers.' });
const Iso = Type.String({ format: 'date-time', description: 'ISO 8601, UTC.' });
const NullableIso = Type.Union([Iso, Type.Null()]);
const Any = Type.Unknown({ description: 'Any JSON value.' });

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'A stable code, listed in docs/reference/errors.md.', examples: ['LEASE_LOST'] }),
      message: Type.String({ description: 'What was wrong and what to do, for people.' }),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The facts: the field, the job id…' })),
    }),
  },
  { description: 'Every error: a 4xx or 5xx status with this body.' },
);

/** The error answers a group of routes documents, e.g. `errorResponses(400, 401, 404)`. */
export function errorResponses<const S extends number>(...statuses: S[]): Record<`${S}`, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema])) as Record<`${S}`, typeof ErrorSchema>;
}

const JobErrorSchema = Type.Object({
  message: Type.String(),
  code: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  stack: Type.Optional(Type.String()),
  attempt: Type.Integer(),
  at: Iso,
});

const Progress = Type.Object(
  {
    done: Type.Number({ minimum: 0 }),
    total: Type.Number({ minimum: 0 }),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export const JobSchema = Type.Object(
  {
    id: JobId,
    task: Type.String(),
    state: JobStateSchema,
    input: Any,
    result: Any,
    error: Type.Union([JobErrorSchema, Type.Null()]),
    attempt: Type.Integer(),
    maxAttempts: Type.Integer(),
    priority: Type.Integer(),
    progress: Type.Union([Progress, Type.Null()]),
    createdAt: Iso,
    startedAt: NullableIso,
    finishedAt: NullableIso,
    runAt: Iso,
    uniqueKey: Type.Union([Type.String(), Type.Null()]),
    concurrencyKey: Type.Union([Type.String(), Type.Null()]),
    batchId: Type.Union([BatchId, Type.Null()]),
    step: Type.Union([Type.String(), Type.Null()], { description: 'Its step name, when it was submitted as a step of a flow.' }),
    waitingFor: Type.Union([Type.Integer(), Type.Null()], { description: 'While waiting: how many of the jobs it waits for have not finished.' }),
    origin: Type.Union([Type.String(), Type.Null()]),
    timeoutMs: Type.Union([Type.Integer(), Type.Null()]),
    workerId: Type.Union([Type.String(), Type.Null()]),
    leaseExpiresAt: NullableIso,
    errors: Type.Array(JobErrorSchema, { description: 'Errors of earlier attempts, oldest first.' }),
  },
  { description: "A job, the same shape as the CLI's --json." },
);

export const BatchSchema = Type.Object({
  id: BatchId,
  kind: Type.Union([Type.Literal('batch'), Type.Literal('flow')], { description: 'flow: submitted as a flow (its jobs wait for each other).' }),
  title: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union([Type.Literal('running'), Type.Literal('finished')]),
  total: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  cancelled: Type.Integer(),
  pending: Type.Integer(),
  ok: Type.Boolean({ description: 'Finished with every job succeeded.' }),
  onFinishJobId: Type.Union([JobId, Type.Null()]),
  createdAt: Iso,
  finishedAt: NullableIso,
});

// ---- submitting ---------------------------------------------------------------------------------

const submitFields = {
  task: TaskName,
  input: Type.Unknown({ description: "The job's input: any JSON value (null when there is none); at most maxInputBytes (default 1 MiB) as JSON." }),
  priority: Type.Optional(Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31, description: "Higher runs first (default: the task's)." })),
  runAt: Type.Optional(
    Type.Union([Type.String({ format: 'date-time', maxLength: 40 }), Type.Integer({ minimum: 0 })], {
      description: 'When the job may start: ISO 8601 or epoch milliseconds.',
    }),
  ),
  delayMs: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 10 * 365 * 86_400_000, description: 'Start no sooner than this many ms from now (not with runAt).' }),
  ),
  uniqueKey: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'While a queued or running job of the task has this key, the submission returns it (status 200).',
    }),
  ),
  concurrencyKey: Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: "Jobs sharing a key run at most the task's concurrencyPerKey at a time." }),
  ),
  debounceMs: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 86_400_000,
      description:
        'With uniqueKey (not with runAt or delayMs): start no sooner than this, and a submit with the same key meanwhile replaces the queued ' +
        "job's input and starts the wait again instead of adding a job.",
    }),
  ),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 31 })),
};

// ---- dependencies ---------------------------------------------------------------------------------

export const DependencyPolicySchema = Type.Union([Type.Literal('cancel'), Type.Literal('fail'), Type.Literal('run')], {
  description: 'When a job waited for fails or is cancelled: cancel the waiting job (default), fail it (DEPENDENCY_FAILED), or run it anyway.',
});
const DependencyName = Type.String({ minLength: 1, maxLength: 100, description: 'The name the waiting job knows it by (its handler reads the result by it).' });
export const StepName = Type.String({
  pattern: '^[A-Za-z0-9_.:-]{1,100}$',
  maxLength: 100,
  description: "A step's name: 1–100 letters, digits, '_', '.', ':' or '-'.",
  examples: ['fetch'],
});
const JobEdgeSchema = Type.Object(
  { job: JobId, name: Type.Optional(DependencyName), onFailure: Type.Optional(DependencyPolicySchema) },
  { additionalProperties: false, description: 'A job stored before, with a name and a policy of its own.' },
);

export const AfterSchema = Type.Union(
  [
    Type.Array(Type.Union([JobId, JobEdgeSchema]), { maxItems: MAX_DEPENDENCIES, description: 'Job ids, or { job, name?, onFailure? }.' }),
    Type.Record(Type.String(), JobId, { maxProperties: MAX_DEPENDENCIES, description: 'Names to job ids: { "fetch": "41" }.' }),
  ],
  {
    description:
      'Jobs this one waits for: it is stored `waiting` and queued once they have all succeeded, and its handler sees them in its dependencies. ' +
      'A job id that does not exist is 404 UNKNOWN_DEPENDENCY and nothing is stored.',
  },
);

const dependencyFields = {
  after: Type.Optional(AfterSchema),
  onDependencyFailure: Type.Optional(DependencyPolicySchema),
};

export const SubmitJobBody = Type.Object({ ...submitFields, ...dependencyFields }, { additionalProperties: false, description: 'One job to submit.' });
export type SubmitJobBody = Static<typeof SubmitJobBody>;

export const SubmitBody = Type.Union([
  SubmitJobBody,
  Type.Array(SubmitJobBody, { minItems: 1, description: 'Many jobs, stored in one transaction: all or none.' }),
]);
export type SubmitBody = Static<typeof SubmitBody>;

export const SubmitHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]+$',
      description:
        'Store this submission once: sent again with the same key within 24 hours (its first answer was lost), it answers 200 with the jobs ' +
        'the first one stored and the header Idempotent-Replayed: true. The same key with another body: 422 IDEMPOTENCY_KEY_REUSED. Keys belong to the token.',
    }),
  ),
});

export const WaitQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 3600,
        description: "Hold the request until the job finishes (200) or this many seconds pass (202), capped by the server's long-poll limit.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const SubmitOneResponse = Type.Object({ job: JobSchema });
export const SubmitManyResponse = Type.Object({
  jobs: Type.Array(JobSchema),
  deduplicated: Type.Array(Type.Boolean(), { description: 'Per job: true when its unique key matched an existing job, which is returned instead.' }),
});
export const SubmitResponse = Type.Union([SubmitOneResponse, SubmitManyResponse], { description: '{job} for one job, {jobs, deduplicated} for an array.' });

// ---- reading and acting -------------------------------------------------------------------------

export const JobParams = Type.Object({ id: JobId }, { additionalProperties: false });
export const BatchParams = Type.Object({ id: BatchId }, { additionalProperties: false });
export const TaskParams = Type.Object({ task: TaskName }, { additionalProperties: false });

export const JobListResponse = Type.Object({
  jobs: Type.Array(JobSchema, { description: 'Newest first.' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last.' }),
});

export const JobResponse = Type.Object({ job: JobSchema });

// ---- agents -------------------------------------------------------------------------------------

export const ClaimBody = Type.Object(
  {
    tasks: Type.Array(TaskName, { minItems: 1, maxItems: 100, description: 'Tasks this agent runs (registered with default settings if no process has).' }),
    workerId: Type.Optional(WorkerId),
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Most jobs to claim (default 1).' })),
    waitMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 3_600_000,
        description:
          "Long-poll: when nothing is runnable, hold the request until a job is or this long passes (default 0, capped by the server's limit, 60 s by default).",
      }),
    ),
    leaseMs: Type.Optional(
      Type.Integer({ minimum: 1000, maximum: 3_600_000, description: 'How long the agent holds each job without a heartbeat (default 30 000).' }),
    ),
  },
  { additionalProperties: false },
);
export type ClaimBody = Static<typeof ClaimBody>;

export const DependencySchema = Type.Object(
  {
    id: JobId,
    name: Type.Union([Type.String(), Type.Null()], { description: 'Its step name in the flow, or the name given in `after`; else null.' }),
    task: Type.String(),
    state: JobStateSchema,
    result: Type.Unknown({ description: 'Its result when it succeeded (JSON; bytes that are not UTF-8 as {"$base64": …}), else null.' }),
    error: Type.Union([Type.Object({ message: Type.String(), code: Type.Optional(Type.String()) }), Type.Null()], {
      description: 'Its last error when it failed, else null.',
    }),
    policy: DependencyPolicySchema,
  },
  {
    description: "A job the claimed job waited for, as its handler sees it. `result` and `error` are null when the agent's token may not use that job's task.",
  },
);

export const ClaimedJobSchema = Type.Object({
  id: JobId,
  task: Type.String(),
  input: Any,
  attempt: Type.Integer({ description: '1 on the first attempt.' }),
  maxAttempts: Type.Integer(),
  priority: Type.Integer(),
  timeoutMs: Type.Union([Type.Integer(), Type.Null()]),
  batchId: Type.Union([BatchId, Type.Null()]),
  createdAt: Iso,
  leaseToken: LeaseToken,
  leaseExpiresAt: Iso,
  uniqueKey: Type.Union([Type.String(), Type.Null()], { description: 'The unique key the job was submitted with, if any.' }),
  dependencies: Type.Optional(
    Type.Array(DependencySchema, {
      description: 'For a job that waited for others: what each of them did (absent for a job that waited for none).',
    }),
  ),
  traceparent: Type.Optional(
    Type.String({
      description:
        'The W3C trace context the job was submitted under, when the server traces (a tracer provider registered): an agent that traces starts its run span as its child.',
    }),
  ),
});

export const ClaimResponse = Type.Object({ jobs: Type.Array(ClaimedJobSchema, { description: 'Empty when nothing became runnable within waitMs.' }) });

export const HeartbeatBody = Type.Object(
  {
    leaseToken: LeaseToken,
    progress: Type.Optional(Progress),
    leaseMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000, description: 'The new lease, from now (default 30 000).' })),
  },
  { additionalProperties: false },
);
export type HeartbeatBody = Static<typeof HeartbeatBody>;

export const HeartbeatResponse = Type.Object({ id: JobId, leaseExpiresAt: Iso });

export const CompleteBody = Type.Object(
  {
    leaseToken: LeaseToken,
    result: Type.Optional(Type.Unknown({ description: "The job's result: any JSON value (default null)." })),
  },
  { additionalProperties: false },
);
export type CompleteBody = Static<typeof CompleteBody>;

export const FailBody = Type.Object(
  {
    leaseToken: LeaseToken,
    error: Type.Union(
      [
        Type.String({ minLength: 1, maxLength: 10_000 }),
        Type.Object(
          {
            message: Type.String({ minLength: 1, maxLength: 10_000 }),
            code: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,100}$' })),
            stack: Type.Optional(Type.String({ maxLength: 10_000 })),
          },
          { additionalProperties: false },
        ),
      ],
      { description: 'What went wrong: a message, or { message, code?, stack? }.' },
    ),
    retryable: Type.Optional(Type.Boolean({ description: 'false: fail now, whatever attempts remain (default true).' })),
    retryInMs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10 * 365 * 86_400_000, description: "Run the next attempt after this long instead of the task's backoff." }),
    ),
  },
  { additionalProperties: false },
);
export type FailBody = Static<typeof FailBody>;

export const ReleaseBody = Type.Object(
  {
    leaseToken: LeaseToken,
    delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 * 365 * 86_400_000, description: 'Run again no sooner than this (default 0).' })),
  },
  { additionalProperties: false },
);
export type ReleaseBody = Static<typeof ReleaseBody>;

export const OutcomeResponse = Type.Object({
  id: JobId,
  state: JobStateSchema,
  runAt: Type.Union([Iso, Type.Null()], { description: 'When the job runs again (state queued), else null.' }),
});

const outcomeOf = <K extends string, P extends Record<string, TSchema>>(outcome: K, properties: P, description: string) =>
  Type.Object({ id: JobId, outcome: Type.Literal(outcome), ...properties }, { additionalProperties: false, description });

export const AgentOutcomeSchema = Type.Union(
  [
    outcomeOf('complete', CompleteBody.properties, 'As POST /v1/jobs/:id/complete.'),
    outcomeOf('fail', FailBody.properties, 'As POST /v1/jobs/:id/fail.'),
    outcomeOf('release', ReleaseBody.properties, 'As POST /v1/jobs/:id/release.'),
  ],
  { description: 'One outcome: `outcome` says which, the other fields are those of the single-job route.' },
);

export const FinishBody = Type.Object(
  {
    outcomes: Type.Array(AgentOutcomeSchema, { maxItems: 100, description: 'Up to 100 outcomes of jobs this agent holds, recorded in one transaction.' }),
    claim: Type.Optional(
      Type.Object(ClaimBody.properties, {
        additionalProperties: false,
        description:
          'Claim the next jobs in the same request (and, with no outcome to record, the same transaction); `waitMs` holds it as POST /v1/claim does.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type FinishBody = Static<typeof FinishBody>;

export const OutcomeResultSchema = Type.Union([
  OutcomeResponse,
  Type.Object(
    { id: JobId, error: ErrorSchema.properties.error },
    { description: 'This outcome was not recorded (LEASE_LOST, JOB_NOT_FOUND, FORBIDDEN…); the others were.' },
  ),
]);

export const FinishResponse = Type.Object({
  results: Type.Array(OutcomeResultSchema, { description: 'One per outcome, in order.' }),
  jobs: Type.Array(ClaimedJobSchema, { description: 'Jobs claimed with `claim` (empty without it).' }),
});

// ---- batches, tasks, workers --------------------------------------------------------------------

export const BatchBody = Type.Object(
  {
    title: Type.Optional(Type.String({ maxLength: 500 })),
    jobs: Type.Array(SubmitJobBody, { description: "The batch's jobs (may be empty: the batch finishes at once)." }),
    onFinish: Type.Optional(
      Type.Object(
        { ...submitFields, input: Type.Optional(submitFields.input) },
        {
          additionalProperties: false,
          description: 'A job enqueued once, when every job of the batch has finished; its input becomes { batch, input }.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type BatchBody = Static<typeof BatchBody>;

export const BatchFailureSchema = Type.Object({
  id: JobId,
  task: Type.String(),
  state: Type.Union([Type.Literal('failed'), Type.Literal('cancelled')]),
  error: Type.Union([Type.Object({ message: Type.String(), code: Type.Optional(Type.String()) }), Type.Null()], {
    description: "The job's last error; null for a job cancelled before it ran.",
  }),
});
const Failures = Type.Array(BatchFailureSchema, {
  description: 'Once the batch has finished: the jobs that failed or were cancelled (the latest 100; the counts say how many in all). Empty before.',
});
export const BatchCreatedResponse = Type.Object({ batch: BatchSchema, jobs: Type.Array(JobSchema), failures: Failures });
export const BatchResponse = Type.Object({ batch: BatchSchema, failures: Failures });

export const BatchListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Default 50.' })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$', description: 'nextCursor of the previous page.' })),
  },
  { additionalProperties: false },
);

export const BatchListResponse = Type.Object({
  batches: Type.Array(BatchSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last.' }),
});

// ---- flows --------------------------------------------------------------------------------------

export const FlowId = Type.String({
  pattern: '^[1-9][0-9]{0,18}$',
  maxLength: 19,
  description: 'A flow id (a flow is a batch): a positive integer, as a string.',
  examples: ['7'],
});
export const FlowParams = Type.Object({ id: FlowId }, { additionalProperties: false });

const FlowEdgeSchema = Type.Union(
  [StepName, Type.Object({ step: StepName, onFailure: Type.Optional(DependencyPolicySchema) }, { additionalProperties: false }), JobEdgeSchema],
  { description: 'Another step by name, { step, onFailure }, or a job stored before: { job, name?, onFailure? }.' },
);

const FlowStepBody = Type.Object(
  {
    task: TaskName,
    input: Type.Optional(submitFields.input),
    after: Type.Optional(
      Type.Array(FlowEdgeSchema, { maxItems: 20_000, description: 'What the step waits for (default nothing: it is queued at once); at most 20,000.' }),
    ),
    priority: submitFields.priority,
    runAt: submitFields.runAt,
    delayMs: submitFields.delayMs,
    uniqueKey: submitFields.uniqueKey,
    concurrencyKey: submitFields.concurrencyKey,
    maxAttempts: submitFields.maxAttempts,
    timeoutMs: submitFields.timeoutMs,
  },
  { additionalProperties: false, description: 'One step: the job to run and what it waits for.' },
);
export type FlowStepBody = Static<typeof FlowStepBody>;

export const FlowBody = Type.Object(
  {
    title: Type.Optional(Type.String({ maxLength: 500 })),
    steps: Type.Record(Type.String(), FlowStepBody, {
      description:
        'The steps by name, in any order: `{ "fetch": { "task": "…" }, "parse": { "task": "…", "after": ["fetch"] } }`. ' +
        'At most maxFlowSteps (default 20,000) steps and 100,000 edges in all; a step naming one that does not exist, or steps waiting for each other in a cycle, are 400 INVALID_FLOW.',
    }),
    onFinish: BatchBody.properties.onFinish,
    onDependencyFailure: Type.Optional(DependencyPolicySchema),
  },
  { additionalProperties: false },
);
export type FlowBody = Static<typeof FlowBody>;

export const FlowStepSchema = Type.Object(
  {
    step: Type.String(),
    id: JobId,
    task: Type.String(),
    state: JobStateSchema,
    after: Type.Array(Type.String(), { description: 'The steps (or, for jobs outside the flow, the job ids) it waits for.' }),
    waitingFor: Type.Union([Type.Integer(), Type.Null()], { description: 'While waiting: how many of those have not finished.' }),
    error: Type.Union([JobErrorSchema, Type.Null()]),
    startedAt: NullableIso,
    finishedAt: NullableIso,
  },
  { description: "One step of a flow: its job's state and what it waits for." },
);
const FlowSteps = Type.Array(FlowStepSchema, { description: 'Every step, each after the steps it waits for.' });
export const FlowCreatedResponse = Type.Object({ flow: BatchSchema, steps: FlowSteps, jobs: Type.Array(JobSchema), failures: Failures });
export const FlowResponse = Type.Object({ flow: BatchSchema, steps: FlowSteps, failures: Failures });
export const FlowCancelResponse = Type.Object({
  cancelled: Type.Integer({ description: 'How many steps were cancelled (waiting or queued ones; running steps finish).' }),
  flow: BatchSchema,
});

export const TaskCountsSchema = Type.Object({
  task: Type.String(),
  waiting: Type.Integer({ description: 'Waiting for other jobs to finish.' }),
  queued: Type.Integer(),
  running: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  cancelled: Type.Integer(),
  suspendedUntil: Type.Union([Iso, Type.Null()], { description: 'While the task is suspended (none of its jobs is claimed): until when.' }),
});
export const TasksResponse = Type.Object({ tasks: Type.Array(TaskCountsSchema) });

const Ms = (description: string) => Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });
const BackoffSchema = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal('exponential'),
        baseMs: Type.Optional(Ms('First delay (default 1000).')),
        maxMs: Type.Optional(Ms('Longest delay (default 3 600 000).')),
        jitter: Type.Optional(Type.Boolean({ description: 'Pick each delay in [d/2, d] (default true).' })),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('fixed'),
        delayMs: Ms('The delay between attempts.'),
        jitter: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'Delay between attempts: exponential (doubling from baseMs up to maxMs) or fixed.' },
);
const RateLimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Starts allowed per period.' }),
    periodMs: Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'The sliding window, in ms.' }),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Tasks naming the same key share one limit (default: the task's name)." })),
  },
  { additionalProperties: false, description: "At most `limit` of the task's jobs start in any `periodMs`, across every worker; the rest wait." },
);
const RetentionSchema = Type.Object({ succeeded: Ms('ms'), failed: Ms('ms'), cancelled: Ms('ms') });

export const TaskSettingsBody = Type.Object(
  {
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Attempts before a job fails (default 3).' })),
    backoff: Type.Optional(BackoffSchema),
    timeoutMs: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 2 ** 31 }), Type.Null()], { description: 'Abort and fail an attempt after this long (default none).' }),
    ),
    priority: Type.Optional(Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31, description: "Default priority of the task's jobs (default 0)." })),
    concurrency: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], {
        description: 'Most jobs of the task running at once, across every worker (default no limit).',
      }),
    ),
    concurrencyPerKey: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Most jobs running at once per concurrencyKey (default 1).' }),
    ),
    rateLimit: Type.Optional(Type.Union([RateLimitSchema, Type.Null()])),
    retention: Type.Optional(
      Type.Union(
        [
          Ms('One retention for every final state.'),
          Type.Object(
            { succeeded: Type.Optional(Ms('ms')), failed: Type.Optional(Ms('ms')), cancelled: Type.Optional(Ms('ms')) },
            { additionalProperties: false },
          ),
        ],
        { description: 'How long finished jobs are kept, in ms (default succeeded 7 d, failed 30 d, cancelled 7 d).' },
      ),
    ),
    input: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'A JSON Schema every input of the task must match.' })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false, description: "A task's settings, as `defineTask` takes them; absent fields take their defaults." },
);
export type TaskSettingsBody = Static<typeof TaskSettingsBody>;

export const TaskSettingsResponse = Type.Object({
  task: Type.String(),
  settings: Type.Object(
    {
      maxAttempts: Type.Integer(),
      backoff: Type.Record(Type.String(), Type.Unknown()),
      timeoutMs: Type.Union([Type.Integer(), Type.Null()]),
      priority: Type.Integer(),
      concurrency: Type.Union([Type.Integer(), Type.Null()]),
      concurrencyPerKey: Type.Integer(),
      rateLimit: Type.Union([RateLimitSchema, Type.Null()]),
      retention: RetentionSchema,
      inputSchema: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
      description: Type.Union([Type.String(), Type.Null()]),
    },
    { description: 'The settings as stored, with defaults filled in.' },
  ),
});

export const SuspendBody = Type.Object(
  {
    delayMs: Type.Integer({ minimum: 1, maximum: 10 * 365 * 86_400_000, description: "Claim none of the task's jobs for this long." }),
  },
  { additionalProperties: false },
);
export type SuspendBody = Static<typeof SuspendBody>;

export const SuspendResponse = Type.Object({ task: Type.String(), suspendedUntil: Iso });
export const ResumeResponse = Type.Object({ task: Type.String(), suspendedUntil: Type.Null({ description: 'The task is no longer suspended.' }) });

export const PurgeQuery = Type.Object(
  {
    state: Type.Optional(
      Type.String({
        pattern: `^(${JOB_STATES.join('|')})(,(${JOB_STATES.join('|')})){0,5}$`,
        maxLength: 60,
        description: 'Comma-separated states to delete (default queued; not running).',
      }),
    ),
  },
  { additionalProperties: false },
);
export const PurgeResponse = Type.Object({ task: Type.String(), deleted: Type.Integer() });

export const WorkerSchema = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'node (a Node worker), http (an agent claiming over this API), push (a push dispatcher of an endpoint group), …' }),
  host: Type.Union([Type.String(), Type.Null()]),
  pid: Type.Union([Type.Integer(), Type.Null()]),
  tasks: Type.Array(Type.String()),
  concurrency: Type.Integer(),
  startedAt: Iso,
  lastSeenAt: Iso,
  busy: Type.Integer({ description: 'Jobs it holds now (running under its id; a Gearman port counts those of all its connections).' }),
  stopping: Type.Boolean({ description: 'An operator asked it to stop (POST /v1/workers/{id}/stop): it claims no more jobs.' }),
});
export const WorkersResponse = Type.Object({ workers: Type.Array(WorkerSchema) });

// ---- schedules ----------------------------------------------------------------------------------

export const ScheduleName = Type.String({
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:\\-/]{0,199}$',
  maxLength: 200,
  description: 'A schedule name: 1–200 letters, digits and _ . : - /, not starting with punctuation.',
  examples: ['nightly-report'],
});
export const ScheduleParams = Type.Object({ name: ScheduleName }, { additionalProperties: false });

const OverlapSchema = Type.Union([Type.Literal('skip'), Type.Literal('allow')], {
  description: 'While the previous job of the schedule is queued or running: skip the tick, or allow another job (default skip).',
});
const CatchUpSchema = Type.Union([Type.Literal('none'), Type.Literal('latest'), Type.Literal('all')], {
  description:
    'Ticks that fell due while no process could fire them: none drops them, latest fires the last one, all fires each up to catchUpLimit (default latest).',
});

export const ScheduleBody = Type.Object(
  {
    task: TaskName,
    cron: Type.String({
      maxLength: 200,
      description: 'A cron rule as croner reads it: 5 fields (minutes), 6 (seconds first) or 7 (a year last).',
      examples: ['0 3 * * *'],
    }),
    input: Type.Optional(Type.Unknown({ description: "Each job's input: any JSON value (default null); checked against the task's input schema." })),
    timezone: Type.Optional(
      Type.Union([Type.String({ maxLength: 100 }), Type.Null()], { description: 'An IANA time zone the rule is read in, e.g. Europe/Berlin (default UTC).' }),
    ),
    overlap: Type.Optional(OverlapSchema),
    catchUp: Type.Optional(CatchUpSchema),
    catchUpLimit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'With catchUp all, the most ticks fired at once after downtime (default 10).' }),
    ),
    jitterMs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'Each job runs up to this many ms after its tick, at random (default 0).' }),
    ),
    priority: Type.Optional(
      Type.Union([Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31 }), Type.Null()], { description: "The jobs' priority (default: the task's)." }),
    ),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()], { description: 'A line for listings.' })),
  },
  { additionalProperties: false, description: 'A schedule: a cron rule that enqueues a task with an input; absent fields take their defaults.' },
);
export type ScheduleBody = Static<typeof ScheduleBody>;

export const ScheduleSchema = Type.Object(
  {
    name: Type.String(),
    task: Type.String(),
    cron: Type.String(),
    timezone: Type.Union([Type.String(), Type.Null()], { description: 'Null: UTC.' }),
    input: Any,
    overlap: OverlapSchema,
    catchUp: CatchUpSchema,
    catchUpLimit: Type.Integer(),
    jitterMs: Type.Integer(),
    priority: Type.Union([Type.Integer(), Type.Null()], { description: "Null: the task's." }),
    description: Type.Union([Type.String(), Type.Null()]),
    paused: Type.Boolean(),
    nextTickAt: Type.Union([Iso, Type.Null()], { description: 'The earliest tick not yet handled; null for a rule with no tick ahead.' }),
    lastTickAt: Type.Union([Iso, Type.Null()], { description: 'The last tick handled (fired or skipped).' }),
    lastJobId: Type.Union([JobId, Type.Null()], { description: 'The job made by the last tick that fired, or by run.' }),
    lastJobState: Type.Union([JobStateSchema, Type.Null()], { description: "That job's state now (null when there is none, or it was pruned)." }),
    createdAt: Iso,
    updatedAt: Iso,
  },
  { description: 'A schedule, with where it stands.' },
);
export const ScheduleResponse = Type.Object({ schedule: ScheduleSchema });
export const SchedulesResponse = Type.Object({ schedules: Type.Array(ScheduleSchema, { description: 'By name.' }) });
export const ScheduleRemovedResponse = Type.Object({ name: Type.String(), removed: Type.Literal(true) });

// ---- rules --------------------------------------------------------------------------------------

export const RuleParams = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:\\-/]{0,199}$',
      maxLength: 200,
      description: 'A rule name: 1–200 letters, digits and _ . : - /, not starting with punctuation.',
      examples: ['billing-dead'],
    }),
  },
  { additionalProperties: false },
);

const RuleTriggerSchema = Type.Object(
  {
    event: Type.Union(
      [
        'job.succeeded',
        'job.failed',
        'job.retried',
        'job.dead',
        'batch.finished',
        'flow.finished',
        'task.backlog',
        'task.oldest-queued',
        'task.failure-rate',
        'worker.silent',
      ].map((e) => Type.Literal(e)),
      {
        description:
          'job.failed: any failed attempt; job.retried: one that runs again; job.dead: failed for good. The task.* and worker.silent conditions alert once when they start to hold and once when they clear.',
      },
    ),
    over: Type.Optional(Type.Number({ description: 'task.backlog: more than this many jobs queued.' })),
    olderThanMs: Type.Optional(Type.Number({ description: "task.oldest-queued: the task's oldest due job has waited longer than this." })),
    overPercent: Type.Optional(Type.Number({ description: 'task.failure-rate: more than this % of the jobs that finished in the window failed.' })),
    windowMs: Type.Optional(Type.Number({ description: 'task.failure-rate: the window.' })),
    minJobs: Type.Optional(Type.Number({ description: 'task.failure-rate: judged once at least this many jobs finished in the window (default 10).' })),
    forMs: Type.Optional(Type.Number({ description: 'worker.silent: not heard from for this long.' })),
  },
  { additionalProperties: false, description: 'What sets the rule off.' },
);

const WebhookActionFields = {
  type: Type.Literal('webhook'),
  url: Type.String({ maxLength: 2000, description: 'Where the notice is POSTed, as JSON with an Offload-Signature header.' }),
  allowAddresses: Type.Optional(
    Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100, description: 'Private addresses or CIDRs the URL may reach (refused otherwise).' }),
  ),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, description: 'The whole request (default 10 000).' })),
};
const EmailActionSchema = Type.Object(
  {
    type: Type.Literal('email'),
    to: Type.Union([Type.String({ maxLength: 500 }), Type.Array(Type.String({ maxLength: 500 }), { maxItems: 50 })]),
    subject: Type.Optional(Type.String({ maxLength: 200, description: 'The start of the subject line (default "[Offload] RULE").' })),
  },
  { additionalProperties: false, description: 'E-mail the notice over the SMTP server the working processes are configured with.' },
);
const EnqueueActionSchema = Type.Object(
  { type: Type.Literal('enqueue'), task: TaskName, priority: Type.Optional(Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31 })) },
  { additionalProperties: false, description: 'Enqueue a job of the task, whose input is the notice.' },
);

export const RuleBody = Type.Object(
  {
    on: RuleTriggerSchema,
    tasks: Type.Optional(
      Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 50, description: 'Task patterns (* is a wildcard); default every task.' }),
    ),
    action: Type.Union([
      Type.Object(
        { ...WebhookActionFields, secret: Type.String({ minLength: 16, maxLength: 500, description: 'The signing secret; never shown back.' }) },
        { additionalProperties: false, description: 'POST the notice, signed.' },
      ),
      EmailActionSchema,
      EnqueueActionSchema,
    ]),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false, description: 'A rule: on an event, for tasks matching the patterns, do the action.' },
);
export type RuleBody = Static<typeof RuleBody>;

export const RuleSchema = Type.Object(
  {
    name: Type.String(),
    on: RuleTriggerSchema,
    tasks: Type.Array(Type.String()),
    action: Type.Union([
      Type.Object({ ...WebhookActionFields, secret: Type.Literal('(set)', { description: 'The secret is never shown back.' }) }),
      EmailActionSchema,
      EnqueueActionSchema,
    ]),
    description: Type.Union([Type.String(), Type.Null()]),
    paused: Type.Boolean(),
    createdAt: Iso,
    updatedAt: Iso,
  },
  { description: 'A rule, its webhook secret hidden.' },
);
export const RuleResponse = Type.Object({ rule: RuleSchema });
export const RulesResponse = Type.Object({ rules: Type.Array(RuleSchema, { description: 'By name.' }) });
export const RuleRemovedResponse = Type.Object({ name: Type.String(), removed: Type.Literal(true) });
export const AlertsResponse = Type.Object({
  alerts: Type.Array(
    Type.Object({
      rule: Type.String(),
      subject: Type.String({ description: 'The task, or for worker.silent the worker id.' }),
      value: Type.Number({ description: 'The value measured when it fired.' }),
      since: Iso,
    }),
    { description: 'By rule and subject.' },
  ),
});

// ---- events, health ----------------------------------------------------------------------------

export const EventsQuery = Type.Object(
  {
    task: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.:\\-/*]{1,200}(,[A-Za-z0-9_.:\\-/*]{1,200}){0,49}$',
        maxLength: 2000,
        description: 'Comma-separated task names or patterns (* is a wildcard); absent: every task the token may read.',
      }),
    ),
    batch: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,18}$',
        maxLength: 19,
        description: "A batch or flow id: only its jobs' events, `batch:progress` as they finish, and its `batch:finished`.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const HealthResponse = Type.Object({
  ok: Type.Boolean(),
  version: Type.String(),
  store: Type.String({ description: 'The store, without secrets.' }),
});

export const MetricsText = Type.String({ contentMediaType: 'text/plain; version=0.0.4', description: "Prometheus's text exposition format 0.0.4." });

export const EmptyQuery = Type.Object({}, { additionalProperties: false });

/** Schemas that the OpenAPI document names under components.schemas (and $refs elsewhere). */
export const NAMED_SCHEMAS: Record<string, TSchema> = {
  Job: JobSchema,
  Batch: BatchSchema,
  ClaimedJob: ClaimedJobSchema,
  Error: ErrorSchema,
  SubmitJob: SubmitJobBody,
  TaskCounts: TaskCountsSchema,
  Schedule: ScheduleSchema,
  Rule: RuleSchema,
  Worker: WorkerSchema,
  FlowStep: FlowStepSchema,
  Dependency: DependencySchema,
};

/**
 * Every error Offload raises on purpose is an OffloadError with a stable `code`.
 * The HTTP API sends the same code in `{"error":{"code":…}}`, the Gearman server in its ERROR
 * packet, and the CLI prints it; `docs/reference/errors.md` lists them all (a test keeps it so).
 */

export interface ErrorCodeInfo {
  readonly code: string;
  readonly httpStatus: number;
  readonly summary: string;
}

const registry = new Map<string, ErrorCodeInfo>();

/** All error codes Offload can raise or record, with their HTTP status and a one-line summary. */
export function errorCodes(): ErrorCodeInfo[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

function register(code: string, httpStatus: number, summary: string): string {
  registry.set(code, { code, httpStatus, summary });
  return code;
}

export class OffloadError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  /** Extra machine-readable facts about the error (the job id, the field name…). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = registry.get(code)?.httpStatus ?? 500;
    this.details = details;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isOffloadError(err: unknown): err is OffloadError {
  return err instanceof OffloadError;
}

// ---- producer-side input errors ---------------------------------------------------------------

const UNKNOWN_TASK = register('UNKNOWN_TASK', 404, 'The task is not defined by this process nor registered in the store.');
export class UnknownTaskError extends OffloadError {
  static readonly code = UNKNOWN_TASK;
  constructor(task: string) {
    super(
      UNKNOWN_TASK,
      `Unknown task "${task}": no process has defined it. Define it with defineTask()/offload.task() in the worker or server that runs it (a worker registers its tasks in the store when it starts), or check the spelling.`,
      { task },
    );
  }
}

const INVALID_INPUT = register('INVALID_INPUT', 400, "A job input is not JSON-serialisable or does not match the task's input schema.");
export class InvalidInputError extends OffloadError {
  static readonly code = INVALID_INPUT;
  constructor(task: string, problem: string) {
    super(INVALID_INPUT, `Invalid input for task "${task}": ${problem}. Send a JSON value that matches the task's input schema.`, { task, problem });
  }
}

const INPUT_TOO_LARGE = register('INPUT_TOO_LARGE', 413, 'A job input is larger than the configured limit (default 1 MiB).');
export class InputTooLargeError extends OffloadError {
  static readonly code = INPUT_TOO_LARGE;
  constructor(task: string, bytes: number, limit: number) {
    super(
      INPUT_TOO_LARGE,
      `Input for task "${task}" is ${bytes} bytes, over the limit of ${limit} bytes. Store large data elsewhere and pass a reference, or raise maxInputBytes.`,
      { task, bytes, limit },
    );
  }
}

const INVALID_OPTION = register('INVALID_OPTION', 400, 'A submission or configuration option has a value that is not allowed.');
export class InvalidOptionError extends OffloadError {
  static readonly code = INVALID_OPTION;
  constructor(option: string, problem: string) {
    super(INVALID_OPTION, `Invalid option "${option}": ${problem}.`, { option, problem });
  }
}

const IDEMPOTENCY_KEY_REUSED = register(
  'IDEMPOTENCY_KEY_REUSED',
  422,
  'A submission reused an idempotency key, within its window, with other content than the submission that first used it.',
);
export class IdempotencyKeyReusedError extends OffloadError {
  static readonly code = IDEMPOTENCY_KEY_REUSED;
  constructor(key: string, jobIds: string[]) {
    super(
      IDEMPOTENCY_KEY_REUSED,
      `Idempotency key "${key}" was already used for another submission (other tasks, inputs or options), which stored job(s) ${jobIds.join(', ') || '(none)'}. ` +
        'Send exactly that submission again to get its jobs back, or use a new key for new work.',
      { key, jobIds },
    );
  }
}

const INVALID_ID = register('INVALID_ID', 400, 'A job or batch id is not a positive integer.');
export class InvalidIdError extends OffloadError {
  static readonly code = INVALID_ID;
  constructor(kind: 'job' | 'batch', id: unknown) {
    super(INVALID_ID, `Invalid ${kind} id ${JSON.stringify(String(id))}: ids are positive integers, such as "42".`, { kind, id: String(id) });
  }
}

const INVALID_CURSOR = register('INVALID_CURSOR', 400, 'A list cursor was not produced by a previous listing.');
export class InvalidCursorError extends OffloadError {
  static readonly code = INVALID_CURSOR;
  constructor(cursor: string) {
    super(INVALID_CURSOR, `Invalid cursor ${JSON.stringify(cursor)}: pass the nextCursor value of the previous page unchanged.`, { cursor });
  }
}

// ---- lookups and state ------------------------------------------------------------------------

const JOB_NOT_FOUND = register('JOB_NOT_FOUND', 404, 'No job has this id (it may have been pruned or purged).');
export class JobNotFoundError extends OffloadError {
  static readonly code = JOB_NOT_FOUND;
  constructor(id: string) {
    super(JOB_NOT_FOUND, `Job ${id} not found: it never existed, or it was pruned or purged. List jobs with \`offload jobs\` to see what exists.`, { id });
  }
}

const BATCH_NOT_FOUND = register('BATCH_NOT_FOUND', 404, 'No batch has this id.');
export class BatchNotFoundError extends OffloadError {
  static readonly code = BATCH_NOT_FOUND;
  constructor(id: string) {
    super(BATCH_NOT_FOUND, `Batch ${id} not found: it never existed or was pruned.`, { id });
  }
}

const INVALID_STATE = register('INVALID_STATE', 409, 'The operation does not apply to a job in its current state.');
export class InvalidStateError extends OffloadError {
  static readonly code = INVALID_STATE;
  constructor(id: string, state: string, operation: string, hint: string) {
    super(INVALID_STATE, `Cannot ${operation} job ${id}: it is ${state}. ${hint}`, { id, state, operation });
  }
}

const LEASE_LOST = register('LEASE_LOST', 409, 'The worker no longer holds the job: its lease expired, it was cancelled, or another worker claimed it.');
export class LeaseLostError extends OffloadError {
  static readonly code = LEASE_LOST;
  /** The job's state now, when known: `cancelled` tells a cancellation from a takeover. */
  readonly state: string | undefined;
  constructor(id: string, state?: string) {
    const why =
      state === 'cancelled'
        ? 'the job was cancelled'
        : 'the lease token is stale (the lease expired and the job was handed to another worker, or it was cancelled)';
    super(LEASE_LOST, `Lease lost for job ${id}: ${why}. Stop working on it; its result will not be recorded.`, state === undefined ? { id } : { id, state });
    this.state = state;
  }
}

const TASK_ALREADY_DEFINED = register('TASK_ALREADY_DEFINED', 409, 'Two different definitions were given for one task name in one process.');
export class TaskAlreadyDefinedError extends OffloadError {
  static readonly code = TASK_ALREADY_DEFINED;
  constructor(task: string) {
    super(TASK_ALREADY_DEFINED, `Task "${task}" is already defined in this process with another handler. Give each task one definition.`, { task });
  }
}

const INVALID_TASK = register('INVALID_TASK', 400, 'A task definition has a bad name or settings.');
export class InvalidTaskError extends OffloadError {
  static readonly code = INVALID_TASK;
  constructor(task: string, problem: string) {
    super(INVALID_TASK, `Invalid definition of task "${task}": ${problem}.`, { task, problem });
  }
}

// ---- schedules --------------------------------------------------------------------------------

const INVALID_SCHEDULE = register('INVALID_SCHEDULE', 400, 'A schedule has a bad name, cron rule, time zone or option.');
export class InvalidScheduleError extends OffloadError {
  static readonly code = INVALID_SCHEDULE;
  constructor(schedule: string, problem: string) {
    super(INVALID_SCHEDULE, `Invalid schedule "${schedule}": ${problem}. Nothing was saved.`, { schedule, problem });
  }
}

const SCHEDULE_NOT_FOUND = register('SCHEDULE_NOT_FOUND', 404, 'No schedule has this name.');
export class ScheduleNotFoundError extends OffloadError {
  static readonly code = SCHEDULE_NOT_FOUND;
  constructor(name: string) {
    super(SCHEDULE_NOT_FOUND, `Schedule "${name}" not found. List schedules with \`offload schedule list\`; add one with \`offload schedule add\`.`, { name });
  }
}

// ---- rules ------------------------------------------------------------------------------------

const INVALID_RULE = register('INVALID_RULE', 400, 'A rule has a bad name, event, threshold, task pattern or action; nothing was saved.');
export class InvalidRuleError extends OffloadError {
  static readonly code = INVALID_RULE;
  constructor(rule: string, problem: string) {
    super(INVALID_RULE, `Invalid rule "${rule}": ${problem}. Nothing was saved; docs/guides/rules.md shows each event and action.`, { rule, problem });
  }
}

const RULE_NOT_FOUND = register('RULE_NOT_FOUND', 404, 'No rule has this name.');
export class RuleNotFoundError extends OffloadError {
  static readonly code = RULE_NOT_FOUND;
  constructor(name: string) {
    super(RULE_NOT_FOUND, `Rule "${name}" not found. List rules with \`offload rule list\`; add one with \`offload rule save\`.`, { name });
  }
}

const MAIL_NOT_CONFIGURED = register(
  'MAIL_NOT_CONFIGURED',
  500,
  'A rule sends e-mail, but the process that ran its delivery has no SMTP server configured; the delivery failed for good.',
);
export class MailNotConfiguredError extends OffloadError {
  static readonly code = MAIL_NOT_CONFIGURED;
  constructor(rule: string) {
    super(
      MAIL_NOT_CONFIGURED,
      `Rule "${rule}" sends e-mail, but this process has no SMTP server configured, so the message was not sent. ` +
        'Give the processes that work (offload start, offload.work()) the SMTP settings: `mail` in Offload.open(), or `offload start --smtp smtp://user:pass@host:587?from=ops@example.com`.',
      { rule },
    );
  }
}

const WEBHOOK_REFUSED = register('WEBHOOK_REFUSED', 502, "A rule's webhook endpoint answered with a status other than 2xx.");
export class WebhookRefusedError extends OffloadError {
  static readonly code = WEBHOOK_REFUSED;
  constructor(rule: string, url: string, status: number, retryable: boolean) {
    super(
      WEBHOOK_REFUSED,
      `The webhook of rule "${rule}" at ${url} answered ${status}. ` +
        (retryable
          ? 'The delivery is retried with backoff (408, 429 and 5xx are taken as temporary); make the endpoint answer 2xx once it has the notice.'
          : "A 4xx other than 408 and 429 is taken as a refusal for good, so the delivery is not retried: check that the endpoint verifies the signature with the rule's secret and accepts the notice."),
      { rule, url, status, retryable },
    );
  }
}

// ---- dependencies and flows ---------------------------------------------------------------------

const UNKNOWN_DEPENDENCY = register('UNKNOWN_DEPENDENCY', 404, 'A submission named a job to wait for that does not exist; nothing was stored.');
export class UnknownDependencyError extends OffloadError {
  static readonly code = UNKNOWN_DEPENDENCY;
  constructor(ids: string[]) {
    const list = ids.slice(0, 10).join(', ');
    super(
      UNKNOWN_DEPENDENCY,
      `Cannot wait for job${ids.length > 1 ? 's' : ''} ${list}${ids.length > 10 ? ', …' : ''}: no such job (never submitted, or pruned). Nothing was stored; name jobs that exist, or submit them together with offload.flow().`,
      { ids },
    );
  }
}

const INVALID_FLOW = register('INVALID_FLOW', 400, 'A flow was malformed: an unknown step, a cycle, or too many steps or edges; nothing was stored.');
export class InvalidFlowError extends OffloadError {
  static readonly code = INVALID_FLOW;
  constructor(problem: string, details?: Record<string, unknown>) {
    super(INVALID_FLOW, `Invalid flow: ${problem}. Nothing was stored.`, details);
  }
}

const FLOW_NOT_FOUND = register('FLOW_NOT_FOUND', 404, 'No flow has this id.');
export class FlowNotFoundError extends OffloadError {
  static readonly code = FLOW_NOT_FOUND;
  constructor(id: string) {
    super(FLOW_NOT_FOUND, `Flow ${id} not found: it never existed or was pruned (a batch id that is not a flow is not one either).`, { id });
  }
}

// ---- awaiting results -------------------------------------------------------------------------

const JOB_FAILED = register('JOB_FAILED', 500, "The awaited job failed; `details.error` holds the job's own error.");
export class JobFailedError extends OffloadError {
  static readonly code = JOB_FAILED;
  readonly jobError: { message: string; code?: string };
  constructor(id: string, task: string, jobError: { message: string; code?: string }) {
    super(JOB_FAILED, `Job ${id} (${task}) failed: ${jobError.message}`, { id, task, error: jobError });
    this.jobError = jobError;
  }
}

const JOB_CANCELLED = register('JOB_CANCELLED', 409, 'The awaited job was cancelled before it finished.');
export class JobCancelledError extends OffloadError {
  static readonly code = JOB_CANCELLED;
  constructor(id: string, task: string) {
    super(JOB_CANCELLED, `Job ${id} (${task}) was cancelled before it finished.`, { id, task });
  }
}

const WAIT_TIMEOUT = register('WAIT_TIMEOUT', 504, "Waiting for a job's result took longer than the caller allowed; the job goes on.");
export class WaitTimeoutError extends OffloadError {
  static readonly code = WAIT_TIMEOUT;
  constructor(id: string, ms: number, what: 'job' | 'batch' | 'flow' = 'job') {
    const message =
      what === 'job'
        ? `Job ${id} did not finish within ${ms} ms. The job goes on; read it later with getJob("${id}").`
        : what === 'flow'
          ? `Flow ${id} did not finish within ${ms} ms. Its steps go on; watch it later with \`offload flow watch ${id}\` or getFlow("${id}").`
          : `Batch ${id} did not finish within ${ms} ms. Its jobs go on; watch it later with \`offload batch watch ${id}\` or getBatch("${id}").`;
    super(WAIT_TIMEOUT, message, what === 'job' ? { id, ms } : what === 'flow' ? { id, ms, flow: true } : { id, ms, batch: true });
  }
}

// ---- errors recorded on jobs by the runtime ----------------------------------------------------

const JOB_TIMEOUT = register('JOB_TIMEOUT', 500, "Recorded on a job whose handler ran past the task's timeoutMs.");
export class JobTimeoutError extends OffloadError {
  static readonly code = JOB_TIMEOUT;
  constructor(id: string, ms: number) {
    super(JOB_TIMEOUT, `Job ${id} timed out after ${ms} ms. Make the handler faster, honour ctx.signal, or raise the task's timeoutMs.`, { id, ms });
  }
}

const LEASE_EXPIRED = register('LEASE_EXPIRED', 500, 'Recorded on a job whose worker stopped heartbeating (crashed or hung); the job is retried.');
export const LEASE_EXPIRED_CODE = LEASE_EXPIRED;

const HANDLER_ERROR = register('HANDLER_ERROR', 500, 'Recorded on a job whose handler threw an error without a code of its own.');
export const HANDLER_ERROR_CODE = HANDLER_ERROR;

const INVALID_RESULT = register(
  'INVALID_RESULT',
  500,
  'Recorded on a job whose handler returned a result that cannot be stored as JSON; the job fails at once.',
);
export const INVALID_RESULT_CODE = INVALID_RESULT;

const NO_HANDLER = register('NO_HANDLER', 500, 'Recorded on a job claimed by a worker that has no handler for its task.');
export const NO_HANDLER_CODE = NO_HANDLER;

const DEPENDENCY_FAILED = register(
  'DEPENDENCY_FAILED',
  409,
  'Recorded on a waiting job that was failed or cancelled because a job it waited for failed or was cancelled.',
);
export const DEPENDENCY_FAILED_CODE = DEPENDENCY_FAILED;

const SHUTDOWN = register('SHUTDOWN', 503, 'A worker stopped while the job was running; the job was released for another worker.');
export const SHUTDOWN_CODE = SHUTDOWN;

// ---- lifecycle and configuration ---------------------------------------------------------------

const CLOSED = register('CLOSED', 503, 'The Offload instance or store was closed (or is shutting down).');
export class ClosedError extends OffloadError {
  static readonly code = CLOSED;
  /** `reopen`: what to do instead (by default, what an Offload instance needs). */
  constructor(what: string, reopen = 'Open a new instance with Offload.open().') {
    super(CLOSED, `${what} is closed. ${reopen}`, { what });
  }
}

const INVALID_STORE_URL = register('INVALID_STORE_URL', 400, 'The store URL is not one Offload understands.');
export class InvalidStoreUrlError extends OffloadError {
  static readonly code = INVALID_STORE_URL;
  constructor(url: string, problem: string) {
    super(INVALID_STORE_URL, `Invalid store URL "${url}": ${problem}. Use sqlite:./offload.db, sqlite::memory: or postgres://user@host:5432/db.`, {
      url,
      problem,
    });
  }
}

const STORE_VERSION = register('STORE_VERSION', 500, 'The database was migrated by a newer Offload than this one.');
export class StoreVersionError extends OffloadError {
  static readonly code = STORE_VERSION;
  constructor(found: number, known: number) {
    super(STORE_VERSION, `The database schema is at version ${found}, but this Offload knows versions up to ${known}. Upgrade Offload on this machine.`, {
      found,
      known,
    });
  }
}

const STORE_UNAVAILABLE = register('STORE_UNAVAILABLE', 503, 'The store could not be reached or opened.');
export class StoreUnavailableError extends OffloadError {
  static readonly code = STORE_UNAVAILABLE;
  constructor(problem: string, cause?: unknown) {
    super(STORE_UNAVAILABLE, `The store is unavailable: ${problem}.`, { problem }, cause === undefined ? undefined : { cause });
  }
}

const STORE_FULL = register('STORE_FULL', 507, "The store's disk is full: nothing more can be written until space is freed.");
export class StoreFullError extends OffloadError {
  static readonly code = STORE_FULL;
  constructor(where: string, cause?: unknown) {
    super(
      STORE_FULL,
      `The store cannot write: the disk holding ${where} is full. Nothing was stored or changed by this call, and nothing stored before is lost; ` +
        'free space on that filesystem (or move the store) and writes go on by themselves.',
      { where },
      cause === undefined ? undefined : { cause },
    );
  }
}

const MODULE_LOAD_FAILED = register('MODULE_LOAD_FAILED', 400, 'A tasks module given to the CLI could not be loaded or defines no tasks.');
export class ModuleLoadError extends OffloadError {
  static readonly code = MODULE_LOAD_FAILED;
  constructor(path: string, problem: string, cause?: unknown) {
    super(MODULE_LOAD_FAILED, `Cannot load tasks from "${path}": ${problem}.`, { path, problem }, cause === undefined ? undefined : { cause });
  }
}

// ---- front doors (HTTP API) and API tokens -------------------------------------------------------

const INVALID_REQUEST = register(
  'INVALID_REQUEST',
  400,
  "An HTTP request's body, query or path does not match the API's schema (wrong type, missing or unknown field).",
);
export class InvalidRequestError extends OffloadError {
  static readonly code = INVALID_REQUEST;
  constructor(field: string, problem: string) {
    super(INVALID_REQUEST, `Invalid request: ${field} ${problem}. See GET /openapi.json for the expected shape.`, { field, problem });
  }
}

const MALFORMED_JSON = register('MALFORMED_JSON', 400, 'An HTTP request body is not valid JSON.');
export class MalformedJsonError extends OffloadError {
  static readonly code = MALFORMED_JSON;
  constructor(problem: string) {
    super(MALFORMED_JSON, `The request body is not valid JSON (${problem}). Send a JSON document with Content-Type: application/json.`, { problem });
  }
}

const PAYLOAD_TOO_LARGE = register('PAYLOAD_TOO_LARGE', 413, 'An HTTP request body is larger than the server accepts.');
export class PayloadTooLargeError extends OffloadError {
  static readonly code = PAYLOAD_TOO_LARGE;
  constructor(limit: number) {
    super(
      PAYLOAD_TOO_LARGE,
      `The request body is larger than ${limit} bytes. Send fewer jobs per request, or store large data elsewhere and pass a reference.`,
      { limit },
    );
  }
}

const UNSUPPORTED_MEDIA_TYPE = register('UNSUPPORTED_MEDIA_TYPE', 415, 'An HTTP request body is not sent as application/json.');
export class UnsupportedMediaTypeError extends OffloadError {
  static readonly code = UNSUPPORTED_MEDIA_TYPE;
  constructor(contentType: string) {
    super(UNSUPPORTED_MEDIA_TYPE, `Content-Type ${JSON.stringify(contentType)} is not accepted: send JSON with Content-Type: application/json.`, {
      contentType,
    });
  }
}

const ROUTE_NOT_FOUND = register('ROUTE_NOT_FOUND', 404, 'No HTTP API route has this method and path.');
export class RouteNotFoundError extends OffloadError {
  static readonly code = ROUTE_NOT_FOUND;
  constructor(method: string, path: string) {
    super(ROUTE_NOT_FOUND, `No route ${method} ${path}. The API lives under /v1; GET /openapi.json lists every route.`, { method, path });
  }
}

const UNAUTHORIZED = register('UNAUTHORIZED', 401, 'The HTTP request carries no API token where one is required, or a token that is unknown or revoked.');
export class UnauthorizedError extends OffloadError {
  static readonly code = UNAUTHORIZED;
  constructor(problem: string) {
    super(UNAUTHORIZED, `Unauthorized: ${problem}. Send "Authorization: Bearer <token>" with a token made by \`offload token create\`.`, { problem });
  }
}

const FORBIDDEN = register(
  'FORBIDDEN',
  403,
  "The API token's scope or task patterns do not allow this request, or the client address is not on the allow-list.",
);
export class ForbiddenError extends OffloadError {
  static readonly code = FORBIDDEN;
  constructor(problem: string, details?: Record<string, unknown>) {
    super(FORBIDDEN, `Forbidden: ${problem}.`, details);
  }
}

const CSRF_REFUSED = register(
  'CSRF_REFUSED',
  403,
  'A browser request that changes something came from another origin, or a dashboard session request lacks its Offload-CSRF header.',
);
export class CsrfRefusedError extends OffloadError {
  static readonly code = CSRF_REFUSED;
  constructor(problem: string) {
    super(
      CSRF_REFUSED,
      `Refused as a possible cross-site request: ${problem}. Reload the dashboard (it sends the header itself); scripts use "Authorization: Bearer <token>".`,
      {
        problem,
      },
    );
  }
}

const RATE_LIMITED = register(
  'RATE_LIMITED',
  429,
  "Too many failed authentications from one address, or too many open long-polls for one token; retry after the Retry-After header's seconds.",
);
export class RateLimitedError extends OffloadError {
  static readonly code = RATE_LIMITED;
  readonly retryAfterSeconds: number;
  constructor(problem: string, retryAfterSeconds: number) {
    super(RATE_LIMITED, `Too many requests: ${problem}. Retry after ${retryAfterSeconds} s.`, { retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const INTERNAL_ERROR = register('INTERNAL_ERROR', 500, 'An unexpected error inside the server (a bug); the server logged it and goes on.');
export class InternalError extends OffloadError {
  static readonly code = INTERNAL_ERROR;
  constructor() {
    super(INTERNAL_ERROR, 'An unexpected error occurred inside the server; it was logged. Nothing was changed unless the response of a retry says so.');
  }
}

const TOKENS_REQUIRED = register('TOKENS_REQUIRED', 400, 'The server was asked to listen on a non-loopback address while no API token exists.');
export class TokensRequiredError extends OffloadError {
  static readonly code = TOKENS_REQUIRED;
  constructor(address: string) {
    super(
      TOKENS_REQUIRED,
      `Refusing to listen on ${address}: it is reachable from other machines and no API token exists. Create one first (\`offload token create NAME --scope admin\`), or listen on 127.0.0.1.`,
      { address },
    );
  }
}

const SERVER_UNREACHABLE = register(
  'SERVER_UNREACHABLE',
  503,
  'A remote worker or client could not reach the Offload server over HTTP (refused or reset connection, timeout, or a 5xx answer); workers retry with backoff.',
);
export class ServerUnreachableError extends OffloadError {
  static readonly code = SERVER_UNREACHABLE;
  constructor(url: string, problem: string, cause?: unknown) {
    super(
      SERVER_UNREACHABLE,
      `The Offload server at ${url} could not be reached: ${problem}. Check that \`offload start\` runs there and that this machine may connect to it.`,
      { url, problem },
      cause === undefined ? undefined : { cause },
    );
  }
}

const TOKEN_NOT_FOUND = register('TOKEN_NOT_FOUND', 404, 'No active API token has this name.');
export class TokenNotFoundError extends OffloadError {
  static readonly code = TOKEN_NOT_FOUND;
  constructor(name: string) {
    super(TOKEN_NOT_FOUND, `No active token is named "${name}". List them with \`offload token list\`.`, { name });
  }
}

// ---- workers an operator stops ----------------------------------------------------------------

const WORKER_NOT_FOUND = register('WORKER_NOT_FOUND', 404, 'No worker with this id was seen in the last day.');
export class WorkerNotFoundError extends OffloadError {
  static readonly code = WORKER_NOT_FOUND;
  constructor(id: string) {
    super(WORKER_NOT_FOUND, `No worker "${id}" is recorded. List the workers with GET /v1/workers and pass one of their ids.`, { id });
  }
}

const WORKER_STOPPING = register('WORKER_STOPPING', 409, 'An operator asked this worker to stop: it may claim no more jobs.');
export class WorkerStoppingError extends OffloadError {
  static readonly code = WORKER_STOPPING;
  constructor(id: string) {
    super(
      WORKER_STOPPING,
      `Worker "${id}" was asked to stop (POST /v1/workers/{id}/stop), so it may claim no more jobs. Finish the jobs it holds, then exit; ` +
        'a worker started again under a new id claims as usual.',
      { id },
    );
  }
}

// ---- the Gearman port -------------------------------------------------------------------------
// Codes sent in Gearman ERROR packets. Where gearmand has the same error, the code and the text
// are gearmand's own (clients and tools match on them); see docs/guides/gearman.md.

const INVALID_MAGIC = register('INVALID_MAGIC', 400, 'A Gearman packet did not start with the request magic "\\0REQ"; the connection is closed.');
export class GearmanInvalidMagicError extends OffloadError {
  static readonly code = INVALID_MAGIC;
  constructor(sawResponseMagic: boolean) {
    super(INVALID_MAGIC, sawResponseMagic ? 'Request magic expected' : 'Invalid magic value', { sawResponseMagic });
  }
}

const INVALID_COMMAND = register('INVALID_COMMAND', 400, 'A Gearman packet type the server does not take from a client or worker.');
export class GearmanInvalidCommandError extends OffloadError {
  static readonly code = INVALID_COMMAND;
  /** `known`: a defined type that a server does not accept (gearmand's "Command not expected"). */
  constructor(type: number, known: boolean) {
    super(INVALID_COMMAND, known ? 'Command not expected' : 'Invalid command value', { type });
  }
}

const INVALID_PACKET = register('INVALID_PACKET', 400, 'A Gearman packet has fewer arguments than its type needs; the connection is closed.');
export class GearmanInvalidPacketError extends OffloadError {
  static readonly code = INVALID_PACKET;
  constructor(type: string, expected: number, found: number) {
    super(INVALID_PACKET, `${type} needs ${expected} arguments, the packet has ${found}`, { type, expected, found });
  }
}

const ARGUMENT_TOO_LARGE = register('ARGUMENT_TOO_LARGE', 413, 'A Gearman packet, unique id or text line is larger than the server accepts.');
export class GearmanArgumentTooLargeError extends OffloadError {
  static readonly code = ARGUMENT_TOO_LARGE;
  constructor(what: 'unique' | 'packet' | 'line', bytes: number, limit: number) {
    const text =
      what === 'unique'
        ? 'Unique value too large'
        : what === 'packet'
          ? `Packet of ${bytes} bytes is over the limit of ${limit}`
          : `Text line over ${limit} bytes`;
    super(ARGUMENT_TOO_LARGE, text, { what, bytes, limit });
  }
}

const UNKNOWN_OPTION = register('UNKNOWN_OPTION', 400, 'A Gearman OPTION_REQ named an option other than "exceptions".');
export class GearmanUnknownOptionError extends OffloadError {
  static readonly code = UNKNOWN_OPTION;
  constructor(option: string) {
    super(UNKNOWN_OPTION, 'Server does not recognize given option', { option });
  }
}

const QUEUE_ERROR = register('QUEUE_ERROR', 503, 'A Gearman submit was refused because the function reached its `maxqueue` limit.');
export class GearmanQueueFullError extends OffloadError {
  static readonly code = QUEUE_ERROR;
  constructor(fn: string, limit: number) {
    super(QUEUE_ERROR, 'Job queue is full', { function: fn, limit });
  }
}

const GEARMAN_WORK_FAIL = register('GEARMAN_WORK_FAIL', 500, 'Recorded on a job whose Gearman worker sent WORK_FAIL.');
export class GearmanWorkFailError extends OffloadError {
  static readonly code = GEARMAN_WORK_FAIL;
  constructor(id: string, worker: string) {
    super(GEARMAN_WORK_FAIL, `The Gearman worker ${worker} reported WORK_FAIL for job ${id}.`, { id, worker });
  }
}

const GEARMAN_WORK_EXCEPTION = register(
  'GEARMAN_WORK_EXCEPTION',
  500,
  'Recorded on a job whose Gearman worker sent WORK_EXCEPTION; the message is the exception data.',
);
export class GearmanWorkExceptionError extends OffloadError {
  static readonly code = GEARMAN_WORK_EXCEPTION;
  /** The message is the worker's exception data, unchanged, so clients get it back as sent. */
  constructor(id: string, worker: string, exception: string) {
    super(GEARMAN_WORK_EXCEPTION, exception, { id, worker });
  }
}

const WORKER_DISCONNECTED = register(
  'WORKER_DISCONNECTED',
  500,
  'Recorded on a job whose Gearman worker connection closed before it sent a result; the job is retried.',
);
export class WorkerDisconnectedError extends OffloadError {
  static readonly code = WORKER_DISCONNECTED;
  constructor(id: string, worker: string) {
    super(
      WORKER_DISCONNECTED,
      `The Gearman worker ${worker} disconnected while it held job ${id}; the attempt counts as failed and the job goes back to the queue.`,
      { id, worker },
    );
  }
}

// ---- signed requests (HTTP push and webhooks) ----------------------------------------------------
// Raised by a receiver's verifyRequestSignature(), never by the server: they tell the receiver
// which refusal to answer, and why, without saying more than "401" to the sender.

const SIGNATURE_MISSING = register('SIGNATURE_MISSING', 401, 'A request said to come from Offload carries no Offload-Signature header.');
export class SignatureMissingError extends OffloadError {
  static readonly code = SIGNATURE_MISSING;
  constructor(header: string) {
    super(
      SIGNATURE_MISSING,
      `The request has no ${header} header, so nothing shows that Offload sent it: refuse it. ` +
        'If Offload did send it, check that no proxy between Offload and this receiver drops the header.',
      { header },
    );
  }
}

const SIGNATURE_INVALID = register(
  'SIGNATURE_INVALID',
  401,
  "An Offload-Signature header is malformed, or none of its signatures matches the body and timestamp under any of the receiver's secrets.",
);
export class SignatureInvalidError extends OffloadError {
  static readonly code = SIGNATURE_INVALID;
  constructor(problem: string) {
    super(
      SIGNATURE_INVALID,
      `Invalid Offload-Signature: ${problem}. Refuse the request: it was not signed with any of this receiver's secrets, or its body or timestamp changed on the way. ` +
        "If Offload did send it, check that the receiver holds the endpoint's current secret and verifies the raw body bytes, before any parsing.",
      { problem },
    );
  }
}

const SIGNATURE_EXPIRED = register(
  'SIGNATURE_EXPIRED',
  401,
  "A correctly signed request whose timestamp is further from the receiver's clock than the tolerance (default 300 s): an old request replayed, or a clock that is wrong.",
);
export class SignatureExpiredError extends OffloadError {
  static readonly code = SIGNATURE_EXPIRED;
  constructor(timestamp: number, nowSeconds: number, toleranceSeconds: number) {
    super(
      SIGNATURE_EXPIRED,
      `The Offload-Signature timestamp ${timestamp} is ${Math.abs(nowSeconds - timestamp)} s from this receiver's clock (${nowSeconds}), over the tolerance of ${toleranceSeconds} s. ` +
        "Refuse the request: it may be a replay of an old one. If it is fresh, the sender's or this machine's clock is wrong: keep both in sync (NTP).",
      { timestamp, now: nowSeconds, toleranceSeconds },
    );
  }
}

// ---- outbound requests (HTTP push, users' HTTP requests, webhooks) -----------------------------------
// Raised by Offload's own outbound calls (src/outbound/): where they may go, and how long and how
// much they may take. The statuses are those of a gateway whose upstream failed.

const OUTBOUND_INVALID_URL = register('OUTBOUND_INVALID_URL', 400, 'An outbound request URL is not an absolute http:// or https:// URL.');
export class OutboundInvalidUrlError extends OffloadError {
  static readonly code = OUTBOUND_INVALID_URL;
  constructor(url: string, problem: string) {
    super(
      OUTBOUND_INVALID_URL,
      `Invalid outbound URL ${JSON.stringify(url)}: ${problem}. Give an absolute http:// or https:// URL, such as https://example.com/hook.`,
      {
        url,
        problem,
      },
    );
  }
}

const OUTBOUND_ADDRESS_DENIED = register(
  'OUTBOUND_ADDRESS_DENIED',
  403,
  'An outbound request would connect to a loopback, private, link-local, unspecified, carrier-grade NAT, multicast or reserved address (or an IPv6 form embedding IPv4) that its policy does not allow.',
);
export class OutboundAddressDeniedError extends OffloadError {
  static readonly code = OUTBOUND_ADDRESS_DENIED;
  constructor(host: string, address: string, range: { kind: string; cidr: string }) {
    const where = host === address ? address : `${host} (which resolves to ${address})`;
    super(
      OUTBOUND_ADDRESS_DENIED,
      `Refusing to connect to ${where}: it is a ${range.kind} address (${range.cidr}), and outbound requests go to public addresses only; nothing was sent. ` +
        `If this endpoint is meant to be reached, add "${address}" (or its network, such as "${range.cidr}") to allowAddresses.`,
      { host, address, kind: range.kind, cidr: range.cidr },
    );
  }
}

const OUTBOUND_CONNECTION_FAILED = register(
  'OUTBOUND_CONNECTION_FAILED',
  502,
  'An outbound request could not connect or lost its connection (refused, reset, unknown host, TLS failure); `details.cause` is the system error code.',
);
export class OutboundConnectionFailedError extends OffloadError {
  static readonly code = OUTBOUND_CONNECTION_FAILED;
  constructor(url: string, problem: string, cause?: unknown) {
    const code = (cause as { code?: unknown } | undefined)?.code;
    super(
      OUTBOUND_CONNECTION_FAILED,
      `The request to ${url} failed: ${problem}. Check the URL, that the endpoint is up and listening at that address and port, and that this machine can reach it.`,
      typeof code === 'string' ? { url, problem, cause: code } : { url, problem },
      cause === undefined ? undefined : { cause },
    );
  }
}

const OUTBOUND_TIMEOUT = register(
  'OUTBOUND_TIMEOUT',
  504,
  'An outbound request (connecting, waiting for the response, reading its body) took longer than its timeoutMs; the connection was closed.',
);
export class OutboundTimeoutError extends OffloadError {
  static readonly code = OUTBOUND_TIMEOUT;
  constructor(url: string, timeoutMs: number, phase: string) {
    super(
      OUTBOUND_TIMEOUT,
      `The request to ${url} did not complete within ${timeoutMs} ms (it was ${phase}); the connection was closed. ` +
        'Make the endpoint answer sooner (acknowledge at once, do the work later), or raise timeoutMs.',
      { url, timeoutMs, phase },
    );
  }
}

const OUTBOUND_RESPONSE_TOO_LARGE = register(
  'OUTBOUND_RESPONSE_TOO_LARGE',
  502,
  'The response to an outbound request is larger than its maxResponseBytes; it was refused and the connection closed.',
);
export class OutboundResponseTooLargeError extends OffloadError {
  static readonly code = OUTBOUND_RESPONSE_TOO_LARGE;
  /** `declared`: the Content-Length said so, and nothing of the body was read. */
  constructor(url: string, maxResponseBytes: number, declared?: number) {
    const what = declared === undefined ? 'its body ran past that' : `its Content-Length is ${declared}`;
    super(
      OUTBOUND_RESPONSE_TOO_LARGE,
      `The response from ${url} is larger than the limit of ${maxResponseBytes} bytes (${what}): it was refused and the connection closed. ` +
        'Make the endpoint answer with less (a status and a short body), or raise maxResponseBytes.',
      declared === undefined ? { url, maxResponseBytes } : { url, maxResponseBytes, contentLength: declared },
    );
  }
}

const OUTBOUND_REDIRECT_REFUSED = register(
  'OUTBOUND_REDIRECT_REFUSED',
  502,
  'An outbound request was redirected to another scheme, host or port, more than 5 times, or to a Location that is not a URL; the redirect was not followed.',
);
export class OutboundRedirectRefusedError extends OffloadError {
  static readonly code = OUTBOUND_REDIRECT_REFUSED;
  constructor(from: string, to: string, problem: string) {
    super(
      OUTBOUND_REDIRECT_REFUSED,
      `Refusing to follow the redirect from ${from} to ${to}: ${problem}. ` +
        'Configure the URL the endpoint redirects to in place of the one that redirects, or fix the redirect on the endpoint.',
      { from, to, problem },
    );
  }
}

// ---- parallel HTTP requests (offload.http.batch) ---------------------------------------------------

const INVALID_HTTP_REQUEST = register(
  'INVALID_HTTP_REQUEST',
  400,
  'A request given to offload.http.batch() is not one Offload can send (URL, method, headers or body); nothing was stored.',
);
export class InvalidHttpRequestError extends OffloadError {
  static readonly code = INVALID_HTTP_REQUEST;
  /** `index`: the request's position in the list given (null when the list itself is wrong). */
  constructor(index: number | null, problem: string) {
    const which = index === null ? 'The requests' : `Request ${index}`;
    super(
      INVALID_HTTP_REQUEST,
      `${which} given to offload.http.batch() cannot be sent: ${problem}; nothing was stored. ` +
        'Give each request as { url, method?, headers?, body? }: an absolute http(s) URL, a method such as GET or POST, headers as an object of strings, a body as a string or bytes.',
      index === null ? { problem } : { index, problem },
    );
  }
}

const HTTP_SERVER_ERROR = register(
  'HTTP_SERVER_ERROR',
  502,
  'Recorded on a request job of offload.http.batch() whose endpoint answered with a 5xx status: the attempt failed and is retried while attempts are left.',
);
export class HttpServerError extends OffloadError {
  static readonly code = HTTP_SERVER_ERROR;
  constructor(method: string, url: string, status: number, attempt: number, maxAttempts: number) {
    const next = attempt < maxAttempts ? 'it is retried after a backoff' : 'no attempt is left, so the request is reported to onEach as failed';
    super(
      HTTP_SERVER_ERROR,
      `${method} ${url} answered ${status} on attempt ${attempt} of ${maxAttempts}; ${next}. ` +
        'A 5xx says the endpoint failed: check it, or give the batch more attempts.',
      { method, url, status, attempt, maxAttempts },
    );
  }
}

// ---- e-mail (SMTP) ------------------------------------------------------------------------------
// Raised by the mailer (src/notify/mailer.ts) when a message could not be handed to the SMTP
// server. `details.retryable` says whether sending the same message again later may succeed.

const SMTP_UNAVAILABLE = register(
  'SMTP_UNAVAILABLE',
  503,
  'The SMTP server could not be reached or did not take the message for now (refused, timed out, no greeting, TLS failure, a 4xx reply); retryable.',
);
export class SmtpUnavailableError extends OffloadError {
  static readonly code = SMTP_UNAVAILABLE;
  constructor(host: string, port: number, problem: string, reply?: { response?: string; responseCode?: number; command?: string }, cause?: unknown) {
    super(
      SMTP_UNAVAILABLE,
      `The e-mail was not delivered to the SMTP server ${host}:${port}: ${problem}. This is temporary as far as Offload can tell: ` +
        'when a job sends it, the job fails and is retried with backoff. If it persists, check that the server is up and listening at that host and port, that this machine can reach it, ' +
        'and that its TLS settings (secure, requireTls, tls.ca) match the server.',
      { host, port, problem, retryable: true, ...reply },
      cause === undefined ? undefined : { cause },
    );
  }
}

const SMTP_AUTH_FAILED = register(
  'SMTP_AUTH_FAILED',
  502,
  'The SMTP server refused the login: wrong user or password, or the server requires a login that was not configured.',
);
export class SmtpAuthFailedError extends OffloadError {
  static readonly code = SMTP_AUTH_FAILED;
  constructor(host: string, port: number, user: string | undefined, reply?: { response?: string; responseCode?: number; command?: string }, cause?: unknown) {
    const who = user === undefined ? 'no login was configured' : `as user "${user}"`;
    const said = reply?.response ? `; it said: ${reply.response}` : '';
    super(
      SMTP_AUTH_FAILED,
      `The SMTP server ${host}:${port} refused the login (${who})${said}. Check the mailer's auth.user and auth.pass (and that the account may send through this server); ` +
        'sending again with the same credentials will fail the same way.',
      { host, port, ...(user === undefined ? {} : { user }), retryable: false, ...reply },
      cause === undefined ? undefined : { cause },
    );
  }
}

const SMTP_REJECTED = register(
  'SMTP_REJECTED',
  502,
  'The SMTP server permanently refused the message or all of its recipients (a 5xx reply); not worth retrying.',
);
export class SmtpRejectedError extends OffloadError {
  static readonly code = SMTP_REJECTED;
  constructor(host: string, port: number, problem: string, reply?: { response?: string; responseCode?: number; command?: string }, cause?: unknown) {
    const said = reply?.response ? ` The server replied${reply.command ? ` to ${reply.command}` : ''}: ${reply.response}.` : '';
    super(
      SMTP_REJECTED,
      `The SMTP server ${host}:${port} refused the e-mail for good: ${problem}.${said} Sending it again will fail the same way: ` +
        'check the recipients and the sender address (the server may not relay for it), and the message against what the server accepts.',
      { host, port, problem, retryable: false, ...reply },
      cause === undefined ? undefined : { cause },
    );
  }
}

// ---- push to endpoint groups ---------------------------------------------------------------------

const INVALID_ENDPOINT_GROUP = register('INVALID_ENDPOINT_GROUP', 400, "An endpoint group's settings are not valid; nothing was saved.");
export class InvalidEndpointGroupError extends OffloadError {
  static readonly code = INVALID_ENDPOINT_GROUP;
  constructor(group: string, problem: string) {
    super(
      INVALID_ENDPOINT_GROUP,
      `Invalid endpoint group "${group}": ${problem}. Fix the group's settings (see docs/guides/push.md) and save it again; nothing was saved.`,
      { group, problem },
    );
  }
}

const ENDPOINT_GROUP_NOT_FOUND = register('ENDPOINT_GROUP_NOT_FOUND', 404, 'No endpoint group of that name is saved in the store.');
export class EndpointGroupNotFoundError extends OffloadError {
  static readonly code = ENDPOINT_GROUP_NOT_FOUND;
  constructor(group: string) {
    super(
      ENDPOINT_GROUP_NOT_FOUND,
      `Endpoint group "${group}" not found. List groups with \`offload group list\`; save one with \`offload group save FILE\` or in the config file given to \`offload start\`.`,
      { group },
    );
  }
}

const PUSH_REJECTED = register('PUSH_REJECTED', 502, 'The endpoint answered a pushed job with a 4xx status: the attempt failed for good, without retries.');
export class PushRejectedError extends OffloadError {
  static readonly code = PUSH_REJECTED;
  constructor(endpoint: string, status: number, body: string) {
    super(
      PUSH_REJECTED,
      `The endpoint ${endpoint} refused the job with HTTP ${status}${body ? `: ${body}` : ''}. A 4xx answer fails the job without a retry; ` +
        'fix what the endpoint objects to (the input, its credentials, the signature secret) and retry the job.',
      { endpoint, status, body },
    );
  }
}

const PUSH_ENDPOINT_FAILED = register(
  'PUSH_ENDPOINT_FAILED',
  502,
  "The endpoint answered a pushed job with a 5xx status (or a 429): the attempt is retried per the task's policy.",
);
export class PushEndpointFailedError extends OffloadError {
  static readonly code = PUSH_ENDPOINT_FAILED;
  constructor(endpoint: string, status: number, body: string) {
    super(
      PUSH_ENDPOINT_FAILED,
      `The endpoint ${endpoint} failed the job with HTTP ${status}${body ? `: ${body}` : ''}. The attempt is retried per the task's policy, on whichever endpoint the balancer picks; ` +
        "if it keeps failing, look at the endpoint's logs.",
      { endpoint, status, body },
    );
  }
}

const PUSH_CALLBACK_SILENT = register(
  'PUSH_CALLBACK_SILENT',
  504,
  "An endpoint accepted a pushed job (202) and then sent no callback within the group's callbackTimeoutMs: the attempt failed and is retried.",
);
export class PushCallbackSilentError extends OffloadError {
  static readonly code = PUSH_CALLBACK_SILENT;
  constructor(endpoint: string, ms: number) {
    super(
      PUSH_CALLBACK_SILENT,
      `The endpoint ${endpoint} accepted the job (202) and then said nothing for ${ms} ms. The attempt failed and is retried; ` +
        "an endpoint that accepts a job must POST progress to the job's callback URL more often than the group's callbackTimeoutMs, then its result.",
      { endpoint, ms },
    );
  }
}

// ---- Offload's own tasks ---------------------------------------------------------------------------

const BUILT_IN_TASK = register(
  'BUILT_IN_TASK',
  403,
  "A request from outside (the HTTP API, the Gearman port) named one of Offload's own tasks (offload.*), which only the library submits and runs.",
);
export class BuiltInTaskError extends OffloadError {
  static readonly code = BUILT_IN_TASK;
  constructor(task: string) {
    super(
      BUILT_IN_TASK,
      `Task "${task}" is one of Offload's own: its jobs send requests and messages wherever their input says, so only Offload submits and runs them, never a request from outside. ` +
        'Use the feature that makes them (offload.http.batch() for offload.http.request, a rule for offload.rule.*) in a process that has the library.',
      { task },
    );
  }
}

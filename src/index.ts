/** Offload's public surface. */

export { Type } from 'typebox';
export type { Flow, FlowEdge, FlowStep, FlowStepState, FlowSteps } from './client/flows.js';
export { BatchHandle, FlowHandle, JobHandle } from './client/handles.js';
export type { SubmitOptions } from './client/idempotency.js';
export type { DependencyRef, EnqueueOptions } from './client/submission.js';
export type { WaitOptions } from './client/waiters.js';
export type { Backoff } from './core/backoff.js';
export type { Batch, BatchFailure, BatchOutcome, BatchResult } from './core/batch.js';
export type { Clock, Timer } from './core/clock.js';
export { systemClock } from './core/clock.js';
export type { JobContext } from './core/context.js';
export type { Dependency, DependencyPolicy } from './core/dependencies.js';
export { DEPENDENCY_POLICIES, Dependencies } from './core/dependencies.js';
export * from './core/errors.js';
export type { OffloadEvents } from './core/events.js';
export type { Job, JobError, JobProgress, JobState } from './core/job.js';
export { JOB_STATES } from './core/job.js';
export type { Logger } from './core/logger.js';
export { Permanent, permanent, RetryLater, retryLater, SuspendTask, suspendTask } from './core/outcomes.js';
export type {
  Rule,
  RuleAction,
  RuleAlert,
  RuleEvent,
  RuleNotice,
  RuleSettings,
  RuleTrigger,
} from './core/rule.js';
export { RULE_EVENTS } from './core/rule.js';
export type { CatchUpPolicy, OverlapPolicy, Schedule, ScheduleSettings } from './core/schedule.js';
export type { Handler, ResolvedTaskSettings, Retention, TaskDefinition, TaskSettings } from './core/task.js';
export { defineTask } from './core/task.js';
export type { GearmanServerOptions } from './gearman/server.js';
export { GearmanServer, gearmanFrontDoor } from './gearman/server.js';
export type { HttpCallbackInput, HttpEach } from './http-requests/callback.js';
export { httpEachOf, onHttpResponse } from './http-requests/callback.js';
export { HttpBatchHandle } from './http-requests/handle.js';
export type { HttpBatchOptions, HttpRequests } from './http-requests/http-batch.js';
export type { RequestPolicy } from './http-requests/policy.js';
export type { HttpResponse } from './http-requests/request-task.js';
export { HTTP_REQUEST_TASK } from './http-requests/request-task.js';
export type { HttpRequest } from './http-requests/requests.js';
export type { MailerConfig } from './notify/mailer.js';
export type { BatchOptions, FlowOptions, ListJobsOptions, OffloadOptions, SubmitItem, TaskCounts, TaskMap, TaskMapOf, WorkOptions } from './offload.js';
export { Offload } from './offload.js';
export type { RemoteWorkerOptions } from './remote/remote-worker.js';
export { startRemoteWorker } from './remote/remote-worker.js';
export type { SignRequestParams, VerifyRequestSignatureParams } from './signing/request-signature.js';
export { DEFAULT_SIGNATURE_TOLERANCE_SECONDS, SIGNATURE_HEADER, signRequest, verifyRequestSignature } from './signing/request-signature.js';
export { openStore, parseStoreUrl } from './store/open.js';
export type { Store, StoreCapabilities } from './store/store.js';
export type { WorkerEnd, WorkerOptions } from './worker/worker.js';
export { Worker } from './worker/worker.js';

/**
 * A flow: jobs submitted together, all or nothing, as named steps that wait for each other (and
 * for jobs stored before). It is stored as a batch whose jobs carry their step names and edges,
 * so it has a batch's live counts, watching, foreground wait and onFinish job.
 */
import type { Batch } from '../core/batch.js';
import { checkPolicy, checkStepName, type DependencyPolicy, type FlowStepSpec, orderSteps } from '../core/dependencies.js';
import { InvalidFlowError } from '../core/errors.js';
import { type Job, type JobError, type JobRow, type JobState, toJob } from '../core/job.js';
import type { TaskRegistry } from '../core/registry.js';
import type { ResolvedTaskSettings } from '../core/task.js';
import type { DependencyRow, NewDependency, NewJob } from '../store/store.js';
import { type EnqueueOptions, jobEdgeOf, newJobWith, type SubmissionLimits } from './submission.js';

/** What one step waits for: another step by name, or a job stored before (by id or handle). */
export type FlowEdge =
  | string
  | { step: string; onFailure?: DependencyPolicy }
  | { job: string | { readonly id: string }; name?: string; onFailure?: DependencyPolicy };

export interface FlowStep {
  task: string | { readonly name: string };
  input?: unknown;
  options?: Omit<EnqueueOptions, 'after' | 'onDependencyFailure'>;
  after?: FlowEdge[];
}

/** A flow's steps by name, in any order (each is stored after what it waits for). */
export type FlowSteps = Record<string, FlowStep>;

/** One step of a flow as read back: its job's state and what it waits for. */
export interface FlowStepState {
  step: string;
  id: string;
  task: string;
  state: JobState;
  /** The step names (or job ids, for jobs outside the flow) it waits for. */
  after: string[];
  /** While waiting: how many of those have not finished. */
  waitingFor: number | null;
  error: JobError | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A flow as read back in one call: the batch's counts and every step's state. */
export interface Flow extends Batch {
  steps: FlowStepState[];
}

/**
 * Turns the steps into jobs to insert, each after every step it waits for, or throws a named
 * error before anything is written (unknown step, cycle, bad option, unknown task…).
 */
export function buildFlowJobs(
  registry: TaskRegistry,
  settings: Map<string, ResolvedTaskSettings>,
  limits: SubmissionLimits,
  now: number,
  steps: FlowSteps,
  defaultPolicy: DependencyPolicy | undefined,
): { jobs: NewJob[]; names: string[] } {
  if (typeof steps !== 'object' || steps === null || Array.isArray(steps))
    throw new InvalidFlowError('steps must be an object of { name: { task, input, after } }');
  const names = Object.keys(steps);
  const fallback = checkPolicy(defaultPolicy, 'onDependencyFailure') ?? 'cancel';
  const specs: (FlowStepSpec & { edges: StepEdge[] })[] = names.map((name) => {
    checkStepName(name);
    const step = steps[name];
    if (typeof step !== 'object' || step === null) throw new InvalidFlowError(`step "${name}" must be an object { task, input, after }`);
    if (step.after !== undefined && !Array.isArray(step.after)) throw new InvalidFlowError(`step "${name}": after must be an array`);
    const edges = (step.after ?? []).map((e) => edgeOf(name, e, fallback));
    return { name, after: edges.map((e) => ('step' in e ? { step: e.step } : {})), edges };
  });
  const order = orderSteps(specs);
  const indexOf = new Map<string, number>();
  const jobs: NewJob[] = [];
  for (const i of order) {
    const name = names[i];
    const step = steps[name];
    const task = typeof step.task === 'string' ? step.task : step.task?.name;
    const job = newJobWith(registry, settings.get(task)!, limits, now, task, step.input ?? null, step.options ?? {});
    job.step = name;
    job.after = specs[i].edges.map((e) => ('dep' in e ? e.dep : { on: { index: indexOf.get(e.step)! }, name: e.step, policy: e.policy }));
    indexOf.set(name, jobs.length);
    jobs.push(job);
  }
  return { jobs, names: order.map((i) => names[i]) };
}

/** The task names of the steps (to look their settings up before building). */
export function flowTasks(steps: FlowSteps): string[] {
  if (typeof steps !== 'object' || steps === null) return [];
  return Object.entries(steps).map(([name, s]) => {
    const task = typeof s?.task === 'string' ? s.task : s?.task?.name;
    if (typeof task !== 'string' || task === '') throw new InvalidFlowError(`step "${name}" needs a task (a name or a definition)`);
    return task;
  });
}

/** An edge of a step: to another step (by name), or to a job stored before. */
type StepEdge = { step: string; policy: DependencyPolicy } | { dep: NewDependency };

function edgeOf(step: string, e: FlowEdge, fallback: DependencyPolicy): StepEdge {
  if (typeof e === 'string') return { step: e, policy: fallback };
  if (typeof e === 'object' && e !== null && 'step' in e && typeof e.step === 'string')
    return { step: e.step, policy: checkPolicy(e.onFailure, 'after.onFailure') ?? fallback };
  if (typeof e === 'object' && e !== null && 'job' in e) return { dep: jobEdgeOf(e, fallback) };
  throw new InvalidFlowError(`step "${step}": each entry of after is a step name, { step, onFailure } or { job, onFailure }`);
}

/** A flow's steps as read back, from its jobs and their edges. */
export function flowStepsOf(rows: JobRow[], edges: DependencyRow[]): FlowStepState[] {
  const stepOf = new Map(rows.map((r) => [r.id, r.step]));
  const after = new Map<string, string[]>();
  for (const e of edges) {
    let list = after.get(e.jobId);
    if (!list) after.set(e.jobId, (list = []));
    list.push(stepOf.get(e.depId) ?? e.depId);
  }
  return rows.map((r) => {
    const job: Job = toJob(r);
    return {
      step: r.step ?? r.id,
      id: r.id,
      task: r.task,
      state: r.state,
      after: after.get(r.id) ?? [],
      waitingFor: job.waitingFor,
      error: job.error,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
    };
  });
}

/**
 * Dependencies: a job that waits for other jobs. It is stored in the `waiting` state, is never
 * claimed, and becomes `queued` when every job it waits for has succeeded. What happens when one
 * of them fails or is cancelled is the edge's policy:
 *
 * - `cancel` (default): the waiting job is cancelled, and so, by their own policies, its dependents;
 * - `fail`: the waiting job fails (error DEPENDENCY_FAILED), and its dependents follow their policies;
 * - `run`: the edge counts as done; the job runs anyway and sees the failure in `ctx.dependencies`.
 *
 * A job can only wait for jobs stored before it or in the same submission (a flow orders its steps
 * so that every step comes after what it waits for), so a cycle cannot be stored.
 */
import { InvalidFlowError, InvalidOptionError } from './errors.js';
import type { JobError, JobState } from './job.js';

export const DEPENDENCY_POLICIES = ['cancel', 'fail', 'run'] as const;
export type DependencyPolicy = (typeof DEPENDENCY_POLICIES)[number];

/** Most steps and edges one flow may have (the bench runs 10,000 jobs and about 20,000 edges). */
export const MAX_FLOW_STEPS = 20_000;
export const MAX_FLOW_EDGES = 100_000;
/** Most jobs one job may wait for (fan-in). */
export const MAX_DEPENDENCIES = 20_000;

const STEP_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

export function isDependencyPolicy(value: unknown): value is DependencyPolicy {
  return typeof value === 'string' && (DEPENDENCY_POLICIES as readonly string[]).includes(value);
}

export function checkPolicy(value: unknown, option: string): DependencyPolicy | undefined {
  if (value === undefined) return undefined;
  if (!isDependencyPolicy(value)) throw new InvalidOptionError(option, `must be one of ${DEPENDENCY_POLICIES.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

export function checkStepName(name: unknown, what = 'step'): string {
  if (typeof name !== 'string' || !STEP_NAME.test(name))
    throw new InvalidFlowError(`${what} name ${JSON.stringify(name)} must be 1–100 letters, digits, '_', '.', ':' or '-'`);
  return name;
}

/** A job a handler's job waited for, as the handler sees it. */
export interface Dependency<O = unknown> {
  id: string;
  /** The name the waiting job knows it by: its step in the flow, the name given in `after`, else null. */
  name: string | null;
  task: string;
  state: JobState;
  result: O | null;
  error: JobError | null;
  policy: DependencyPolicy;
}

/** `ctx.dependencies`: the jobs this job waited for, by name or id. Empty for a job that waited for none. */
export class Dependencies {
  private readonly byKey = new Map<string, Dependency>();

  constructor(readonly list: readonly Dependency[] = []) {
    for (const d of list) {
      this.byKey.set(d.id, d);
      if (d.name !== null && !this.byKey.has(d.name)) this.byKey.set(d.name, d);
    }
  }

  get size(): number {
    return this.list.length;
  }

  get(nameOrId: string): Dependency | undefined {
    return this.byKey.get(nameOrId);
  }

  /** The result of the dependency with this name or id; throws when the job did not wait for it or it did not succeed. */
  result<T = unknown>(nameOrId: string): T {
    const d = this.byKey.get(nameOrId);
    if (!d) throw new InvalidOptionError('dependency', `this job did not wait for "${nameOrId}"; it waited for ${this.describe()}`);
    if (d.state !== 'succeeded') throw new InvalidOptionError('dependency', `dependency "${nameOrId}" (job ${d.id}) ${d.state}; it has no result`);
    return d.result as T;
  }

  /** Results by name (jobs without a name by id). */
  results(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const d of this.list) out[d.name ?? d.id] = d.result;
    return out;
  }

  [Symbol.iterator](): Iterator<Dependency> {
    return this.list[Symbol.iterator]();
  }

  private describe(): string {
    if (this.list.length === 0) return 'nothing';
    return this.list
      .slice(0, 10)
      .map((d) => d.name ?? d.id)
      .join(', ');
  }
}

/** One step of a flow as given: its name and what it waits for (another step by name, or, without `step`, a job stored before). */
export interface FlowStepSpec {
  name: string;
  after: { step?: string }[];
}

/**
 * Orders a flow's steps so that each comes after every step it waits for (Kahn's algorithm,
 * keeping the given order where it is free), or throws INVALID_FLOW naming an unknown step or a cycle.
 */
export function orderSteps(steps: FlowStepSpec[]): number[] {
  if (steps.length === 0) throw new InvalidFlowError('it has no steps');
  if (steps.length > MAX_FLOW_STEPS) throw new InvalidFlowError(`it has ${steps.length} steps; at most ${MAX_FLOW_STEPS} are allowed`);
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (index.has(s.name)) throw new InvalidFlowError(`step "${s.name}" is defined twice`);
    index.set(s.name, i);
  });
  const dependents: number[][] = steps.map(() => []);
  const pending = new Array<number>(steps.length).fill(0);
  let edges = 0;
  steps.forEach((s, i) => {
    for (const a of s.after) {
      if (a.step === undefined) continue;
      const j = index.get(a.step);
      if (j === undefined)
        throw new InvalidFlowError(`step "${s.name}" waits for "${a.step}", which is not a step of the flow`, { step: s.name, after: a.step });
      if (j === i) throw new InvalidFlowError(`step "${s.name}" waits for itself`, { step: s.name });
      dependents[j].push(i);
      pending[i]++;
    }
    edges += s.after.length;
  });
  if (edges > MAX_FLOW_EDGES) throw new InvalidFlowError(`it has ${edges} edges; at most ${MAX_FLOW_EDGES} are allowed`);
  const order: number[] = [];
  const ready = steps.map((_, i) => i).filter((i) => pending[i] === 0);
  for (let k = 0; k < ready.length; k++) {
    const i = ready[k];
    order.push(i);
    for (const d of dependents[i]) if (--pending[d] === 0) ready.push(d);
  }
  if (order.length < steps.length) {
    const stuck = steps.filter((_, i) => pending[i] > 0).map((s) => s.name);
    throw new InvalidFlowError(`its steps wait for each other in a cycle (${stuck.slice(0, 10).join(', ')}${stuck.length > 10 ? ', …' : ''})`, {
      cycle: stuck.slice(0, 100),
    });
  }
  return order;
}

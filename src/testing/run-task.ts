import type { JobContext } from '../core/context.js';
import { Dependencies, type Dependency } from '../core/dependencies.js';
import type { JobProgress } from '../core/job.js';
import { isOutcome } from '../core/outcomes.js';
import type { TaskDefinition } from '../core/task.js';

export interface InlineRun<O> {
  /** What the handler returned (undefined when it threw). */
  result: O | undefined;
  /** What it threw: an Error, or an outcome such as retryLater(ms). */
  thrown: unknown;
  /** Every ctx.progress() call, in order. */
  progress: JobProgress[];
}

/**
 * Runs a task's handler once, in this process, without a store: for unit tests of handlers.
 * `abort` aborts ctx.signal after the handler starts (to test cancellation handling);
 * `dependencies` is what ctx.dependencies holds (the jobs it waited for).
 *
 * @example
 * const run = await runTask(sendEmail, { to: 'a@example.com' });
 * assert.deepEqual(run.result, { sent: true });
 */
export async function runTask<I, O>(
  def: TaskDefinition<I, O>,
  input: I,
  opts: { attempt?: number; abort?: unknown; dependencies?: Dependency[] } = {},
): Promise<InlineRun<O>> {
  const controller = new AbortController();
  const progress: JobProgress[] = [];
  const ctx: JobContext = {
    job: {
      id: '1',
      task: def.name,
      attempt: opts.attempt ?? 1,
      maxAttempts: def.settings.maxAttempts,
      priority: def.settings.priority,
      batchId: null,
      uniqueKey: null,
      createdAt: new Date().toISOString(),
    },
    workerId: 'inline',
    signal: controller.signal,
    dependencies: new Dependencies(opts.dependencies ?? []),
    progress: (done, total, message) => {
      progress.push(message === undefined ? { done, total } : { done, total, message });
    },
  };
  const running = Promise.resolve().then(() => def.handler(JSON.parse(JSON.stringify(input ?? null)) as I, ctx));
  if (opts.abort !== undefined) queueMicrotask(() => controller.abort(opts.abort));
  try {
    const value = await running;
    return isOutcome(value) ? { result: undefined, thrown: value, progress } : { result: value, thrown: undefined, progress };
  } catch (thrown) {
    return { result: undefined, thrown, progress };
  }
}

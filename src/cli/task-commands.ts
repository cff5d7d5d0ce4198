/** `offload task list | suspend | resume`: tasks as a whole, over the public API. */
import type { Command } from 'commander';
import type { Offload } from '../offload.js';
import { duration } from './duration.js';
import { type Output, printSuspension, printTasks } from './output.js';

/** What the commands need from the program that registers them. */
export interface TaskCommandContext {
  output(): Output;
  /** Opens the store for one command, runs `fn`, closes. */
  withOffload<T>(fn: (offload: Offload) => Promise<T>): Promise<T>;
}

/** The longest suspension, as the HTTP API allows it. */
const MAX_SUSPEND_MS = 10 * 365 * 86_400_000;

export function addTaskCommands(program: Command, ctx: TaskCommandContext): void {
  const task = program.command('task').description('tasks as a whole: list them with their suspension, suspend, resume');

  task
    .command('list')
    .description('every task the store knows: jobs queued and running, and until when it is suspended')
    .action(async () => ctx.withOffload(async (offload) => printTasks(ctx.output(), await offload.counts())));

  task
    .command('suspend')
    .description("claim none of the task's jobs for a while, on every worker (running jobs go on); a suspension only ever lengthens")
    .argument('<task>', 'task name')
    .requiredOption('--for <duration>', 'how long: 500ms, 30s, 10m, 2h, 1d, 1h30m, or milliseconds', duration('for', MAX_SUSPEND_MS))
    .action(async (name: string, opts: { for: number }) =>
      ctx.withOffload(async (offload) => printSuspension(ctx.output(), name, await offload.suspend(name, opts.for))),
    );

  task
    .command('resume')
    .description("end the task's suspension now: its queued jobs are claimed again")
    .argument('<task>', 'task name')
    .action(async (name: string) =>
      ctx.withOffload(async (offload) => {
        await offload.resume(name);
        printSuspension(ctx.output(), name, null);
      }),
    );
}

/**
 * `offload batch FILE [--wait]` and `offload batch watch ID`: a batch submitted from a JSON file,
 * and watched until it has finished (here, or later from anywhere) with a line each time its
 * counts move; the exit code says whether every job succeeded (a foreground batch).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Batch, BatchFailure } from '../core/batch.js';
import { InvalidInputError, InvalidOptionError, WaitTimeoutError } from '../core/errors.js';
import type { BatchOptions, Offload, SubmitItem } from '../offload.js';
import type { Output } from './output.js';
import { ProgressView, untilDoneOr, watchUntilFinished } from './progress.js';

export interface BatchCommandContext {
  output(): Output;
  withOffload<T>(fn: (offload: Offload) => Promise<T>): Promise<T>;
  int(name: string, min: number): (value: string) => number;
}

const JOB_OPTIONS = ['priority', 'runAt', 'delayMs', 'uniqueKey', 'debounceMs', 'concurrencyKey', 'maxAttempts', 'timeoutMs'] as const;

export function addBatchCommands(program: Command, ctx: BatchCommandContext): void {
  const batch = program
    .command('batch')
    .description('submit a batch from a JSON file ("-": stdin) and, with --wait, watch it to the end; exit 1 unless every job succeeded')
    .argument('[file]', 'a JSON array of {task, input, …options}, or {title, jobs: [...], onFinish: {task, input}}')
    .option('--wait', 'wait until every job has finished, printing progress; exit 1 if any failed or was cancelled', false)
    .option('--wait-timeout <ms>', 'with --wait, stop waiting after this long (exit 1, the batch goes on)', ctx.int('wait-timeout', 1))
    .option('--title <text>', 'a title for listings (overrides the file’s)')
    .action(async (file: string | undefined, opts: { wait: boolean; waitTimeout?: number; title?: string }) => {
      if (file === undefined) throw new InvalidOptionError('file', 'name a JSON file of jobs (or - for stdin), or use `offload batch watch ID`');
      const { items, options } = readBatchFile(file);
      await ctx.withOffload(async (offload) => {
        const handle = await offload.batch(items, { ...options, title: opts.title ?? options.title, idempotencyKey: undefined });
        const o = ctx.output();
        if (!opts.wait) return printBatch(o, await handle.status(), []);
        await watch(o, offload, handle.id, opts.waitTimeout);
      });
    });

  batch
    .command('watch')
    .description('watch a batch submitted earlier (from anywhere) until it has finished; exit 1 unless every job succeeded')
    .argument('<id>', 'batch id')
    .option('--wait-timeout <ms>', 'stop watching after this long (exit 1, the batch goes on)', ctx.int('wait-timeout', 1))
    .action(async (id: string, opts: { waitTimeout?: number }, command: Command) =>
      ctx.withOffload((offload) => watch(ctx.output(), offload, id, waitTimeoutOf(opts, command))),
    );
}

/**
 * A subcommand's --wait-timeout: commander gives an option that its parent (`batch FILE`, `flow
 * FILE`) also declares to the parent, so `batch watch ID --wait-timeout 300` finds it there.
 */
export function waitTimeoutOf(opts: { waitTimeout?: number }, command: Command): number | undefined {
  return opts.waitTimeout ?? command.parent?.opts<{ waitTimeout?: number }>().waitTimeout;
}

/** Reads a batch file: an array of jobs, or an object with `jobs` and the batch's options. */
function readBatchFile(file: string): { items: SubmitItem[]; options: BatchOptions } {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError('batch', `${file} is not JSON (${(err as Error).message})`);
  }
  const body = (Array.isArray(doc) ? { jobs: doc } : doc) as { title?: unknown; jobs?: unknown; onFinish?: unknown };
  if (typeof body !== 'object' || body === null || !Array.isArray(body.jobs))
    throw new InvalidInputError('batch', `${file} must hold an array of jobs, or an object with "jobs": [...]`);
  const items = body.jobs.map((j, i) => jobOf(j, `jobs[${i}]`));
  const onFinish = body.onFinish === undefined ? undefined : jobOf(body.onFinish, 'onFinish');
  if (body.title !== undefined && typeof body.title !== 'string') throw new InvalidInputError('batch', 'its "title" must be a string');
  return { items, options: { title: body.title as string | undefined, onFinish } };
}

function jobOf(value: unknown, where: string): SubmitItem {
  const j = value as Record<string, unknown> | null;
  if (typeof j !== 'object' || j === null || typeof j.task !== 'string') throw new InvalidInputError('batch', `${where} must be an object with a "task" name`);
  const options = Object.fromEntries(JOB_OPTIONS.filter((k) => j[k] !== undefined).map((k) => [k, j[k]]));
  return { task: j.task, input: j.input ?? null, options: { ...options, origin: 'cli' } };
}

/** Shows the batch's progress until it has finished, then its outcome and failures; sets the exit code. */
async function watch(o: Output, offload: Offload, id: string, timeoutMs?: number): Promise<void> {
  const batch = await watchBatch(o, offload, id, timeoutMs);
  const failures = batch.ok ? [] : await offload.batchFailures(id);
  printBatch(o, batch, failures);
  if (!batch.ok) process.exitCode = 1;
}

/**
 * Shows a batch's (or a flow's) progress, labelled `batch ID` or `flow ID`, until it has finished
 * (nothing with --json); resolves to it finished, or throws WAIT_TIMEOUT after `timeoutMs`.
 */
export function watchBatch(o: Output, offload: Offload, id: string, timeoutMs?: number, kind: 'batch' | 'flow' = 'batch'): Promise<Batch> {
  return watchUntilFinished<Batch>(
    {
      read: () => offload.getBatch(id),
      wait: (ms) => untilDoneOr(offload.waitForBatch(id, { timeoutMs: ms })),
      finished: (b) => b.state === 'finished',
      figures,
      timedOut: () => new WaitTimeoutError(id, timeoutMs!, kind),
    },
    o.json ? undefined : new ProgressView(`${kind} ${id}`),
    timeoutMs,
  );
}

function figures(b: Batch) {
  const done = b.succeeded + b.failed + b.cancelled;
  const bad = b.failed + b.cancelled;
  return { done, total: b.total, note: bad ? `${b.failed} failed, ${b.cancelled} cancelled` : undefined };
}

function printBatch(o: Output, b: Batch, failures: BatchFailure[]): void {
  if (o.json) return o.out(JSON.stringify({ batch: b, failures }));
  const head =
    b.state === 'finished'
      ? `batch ${b.id} finished: ${b.ok ? 'every job succeeded' : 'not every job succeeded'} (${b.succeeded} succeeded, ${b.failed} failed, ${b.cancelled} cancelled of ${b.total})`
      : `batch ${b.id}${b.title ? ` "${b.title}"` : ''}: ${b.total} job(s) submitted; watch it with \`offload batch watch ${b.id}\``;
  const lines = [
    head,
    ...failures.map((f) => `  job ${f.id}  ${f.task}  ${f.state}${f.error ? `: ${f.error.code ? `${f.error.code} ` : ''}${f.error.message}` : ''}`),
  ];
  if (b.failed + b.cancelled > failures.length && failures.length)
    lines.push(`  … and ${b.failed + b.cancelled - failures.length} more (offload jobs --batch ${b.id} --state failed)`);
  o.out(lines.join('\n'));
}

/**
 * `offload flow FILE [--wait]`, `flow show ID`, `flow watch ID`, `flow cancel ID`: a flow (named
 * steps that wait for each other) submitted from a JSON file, read back step by step, watched to
 * the end with the batch's progress, and cancelled. The exit code of a wait says whether every
 * step succeeded, as a foreground batch's does.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Batch } from '../core/batch.js';
import { FlowNotFoundError, InvalidFlowError, InvalidOptionError } from '../core/errors.js';
import { isFinished } from '../core/job.js';
import type { FlowOptions, Offload } from '../offload.js';
import { waitTimeoutOf, watchBatch } from './batch-commands.js';
import { type Output, table } from './output.js';

type Flow = Awaited<ReturnType<Offload['getFlow']>>;
type FlowStepState = Flow['steps'][number];

export interface FlowCommandContext {
  output(): Output;
  withOffload<T>(fn: (offload: Offload) => Promise<T>): Promise<T>;
  int(name: string, min: number): (value: string) => number;
}

/** The job options a step (or onFinish) may carry in its "options". */
const JOB_OPTIONS = ['priority', 'runAt', 'delayMs', 'uniqueKey', 'debounceMs', 'concurrencyKey', 'maxAttempts', 'timeoutMs'];
const FILE_FIELDS = ['title', 'steps', 'onFinish', 'onDependencyFailure'];
const STEP_FIELDS = ['task', 'input', 'options', 'after'];
/** How many failed or cancelled steps an outcome lists (as a batch's failures). */
const LISTED = 100;

export function addFlowCommands(program: Command, ctx: FlowCommandContext): void {
  const flow = program
    .command('flow')
    .description(
      'submit a flow (steps that wait for each other) from a JSON file ("-": stdin); with --wait, watch it to the end; exit 1 unless every step succeeded',
    )
    .argument('[file]', 'a JSON object {title, steps: {NAME: {task, input, options, after: [NAME…]}}, onFinish, onDependencyFailure}')
    .option('--wait', 'wait until every step has finished, printing progress; exit 1 if any failed or was cancelled', false)
    .option('--wait-timeout <ms>', 'with --wait, stop waiting after this long (exit 1, the flow goes on)', ctx.int('wait-timeout', 1))
    .option('--title <text>', 'a title for listings (overrides the file’s)')
    .action(async (file: string | undefined, opts: { wait: boolean; waitTimeout?: number; title?: string }) => {
      if (file === undefined) throw new InvalidOptionError('file', 'name a JSON file of steps (or - for stdin), or use `offload flow show|watch|cancel ID`');
      const options = readFlowFile(file);
      await ctx.withOffload(async (offload) => {
        const handle = await offload.flow({ ...options, title: opts.title ?? options.title });
        const o = ctx.output();
        if (!opts.wait) return printSubmitted(o, await offload.getFlow(handle.id));
        await watchFlow(o, offload, handle.id, opts.waitTimeout);
      });
    });

  flow
    .command('show')
    .description("show a flow: its counts and every step's state, and what each waits for")
    .argument('<id>', 'flow id')
    .action(async (id: string) => ctx.withOffload(async (offload) => printFlow(ctx.output(), await offload.getFlow(id))));

  flow
    .command('watch')
    .description('watch a flow submitted earlier (from anywhere) until it has finished; exit 1 unless every step succeeded')
    .argument('<id>', 'flow id')
    .option('--wait-timeout <ms>', 'stop watching after this long (exit 1, the flow goes on)', ctx.int('wait-timeout', 1))
    .action(async (id: string, opts: { waitTimeout?: number }, command: Command) =>
      ctx.withOffload(async (offload) => {
        await flowBatch(offload, id);
        await watchFlow(ctx.output(), offload, id, waitTimeoutOf(opts, command));
      }),
    );

  flow
    .command('cancel')
    .description('cancel the steps of a flow that have not started (running ones finish)')
    .argument('<id>', 'flow id')
    .action(async (id: string) =>
      ctx.withOffload(async (offload) => {
        await flowBatch(offload, id);
        const cancelled = await offload.cancelBatch(id);
        const o = ctx.output();
        if (o.json) o.out(JSON.stringify({ flow: id, cancelled }));
        else o.out(`flow ${id}: cancelled ${cancelled} step(s) that had not started (running ones finish)`);
      }),
    );
}

/** The batch of a flow, or FLOW_NOT_FOUND (also for a batch that is not a flow). */
async function flowBatch(offload: Offload, id: string): Promise<Batch> {
  const batch = await offload.getBatch(id).catch((err: { code?: string }) => {
    throw err.code === 'BATCH_NOT_FOUND' ? new FlowNotFoundError(id) : err;
  });
  if (batch.kind !== 'flow') throw new FlowNotFoundError(id);
  return batch;
}

/** Reads a flow file: `{ title, steps, onFinish, onDependencyFailure }`; throws INVALID_FLOW before anything is stored. */
export function readFlowFile(file: string): FlowOptions {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new InvalidFlowError(`${file} cannot be read (${(err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidFlowError(`${file} is not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new InvalidFlowError(`${file} must hold an object {"steps": {"NAME": {"task", "input", "after": [...]}}}`);
  const body = doc as Record<string, unknown>;
  unknownFields(body, FILE_FIELDS, 'the file');
  const steps = body.steps as Record<string, unknown> | undefined;
  if (typeof steps !== 'object' || steps === null || Array.isArray(steps))
    throw new InvalidFlowError(`${file} needs "steps": an object of {"NAME": {"task", "input", "after": [...]}}`);
  if (body.title !== undefined && typeof body.title !== 'string') throw new InvalidFlowError('its "title" must be a string');
  const out: FlowOptions['steps'] = {};
  for (const [name, value] of Object.entries(steps)) {
    const step = value as Record<string, unknown> | null;
    if (typeof step !== 'object' || step === null || Array.isArray(step))
      throw new InvalidFlowError(`step "${name}" must be an object {"task", "input", "after"}`);
    unknownFields(step, STEP_FIELDS, `step "${name}"`);
    out[name] = {
      task: step.task as string,
      input: step.input ?? null,
      options: optionsOf(step.options, `step "${name}"`),
      after: step.after as FlowOptions['steps'][string]['after'],
    };
  }
  let onFinish: FlowOptions['onFinish'];
  if (body.onFinish !== undefined) {
    const f = body.onFinish as Record<string, unknown> | null;
    if (typeof f !== 'object' || f === null || typeof f.task !== 'string') throw new InvalidFlowError('its "onFinish" must be an object with a "task" name');
    unknownFields(f, ['task', 'input', 'options'], 'onFinish');
    onFinish = { task: f.task, input: f.input ?? null, options: optionsOf(f.options, 'onFinish') };
  }
  return {
    title: body.title as string | undefined,
    steps: out,
    onFinish,
    onDependencyFailure: body.onDependencyFailure as FlowOptions['onDependencyFailure'],
  };
}

function unknownFields(value: Record<string, unknown>, known: string[], where: string): void {
  const extra = Object.keys(value).find((k) => !known.includes(k));
  if (extra !== undefined)
    throw new InvalidFlowError(
      `${where} has an unknown field "${extra}" (known: ${known.join(', ')}${JOB_OPTIONS.includes(extra) ? `; job options such as ${extra} go in "options"` : ''})`,
    );
}

function optionsOf(value: unknown, where: string) {
  if (value === undefined) return { origin: 'cli' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidFlowError(`${where}: "options" must be an object`);
  const extra = Object.keys(value).find((k) => !JOB_OPTIONS.includes(k));
  if (extra !== undefined) throw new InvalidFlowError(`${where}: unknown option "${extra}" (known: ${JOB_OPTIONS.join(', ')})`);
  return { ...value, origin: 'cli' };
}

/** Shows the flow's progress until it has finished, then its outcome and the steps that did not succeed; sets the exit code. */
async function watchFlow(o: Output, offload: Offload, id: string, timeoutMs?: number): Promise<void> {
  await watchBatch(o, offload, id, timeoutMs, 'flow');
  const flow = await offload.getFlow(id);
  const failures = flow.steps.filter((s) => s.state === 'failed' || s.state === 'cancelled').slice(-LISTED);
  if (o.json) o.out(JSON.stringify({ flow, failures }));
  else {
    const lines = [
      `flow ${flow.id} finished: ${flow.ok ? 'every step succeeded' : 'not every step succeeded'} (${flow.succeeded} succeeded, ${flow.failed} failed, ${flow.cancelled} cancelled of ${flow.total})`,
      ...failures.map(
        (s) => `  step ${s.step}  job ${s.id}  ${s.task}  ${s.state}${s.error ? `: ${s.error.code ? `${s.error.code} ` : ''}${s.error.message}` : ''}`,
      ),
    ];
    if (flow.failed + flow.cancelled > failures.length)
      lines.push(`  … and ${flow.failed + flow.cancelled - failures.length} more (offload flow show ${flow.id})`);
    o.out(lines.join('\n'));
  }
  if (!flow.ok) process.exitCode = 1;
}

function printSubmitted(o: Output, flow: Flow): void {
  if (o.json) return o.out(JSON.stringify({ flow }));
  o.out(
    [
      `flow ${flow.id}${flow.title ? ` "${flow.title}"` : ''}: ${flow.total} step(s) submitted; watch it with \`offload flow watch ${flow.id}\``,
      stepsTable(flow.steps),
    ].join('\n'),
  );
}

/** `offload flow show`: the counts, then a line per step. */
export function printFlow(o: Output, flow: Flow): void {
  if (o.json) return o.out(JSON.stringify({ flow }));
  const counts = `${flow.succeeded} succeeded, ${flow.failed} failed, ${flow.cancelled} cancelled, ${flow.pending} pending of ${flow.total}`;
  const state = flow.state === 'finished' ? `finished, ${flow.ok ? 'every step succeeded' : 'not every step succeeded'}` : 'running';
  o.out([`flow ${flow.id}${flow.title ? ` "${flow.title}"` : ''}  ${state} (${counts})`, stepsTable(flow.steps)].join('\n'));
}

function stepsTable(steps: FlowStepState[]): string {
  const byName = new Map(steps.map((s) => [s.step, s]));
  return table(
    ['STEP', 'JOB', 'TASK', 'STATE', 'AFTER', 'WAITING FOR'],
    steps.map((s) => [s.step, s.id, s.task, s.state, s.after.join(',') || '-', waitingFor(s, byName)]),
  );
}

/** What a waiting step still waits for: the steps that have not finished, and how many jobs outside the flow. */
function waitingFor(s: FlowStepState, byName: Map<string, FlowStepState>): string {
  if (s.waitingFor === null) return '';
  const steps = s.after.filter((name) => {
    const dep = byName.get(name);
    return dep !== undefined && !isFinished(dep.state);
  });
  const others = s.waitingFor - steps.length;
  return [...steps, ...(others > 0 ? [`${others} other job(s)`] : [])].join(',');
}

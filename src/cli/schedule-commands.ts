/** `offload schedule add | list | show | pause | resume | run | rm`: cron schedules, over the public API. */
import { type Command, Option } from 'commander';
import { CATCH_UP_POLICIES, type CatchUpPolicy, OVERLAP_POLICIES, type OverlapPolicy, type Schedule, scheduleToJson } from '../core/schedule.js';
import type { Offload } from '../offload.js';
import { duration } from './duration.js';
import { type Output, printJob, short, table } from './output.js';

export interface ScheduleCommandContext {
  output(): Output;
  /** Opens the store for one command, runs `fn`, closes. */
  withOffload<T>(fn: (offload: Offload) => Promise<T>): Promise<T>;
  /** Parses a JSON argument, or says what is wrong with it. */
  parseInput(task: string, text: string): unknown;
  int(name: string, min: number): (value: string) => number;
}

interface AddOptions {
  task: string;
  cron: string;
  input?: string;
  tz?: string;
  overlap?: OverlapPolicy;
  catchUp?: CatchUpPolicy;
  catchUpLimit?: number;
  jitter?: number;
  priority?: number;
  description?: string;
}

export function addScheduleCommands(program: Command, ctx: ScheduleCommandContext): void {
  const schedule = program.command('schedule').description('cron schedules: each tick enqueues a job of a task, once across every server on the store');

  schedule
    .command('add')
    .description('add a schedule, or replace the one of that name (a new rule or zone starts from now; other edits keep its place)')
    .argument('<name>', 'a name for the schedule')
    .requiredOption('--task <task>', 'the task each tick enqueues')
    .requiredOption('--cron <rule>', 'when: a cron rule of 5 fields (minutes), 6 (seconds first) or 7 (a year last), e.g. "0 3 * * *"')
    .option('--input <json>', "the job's input, as JSON", 'null')
    .option('--tz <zone>', 'the IANA time zone the rule is read in (default UTC)')
    .addOption(
      new Option('--overlap <policy>', 'while the previous job is queued or running: skip the tick, or allow another (default skip)').choices(OVERLAP_POLICIES),
    )
    .addOption(new Option('--catch-up <policy>', 'ticks missed while no server ran: none, the latest, or all (default latest)').choices(CATCH_UP_POLICIES))
    .option('--catch-up-limit <n>', 'with --catch-up all: at most this many (default 10)', ctx.int('catch-up-limit', 1))
    .option('--jitter <duration>', 'start each job up to this long after its tick, at random (e.g. 30s)', duration('jitter', 86_400_000))
    .option('--priority <n>', "the jobs' priority (default: the task's)", ctx.int('priority', -(2 ** 31)))
    .option('--description <text>', 'a line for listings')
    .action(async (name: string, opts: AddOptions) =>
      ctx.withOffload(async (offload) => {
        const saved = await offload.schedule(name, {
          task: opts.task,
          cron: opts.cron,
          input: ctx.parseInput(opts.task, opts.input ?? 'null'),
          timezone: opts.tz,
          overlap: opts.overlap,
          catchUp: opts.catchUp,
          catchUpLimit: opts.catchUpLimit,
          jitterMs: opts.jitter,
          priority: opts.priority,
          description: opts.description,
        });
        printSchedule(ctx.output(), saved);
      }),
    );

  schedule
    .command('list')
    .description('every schedule: its rule, next and last tick, and the state of its last job')
    .action(async () => ctx.withOffload(async (offload) => printSchedules(ctx.output(), await offload.schedules())));

  schedule
    .command('show')
    .description('one schedule, whole')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => ctx.withOffload(async (offload) => printSchedule(ctx.output(), await offload.getSchedule(name))));

  schedule
    .command('pause')
    .description('stop its ticks until resumed (ticks while paused are not caught up)')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => ctx.withOffload(async (offload) => printSchedule(ctx.output(), await offload.pauseSchedule(name))));

  schedule
    .command('resume')
    .description('resume from its next tick after now')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => ctx.withOffload(async (offload) => printSchedule(ctx.output(), await offload.resumeSchedule(name))));

  schedule
    .command('run')
    .description('enqueue its job now, off the rule (the next tick stays as it was)')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => ctx.withOffload(async (offload) => printJob(ctx.output(), await (await offload.runSchedule(name)).status())));

  schedule
    .command('rm')
    .description('delete a schedule (its jobs stay); one declared in code comes back when a process defining it starts')
    .argument('<name>', 'schedule name')
    .action(async (name: string) =>
      ctx.withOffload(async (offload) => {
        await offload.removeSchedule(name);
        const o = ctx.output();
        if (o.json) o.out(JSON.stringify({ name, removed: true }));
        else o.out(`removed schedule "${name}"`);
      }),
    );
}

function printSchedules(o: Output, schedules: Schedule[]): void {
  if (o.json) return o.out(JSON.stringify({ schedules: schedules.map(scheduleToJson) }));
  if (schedules.length === 0) return o.out('no schedules (add one with `offload schedule add NAME --task TASK --cron RULE`)');
  const rows = schedules.map((s) => {
    const j = scheduleToJson(s);
    return [s.name, s.task, s.cron, s.timezone ?? 'UTC', s.paused ? 'paused' : String(j.nextTickAt ?? 'none'), String(j.lastTickAt ?? ''), lastJob(s)];
  });
  o.out(table(['NAME', 'TASK', 'CRON', 'ZONE', 'NEXT TICK', 'LAST TICK', 'LAST JOB'], rows));
}

function printSchedule(o: Output, s: Schedule): void {
  if (o.json) return o.out(JSON.stringify(scheduleToJson(s)));
  const j = scheduleToJson(s);
  const lines = [
    `schedule ${s.name}  ${s.task}  ${s.paused ? 'paused' : 'active'}`,
    `  cron        ${s.cron}  (${s.timezone ?? 'UTC'})`,
    `  input       ${short(s.input)}`,
    `  overlap     ${s.overlap}   catch-up ${s.catchUp}${s.catchUp === 'all' ? ` (up to ${s.catchUpLimit})` : ''}${s.jitterMs ? `   jitter ${s.jitterMs} ms` : ''}`,
    `  next tick   ${s.paused ? '(paused)' : (j.nextTickAt ?? 'none: the rule has no tick ahead')}`,
    `  last tick   ${j.lastTickAt ?? '(none yet)'}`,
    `  last job    ${lastJob(s) || '(none yet)'}`,
  ];
  if (s.description) lines.splice(1, 0, `  ${s.description}`);
  o.out(lines.join('\n'));
}

function lastJob(s: Schedule): string {
  return s.lastJobId === null ? '' : `${s.lastJobId} ${s.lastJobState ?? '(pruned)'}`;
}

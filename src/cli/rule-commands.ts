/** `offload rule save | list | show | pause | resume | rm | alerts`: rules, over the public API. */
import { type Command, Option } from 'commander';
import { InvalidRuleError } from '../core/errors.js';
import { RULE_EVENTS, type Rule, type RuleAction, type RuleAlert, type RuleTrigger, ruleToJson } from '../core/rule.js';
import type { Offload } from '../offload.js';
import { duration } from './duration.js';
import { type Output, table } from './output.js';

export interface RuleCommandContext {
  output(): Output;
  /** Opens the store for one command, runs `fn`, closes. */
  withOffload<T>(fn: (offload: Offload) => Promise<T>): Promise<T>;
}

interface SaveOptions {
  on: string;
  tasks?: string;
  over?: string;
  olderThan?: number;
  overPercent?: string;
  window?: number;
  minJobs?: string;
  for?: number;
  webhook?: string;
  secret?: string;
  allow?: string;
  email?: string;
  subject?: string;
  enqueue?: string;
  description?: string;
}

export function addRuleCommands(program: Command, ctx: RuleCommandContext): void {
  const rule = program
    .command('rule')
    .description('rules: on an event or a condition, matching task patterns, send a signed webhook or an e-mail, or enqueue a job');

  rule
    .command('save')
    .description('add a rule, or replace the one of that name (its pause and its firing alerts stay)')
    .argument('<name>', 'a name for the rule')
    .requiredOption('--on <event>', `what sets it off: ${RULE_EVENTS.join(', ')}`)
    .option('--tasks <patterns>', 'comma-separated task patterns (* is a wildcard; default every task)')
    .option('--over <n>', 'task.backlog: more than this many jobs queued')
    .option(
      '--older-than <duration>',
      'task.oldest-queued: the oldest due job has waited longer than this (e.g. 10m)',
      duration('older-than', 365 * 86_400_000),
    )
    .option('--over-percent <x>', 'task.failure-rate: more than this % of the jobs that finished in the window failed')
    .option('--window <duration>', 'task.failure-rate: the window (e.g. 15m)', duration('window', 30 * 86_400_000))
    .option('--min-jobs <n>', 'task.failure-rate: judge only once this many jobs finished in the window (default 10)')
    .option('--for <duration>', 'worker.silent: not heard from for this long (e.g. 2m)', duration('for', 30 * 86_400_000))
    .option('--webhook <url>', 'POST the notice, signed, to this URL')
    .addOption(
      new Option('--secret <secret>', 'with --webhook: the signing secret (better in $OFFLOAD_RULE_SECRET, out of the process list)').env(
        'OFFLOAD_RULE_SECRET',
      ),
    )
    .option('--allow <addresses>', 'with --webhook: comma-separated private addresses or CIDRs the URL may reach (e.g. 10.0.0.0/8)')
    .option('--email <addresses>', 'e-mail the notice to these comma-separated addresses')
    .option('--subject <text>', 'with --email: the start of the subject line')
    .option('--enqueue <task>', 'enqueue a job of this task, whose input is the notice')
    .option('--description <text>', 'a line for listings')
    .action(async (name: string, opts: SaveOptions) =>
      ctx.withOffload(async (offload) => {
        const saved = await offload.rules.save(name, {
          on: triggerOf(name, opts),
          ...(opts.tasks === undefined ? {} : { tasks: listOf(opts.tasks) }),
          action: actionOf(name, opts),
          description: opts.description,
        });
        printRule(ctx.output(), saved);
      }),
    );

  rule
    .command('list')
    .description('every rule: its event, tasks, action and whether it is paused')
    .action(async () => ctx.withOffload(async (offload) => printRules(ctx.output(), await offload.rules.list())));

  rule
    .command('show')
    .description('one rule, whole, with its firing alerts')
    .argument('<name>', 'rule name')
    .action(async (name: string) =>
      ctx.withOffload(async (offload) => printRule(ctx.output(), await offload.rules.get(name), await offload.rules.alerts(name))),
    );

  for (const action of ['pause', 'resume'] as const) {
    rule
      .command(action)
      .description(action === 'pause' ? 'stop the rule until resumed (deliveries already enqueued still go out)' : 'resume a paused rule')
      .argument('<name>', 'rule name')
      .action(async (name: string) => ctx.withOffload(async (offload) => printRule(ctx.output(), await offload.rules[action](name))));
  }

  rule
    .command('rm')
    .description('delete a rule and its alerts')
    .argument('<name>', 'rule name')
    .action(async (name: string) =>
      ctx.withOffload(async (offload) => {
        await offload.rules.remove(name);
        const o = ctx.output();
        if (o.json) o.out(JSON.stringify({ name, removed: true }));
        else o.out(`removed rule "${name}"`);
      }),
    );

  rule
    .command('alerts')
    .description('the alerts of condition rules that are firing now')
    .action(async () =>
      ctx.withOffload(async (offload) => {
        const alerts = await offload.rules.alerts();
        const o = ctx.output();
        if (o.json) return o.out(JSON.stringify({ alerts: alerts.map(alertJson) }));
        if (alerts.length === 0) return o.out('no alert is firing');
        o.out(
          table(
            ['RULE', 'SUBJECT', 'VALUE', 'SINCE'],
            alerts.map((a) => [a.rule, a.subject, String(a.value), new Date(a.since).toISOString()]),
          ),
        );
      }),
    );
}

function listOf(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function numberOf(name: string, field: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new InvalidRuleError(name, `--${field} must be a number, got "${text}"`);
  return n;
}

function triggerOf(name: string, o: SaveOptions): RuleTrigger {
  const on = { event: o.on } as Record<string, unknown>;
  const set = (field: string, value: unknown) => {
    if (value !== undefined) on[field] = value;
  };
  set('over', numberOf(name, 'over', o.over));
  set('olderThanMs', o.olderThan);
  set('overPercent', numberOf(name, 'over-percent', o.overPercent));
  set('windowMs', o.window);
  set('minJobs', numberOf(name, 'min-jobs', o.minJobs));
  set('forMs', o.for);
  return on as unknown as RuleTrigger;
}

function actionOf(name: string, o: SaveOptions): RuleAction {
  const given = [o.webhook, o.email, o.enqueue].filter((a) => a !== undefined).length;
  if (given !== 1) throw new InvalidRuleError(name, 'give exactly one action: --webhook URL (with --secret), --email ADDRESSES or --enqueue TASK');
  if (o.webhook !== undefined) {
    return { type: 'webhook', url: o.webhook, secret: o.secret ?? '', ...(o.allow === undefined ? {} : { allowAddresses: listOf(o.allow) }) };
  }
  if (o.email !== undefined) return { type: 'email', to: listOf(o.email), ...(o.subject === undefined ? {} : { subject: o.subject }) };
  return { type: 'enqueue', task: o.enqueue! };
}

function alertJson(a: RuleAlert) {
  return { ...a, since: new Date(a.since).toISOString() };
}

function describeTrigger(on: RuleTrigger): string {
  const parts = Object.entries(on)
    .filter(([k]) => k !== 'event')
    .map(([k, v]) => `${k}=${v}`);
  return parts.length ? `${on.event} (${parts.join(', ')})` : on.event;
}

function describeAction(a: Rule['action']): string {
  if (a.type === 'webhook') return `webhook ${a.url}`;
  if (a.type === 'email') return `email ${(Array.isArray(a.to) ? a.to : [a.to]).join(', ')}`;
  return `enqueue ${a.task}`;
}

function printRules(o: Output, rules: Rule[]): void {
  if (o.json) return o.out(JSON.stringify({ rules: rules.map((r) => ruleToJson(r)) }));
  if (rules.length === 0) return o.out('no rules (add one with `offload rule save NAME --on EVENT --email ops@example.com`)');
  o.out(
    table(
      ['NAME', 'ON', 'TASKS', 'ACTION', 'STATE'],
      rules.map((r) => [r.name, describeTrigger(r.on), r.tasks.join(','), describeAction(r.action), r.paused ? 'paused' : 'active']),
    ),
  );
}

function printRule(o: Output, r: Rule, alerts?: RuleAlert[]): void {
  if (o.json) return o.out(JSON.stringify({ ...ruleToJson(r), ...(alerts ? { alerts: alerts.map(alertJson) } : {}) }));
  const lines = [
    `rule ${r.name}  ${r.paused ? 'paused' : 'active'}`,
    `  on        ${describeTrigger(r.on)}`,
    `  tasks     ${r.tasks.join(', ')}`,
    `  action    ${describeAction(r.action)}`,
  ];
  if (r.description) lines.splice(1, 0, `  ${r.description}`);
  for (const a of alerts ?? []) lines.push(`  FIRING    ${a.subject}: ${a.value} since ${new Date(a.since).toISOString()}`);
  o.out(lines.join('\n'));
}

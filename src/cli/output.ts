import type { TokenInfo } from '../auth/tokens.js';
import { isOffloadError } from '../core/errors.js';
import { type Job, jobToJson, payloadToJson } from '../core/job.js';
import type { TaskCounts } from '../offload.js';

/** Where the CLI writes: human text by default, JSON with --json. */
export interface Output {
  json: boolean;
  out(text: string): void;
  err(text: string): void;
}

export const processOutput = (json: boolean): Output => ({
  json,
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
});

export function printJob(o: Output, job: Job): void {
  if (o.json) return o.out(JSON.stringify(jobToJson(job)));
  const lines = [
    `job ${job.id}  ${job.task}  ${job.state}`,
    `  attempt     ${job.attempt}/${job.maxAttempts}   priority ${job.priority}`,
    `  input       ${short(payloadToJson(job.input))}`,
  ];
  if (job.progress) lines.push(`  progress    ${job.progress.done}/${job.progress.total}${job.progress.message ? `  ${job.progress.message}` : ''}`);
  if (job.state === 'succeeded') lines.push(`  result      ${short(payloadToJson(job.result))}`);
  if (job.error) lines.push(`  error       ${job.error.code ?? ''} ${job.error.message}`);
  lines.push(`  created     ${job.createdAt}`);
  if (job.state === 'queued' && job.runAt > job.createdAt) lines.push(`  runs at     ${job.runAt}`);
  if (job.startedAt) lines.push(`  started     ${job.startedAt}`);
  if (job.finishedAt) lines.push(`  finished    ${job.finishedAt}`);
  if (job.batchId) lines.push(`  batch       ${job.batchId}`);
  if (job.uniqueKey) lines.push(`  unique key  ${job.uniqueKey}`);
  o.out(lines.join('\n'));
}

export function printJobs(o: Output, jobs: Job[], nextCursor: string | null): void {
  if (o.json) return o.out(JSON.stringify({ jobs: jobs.map(jobToJson), nextCursor }));
  if (jobs.length === 0) return o.out('no jobs');
  const rows = jobs.map((j) => [
    j.id,
    j.task,
    j.state,
    `${j.attempt}/${j.maxAttempts}`,
    j.createdAt,
    j.error ? j.error.message : short(payloadToJson(j.result), 40),
  ]);
  o.out(table(['ID', 'TASK', 'STATE', 'ATTEMPT', 'CREATED', 'RESULT / ERROR'], rows));
  if (nextCursor) o.out(`more: --cursor ${nextCursor}`);
}

/** Counts as JSON: times ISO 8601, as the HTTP API sends them. */
function countsToJson(c: TaskCounts) {
  return { ...c, suspendedUntil: c.suspendedUntil === null ? null : iso(c.suspendedUntil) };
}

export function printCounts(o: Output, counts: TaskCounts[]): void {
  if (o.json) return o.out(JSON.stringify({ tasks: counts.map(countsToJson) }));
  if (counts.length === 0) return o.out('no tasks yet');
  o.out(
    table(
      ['TASK', 'WAITING', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'SUSPENDED UNTIL'],
      counts.map((c) => [
        ...[c.task, c.waiting, c.queued, c.running, c.succeeded, c.failed, c.cancelled].map(String),
        c.suspendedUntil === null ? '' : iso(c.suspendedUntil),
      ]),
    ),
  );
}

/** `offload task list`: each task, its jobs waiting and running, and its suspension. */
export function printTasks(o: Output, counts: TaskCounts[]): void {
  if (o.json) return o.out(JSON.stringify({ tasks: counts.map(countsToJson) }));
  if (counts.length === 0) return o.out('no tasks yet (a worker registers its tasks when it starts)');
  o.out(
    table(
      ['TASK', 'QUEUED', 'RUNNING', 'SUSPENDED UNTIL'],
      counts.map((c) => [c.task, String(c.queued), String(c.running), c.suspendedUntil === null ? '' : iso(c.suspendedUntil)]),
    ),
  );
}

/** `offload task suspend` / `resume`: the task and the end of its suspension (null: not suspended). */
export function printSuspension(o: Output, task: string, until: number | null): void {
  if (o.json) return o.out(JSON.stringify({ task, suspendedUntil: until === null ? null : iso(until) }));
  o.out(until === null ? `resumed ${task}: its queued jobs are claimed again` : `suspended ${task} until ${iso(until)}`);
}

export function printTokens(o: Output, tokens: TokenInfo[]): void {
  const json = tokens;
  if (o.json) return o.out(JSON.stringify({ tokens: json }));
  if (tokens.length === 0) return o.out('no tokens (create one with `offload token create NAME --scope SCOPE`)');
  o.out(
    table(
      ['NAME', 'SCOPE', 'TASKS', 'CREATED', 'REVOKED'],
      json.map((t) => [t.name, t.scope, t.tasks.length ? t.tasks.join(',') : '*', t.createdAt, t.revokedAt ?? '']),
    ),
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function printError(o: Output, err: unknown): void {
  if (isOffloadError(err)) {
    if (o.json) o.err(JSON.stringify({ error: err.toJSON() }));
    else o.err(`error ${err.code}: ${err.message}`);
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (o.json) o.err(JSON.stringify({ error: { code: 'INTERNAL', message } }));
  else o.err(`error: ${message}`);
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function short(value: unknown, max = 200): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

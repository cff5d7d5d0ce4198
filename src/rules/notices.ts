/**
 * What a rule tells people: the notice of one event (a webhook's JSON body, an e-mail, a follow-up
 * job's input), built from the job, batch or alert it is about, and its e-mail rendering.
 */
import type { BatchRow } from '../core/batch.js';
import type { JobRow } from '../core/job.js';
import { toJob } from '../core/job.js';
import { type BatchRuleEvent, type JobRuleEvent, NOTICE_PAYLOAD_BYTES, type NoticeJob, type RuleNotice, type RuleRecord, thresholdOf } from '../core/rule.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function jobNotice(rule: string, event: JobRuleEvent, row: JobRow, now: number): RuleNotice {
  const job = noticeJob(row);
  const what: Record<JobRuleEvent, string> = {
    'job.succeeded': 'succeeded',
    'job.failed': 'failed an attempt',
    'job.retried': `failed attempt ${job.attempt} of ${job.maxAttempts} and will run again`,
    'job.dead': 'failed for good',
  };
  const error = event === 'job.succeeded' || !job.error ? '' : `: ${job.error.message}`;
  const verb = event === 'job.failed' && row.state === 'failed' ? 'failed for good' : what[event];
  return { rule, event, at: iso(now), summary: `job ${job.id} of ${job.task} ${verb}${error}`, job };
}

export function batchNotice(rule: string, event: BatchRuleEvent, b: BatchRow, now: number): RuleNotice {
  const ok = b.failed === 0 && b.cancelled === 0;
  const kind = event === 'flow.finished' ? 'flow' : 'batch';
  const name = b.title ? ` "${b.title}"` : '';
  return {
    rule,
    event,
    at: iso(now),
    summary: `${kind} ${b.id}${name} finished: ${b.succeeded} of ${b.total} succeeded, ${b.failed} failed, ${b.cancelled} cancelled`,
    batch: { id: b.id, title: b.title, ok, total: b.total, succeeded: b.succeeded, failed: b.failed, cancelled: b.cancelled },
  };
}

/** The notice of an alert that starts (`firing`, with the value measured) or clears (`resolved`) for one task or worker. */
export function alertNotice(rule: RuleRecord, subject: string, state: 'firing' | 'resolved', value: number, now: number): RuleNotice {
  const on = rule.on;
  const threshold = thresholdOf(on);
  const isWorker = on.event === 'worker.silent';
  const about = isWorker ? `worker ${subject}` : `task ${subject}`;
  const measure: Record<string, string> = {
    'task.backlog': `${value} jobs queued (threshold ${threshold})`,
    'task.oldest-queued': `its oldest due job has waited ${seconds(value)} (threshold ${seconds(threshold)})`,
    'task.failure-rate': `${round(value)}% of its jobs failed (threshold ${threshold}%)`,
    'worker.silent': `not heard from for ${seconds(value)} (threshold ${seconds(threshold)})`,
  };
  const cleared: Record<string, string> = {
    'task.backlog': `back to ${threshold} jobs queued or fewer`,
    'task.oldest-queued': `no due job has waited longer than ${seconds(threshold)}`,
    'task.failure-rate': `the failure rate is back to ${threshold}% or less (or too few jobs finished to judge)`,
    'worker.silent': 'heard from again, or gone from the workers list',
  };
  const windowMs = on.event === 'task.failure-rate' ? on.windowMs : undefined;
  return {
    rule: rule.name,
    event: on.event,
    at: iso(now),
    summary: state === 'firing' ? `FIRING: ${about}: ${measure[on.event]}` : `RESOLVED: ${about}: ${cleared[on.event]}`,
    alert: {
      state,
      ...(isWorker ? { worker: subject } : { task: subject }),
      value: round(value),
      threshold,
      ...(windowMs === undefined ? {} : { windowMs }),
    },
  };
}

function noticeJob(row: JobRow): NoticeJob {
  const job = toJob(row);
  const out: NoticeJob = {
    id: job.id,
    task: job.task,
    state: job.state,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    error: job.error ? { message: job.error.message, ...(job.error.code ? { code: job.error.code } : {}) } : null,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  };
  if (job.state === 'queued') out.runAt = job.runAt;
  for (const [field, value] of [
    ['input', job.input],
    ['result', job.result],
  ] as const) {
    if (value === undefined || value === null) continue;
    const text = JSON.stringify(value);
    if (text !== undefined && Buffer.byteLength(text) <= NOTICE_PAYLOAD_BYTES) out[field] = value;
    else out.truncated = true;
  }
  return out;
}

/** The e-mail of a notice: a one-line subject and a plain-text body with every detail. */
export function noticeEmail(notice: RuleNotice, subject: string | undefined): { subject: string; text: string } {
  const lines = [notice.summary, '', `Rule:  ${notice.rule}`, `Event: ${notice.event}`, `At:    ${notice.at}`];
  if (notice.job) {
    const j = notice.job;
    lines.push('', `Job ${j.id}`, `  task      ${j.task}`, `  state     ${j.state}`, `  attempt   ${j.attempt} of ${j.maxAttempts}`);
    if (j.error) lines.push(`  error     ${j.error.code ? `${j.error.code}: ` : ''}${j.error.message}`);
    if (j.input !== undefined) lines.push(`  input     ${JSON.stringify(j.input)}`);
    if (j.result !== undefined) lines.push(`  result    ${JSON.stringify(j.result)}`);
    lines.push(`  created   ${j.createdAt}`);
    if (j.finishedAt) lines.push(`  finished  ${j.finishedAt}`);
    if (j.runAt) lines.push(`  runs again ${j.runAt}`);
  }
  if (notice.batch) {
    const b = notice.batch;
    lines.push('', `Batch ${b.id}${b.title ? ` "${b.title}"` : ''}: ${b.succeeded} succeeded, ${b.failed} failed, ${b.cancelled} cancelled of ${b.total}`);
  }
  if (notice.alert) lines.push('', `Alert ${notice.alert.state}: value ${notice.alert.value}, threshold ${notice.alert.threshold}`);
  lines.push('', 'The same notice as JSON:', JSON.stringify(notice, null, 2));
  // The summary may hold a job's error message: one line, and not without end, for a header.
  const line = notice.summary.replace(/[\r\n]+/g, ' ').slice(0, 150);
  return { subject: subject ? `${subject}: ${line}` : `[Offload] ${notice.rule}: ${line}`, text: lines.join('\n') };
}

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

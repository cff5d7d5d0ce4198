/**
 * The task every process of a chaos scenario runs (the server's in-process worker and each
 * `offload worker` process load this module). Each run is written down before the handler does
 * anything, one line per run in a file of the process's own, so the checker can count runs of a
 * job even for processes that were killed mid-job.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineTask } from '../src/index.js';

export const CHAOS_TASK = 'chaos.work';

const runsDir = process.env.OFFLOAD_CHAOS_RUNS;
const runsFile = runsDir ? join(runsDir, `runs-${process.env.OFFLOAD_CHAOS_KIND ?? 'node'}-${process.pid}.log`) : undefined;

export const work = defineTask(
  CHAOS_TASK,
  async (input: { seq: number; ms?: number }, ctx) => {
    if (runsFile) appendFileSync(runsFile, `${ctx.job.id} ${ctx.job.attempt}\n`);
    if (input.ms) await new Promise((resolve) => setTimeout(resolve, input.ms));
    return { seq: input.seq };
  },
  {
    // Repeated kills cost attempts (each lost lease is a failed attempt): enough of them that no job
    // fails for that alone, retried at once.
    maxAttempts: 20,
    backoff: { type: 'fixed', delayMs: 100 },
  },
);

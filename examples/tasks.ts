/**
 * Example tasks, loaded by `npm start` (offload start --tasks ./dist/examples/tasks.js).
 * Try: npx offload submit example.greet '{"name":"Ada"}' --wait
 */
import { defineTask, Type } from 'offload';

/** The smallest task: input in, result out. */
export const greet = defineTask('example.greet', async (input: { name: string }) => `Hello, ${input.name}!`);

/** Slow work with progress, that stops early when cancelled or timed out. */
export const thumbnail = defineTask(
  'example.thumbnail',
  {
    input: Type.Object({ url: Type.String(), sizes: Type.Array(Type.Integer({ minimum: 16, maximum: 4096 }), { maxItems: 20 }) }),
    timeoutMs: 60_000,
  },
  async (input, ctx) => {
    const made: string[] = [];
    for (const [i, size] of input.sizes.entries()) {
      ctx.signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 100)); // the slow part
      made.push(`${input.url}@${size}px`);
      ctx.progress(i + 1, input.sizes.length, `${size}px done`);
    }
    return { thumbnails: made };
  },
);

/** Fails on its first attempt, succeeds on the retry a second later. */
export const flaky = defineTask(
  'example.flaky',
  async (_input: null, ctx) => {
    if (ctx.job.attempt === 1) throw new Error('upstream timed out (first attempt fails on purpose)');
    return { attempt: ctx.job.attempt };
  },
  { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 1000 } },
);

/** Runs once when a batch ends: its input is { batch: { ok, succeeded, failed, … }, input }. */
export const batchDone = defineTask(
  'example.batch-done',
  async (input: { batch: { id: string; ok: boolean; succeeded: number; failed: number } }) =>
    `batch ${input.batch.id} finished: ${input.batch.succeeded} succeeded, ${input.batch.failed} failed`,
);

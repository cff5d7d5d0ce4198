// Jobs that wait for other jobs: `after` names what a job waits for, its handler reads their
// results, and a policy says what happens to it when one of them fails.
import { defineTask, Offload, permanent } from 'offload';

const download = defineTask(
  'site.download',
  async (input: { url: string }, ctx) => {
    if (input.url.endsWith('/gone')) throw permanent(new Error(`${input.url}: 404`));
    if (input.url.endsWith('/flaky') && ctx.job.attempt === 1) throw new Error('connection reset'); // retried
    return { bytes: input.url.length * 100 };
  },
  { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 100 } },
);
const index = defineTask('site.index', async (_input: null, ctx) => `indexed ${ctx.dependencies.result<{ bytes: number }>('page').bytes} bytes`);
const audit = defineTask('site.audit', async (_input: null, ctx) => [...ctx.dependencies].map((d) => `${d.name} ${d.state}`).join(', '));

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [download, index, audit] });
await offload.work({ concurrency: 4 });

// The index job waits (state `waiting`) while its page downloads, through the download's retry.
const page = await offload.enqueue(download, { url: 'https://example.org/flaky' });
const indexed = await offload.enqueue(index, null, { after: { page } });
console.log(await indexed.result(), 'after', (await page.status()).attempt, 'attempts');

// When what a job waits for fails: cancel it (the default), fail it, or run it anyway.
const gone = await offload.enqueue(download, { url: 'https://example.org/gone' });
const jobs = {
  cancel: await offload.enqueue(index, null, { after: { page: gone } }),
  fail: await offload.enqueue(index, null, { after: { page: gone }, onDependencyFailure: 'fail' }),
  run: await offload.enqueue(audit, null, { after: { page, gone }, onDependencyFailure: 'run' }),
};
for (const [policy, job] of Object.entries(jobs)) {
  const done = await job.finished();
  console.log(policy, '→', done.state, done.error?.code ?? done.result);
}

// A waiting job holds its unique key; cancelling what it waits for cancels it too.
const tomorrow = await offload.enqueue(download, { url: 'https://example.org/tomorrow' }, { delayMs: 86_400_000 });
const first = await offload.enqueue(index, null, { after: { page: tomorrow }, uniqueKey: 'reindex' });
const again = await offload.enqueue(index, null, { after: { page: tomorrow }, uniqueKey: 'reindex' });
console.log('same job', again.id === first.id, (await first.status()).state);
await tomorrow.cancel();
console.log('after the cancel', (await first.status()).state);
await offload.close();

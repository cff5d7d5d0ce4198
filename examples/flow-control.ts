// Flow control from code: an operator suspends a task and resumes it, and budgeted worker runs
// (what a cron-invoked host runs) end when their work is done.
import { defineTask, Offload } from 'offload';

const send = defineTask('newsletter.send', async (input: { to: string }) => ({ sent: input.to }));

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [send] });
await offload.enqueueMany(['ada@example.com', 'alan@example.com', 'grace@example.com'].map((to) => ({ task: send, input: { to } })));

// The mail provider is down: claim none of the task's jobs, on any worker of the store, for 30 minutes.
const until = await offload.suspend(send.name, 30 * 60_000);
const [counts] = await offload.counts();
console.log('queued', counts.queued, 'suspended until', counts.suspendedUntil === until);

// A run that ends when nothing is runnable: with the task suspended, it ends at once.
let worker = await offload.work({ untilIdle: true });
console.log('first run', await worker.finished);

// Back up: resume, and the next run drains the queue (at most 500 jobs, at most 4 minutes).
await offload.resume(send.name);
worker = await offload.work({ runForMs: 4 * 60_000, maxJobs: 500, untilIdle: true });
console.log('second run', await worker.finished);
await offload.close();

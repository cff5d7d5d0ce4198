// The library in one file: define tasks, run a worker, submit, await, batch, read back, close.
import { defineTask, Offload, permanent } from 'offload';

const resize = defineTask(
  'image.resize',
  async (input: { path: string; width: number }, ctx) => {
    if (input.width <= 0) throw permanent(new Error(`width must be positive, got ${input.width}`));
    ctx.progress(1, 1, 'resized');
    return { path: input.path.replace(/\.png$/, `-${input.width}.png`) };
  },
  { maxAttempts: 5, timeoutMs: 30_000 },
);

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [resize] });
await offload.work({ concurrency: 4 });

// Fire and forget: returns once the job is stored.
const job = await offload.enqueue(resize, { path: 'cat.png', width: 640 }, { priority: 10 });
console.log('enqueued', job.id);

// Foreground: submit and wait for the result.
console.log('result', await offload.run(resize, { path: 'dog.png', width: 320 }));

// A batch with live counts, awaited as a whole.
const batch = await offload.batch(
  [100, 200, -1].map((width) => ({ task: resize, input: { path: 'bird.png', width } })),
  { title: 'thumbnails' },
);
console.log('batch', await batch.wait());

// Records stay readable after they finish.
console.log('job', (await job.finished()).state, (await offload.listJobs({ task: 'image.resize', state: 'failed' })).jobs.length, 'failed');
await offload.close();

// A flow: a word count per chapter (fan-out) and a step that sums them (fan-in), submitted at once,
// awaited, read back step by step; then a flow cancelled before it has run.
import { Offload } from 'offload';
import { count, total } from './flow-tasks.js';

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [count, total] });
await offload.work({ concurrency: 4 });

const chapters = ['It was a dark and stormy night;', 'the rain fell in torrents,', 'except at occasional intervals.'];
const names = chapters.map((_, i) => `chapter-${i + 1}`);
const flow = await offload.flow({
  title: 'word count',
  steps: {
    // The join step may come first: a flow stores each step after the steps it waits for.
    total: { task: total, after: names },
    ...Object.fromEntries(chapters.map((text, i) => [names[i], { task: count, input: { text } }])),
  },
});
const outcome = await flow.result(); // every step finished: { ok, total, succeeded, failed, cancelled, failures }
console.log('ok', outcome.ok, `${outcome.succeeded}/${outcome.total} steps`);
console.log('words', await flow.steps.total.result());
for (const step of (await flow.read()).steps) console.log(`  ${step.step} ${step.state} after [${step.after.join(', ')}]`);

// Cancelling a flow cancels its steps that have not started; running ones finish.
const held = await offload.flow({
  steps: {
    first: { task: count, input: { text: 'not before tomorrow' }, options: { delayMs: 86_400_000 } },
    sum: { task: total, after: ['first'] },
  },
});
console.log('cancelled', await held.cancel(), 'steps; the flow is', (await held.read()).state);
await offload.close();

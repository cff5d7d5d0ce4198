// Rate limits and debounce: an upstream API allows 5 calls a second, shared by two tasks; a
// document edited three times in a row is reindexed once, with its last revision.
import { defineTask, Offload } from 'offload';

const api = { limit: 5, periodMs: 1000, key: 'maps-api' }; // one budget for both tasks
const geocode = defineTask('maps.geocode', async (i: number) => i, { rateLimit: api });
const route = defineTask('maps.route', async (i: number) => i, { rateLimit: api });
const reindex = defineTask('doc.reindex', async (input: { doc: number; rev: number }) => `doc ${input.doc} at rev ${input.rev}`);

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [geocode, route, reindex] });
await offload.work({ concurrency: 20 });

// Twelve calls: five start now, five a second later, two a second after that; none fails.
const jobs = await offload.enqueueMany(Array.from({ length: 12 }, (_, i) => ({ task: i % 2 ? route : geocode, input: i })));
await Promise.all(jobs.map((j) => j.result()));
const starts = (await Promise.all(jobs.map(async (j) => Date.parse((await j.status()).startedAt!)))).sort((a, b) => a - b);
const busiest = Math.max(...starts.map((t) => starts.filter((u) => u >= t && u < t + 1000).length));
console.log(`${starts.length} calls, at most ${busiest} started in any second, the last ≥ 2 s after the first: ${starts[11]! - starts[0]! >= 2000}`);

// Three saves within the window: one job, which runs 300 ms after the last save with its input.
let job = await offload.enqueue(reindex, { doc: 7, rev: 1 }, { uniqueKey: 'doc-7', debounceMs: 300 });
for (const rev of [2, 3]) job = await offload.enqueue(reindex, { doc: 7, rev }, { uniqueKey: 'doc-7', debounceMs: 300 });
console.log(await job.result(), '| jobs:', (await offload.listJobs({ task: 'doc.reindex' })).jobs.length);
await offload.close();

// A foreground batch, as Islandora's: one call that blocks until every job has finished and says
// whether all succeeded, with the failures listed. Watching one from elsewhere is the same wait.
import { defineTask, Offload, permanent } from 'offload';

const ingest = defineTask('object.ingest', async (input: { pid: string }) => {
  if (input.pid.endsWith('!')) throw permanent(new Error(`${input.pid} has no datastream`));
  return { ingested: input.pid };
});

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [ingest] });
await offload.work({ concurrency: 4 });

const result = await offload.runBatch(
  ['book:1', 'book:2', 'book:3!'].map((pid) => ({ task: ingest, input: { pid } })),
  { title: 'ingest books', timeoutMs: 60_000 },
);
console.log(result.ok ? 'all ingested' : `${result.failed} of ${result.total} failed`);
for (const f of result.failures) console.log(`  job ${f.id} ${f.state}: ${f.error?.message}`);

// From another process, a batch submitted earlier: its handle's result() waits the same way.
const later = await offload.batch([{ task: ingest, input: { pid: 'book:4' } }]);
console.log('later:', (await later.result()).ok ? 'all ingested' : 'not all ingested');
await offload.close();

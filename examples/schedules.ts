// Schedules from code: one declared with its task, one added at run time in a time zone. Every
// process that works on the store fires their ticks, once per tick across all of them.
import { defineTask, Offload } from 'offload';

let beats = 0;
// Every second (a 6-field rule: seconds first); a tick's job names its tick in its unique key.
const heartbeat = defineTask('heartbeat', async () => ++beats, { schedule: { cron: '* * * * * *', overlap: 'allow' } });
const report = defineTask('report.build', async (input: { kind: string }) => `built the ${input.kind} report`);

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [heartbeat, report] });
await offload.schedule('nightly-report', {
  task: report,
  cron: '0 3 * * *', // 03:00 every day…
  timezone: 'Europe/Berlin', // …Berlin time, summer and winter
  input: { kind: 'daily' },
  catchUp: 'latest', // after downtime over 03:00, run once at start (the default)
});

await offload.work(); // runs the heartbeat's jobs, and the scheduler with maintenance
while (beats < 3) await new Promise((resolve) => setTimeout(resolve, 50));

for (const s of await offload.schedules()) {
  console.log(s.name, s.cron, s.timezone ?? 'UTC', s.paused ? 'paused' : 'next', s.nextTickAt !== null, s.lastJobState ?? '-');
}
const job = await offload.runSchedule('nightly-report'); // once now, off the rule
console.log(await job.result());
await offload.pauseSchedule('heartbeat');
await offload.close();

// Offloading slow work from an HTTP handler: POST returns at once, GET reads the job back.
import { createServer } from 'node:http';
import { defineTask, Offload } from 'offload';

const renderReport = defineTask('report.render', async (input: { month: string }, ctx) => {
  ctx.progress(0, 1, 'rendering');
  await new Promise((resolve) => setTimeout(resolve, 200)); // the slow part
  return { url: `/files/report-${input.month}.pdf` };
});

const offload = await Offload.open({ tasks: [renderReport] }); // $OFFLOAD_STORE or sqlite:./offload.db
await offload.work({ concurrency: 4 }); // or run `offload worker` in another process

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const work =
    req.method === 'POST' && url.pathname === '/reports'
      ? offload.enqueue(renderReport, { month: url.searchParams.get('month') ?? '2026-11' }).then((job) => reply(202, { id: job.id }))
      : offload.getJob(url.pathname.split('/')[2] ?? '').then((job) => reply(200, { state: job.state, progress: job.progress, result: job.result }));
  work.catch((err) => reply(err.httpStatus ?? 500, { error: { code: err.code, message: err.message } }));
});
server.listen(Number(process.env.PORT ?? 3000), () => console.log(`listening on http://localhost:${(server.address() as { port: number }).port}`));

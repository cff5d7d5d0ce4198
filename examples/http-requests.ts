// Parallel HTTP requests: many requests, at most `limit` at once across every worker, a callback
// job per response and one at the end. They are all jobs, so a restart resumes where it stopped.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineTask, type HttpEach, Offload, onHttpResponse } from 'offload';

// A local site to fetch, so that the example needs no network: /page/N has a title, /page/13 is missing.
const site = createServer((req, res) => {
  res.setHeader('content-type', 'text/html; charset=utf-8');
  if (req.url === '/page/13') res.statusCode = 404;
  res.end(`<title>${res.statusCode === 404 ? 'Not found' : `Page ${req.url?.split('/').pop()}`}</title>`);
});
await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

// A job per request, once it has its response (or has failed for good): the request, the response or error, the onEach input.
const savePage = defineTask(
  'crawl.page',
  onHttpResponse(async (each: HttpEach<{ site: string }>) => {
    if (!each.response) return { index: each.index, error: each.error?.code };
    return { index: each.index, status: each.response.status, title: /<title>(.*?)<\/title>/.exec(each.response.body)?.[1] };
  }),
);
// A job at the end, once every request and callback has finished.
const report = defineTask('crawl.report', async (input: { batch: { total: number; succeeded: number }; input: { site: string } }) => {
  return `${input.input.site}: ${input.batch.succeeded} of ${input.batch.total} jobs succeeded`;
});

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db', tasks: [savePage, report] });
await offload.work({ concurrency: 10 });

const requests = Array.from({ length: 20 }, (_, i) => ({ url: `${base}/page/${i}` }));
const batch = await offload.http.batch(requests, {
  limit: 5, // at most 5 of these requests at once, across every worker on the store
  onEach: { task: savePage, input: { site: 'example' } },
  onFinish: { task: report, input: { site: 'example' } },
  allowAddresses: ['127.0.0.1'], // loopback and private addresses are refused unless named
  timeoutMs: 10_000,
  maxResponseBytes: 64 * 1024,
});
const outcome = await batch.wait();
console.log('requests', batch.requests.length, 'jobs', outcome.total, 'ok', outcome.ok);
console.log('page 3', await batch.callbacks[3].result());
console.log('page 13', await batch.callbacks[13].result());
const first = await batch.response(0);
console.log('response 0', first.status, first.headers['content-type'], first.bodyEncoding, first.body);
console.log(await offload.result((await batch.status()).onFinishJobId!));
await offload.close();
site.close();

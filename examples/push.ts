// Push: an endpoint group of two web servers, each taking at most 2 jobs at once. Offload POSTs
// each job, signed, to one of them; the endpoint checks the signature and answers with the result.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Offload, verifyRequestSignature } from 'offload';

const secret = process.env.PUSH_SECRET ?? 'change-me-to-a-long-random-string';

// An endpoint, as a PHP or Node web app would be: refuse what Offload did not sign, then do the job.
const endpoint = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    try {
      verifyRequestSignature({ secrets: secret, header: req.headers['offload-signature'] as string, body });
    } catch {
      return void res.writeHead(401).end('unsigned');
    }
    const job = JSON.parse(body); // { id, task, input, attempt, maxAttempts, deadline, callback }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ thumbnail: `${job.input.image}.small.png` }));
  });
});
await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/offload`;

const offload = await Offload.open({ store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db' });
await offload.push.saveGroup({
  name: 'thumbnailers',
  tasks: ['image.thumbnail'],
  secret,
  balancer: 'least-outstanding',
  endpoints: [
    { id: 'web1', url, concurrency: 2 },
    { id: 'web2', url, concurrency: 2, hostHeader: 'thumbs.internal' },
  ],
  allowAddresses: ['127.0.0.1'], // private and loopback addresses are refused unless named
});
await offload.push.start({ callbackBaseUrl: null }); // `offload start` does this, with the HTTP API's URL for callbacks

const jobs = await Promise.all(['a.jpg', 'b.jpg', 'c.jpg'].map((image) => offload.enqueue('image.thumbnail', { image })));
for (const job of jobs) console.log(await job.result());
await offload.close();
endpoint.close();

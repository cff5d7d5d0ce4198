/** A local endpoint for the push bench, in a process of its own: answers every POST at once with the time it arrived. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const arrivedAt = Date.now();
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"arrivedAt":${arrivedAt}}`));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

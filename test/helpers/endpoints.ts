/**
 * Real local HTTP endpoints for push tests: each records what it received, counts requests in
 * flight (and the most at once), and answers as the test says. `kill()` drops every connection
 * and stops listening, as a machine that dies mid-run.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  json: any;
}

export type Answer = (req: Received, res: ServerResponse) => unknown;

export interface TestEndpoint {
  url: string;
  port: number;
  received: Received[];
  inFlight: number;
  maxInFlight: number;
  /** Replaces how it answers. */
  answer: Answer;
  kill(): Promise<void>;
  close(): Promise<void>;
}

export const ok =
  (result: unknown = { ok: true }): Answer =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  };

export async function startEndpoint(answer: Answer = ok(), port = 0): Promise<TestEndpoint> {
  const sockets = new Set<Socket>();
  const endpoint: TestEndpoint = {
    url: '',
    port: 0,
    received: [],
    inFlight: 0,
    maxInFlight: 0,
    answer,
    kill: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
    close: async () => {
      server.closeAllConnections();
      await closeServer(server);
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const received = { headers: req.headers, body, json };
      if (req.method === 'POST') endpoint.received.push(received);
      endpoint.inFlight++;
      endpoint.maxInFlight = Math.max(endpoint.maxInFlight, endpoint.inFlight);
      res.on('close', () => endpoint.inFlight--);
      void Promise.resolve(endpoint.answer(received, res)).catch(() => res.destroy());
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  endpoint.port = (server.address() as AddressInfo).port;
  endpoint.url = `http://127.0.0.1:${endpoint.port}/jobs`;
  return endpoint;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

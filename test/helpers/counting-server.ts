/**
 * A local HTTP server that counts how many requests it holds at once (and the most it ever held),
 * for tests of parallel requests. A request counts from its arrival until its response is sent or
 * its connection closes (a client that died mid-request no longer counts).
 *
 * Routes: `/ok/N` (200, text "ok N"), `/json` (a JSON body), `/bytes` (binary), `/status/CODE`,
 * `/echo` (the method, headers and body back as JSON), `/big/BYTES` (that many bytes),
 * `/flaky/KEY/N` (503 for the first N requests of KEY, then 200).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingServer {
  /** http://127.0.0.1:PORT */
  base: string;
  readonly inFlight: number;
  readonly peak: number;
  /** Requests answered (a response sent), and requests that arrived. */
  readonly answered: number;
  readonly arrived: number;
  /** Requests that arrived, per path. */
  readonly hits: Map<string, number>;
  /** Holds every request from now on without answering, until `release()`. */
  hold(): void;
  release(): void;
  /** Resolves once `n` requests have been answered. */
  whenAnswered(n: number): Promise<void>;
  /** Resolves once `n` requests are held at once. */
  whenInFlight(n: number): Promise<void>;
  /** Resolves once no request is in flight. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

/** `latencyMs`: how long each answer takes (the server's own time, so requests overlap). */
export async function startCountingServer(opts: { latencyMs?: number } = {}): Promise<CountingServer> {
  let inFlight = 0;
  let peak = 0;
  let answered = 0;
  let arrived = 0;
  let holding = false;
  const held: (() => void)[] = [];
  const hits = new Map<string, number>();
  const watchers: { ready: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of watchers.splice(0)) {
      if (w.ready()) w.resolve();
      else watchers.push(w);
    }
  };
  const when = (ready: () => boolean) =>
    new Promise<void>((resolve) => {
      if (ready()) resolve();
      else watchers.push({ ready, resolve });
    });

  const server = createServer((req, res) => {
    arrived++;
    inFlight++;
    peak = Math.max(peak, inFlight);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    let counted = true;
    const done = (sent: boolean) => {
      if (!counted) return;
      counted = false;
      inFlight--;
      if (sent) answered++;
      check();
    };
    res.on('finish', () => done(true));
    res.on('close', () => done(false));
    check();
    const answer = () => void readBody(req).then((body) => route(path, req, body, res, hits.get(path)!));
    const later = () => (opts.latencyMs ? setTimeout(answer, opts.latencyMs) : setImmediate(answer));
    if (holding) held.push(later);
    else later();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    get inFlight() {
      return inFlight;
    },
    get peak() {
      return peak;
    },
    get answered() {
      return answered;
    },
    get arrived() {
      return arrived;
    },
    hits,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const go of held.splice(0)) go();
    },
    whenAnswered: (n) => when(() => answered >= n),
    whenInFlight: (n) => when(() => inFlight >= n),
    whenIdle: () => when(() => inFlight === 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.alloc(0)));
  });
}

function route(path: string, req: IncomingMessage, body: Buffer, res: ServerResponse, hit: number): void {
  const parts = path.split('/').filter(Boolean);
  const send = (status: number, type: string, data: string | Buffer) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': type, 'x-served-by': 'counting-server' });
    res.end(data);
  };
  switch (parts[0]) {
    case 'ok':
      return send(200, 'text/plain; charset=utf-8', `ok ${parts[1] ?? ''}`);
    case 'json':
      return send(200, 'application/json', JSON.stringify({ hello: 'wörld' }));
    case 'bytes':
      return send(200, 'application/octet-stream', Buffer.from([0, 1, 2, 0xff, 0xfe]));
    case 'status':
      return send(Number(parts[1]), 'text/plain', `status ${parts[1]}`);
    case 'echo':
      return send(200, 'application/json', JSON.stringify({ method: req.method, headers: req.headers, body: body.toString('base64') }));
    case 'big':
      return send(200, 'text/plain', 'x'.repeat(Number(parts[1])));
    case 'flaky':
      return hit <= Number(parts[2]) ? send(503, 'text/plain', 'try later') : send(200, 'text/plain', 'recovered');
    default:
      return send(404, 'text/plain', 'no such route');
  }
}

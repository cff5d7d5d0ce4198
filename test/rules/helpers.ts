/**
 * Real receivers for rules' tests: an SMTP server (the smtp-server package) and an HTTP server that
 * checks the Offload-Signature header, both on 127.0.0.1, started by the test and closed after.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { verifyRequestSignature } from '../../src/index.js';

export interface ReceivedMail {
  rcptTo: string[];
  /** The message with its quoted-printable soft breaks and escapes undone. */
  text: string;
  subject: string;
}

export interface TestSmtp {
  port: number;
  received: ReceivedMail[];
  /** Resolves with the n-th message (1-based) once it has arrived. */
  nth(n: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/** A port nothing listens on (for now): taken from the system, then let go. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startSmtp(port = 0): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const waiting: { n: number; resolve(m: ReceivedMail): void }[] = [];
  const server = new SMTPServer({
    hideSTARTTLS: true,
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1_000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const text = raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
        const subject = /^Subject: (.*)$/m.exec(raw)?.[1] ?? '';
        received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), text, subject });
        for (const w of waiting.filter((w) => w.n <= received.length)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(received[w.n - 1]);
        }
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    nth: (n) => (received.length >= n ? Promise.resolve(received[n - 1]) : new Promise((resolve) => waiting.push({ n, resolve }))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReceivedHook {
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** Whether the signature checked out under the receiver's secret. */
  verified: boolean;
}

export interface TestReceiver {
  url: string;
  received: ReceivedHook[];
  /** The statuses to answer with, in turn (then 200). */
  answers: number[];
  nth(n: number): Promise<ReceivedHook>;
  close(): Promise<void>;
}

/** An HTTP receiver that verifies each request's Offload-Signature with `secret`, on the raw body, at the test clock's time. */
export async function startReceiver(secret: string, now: () => number): Promise<TestReceiver> {
  const received: ReceivedHook[] = [];
  const answers: number[] = [];
  const waiting: { n: number; resolve(h: ReceivedHook): void }[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let verified = true;
      try {
        verifyRequestSignature({ secrets: secret, header: req.headers['offload-signature'] as string | undefined, body: raw, now: now() });
      } catch {
        verified = false;
      }
      received.push({ body: JSON.parse(raw.toString('utf8')), headers: req.headers, verified });
      res.writeHead(verified ? (answers.shift() ?? 200) : 401).end();
      for (const w of waiting.filter((w) => w.n <= received.length)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(received[w.n - 1]);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/offload`,
    received,
    answers,
    nth: (n) => (received.length >= n ? Promise.resolve(received[n - 1]) : new Promise((resolve) => waiting.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

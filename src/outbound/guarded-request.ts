/**
 * The one way Offload sends an HTTP request out (pushes to endpoint groups, users' HTTP requests,
 * webhooks): to a public address unless the policy names it (address-policy.ts), checked on the
 * address each connection goes to after DNS (so a name that resolves to 127.0.0.1 is refused like
 * the literal), within one deadline for the whole exchange, and refusing a response body over the
 * size limit as soon as it crosses it.
 *
 * A request has a connection of its own (`agent: false`) unless the policy names a `pool`: then it
 * reuses a kept-alive connection that the pool opened under the same address rules (a pooled
 * socket checked under another policy is never used), and a connection that fails on its first
 * use after a rest is replaced once, as a server that closed it while idle leaves it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { type ClientRequest, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  InvalidOptionError,
  OffloadError,
  OutboundAddressDeniedError,
  OutboundConnectionFailedError,
  OutboundInvalidUrlError,
  OutboundRedirectRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from '../core/errors.js';
import { type AddressPolicy, type AddressPolicyOptions, addressPolicy } from './address-policy.js';
import type { OutboundPool } from './outbound-pool.js';

export interface OutboundRequest {
  method: string;
  /** An absolute http: or https: URL. */
  url: string;
  headers?: Record<string, string>;
  /** Sent as is, with its Content-Length; a string as UTF-8. */
  body?: string | Uint8Array;
  /** Sent as the Host header in place of the URL's host, as name-based virtual hosts need (TLS still names the URL's host). */
  hostHeader?: string;
}

export interface OutboundPolicy extends AddressPolicyOptions {
  /** The whole exchange, redirects included: connecting, sending, the response and its body. */
  timeoutMs: number;
  /** The largest response body taken, in bytes; the headers are bounded by Node's own limit (16 KiB). */
  maxResponseBytes: number;
  /** Follow 301/302/303/307/308 to the same scheme, host and port, at most MAX_REDIRECTS times (default false: the 3xx is the answer). */
  followRedirects?: boolean;
  /** Keep connections open between requests, in this pool (default: a connection per request). */
  pool?: OutboundPool;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The URL that gave this response: the request's, or the last redirect's. */
  url: string;
}

export const MAX_REDIRECTS = 5;

/**
 * Whether another attempt of the same request may get through: a connection that failed, or an
 * exchange that took too long, may; an address, URL or redirect the policy refused, an answer over
 * the size limit, or a method or header that is not valid HTTP will be refused the same way again.
 */
export function outboundFailureMayPass(err: unknown): boolean {
  return !(err instanceof OffloadError) || err.code === OutboundConnectionFailedError.code || err.code === OutboundTimeoutError.code;
}

/** Whether an HTTP status says "not now" rather than "not this request": 408, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Sends one request within the policy and reads its whole response. Rejects with
 * OutboundInvalidUrlError, OutboundAddressDeniedError, OutboundConnectionFailedError,
 * OutboundTimeoutError, OutboundResponseTooLargeError or OutboundRedirectRefusedError, or with
 * `signal.reason` once `signal` aborts. An HTTP error status (4xx, 5xx) is a response, not a rejection.
 */
export async function guardedRequest(req: OutboundRequest, policy: OutboundPolicy, signal?: AbortSignal): Promise<OutboundResponse> {
  if (!(typeof policy.timeoutMs === 'number' && policy.timeoutMs > 0 && Number.isFinite(policy.timeoutMs))) {
    throw new InvalidOptionError('timeoutMs', `${policy.timeoutMs} is not a positive number of milliseconds`);
  }
  if (!(Number.isSafeInteger(policy.maxResponseBytes) && policy.maxResponseBytes >= 0)) {
    throw new InvalidOptionError('maxResponseBytes', `${policy.maxResponseBytes} is not a whole number of bytes, 0 or more`);
  }
  const allows = addressPolicy(policy);
  let url = parseUrl(req.url);
  signal?.throwIfAborted();

  // One deadline and one abort for every hop: `stop` is what each exchange listens to.
  const stop = new AbortController();
  const progress: Progress = { url: url.href, phase: 'connecting' };
  const timer = setTimeout(() => stop.abort(new OutboundTimeoutError(progress.url, policy.timeoutMs, progress.phase)), policy.timeoutMs);
  const onAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let method = req.method.toUpperCase();
    let body = req.body === undefined ? undefined : toBuffer(req.body);
    let headers = requestHeaders(req, body);
    for (let redirects = 0; ; redirects++) {
      const answer = await exchange({ url, method, headers, body }, { allows, policy, stop: stop.signal, progress });
      if (answer.location === undefined) return { status: answer.status, headers: answer.headers, body: answer.body, url: url.href };
      const next = redirectTarget(url, answer.location);
      if (redirects >= MAX_REDIRECTS) {
        throw new OutboundRedirectRefusedError(url.href, next.href, `it would be redirect number ${redirects + 1}, over the limit of ${MAX_REDIRECTS}`);
      }
      // What browsers and fetch do: a 303, and a 301 or 302 after a POST, go on as a GET without the body.
      if ((answer.status === 303 && method !== 'HEAD') || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = withoutHeaders(headers, ['content-type', 'content-length', 'content-encoding']);
      }
      url = next;
      progress.url = url.href;
      progress.phase = 'connecting';
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

interface Progress {
  url: string;
  /** What the exchange is doing, for the timeout's message. */
  phase: string;
}

interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Pooled connections found closed by the server, replaced so far. */
  staleRetries?: number;
}

const MAX_STALE_RETRIES = 2;

interface HopContext {
  allows: AddressPolicy;
  policy: OutboundPolicy;
  stop: AbortSignal;
  progress: Progress;
}

/** A response read whole, or a redirect to follow (`location` set, the body left unread). */
interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  location?: string;
}

function exchange(hop: Hop, ctx: HopContext): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let request: ClientRequest | undefined;
    let settled = false;
    const finish = (err: unknown, answer?: Answer) => {
      if (settled) return;
      settled = true;
      ctx.stop.removeEventListener('abort', onStop);
      // The connection is this request's alone (or, pooled, goes back only after a whole answer):
      // closing it at once is what refuses a body too large, and leaves nothing behind after a
      // timeout, an abort or a redirect.
      if (answer === undefined || agent === false || answer.location !== undefined) request?.destroy();
      if (answer === undefined) reject(err);
      else resolve(answer);
    };
    const onStop = () => finish(ctx.stop.reason);
    if (ctx.stop.aborted) return onStop();
    ctx.stop.addEventListener('abort', onStop, { once: true });

    const host = hop.url.hostname.replace(/^\[(.*)\]$/, '$1');
    // A literal address is connected to without a lookup, so it is checked here.
    if (isIP(host) !== 0) {
      const denied = ctx.allows(host);
      if (denied) return finish(new OutboundAddressDeniedError(host, host, denied));
    }
    const send = hop.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const lookup = checkedLookup(ctx.allows);
    const agent = ctx.policy.pool?.agentFor(hop.url.protocol, ctx.policy, lookup) ?? false;
    try {
      request = send(hop.url, { method: hop.method, headers: hop.headers, agent, lookup });
    } catch (err) {
      // Node refuses a method or header that is not a valid HTTP token or value before sending anything.
      const message = (err as Error).message;
      const option = /^method/i.test(message) ? 'method' : 'headers';
      return finish(
        new InvalidOptionError(
          option,
          `${message}; nothing was sent. Give a method and headers that are valid HTTP tokens, and header values without line breaks`,
        ),
      );
    }
    let answered = false;
    request.on('error', (err) => {
      // A kept-alive connection the server closed while it rested fails at once: try a fresh one.
      const stale = agent !== false && request?.reusedSocket && !answered && (err as { code?: string }).code === 'ECONNRESET';
      if (stale && (hop.staleRetries ?? 0) < MAX_STALE_RETRIES && !settled) {
        settled = true;
        ctx.stop.removeEventListener('abort', onStop);
        return void exchange({ ...hop, staleRetries: (hop.staleRetries ?? 0) + 1 }, ctx).then(resolve, reject);
      }
      finish(connectionFailed(hop.url, host, err));
    });
    request.on('socket', (socket) => {
      const connected = () => {
        if (ctx.progress.phase === 'connecting') ctx.progress.phase = 'sending the request and waiting for the response';
      };
      if (socket.connecting) socket.once('connect', connected);
      else connected();
    });
    request.on('response', (res) => {
      answered = true;
      ctx.progress.phase = 'reading the response body';
      const status = res.statusCode ?? 0;
      const headers = responseHeaders(res.headers);
      const location = res.headers.location;
      if (ctx.policy.followRedirects && REDIRECT_STATUSES.has(status) && location) {
        return finish(undefined, { status, headers, body: Buffer.alloc(0), location });
      }
      const max = ctx.policy.maxResponseBytes;
      const declared = Number(res.headers['content-length']);
      // A HEAD, 204 or 304 response has no body whatever its Content-Length says.
      const bodiless = hop.method === 'HEAD' || status === 204 || status === 304;
      if (!bodiless && declared > max) return finish(new OutboundResponseTooLargeError(hop.url.href, max, declared));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) return finish(new OutboundResponseTooLargeError(hop.url.href, max));
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status, headers, body: Buffer.concat(chunks, size) }));
      res.on('error', (err) => finish(connectionFailed(hop.url, host, err)));
      res.on('close', () => {
        if (!res.complete) finish(new OutboundConnectionFailedError(hop.url.href, 'the connection closed before the response body was complete'));
      });
    });
    request.end(hop.body);
  });
}

/**
 * Resolves like dns.lookup, but answers only when every address the name resolves to is allowed:
 * the connection goes to one of them, so each must pass (a name that points at a public and a
 * private address is refused, not tried in turn).
 */
function checkedLookup(allows: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '');
      for (const { address } of addresses) {
        const denied = allows(address);
        if (denied) return callback(new OutboundAddressDeniedError(hostname, address, denied), '');
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OutboundInvalidUrlError(String(text), 'it is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundInvalidUrlError(text, `its scheme is ${url.protocol}, and outbound requests use http: or https: only`);
  }
  return url;
}

function redirectTarget(from: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new OutboundRedirectRefusedError(from.href, location, 'the Location header is not a URL');
  }
  if (next.origin !== from.origin) {
    throw new OutboundRedirectRefusedError(from.href, next.href, `it leaves ${from.origin}, and redirects are followed only to the same scheme, host and port`);
  }
  return next;
}

function requestHeaders(req: OutboundRequest, body: Buffer | undefined): Record<string, string> {
  // Content-Length is always the body's own; a stale one from the caller would cut it or hang the server.
  const headers = withoutHeaders(req.headers ?? {}, req.hostHeader === undefined ? ['content-length'] : ['content-length', 'host']);
  if (req.hostHeader !== undefined) headers.host = req.hostHeader;
  if (body !== undefined) headers['content-length'] = String(body.length);
  return headers;
}

function withoutHeaders(headers: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name.toLowerCase())));
}

function toBuffer(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

const PROBLEMS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused (nothing listens on that port)',
  ECONNRESET: 'the connection was reset before the response was complete',
  EPIPE: 'the connection was closed while the request was being sent',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection attempt timed out',
};

function connectionFailed(url: URL, host: string, err: unknown): unknown {
  if (err instanceof OffloadError) return err;
  // With several addresses to try (IPv6 and IPv4), Node reports an AggregateError of each attempt.
  const e = err as { code?: unknown; errors?: { code?: unknown }[]; message?: string };
  const code = typeof e.code === 'string' ? e.code : typeof e.errors?.[0]?.code === 'string' ? e.errors[0].code : undefined;
  const known = code === 'ENOTFOUND' ? `the host name ${host} does not resolve` : code === undefined ? undefined : PROBLEMS[code];
  const problem = known ? `${known} (${code})` : `${e.message?.trim() || 'the connection failed'}${code === undefined ? '' : ` (${code})`}`;
  return new OutboundConnectionFailedError(url.href, problem, err);
}

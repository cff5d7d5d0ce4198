/**
 * JSON over HTTP to an Offload server: one request, one answer or one error. The server's errors
 * come back as OffloadErrors with the server's code (`LEASE_LOST`, `FORBIDDEN`…); a server that
 * cannot be reached, times out or answers 5xx is a ServerUnreachableError.
 */
import { InvalidOptionError, isOffloadError, OffloadError, ServerUnreachableError } from '../core/errors.js';

export interface ApiClientOptions {
  /** The server, e.g. `http://10.0.0.5:7070` (what `offload start` prints). */
  url: string;
  /** An API token (`offload token create NAME --scope work`); optional on a loopback server. */
  token?: string;
  /** A request without an answer after this long is given up (default 30 000 ms; long-polls get their wait on top). */
  requestTimeoutMs?: number;
}

export interface RequestOptions {
  /** Aborts the request (the caller no longer wants it); the error is the signal's reason. */
  signal?: AbortSignal;
  /** Extra time this request may take, beyond the usual timeout (a long-poll's wait). */
  holdMs?: number;
}

export class ApiClient {
  readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.url = baseUrl(opts.url);
    this.headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs + (opts.holdMs ?? 0));
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url + path, { method, headers: this.headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
      text = await response.text();
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (timeout.aborted) throw new ServerUnreachableError(this.url, `no answer to ${method} ${path} within ${this.timeoutMs + (opts.holdMs ?? 0)} ms`, err);
      throw new ServerUnreachableError(this.url, describeNetworkError(err), err);
    }
    if (response.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
    throw errorOf(this.url, response.status, text);
  }
}

/** Whether an error means "the server is unreachable or busy for now: try again". */
export function isTransient(err: unknown): boolean {
  if (err instanceof ServerUnreachableError) return true;
  return isOffloadError(err) && (err.httpStatus >= 500 || err.code === 'RATE_LIMITED');
}

function baseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError('url', `${JSON.stringify(url)} is not a URL; give the server's address, e.g. http://127.0.0.1:7070`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InvalidOptionError('url', `must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** The server's `{"error":{code,message,details}}` as an OffloadError; anything else by its status. */
function errorOf(url: string, status: number, text: string): OffloadError {
  let body: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  const e = body?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new OffloadError(e.code, e.message, typeof e.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : undefined);
  }
  // A proxy's or a stopping server's own page: not an answer from the API.
  return new ServerUnreachableError(
    url,
    status >= 500 ? `it answered HTTP ${status}` : `it answered HTTP ${status} without an Offload error (is this the server's address?)`,
  );
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * What one request of `offload.http.batch()` is, as the caller gives it and as its job stores it,
 * and the checks that refuse a request Offload could not send before anything is stored.
 */
import { InvalidHttpRequestError } from '../core/errors.js';
import { type BodyEncoding, decodeBody, encodeRequestBody } from './bodies.js';

/** One request as the caller gives it. */
export interface HttpRequest {
  /** An absolute http: or https: URL. */
  url: string;
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as UTF-8; bytes as they are. */
  body?: string | Uint8Array;
}

/** A request as its job's input stores it: JSON only, the body as text or base64. */
export interface StoredRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  bodyEncoding?: BodyEncoding;
}

/** The most requests one call may send (each is two jobs, with its callback, in one batch). */
export const MAX_HTTP_REQUESTS = 10_000;

/** An HTTP token (RFC 9110): what a method and a header name may be made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** A header value may hold neither line breaks nor NUL: either would let a value write other headers. */
const HEADER_VALUE = /^[^\r\n\0]*$/;

/** Checks the list and every request in it; INVALID_HTTP_REQUEST names the first one wrong. */
export function checkRequests(requests: unknown): StoredRequest[] {
  if (!Array.isArray(requests)) throw new InvalidHttpRequestError(null, 'they must be an array of { url, method?, headers?, body? }');
  if (requests.length > MAX_HTTP_REQUESTS)
    throw new InvalidHttpRequestError(null, `there are ${requests.length}, and one call sends at most ${MAX_HTTP_REQUESTS} (split them into several calls)`);
  return requests.map((r, i) => checkRequest(r, i));
}

/** One request, checked and in the form its job stores. */
export function checkRequest(request: unknown, index: number): StoredRequest {
  const { r, stored, bad } = checkTarget(request, index);
  if (r.body !== undefined && r.body !== null) {
    if (typeof r.body !== 'string' && !(r.body instanceof Uint8Array)) bad(`its body is a ${typeof r.body}; give a string or bytes (a Buffer or Uint8Array)`);
    Object.assign(stored, encodeRequestBody(r.body as string | Uint8Array));
  }
  return stored;
}

/** A stored request read back from a job's input: checked again, since anything that may submit jobs may submit one. */
export function readStoredRequest(value: unknown, index: number): { request: StoredRequest; body: Buffer | undefined } {
  const { r, stored: request, bad } = checkTarget(value, index);
  if (r.body === undefined || r.body === null) return { request, body: undefined };
  if (typeof r.body !== 'string') return bad('its stored body must be a string');
  if (r.bodyEncoding !== 'utf8' && r.bodyEncoding !== 'base64') return bad('its bodyEncoding must be "utf8" or "base64"');
  return { request, body: decodeBody(r.body, r.bodyEncoding) };
}

/** The URL, method and headers, checked; `bad` throws INVALID_HTTP_REQUEST for this request. */
function checkTarget(request: unknown, index: number): { r: Record<string, unknown>; stored: StoredRequest; bad: (problem: string) => never } {
  const bad = (problem: string): never => {
    throw new InvalidHttpRequestError(index, problem);
  };
  if (typeof request !== 'object' || request === null || Array.isArray(request)) bad('it is not an object { url, method?, headers?, body? }');
  const r = request as Record<string, unknown>;
  const url = checkUrl(r.url, bad);
  const method = r.method === undefined ? 'GET' : r.method;
  if (typeof method !== 'string' || !TOKEN.test(method)) bad(`its method ${JSON.stringify(method)} is not an HTTP method (a word such as GET, POST or PUT)`);
  return { r, stored: { url, method: (method as string).toUpperCase(), headers: checkHeaders(r.headers, bad) }, bad };
}

function checkUrl(url: unknown, bad: (problem: string) => never): string {
  if (typeof url !== 'string' || url.length === 0) return bad('it has no url (an absolute http:// or https:// URL)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return bad(`its url ${JSON.stringify(url)} is not an absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') bad(`its url's scheme is ${parsed.protocol}; only http: and https: are sent`);
  return url;
}

function checkHeaders(headers: unknown, bad: (problem: string) => never): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (typeof headers !== 'object' || Array.isArray(headers)) return bad('its headers must be an object of name → string value');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) bad(`its header name ${JSON.stringify(name)} is not an HTTP token`);
    if (typeof value !== 'string') bad(`its header ${name} is a ${typeof value}; header values are strings`);
    if (!HEADER_VALUE.test(value)) bad(`its header ${name} holds a line break or NUL, which would let it write other headers`);
    out[name] = value;
  }
  return out;
}

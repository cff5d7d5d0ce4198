/**
 * One attempt of a pushed job, sent: the JSON body the endpoint receives, signed, with the
 * endpoint's credentials, through the outbound guard; and what its answer means.
 *
 * - 2xx but 202: the result (JSON when the response says so, else text; nothing for an empty body).
 * - 202: accepted; the endpoint reports progress and the result through the callback URL.
 * - 429 with Retry-After: tried again then, the attempt not counted. 408, 429, 5xx: the attempt
 *   failed and is retried per the task's policy. Other 4xx (and 3xx, not followed): failed for good.
 */
import type { Endpoint, EndpointCredentials, EndpointGroup } from '../core/endpoint-group.js';
import { PushEndpointFailedError, PushRejectedError } from '../core/errors.js';
import { guardedRequest, isRetryableStatus, type OutboundResponse } from '../outbound/guarded-request.js';
import type { OutboundPool } from '../outbound/outbound-pool.js';
import { signRequest } from '../signing/request-signature.js';

/** What the endpoint receives. */
export interface PushBody {
  id: string;
  task: string;
  input: unknown;
  attempt: number;
  maxAttempts: number;
  /** When Offload stops waiting for this attempt (ISO 8601). */
  deadline: string;
  /** Where an endpoint that answered 202 sends progress and the outcome, with `Authorization: Bearer TOKEN`. */
  callback: { url: string; token: string } | null;
}

export type PushAnswer =
  | { kind: 'result'; value: unknown }
  | { kind: 'accepted' }
  | { kind: 'retry-later'; delayMs: number; error: PushEndpointFailedError }
  | { kind: 'failed'; error: PushEndpointFailedError }
  | { kind: 'rejected'; error: PushRejectedError };

const BODY_IN_ERROR_CHARS = 500;
const MAX_RETRY_AFTER_MS = 3_600_000;

export async function sendPush(
  group: EndpointGroup,
  endpoint: Endpoint,
  body: PushBody,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  pool: OutboundPool,
): Promise<OutboundResponse> {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'offload-push',
    'offload-job-id': body.id,
    'offload-attempt': String(body.attempt),
    'offload-signature': signRequest({ secrets: group.secret, body: text }),
    ...credentialHeaders(endpoint.credentials),
  };
  return guardedRequest(
    { method: 'POST', url: endpoint.url, headers, body: text, hostHeader: endpoint.hostHeader ?? undefined },
    { timeoutMs, maxResponseBytes: group.maxResponseBytes, allowAddresses: group.allowAddresses, pool },
    signal,
  );
}

export function answerOf(endpoint: Endpoint, r: OutboundResponse, now: number): PushAnswer {
  if (r.status === 202) return { kind: 'accepted' };
  if (r.status >= 200 && r.status < 300) return { kind: 'result', value: resultOf(r) };
  const snippet = r.body.toString('utf8', 0, Math.min(r.body.length, BODY_IN_ERROR_CHARS * 4)).slice(0, BODY_IN_ERROR_CHARS);
  if (isRetryableStatus(r.status)) {
    const error = new PushEndpointFailedError(endpoint.id, r.status, snippet);
    const delayMs = r.status === 429 ? retryAfterMs(r.headers['retry-after'], now) : undefined;
    return delayMs === undefined ? { kind: 'failed', error } : { kind: 'retry-later', delayMs, error };
  }
  return { kind: 'rejected', error: new PushRejectedError(endpoint.id, r.status, snippet) };
}

function resultOf(r: OutboundResponse): unknown {
  if (r.body.length === 0) return null;
  const text = r.body.toString('utf8');
  const type = String(r.headers['content-type'] ?? '');
  if (/\bjson\b/i.test(type)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Retry-After as seconds or an HTTP date, bounded to an hour; undefined when absent or unreadable. */
function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined) return undefined;
  const seconds = Number(v);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS) : undefined;
}

function credentialHeaders(c: EndpointCredentials | null): Record<string, string> {
  if (c === null) return {};
  if ('bearer' in c) return { authorization: `Bearer ${c.bearer}` };
  if ('username' in c) return { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` };
  return Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]));
}

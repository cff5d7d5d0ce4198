/**
 * The built-in task `offload.http.request`: one request of `offload.http.batch()`, sent through
 * the outbound guard (addresses checked after DNS, one deadline, a response size limit, same-origin
 * redirects only). Its result is the response: status, headers and body (text or base64).
 *
 * - Any status below 500 is a response: the job succeeds with it (a 404 is an answer, not a failure).
 * - A 5xx, a refused or reset connection and a timeout fail the attempt: it is retried with the
 *   task's backoff while attempts are left, then the job fails with that error.
 * - What no retry can change (an address denied, a URL or redirect refused, a body over the limit)
 *   fails the job at once.
 */

import type { JobContext } from '../core/context.js';
import { HttpServerError } from '../core/errors.js';
import { permanent } from '../core/outcomes.js';
import { defineTask } from '../core/task.js';
import { guardedRequest, type OutboundResponse, outboundFailureMayPass } from '../outbound/guarded-request.js';
import { type BodyEncoding, encodeResponseBody } from './bodies.js';
import { type RequestPolicy, resolvePolicy } from './policy.js';
import { readStoredRequest, type StoredRequest } from './requests.js';

export const HTTP_REQUEST_TASK = 'offload.http.request';

/** The input of a request job: which request of its call it is, the request, and how to send it. */
export interface RequestJobInput {
  index: number;
  request: StoredRequest;
  policy: RequestPolicy;
}

/** A response as a request job's result holds it. */
export interface HttpResponse {
  status: number;
  /** Lower-case names; a header sent more than once (set-cookie) is an array. */
  headers: Record<string, string | string[]>;
  /** Text, or base64 (see bodyEncoding): `Buffer.from(body, bodyEncoding)` gives the bytes. */
  body: string;
  bodyEncoding: BodyEncoding;
  /** The URL that answered: the request's, or the last redirect's. */
  url: string;
}

export const httpRequestTask = defineTask(HTTP_REQUEST_TASK, sendRequest, {
  maxAttempts: 3,
  description: 'One request of offload.http.batch(), sent through the outbound guard; its result is the response',
});

async function sendRequest(input: RequestJobInput, ctx: JobContext): Promise<HttpResponse> {
  const { request, body, policy } = readInput(input);
  let answer: OutboundResponse;
  try {
    answer = await guardedRequest({ method: request.method, url: request.url, headers: request.headers, body }, policy, ctx.signal);
  } catch (err) {
    // An abort (shutdown, cancel, lost lease) is the worker's to handle, as for any handler.
    if (ctx.signal.aborted || outboundFailureMayPass(err)) throw err;
    throw permanent(err);
  }
  if (answer.status >= 500) throw new HttpServerError(request.method, answer.url, answer.status, ctx.job.attempt, ctx.job.maxAttempts);
  return responseOf(answer);
}

/** The job's input, checked again: anything that may submit jobs may submit one of this task. */
function readInput(input: RequestJobInput): { request: StoredRequest; body: Buffer | undefined; policy: RequestPolicy } {
  try {
    const index = Number.isSafeInteger(input?.index) ? input.index : 0;
    return { ...readStoredRequest(input?.request, index), policy: resolvePolicy(input?.policy ?? {}) };
  } catch (err) {
    throw permanent(err);
  }
}

function responseOf(answer: OutboundResponse): HttpResponse {
  const type = answer.headers['content-type'];
  const encoded = encodeResponseBody(answer.body, Array.isArray(type) ? type[0] : type);
  return { status: answer.status, headers: answer.headers, ...encoded, url: answer.url };
}

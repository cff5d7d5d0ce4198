/**
 * The onEach callback of `offload.http.batch()`: a job of the caller's task per request, stored
 * with the request in the same transaction and waiting for it (`after`, policy `run`), so it runs
 * once the request has its response or has failed for good, and exists exactly once whatever
 * restarts happen in between. Its input says which request it is for; the response is the
 * result of the request job it waited for, read from `ctx.dependencies`. `onHttpResponse` puts
 * the two together for the handler.
 */
import type { JobContext } from '../core/context.js';
import type { Handler } from '../core/task.js';
import type { HttpResponse } from './request-task.js';

/** The name a callback job knows its request job by, in `ctx.dependencies`. */
export const REQUEST_DEPENDENCY = 'request';

/** The input of an onEach job. */
export interface HttpCallbackInput<I = unknown> {
  /** The request's position in the list given to offload.http.batch(). */
  index: number;
  request: { method: string; url: string };
  /** The onEach input the caller gave (null without one). */
  input: I;
}

/** What an onEach handler wrapped in `onHttpResponse` receives: one request and how it went. */
export interface HttpEach<I = unknown> {
  index: number;
  request: { method: string; url: string };
  /** The response (any status below 500), or null when the request failed. */
  response: HttpResponse | null;
  /** Why there is no response: the request job's last error (`HTTP_SERVER_ERROR`, `OUTBOUND_TIMEOUT`…), or null. */
  error: { code: string; message: string } | null;
  /** The batch of the call (requests, callbacks, and the onFinish job when they are all done). */
  batchId: string | null;
  input: I;
}

/**
 * Wraps an onEach handler: it is called with the request, its response or error, and the onEach
 * input, as one object.
 *
 * @example
 * const saveTitle = defineTask('pages.title', onHttpResponse(async (each) => {
 *   if (!each.response) return { failed: each.error?.code };
 *   return { status: each.response.status, title: /<title>(.*?)<\/title>/.exec(each.response.body)?.[1] };
 * }));
 */
export function onHttpResponse<I = unknown, O = unknown>(handler: (each: HttpEach<I>, ctx: JobContext) => O | Promise<O>): Handler<HttpCallbackInput<I>, O> {
  return (input, ctx) => handler(httpEachOf(input, ctx), ctx);
}

/** The request, response and error of an onEach job, from its input and the request job it waited for. */
export function httpEachOf<I>(input: HttpCallbackInput<I>, ctx: JobContext): HttpEach<I> {
  const request = ctx.dependencies.get(REQUEST_DEPENDENCY);
  const succeeded = request?.state === 'succeeded';
  let error: HttpEach['error'] = null;
  if (!succeeded) {
    error = request?.error
      ? { code: request.error.code ?? 'HANDLER_ERROR', message: request.error.message }
      : { code: 'JOB_CANCELLED', message: `the request job ${request?.id ?? '(unknown)'} was ${request?.state ?? 'not found'} before it was sent` };
  }
  return {
    index: input.index,
    request: input.request,
    response: succeeded ? (request.result as HttpResponse) : null,
    error,
    batchId: ctx.job.batchId,
    input: input.input,
  };
}

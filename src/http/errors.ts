/**
 * Every failure leaves the API as `{"error":{"code","message","details?"}}` with the
 * OffloadError's status. Fastify's own errors (body too large, wrong media type…) are mapped
 * onto Offload codes here, so clients see one vocabulary.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  InternalError,
  InvalidRequestError,
  isOffloadError,
  MalformedJsonError,
  type OffloadError,
  PayloadTooLargeError,
  RateLimitedError,
  UnsupportedMediaTypeError,
} from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export function toOffloadError(err: unknown, bodyLimit: number, contentType: string | undefined): OffloadError | null {
  if (isOffloadError(err)) return err;
  const code = (err as FastifyError | undefined)?.code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError(contentType ?? '');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InvalidRequestError('Content-Length', "does not match the body's length");
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new MalformedJsonError('syntax error');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new InvalidRequestError('URL', 'is malformed');
    default:
      break;
  }
  const status = (err as FastifyError | undefined)?.statusCode;
  // Errors that node's HTTP parser or a stream raises for a broken request.
  if (typeof status === 'number' && status >= 400 && status < 500) return new InvalidRequestError('request', (err as Error).message || 'is malformed');
  return null;
}

export function sendError(reply: FastifyReply, err: OffloadError): FastifyReply {
  if (err instanceof RateLimitedError) void reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(err.httpStatus).type('application/json; charset=utf-8').send({ error: err.toJSON() });
}

export function errorHandler(logger: Logger, bodyLimit: number) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = toOffloadError(err, bodyLimit, request.headers['content-type']);
    if (known instanceof PayloadTooLargeError) return drained(request).then(() => sendError(reply, known));
    if (known) {
      if (known.httpStatus >= 500) logger.warn({ code: known.code, method: request.method, url: routeOf(request) }, known.message);
      return sendError(reply, known);
    }
    logger.error({ err, method: request.method, url: routeOf(request) }, 'unexpected error in the HTTP API');
    return sendError(reply, new InternalError());
  };
}

/** Past this many bytes, a body too large is not read to its end: the connection is closed on it. */
const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

/**
 * Reads and drops the rest of a body refused as too large, so the client reads the 413: answered
 * while it is still sending, the connection would be closed with its bytes unread, and a client
 * still writing sees a reset instead (Java's HttpClient reports an I/O error). A body larger than
 * MAX_DRAINED_BYTES is not worth reading; that client may see the reset.
 */
function drained(request: FastifyRequest): Promise<void> {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return Promise.resolve();
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (declared > MAX_DRAINED_BYTES) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const done = () => {
      raw.off('data', count);
      resolve();
    };
    const count = (chunk: Buffer) => {
      read += chunk.length;
      if (read > MAX_DRAINED_BYTES) done();
    };
    raw.on('data', count);
    raw.once('end', done);
    raw.once('error', done);
    raw.once('close', done);
    raw.resume();
  });
}

/** The route pattern, not the URL: ids and query strings stay out of logs. */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? 'unknown route';
}

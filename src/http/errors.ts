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
    if (known) {
      if (known.httpStatus >= 500) logger.warn({ code: known.code, method: request.method, url: routeOf(request) }, known.message);
      return sendError(reply, known);
    }
    logger.error({ err, method: request.method, url: routeOf(request) }, 'unexpected error in the HTTP API');
    return sendError(reply, new InternalError());
  };
}

/** The route pattern, not the URL: ids and query strings stay out of logs. */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? 'unknown route';
}

/**
 * Bodies as jobs store them: JSON holds text, not bytes. A body is kept as text when it is text
 * (UTF-8, and a textual content type or none), so a JSON or HTML answer reads as itself in the
 * job's result; anything else is base64. Either way `Buffer.from(body, bodyEncoding)` gives the
 * bytes back, since both names are Buffer encodings.
 */

export type BodyEncoding = 'utf8' | 'base64';

export interface EncodedBody {
  body: string;
  bodyEncoding: BodyEncoding;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Content types whose bodies are text whatever their subtype says. */
const TEXTUAL = /^(text\/|application\/(json|xml|javascript|ecmascript|x-www-form-urlencoded|graphql)\b|[^;]*\+(json|xml)\b)/i;

/** A request body: a string stays text; bytes are base64 (they were given as bytes for a reason). */
export function encodeRequestBody(body: string | Uint8Array): EncodedBody {
  if (typeof body === 'string') return { body, bodyEncoding: 'utf8' };
  return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64'), bodyEncoding: 'base64' };
}

/** A response body: text when the content type is textual (or absent) and the bytes are UTF-8 without NUL; base64 otherwise. */
export function encodeResponseBody(bytes: Buffer, contentType: string | undefined): EncodedBody {
  if (isTextual(contentType)) {
    const text = decodeUtf8(bytes);
    // NUL is valid UTF-8, but PostgreSQL's jsonb cannot hold it: such a body is not text to a store.
    if (text !== undefined && !text.includes('\u0000')) return { body: text, bodyEncoding: 'utf8' };
  }
  return { body: bytes.toString('base64'), bodyEncoding: 'base64' };
}

export function decodeBody(body: string, encoding: BodyEncoding): Buffer {
  return Buffer.from(body, encoding);
}

function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === '') return true;
  if (!TEXTUAL.test(contentType.trim())) return false;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii';
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

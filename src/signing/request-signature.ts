/**
 * Signed requests: every request Offload sends out (HTTP push, webhooks) carries
 *
 *     Offload-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]
 *
 * so a receiver can refuse what Offload did not send (no signature matches) and what is replayed
 * (the signed timestamp is too old). One `v1` per secret the sender holds: during a rotation it
 * signs with the old and the new one, and a receiver holding either accepts.
 * docs/reference/signatures.md describes the format; clients/python and clients/php verify it too.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError, SignatureExpiredError, SignatureInvalidError, SignatureMissingError } from '../core/errors.js';

export const SIGNATURE_HEADER = 'Offload-Signature';

/** How far a signed timestamp may be from the receiver's clock, either way: the replay window. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

export interface SignRequestParams {
  /** One `v1` signature per secret, in this order. */
  secrets: string | string[];
  /** The exact bytes that go on the wire; a string is signed as UTF-8. */
  body: string | Uint8Array;
  /** Milliseconds since the epoch (default: now). */
  now?: number;
}

export interface VerifyRequestSignatureParams {
  /** The receiver's secrets: the request is accepted when any signature matches any of them. */
  secrets: string | string[];
  /** The Offload-Signature header as received. */
  header: string | undefined | null;
  /** The raw body, before any parsing: a re-serialised JSON body would not match. */
  body: string | Uint8Array;
  /** Milliseconds since the epoch (default: now). */
  now?: number;
  toleranceSeconds?: number;
}

/** The value of the Offload-Signature header for a request with this body. */
export function signRequest(p: SignRequestParams): string {
  const timestamp = String(Math.floor((p.now ?? Date.now()) / 1000));
  const signatures = secretList(p.secrets).map((secret) => `v1=${hmacHex(secret, timestamp, p.body)}`);
  return [`t=${timestamp}`, ...signatures].join(',');
}

/**
 * Checks a received request; returns the signed timestamp (unix seconds) or throws
 * SignatureMissingError, SignatureInvalidError or SignatureExpiredError.
 */
export function verifyRequestSignature(p: VerifyRequestSignatureParams): { timestamp: number } {
  const secrets = secretList(p.secrets);
  if (p.header == null || p.header.trim() === '') throw new SignatureMissingError(SIGNATURE_HEADER);
  const { timestamp, signatures } = parseHeader(p.header);
  const expected = secrets.map((secret) => Buffer.from(hmacHex(secret, timestamp, p.body)));
  // Every pair is compared, so the time taken says nothing about which secret or entry came close.
  let matched = false;
  for (const signature of signatures) for (const e of expected) matched = timingSafeEqual(signature, e) || matched;
  if (!matched) throw new SignatureInvalidError('no v1 signature matches the body and timestamp under any of the secrets');
  // The timestamp is trusted only once it is known to be signed; checking it first would report
  // a forged request as merely "expired".
  const seconds = Number(timestamp);
  const nowSeconds = Math.floor((p.now ?? Date.now()) / 1000);
  const tolerance = p.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - seconds) > tolerance) throw new SignatureExpiredError(seconds, nowSeconds, tolerance);
  return { timestamp: seconds };
}

function secretList(secrets: string | string[]): string[] {
  const list = Array.isArray(secrets) ? secrets : [secrets];
  // Without a secret nothing can be signed or checked: that is a configuration bug, not a bad request.
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new InvalidOptionError('secrets', 'give at least one signing secret, each a non-empty string');
  }
  return list;
}

/** The header's timestamp exactly as sent (it is what was signed) and its well-formed v1 signatures, as hex bytes. */
function parseHeader(header: string): { timestamp: string; signatures: Buffer[] } {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new SignatureInvalidError(`"${part.trim()}" is not key=value`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined) throw new SignatureInvalidError('t is given twice');
      if (!/^\d{1,15}$/.test(value)) throw new SignatureInvalidError(`t=${value} is not a unix time in seconds`);
      timestamp = value;
    } else if (key === 'v1') {
      // A v1 that is not 64 hex digits cannot match; it is skipped rather than refused so that
      // one garbled entry does not hide a good one beside it.
      if (/^[0-9a-fA-F]{64}$/.test(value)) signatures.push(Buffer.from(value.toLowerCase()));
    }
    // Other keys are schemes this version does not know (a future v2): ignored, as receivers must.
  }
  if (timestamp === undefined) throw new SignatureInvalidError('the header has no t=<unix seconds>');
  if (signatures.length === 0) throw new SignatureInvalidError('the header has no v1=<64 hex digits> signature');
  return { timestamp, signatures };
}

function hmacHex(secret: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

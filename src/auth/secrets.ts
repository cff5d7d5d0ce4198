import { createHash, randomBytes } from 'node:crypto';

/** Every secret starts with this, so a leaked one is easy to recognise (and to grep for). */
export const SECRET_PREFIX = 'ofl_';

/** A new API secret: `ofl_` and 32 random bytes in base64url (256 bits, nothing to guess). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * What the store keeps instead of the secret. A plain SHA-256 is enough: the secret has 256
 * random bits, so there is nothing for a slow hash to protect against.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether a string can be a secret we issued (checked before hashing, to refuse junk cheaply). */
export function looksLikeSecret(text: string): boolean {
  return /^ofl_[A-Za-z0-9_-]{43}$/.test(text);
}

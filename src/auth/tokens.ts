/**
 * API tokens: made by `offload token create`, checked by the HTTP API. The secret is shown once,
 * when it is made; the store keeps only its SHA-256 hash.
 */
import type { Clock } from '../core/clock.js';
import { InvalidOptionError, TokenNotFoundError } from '../core/errors.js';
import type { Store, TokenRecord, TokenScope } from '../store/store.js';
import { isTaskPattern, isTokenScope, type Principal, TOKEN_SCOPES } from './permissions.js';
import { generateSecret, hashSecret, looksLikeSecret } from './secrets.js';

const TOKEN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,63}$/;

export interface NewToken {
  name: string;
  scope: TokenScope;
  /** Task patterns (`*` is a wildcard); empty or absent: every task. */
  tasks?: string[];
}

/** Makes a token and returns its record and its secret (the only time the secret exists). */
export async function createToken(store: Store, clock: Clock, t: NewToken): Promise<{ token: TokenRecord; secret: string }> {
  if (typeof t.name !== 'string' || !TOKEN_NAME.test(t.name)) {
    throw new InvalidOptionError('name', 'a token name is 1–64 letters, digits and _ . : @ -, not starting with punctuation');
  }
  if (!isTokenScope(t.scope)) throw new InvalidOptionError('scope', `must be one of ${TOKEN_SCOPES.join(', ')}, got ${JSON.stringify(t.scope)}`);
  const tasks = [...new Set(t.tasks ?? [])];
  for (const p of tasks) {
    if (!isTaskPattern(p)) throw new InvalidOptionError('tasks', `${JSON.stringify(p)} is not a task pattern (task-name characters and *)`);
  }
  const secret = generateSecret();
  const token = await store.createToken({ name: t.name, scope: t.scope, tasks, hash: hashSecret(secret), now: clock.now() });
  return { token, secret };
}

export async function revokeToken(store: Store, clock: Clock, name: string): Promise<void> {
  if (!(await store.revokeToken({ name, now: clock.now() }))) throw new TokenNotFoundError(name);
}

/** The principal a secret stands for, or null when it is unknown or revoked. */
export async function authenticate(store: Store, secret: string): Promise<Principal | null> {
  if (!looksLikeSecret(secret)) return null;
  return authenticateHash(store, hashSecret(secret));
}

/**
 * The principal a secret's hash stands for (a dashboard session keeps the hash, not the secret),
 * looked up each time so a revoked token stops working at once.
 */
export async function authenticateHash(store: Store, hash: string): Promise<Principal | null> {
  const record = await store.findToken({ hash });
  if (!record || record.revokedAt !== null) return null;
  return { name: record.name, scope: record.scope, tasks: record.tasks, key: `token:${record.id}` };
}

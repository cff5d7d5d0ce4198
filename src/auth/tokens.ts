/**
 * API tokens: made, listed and revoked by `offload token …` and by the admin routes /v1/tokens (both
 * through these functions), checked by the HTTP API. The secret is shown once,
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

/** A token as it is shown (CLI --json, GET /v1/tokens): never its hash. */
export interface TokenInfo {
  name: string;
  scope: TokenScope;
  tasks: string[];
  createdAt: string;
  revokedAt: string | null;
}

export function tokenInfo(t: TokenRecord): TokenInfo {
  return {
    name: t.name,
    scope: t.scope,
    tasks: t.tasks,
    createdAt: new Date(t.createdAt).toISOString(),
    revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
  };
}

/** Tokens by name, active ones only unless `includeRevoked`. */
export async function listTokens(store: Store, opts: { includeRevoked?: boolean } = {}): Promise<TokenInfo[]> {
  return (await store.listTokens({ includeRevoked: opts.includeRevoked === true })).map(tokenInfo);
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

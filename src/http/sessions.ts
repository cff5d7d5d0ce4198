/**
 * Dashboard sessions: a browser that logged in with a token holds a cookie with a random session
 * id. The store keeps, per session, the id's hash and the token's hash (never a secret), so every
 * server of the store knows the session and a restart keeps it; a stolen copy of the store does
 * not hold a cookie's value. The CSRF value is derived from the id, so only the browser that holds
 * the cookie (and was told the value at login) can send it. The token itself is looked up on every
 * request (access.ts), so revoking it ends its sessions at once.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';

export const SESSION_COOKIE = 'offload_session';
export const CSRF_HEADER = 'offload-csrf';

export interface DashboardSession {
  readonly id: string;
  readonly tokenHash: string;
  /** Sent back by the dashboard in the Offload-CSRF header of every request that changes something. */
  readonly csrf: string;
}

export interface DashboardSessionOptions {
  /** A session unused this long ends (default 8 hours). */
  idleMs?: number;
  /**
   * A session's use is written at most this often (default a minute, or a tenth of `idleMs` if
   * less): a page's every request is not a write. Its idle time counts from the last use written.
   */
  touchEveryMs?: number;
}

export class DashboardSessions {
  private readonly idleMs: number;
  private readonly touchEveryMs: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    opts: DashboardSessionOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 8 * 3600_000;
    this.touchEveryMs = opts.touchEveryMs ?? Math.min(60_000, this.idleMs / 10);
  }

  async create(tokenHash: string): Promise<DashboardSession> {
    const id = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.store.createDashboardSession({ session: { idHash: hashOf(id), tokenHash, createdAt: now, lastUsedAt: now }, idleBefore: now - this.idleMs });
    return { id, tokenHash, csrf: csrfOf(id) };
  }

  /** The live session of this id (its idle time starts again), or undefined. */
  async use(id: string): Promise<DashboardSession | undefined> {
    const idHash = hashOf(id);
    const record = await this.store.getDashboardSession({ idHash });
    if (!record) return undefined;
    const now = this.clock.now();
    if (now - record.lastUsedAt > this.idleMs) {
      await this.store.deleteDashboardSessions({ idHash });
      return undefined;
    }
    if (now - record.lastUsedAt >= this.touchEveryMs) await this.store.touchDashboardSession({ idHash, now });
    return { id, tokenHash: record.tokenHash, csrf: csrfOf(id) };
  }

  async delete(id: string): Promise<void> {
    await this.store.deleteDashboardSessions({ idHash: hashOf(id) });
  }

  /** Forgets the sessions of a token (whose token was found revoked). */
  async deleteToken(tokenHash: string): Promise<void> {
    await this.store.deleteDashboardSessions({ tokenHash });
  }
}

function hashOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The session's CSRF value: a MAC keyed by its id, which only the cookie's holder knows. */
function csrfOf(id: string): string {
  return createHmac('sha256', id).update('offload-csrf').digest('base64url');
}

/** The session id in a Cookie header, if any. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

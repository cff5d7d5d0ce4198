/**
 * Dashboard sessions: a browser that logged in with a token holds a cookie with a random session
 * id; the server keeps, per id, the token's hash (never the secret) and a CSRF value. The token
 * itself is looked up on every request (access.ts), so revoking it ends its sessions at once.
 * Sessions live in this process's memory: a restart logs browsers out, which is the safe side.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';

export const SESSION_COOKIE = 'offload_session';
export const CSRF_HEADER = 'offload-csrf';

export interface DashboardSession {
  readonly id: string;
  readonly tokenHash: string;
  /** Sent back by the dashboard in the Offload-CSRF header of every request that changes something. */
  readonly csrf: string;
  lastUsedAt: number;
}

export class DashboardSessions {
  private readonly byId = new Map<string, DashboardSession>();

  constructor(
    private readonly clock: Clock,
    /** A session unused this long is forgotten (default 8 hours). */
    private readonly idleMs = 8 * 3600_000,
  ) {}

  create(tokenHash: string): DashboardSession {
    this.sweep();
    const session = { id: randomBytes(32).toString('base64url'), tokenHash, csrf: randomBytes(24).toString('base64url'), lastUsedAt: this.clock.now() };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session of this id (its idle time starts again), or undefined. */
  use(id: string): DashboardSession | undefined {
    const session = this.byId.get(id);
    if (!session) return undefined;
    const now = this.clock.now();
    if (now - session.lastUsedAt > this.idleMs) {
      this.byId.delete(id);
      return undefined;
    }
    session.lastUsedAt = now;
    return session;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** Forgets the sessions of a token (whose token was found revoked). */
  deleteToken(tokenHash: string): void {
    for (const [id, s] of this.byId) if (s.tokenHash === tokenHash) this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, s] of this.byId) if (now - s.lastUsedAt > this.idleMs) this.byId.delete(id);
  }
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

import type { PgSession } from './session.js';

/**
 * Cluster-wide duties (lease reaping, pruning…) taken by one process at a time through
 * session-level advisory locks on the dedicated session connection. A lock lives as long as that
 * connection: if the process dies or is cut off, PostgreSQL drops the session and the lock with
 * it, and the next process that asks takes the duty over.
 */
export class DutyLocks {
  private readonly held = new Set<string>();

  constructor(
    private readonly session: PgSession,
    private readonly schema: string,
  ) {}

  /** Takes or keeps the lock of `duty`; true while this process holds it. */
  async hold(duty: string): Promise<boolean> {
    if (this.held.has(duty)) {
      // Still ours only if the session is still the one that took it: a round trip proves it.
      await this.session.use((c) => c.query('SELECT 1'));
      return this.held.has(duty);
    }
    const { rows } = await this.session.use((c) =>
      c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok', [`offload-duty:${this.schema}`, duty]),
    );
    if (rows[0].ok) this.held.add(duty);
    return rows[0].ok;
  }

  /** Session hook: the connection, and every lock on it, is gone. */
  onLost(): void {
    this.held.clear();
  }
}

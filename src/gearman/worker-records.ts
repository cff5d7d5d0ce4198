/**
 * Every Gearman connection that declared abilities is a worker of kind `gearman` in the store,
 * next to Offload's own workers: listed with its functions, kept fresh while it lives, removed
 * when it leaves.
 */
import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/store.js';
import type { GearmanConnection } from './connection.js';

export class WorkerRecords {
  private readonly prefix = `gearman:${hostname()}:${process.pid}:`;
  private readonly since = new Map<GearmanConnection, number>();
  private readonly dirty = new Set<GearmanConnection>();
  private scheduled = false;

  constructor(private readonly store: Store, private readonly clock: Clock, private readonly logger: Logger) {}

  /** The worker id jobs record while this connection holds them. */
  idOf(conn: GearmanConnection): string {
    return `${this.prefix}${conn.id}`;
  }

  /** Whether a worker record is one of this server's connections (they are counted live instead). */
  isOurs(workerId: string): boolean {
    return workerId.startsWith(this.prefix);
  }

  /** Abilities or client id changed: write the record (once per turn of the event loop). */
  changed(conn: GearmanConnection): void {
    this.dirty.add(conn);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const conns = [...this.dirty];
      this.dirty.clear();
      void Promise.all(conns.map((c) => this.save(c)));
    });
  }

  /** Heartbeat: every worker connection is still alive. */
  async refresh(conns: Iterable<GearmanConnection>): Promise<void> {
    await Promise.all([...conns].filter((c) => this.since.has(c)).map((c) => this.save(c)));
  }

  async remove(conn: GearmanConnection): Promise<void> {
    this.dirty.delete(conn);
    if (!this.since.delete(conn)) return;
    await this.store.removeWorker({ id: this.idOf(conn) }).catch((err) => this.logger.warn({ err }, 'gearman: could not remove a worker record'));
  }

  private async save(conn: GearmanConnection): Promise<void> {
    if (conn.closed) return;
    if (conn.abilities.size === 0) return this.remove(conn);
    const now = this.clock.now();
    if (!this.since.has(conn)) this.since.set(conn, now);
    const worker = {
      id: this.idOf(conn), kind: 'gearman', host: conn.clientId === '-' ? conn.peer : `${conn.peer} (${conn.clientId})`, pid: null,
      tasks: [...conn.abilities.keys()], concurrency: 1, startedAt: this.since.get(conn)!, lastSeenAt: now,
    };
    await this.store.upsertWorker({ worker }).catch((err) => this.logger.warn({ err }, 'gearman: could not save a worker record'));
  }
}

/**
 * Gearman workers in the store's worker list, next to Offload's own workers. Every connection
 * that declared abilities is a worker of kind `gearman` (its peer address and client id as its
 * host), kept fresh while it lives and removed when it leaves. The Gearman port itself is one
 * worker too: it claims the jobs and renews their leases on its connections' behalf, so jobs
 * held by Gearman workers name it as their worker. A connection's record asked to stop (over HTTP)
 * is told at its next refresh (the port's heartbeat): it is then handed no more jobs.
 */
import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store, WorkerRecord } from '../store/store.js';
import type { GearmanConnection } from './connection.js';

export class WorkerRecords {
  /** The port's worker id; its connections' ids extend it. */
  readonly portId = `gearman:${hostname()}:${process.pid}`;
  private readonly startedAt: number;
  private readonly since = new Map<GearmanConnection, number>();
  private readonly dirty = new Set<GearmanConnection>();
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** A connection's record says an operator asked it to stop (learnt when its record is refreshed). */
    private readonly onStopRequested: (conn: GearmanConnection) => void = () => {},
  ) {
    this.startedAt = clock.now();
  }

  idOf(conn: GearmanConnection): string {
    return `${this.portId}:${conn.id}`;
  }

  /** Whether a worker record is this port's or one of its connections' (they are counted live instead). */
  isOurs(workerId: string): boolean {
    return workerId === this.portId || workerId.startsWith(`${this.portId}:`);
  }

  /** Abilities or client id changed: write the records (once per turn of the event loop). */
  changed(conn: GearmanConnection): void {
    this.dirty.add(conn);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const conns = [...this.dirty];
      this.dirty.clear();
      void Promise.all(conns.map((c) => this.save(c))).then(() => this.savePort());
    });
  }

  /** Heartbeat: the port and every worker connection are still alive. */
  async refresh(): Promise<void> {
    await Promise.all([...this.since.keys()].map((c) => this.save(c)));
    await this.savePort();
  }

  async remove(conn: GearmanConnection): Promise<void> {
    this.dirty.delete(conn);
    if (!this.since.delete(conn)) return;
    await this.write(() => this.store.removeWorker({ id: this.idOf(conn) }));
    await this.savePort();
  }

  /** The server stops. */
  async removeAll(): Promise<void> {
    const conns = [...this.since.keys()];
    this.since.clear();
    await Promise.all([
      ...conns.map((c) => this.write(() => this.store.removeWorker({ id: this.idOf(c) }))),
      this.write(() => this.store.removeWorker({ id: this.portId })),
    ]);
  }

  private async save(conn: GearmanConnection): Promise<void> {
    if (conn.closed) return;
    if (conn.worker.abilities.size === 0) return this.remove(conn);
    const now = this.clock.now();
    if (!this.since.has(conn)) this.since.set(conn, now);
    const saved = await this.upsert({
      id: this.idOf(conn),
      kind: 'gearman',
      host: conn.clientId === '-' ? conn.peer : `${conn.peer} (${conn.clientId})`,
      pid: null,
      tasks: [...conn.worker.abilities.keys()],
      concurrency: 1,
      startedAt: this.since.get(conn)!,
      lastSeenAt: now,
    });
    if (saved?.stopRequested && !conn.worker.stopRequested) this.onStopRequested(conn);
  }

  /** The port: every function its connections can do; as many jobs at once as it has worker connections. */
  private async savePort(): Promise<void> {
    const conns = [...this.since.keys()];
    if (conns.length === 0) return this.write(() => this.store.removeWorker({ id: this.portId }));
    const tasks = [...new Set(conns.flatMap((c) => [...c.worker.abilities.keys()]))].sort();
    await this.upsert({
      id: this.portId,
      kind: 'gearman',
      host: hostname(),
      pid: process.pid,
      tasks,
      concurrency: conns.length,
      startedAt: this.startedAt,
      lastSeenAt: this.clock.now(),
    });
  }

  private upsert(worker: WorkerRecord): Promise<{ stopRequested: boolean } | undefined> {
    return this.write(() => this.store.upsertWorker({ worker }));
  }

  private async write<T>(fn: () => Promise<T>): Promise<T | undefined> {
    return fn().catch((err) => {
      this.logger.warn({ err }, 'gearman: could not update the worker list');
      return undefined;
    });
  }
}

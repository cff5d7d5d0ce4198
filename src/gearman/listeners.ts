/**
 * Foreground clients waiting on jobs. Progress packets (WORK_STATUS/DATA/WARNING) from a worker
 * on this server are forwarded as they come; the final packet is sent when the job finishes,
 * whoever finished it: a finish in this process is seen on the event bus, outcome included (no
 * query on the hot path); a finish by another process through the store's change feed. A client
 * that disconnects leaves its job running: jobs are durable.
 */
import { GearmanWorkFailError, isOffloadError } from '../core/errors.js';
import type { JobError, Payload } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import type { Offload } from '../offload.js';
import { type GearmanConnection, response } from './connection.js';
import { PacketType } from './protocol.js';

/** How a job ended, as far as its clients are concerned. */
export type Outcome = { state: 'succeeded'; result: Payload | null } | { state: 'failed'; error: JobError | null } | { state: 'cancelled' };

interface Waited {
  handle: string;
  clients: Set<GearmanConnection>;
  /** Created here by a foreground submit and never submitted in the background: may be cancelled when its clients leave. */
  foregroundOnly: boolean;
}

export class Listeners {
  private readonly byJob = new Map<string, Waited>();
  private readonly unsubscribe: (() => void)[] = [];
  private unwatch: (() => void) | undefined;
  private checking = false;
  private recheck = false;
  private started = false;
  /** Whether a job stored running is only reserved for a woken worker, nobody working on it yet (set by Assignments). */
  reservedOnly: (jobId: string) => boolean = () => false;

  constructor(
    private readonly offload: Offload,
    private readonly logger: Logger,
    private readonly cancelOnDisconnect: boolean,
  ) {}

  start(): void {
    this.started = true;
    const { bus } = this.offload;
    this.unsubscribe.push(
      bus.on('job:succeeded', (e) => this.finished(e.id, { state: 'succeeded', result: e.result })),
      bus.on('job:failed', (e) => this.finished(e.id, { state: 'failed', error: e.error })),
      bus.on('job:cancelled', (e) => this.finished(e.id, { state: 'cancelled' })),
    );
  }

  /** The server stops: nobody waits any more. */
  stop(): void {
    this.started = false;
    for (const off of this.unsubscribe.splice(0)) off();
    this.byJob.clear();
    this.updateWatch();
  }

  /**
   * A foreground submit: `client` gets this job's progress and outcome. A job that existed
   * already (coalesced) may have finished elsewhere meanwhile, so it is looked at once.
   */
  attach(client: GearmanConnection, jobId: string, handle: string, createdHere: boolean): void {
    let waited = this.byJob.get(jobId);
    if (!waited) {
      waited = { handle, clients: new Set(), foregroundOnly: createdHere };
      this.byJob.set(jobId, waited);
      this.updateWatch();
      if (!createdHere) void this.check([jobId]);
    }
    waited.clients.add(client);
    client.listening.add(jobId);
  }

  /** A background submit coalesced into the job: it must outlive its foreground clients. */
  keep(jobId: string): void {
    const waited = this.byJob.get(jobId);
    if (waited) waited.foregroundOnly = false;
  }

  clientCount(jobId: string): number {
    return this.byJob.get(jobId)?.clients.size ?? 0;
  }

  /** Forwards a worker's WORK_STATUS/DATA/WARNING packet to the job's clients. */
  forward(jobId: string, packet: Buffer): void {
    const waited = this.byJob.get(jobId);
    if (waited) for (const c of waited.clients) c.send(packet);
  }

  /** The client went away; its jobs go on (or, if so configured, foreground-only jobs no worker has started are cancelled). */
  detach(client: GearmanConnection): void {
    for (const jobId of client.listening) {
      const waited = this.byJob.get(jobId);
      if (!waited) continue;
      waited.clients.delete(client);
      if (waited.clients.size > 0) continue;
      this.byJob.delete(jobId);
      if (this.cancelOnDisconnect && waited.foregroundOnly) void this.cancelIfNotStarted(jobId);
    }
    client.listening.clear();
    this.updateWatch();
  }

  private finished(jobId: string, outcome: Outcome): void {
    const waited = this.byJob.get(jobId);
    if (!waited) return;
    this.byJob.delete(jobId);
    this.updateWatch();
    for (const client of waited.clients) {
      client.listening.delete(jobId);
      client.send(finalPacket(waited.handle, outcome, client.exceptions));
    }
  }

  /** Follows the store's change feed (other processes' finishes) only while someone waits. */
  private updateWatch(): void {
    if (this.byJob.size > 0 && !this.unwatch && this.started) this.unwatch = this.offload.store.watch(() => void this.check());
    if (this.byJob.size === 0 && this.unwatch) {
      this.unwatch();
      this.unwatch = undefined;
    }
  }

  /** One query for the waited jobs (all of them by default); delivers the finished ones. */
  private async check(ids?: string[]): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    try {
      const waited = (ids ?? [...this.byJob.keys()]).filter((id) => this.byJob.has(id));
      if (waited.length) {
        for (const row of await this.offload.store.getJobs({ ids: waited })) {
          if (row.state === 'succeeded') this.finished(row.id, { state: 'succeeded', result: row.result });
          else if (row.state === 'failed') this.finished(row.id, { state: 'failed', error: row.error === null ? null : (JSON.parse(row.error) as JobError) });
          else if (row.state === 'cancelled') this.finished(row.id, { state: 'cancelled' });
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'gearman: could not check the jobs clients wait on; checking again at the next change');
    } finally {
      this.checking = false;
      if (this.recheck) {
        this.recheck = false;
        void this.check();
      }
    }
  }

  /** As gearmand drops a job no worker has taken: queued, or handed to a woken worker that has not come for it yet. */
  private async cancelIfNotStarted(jobId: string): Promise<void> {
    try {
      const notStarted = this.reservedOnly(jobId) || (await this.offload.store.getJob({ id: jobId }))?.state === 'queued';
      if (notStarted) await this.offload.cancel(jobId);
    } catch (err) {
      if (!isOffloadError(err)) this.logger.warn({ err, job: jobId }, 'gearman: could not cancel the job of a client that left');
    }
  }
}

/**
 * WORK_COMPLETE with the result's bytes (raw bytes as stored; a JSON result as its JSON text),
 * WORK_FAIL, or WORK_EXCEPTION with the error message for clients that asked for exceptions.
 */
export function finalPacket(handle: string, outcome: Outcome, exceptions: boolean): Buffer {
  if (outcome.state === 'succeeded') return response(PacketType.WORK_COMPLETE, [handle, outcome.result ?? Buffer.alloc(0)]);
  if (outcome.state === 'failed' && exceptions && outcome.error && outcome.error.code !== GearmanWorkFailError.code) {
    return response(PacketType.WORK_EXCEPTION, [handle, outcome.error.message]);
  }
  return response(PacketType.WORK_FAIL, [handle]);
}

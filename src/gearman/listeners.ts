/**
 * Foreground clients waiting on jobs. Progress packets (WORK_STATUS/DATA/WARNING) from a worker
 * on this server are forwarded as they come; the final packet is sent when the store says the
 * job finished, whoever finished it (a Gearman worker here or on another server, an Offload
 * worker, a cancel). A client that disconnects leaves its job running: jobs are durable.
 */
import { GearmanWorkFailError, isOffloadError } from '../core/errors.js';
import type { JobError, JobRow } from '../core/job.js';
import type { Logger } from '../core/logger.js';
import type { Offload } from '../offload.js';
import { type GearmanConnection, response } from './connection.js';
import { PacketType } from './protocol.js';

interface Waited {
  handle: string;
  clients: Set<GearmanConnection>;
  /** Created here by a foreground submit and never submitted in the background: may be cancelled when its clients leave. */
  foregroundOnly: boolean;
  stop: AbortController;
}

export class Listeners {
  private readonly byJob = new Map<string, Waited>();

  constructor(private readonly offload: Offload, private readonly logger: Logger, private readonly cancelOnDisconnect: boolean) {}

  /** A foreground submit: `client` gets this job's progress and outcome. */
  attach(client: GearmanConnection, jobId: string, handle: string, createdHere: boolean): void {
    let waited = this.byJob.get(jobId);
    if (!waited) {
      waited = { handle, clients: new Set(), foregroundOnly: createdHere, stop: new AbortController() };
      this.byJob.set(jobId, waited);
      this.waitFor(jobId, waited);
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

  /** The client went away; its jobs go on (or, if so configured, foreground-only queued jobs are cancelled). */
  detach(client: GearmanConnection): void {
    for (const jobId of client.listening) {
      const waited = this.byJob.get(jobId);
      if (!waited) continue;
      waited.clients.delete(client);
      if (waited.clients.size > 0) continue;
      this.byJob.delete(jobId);
      waited.stop.abort();
      if (this.cancelOnDisconnect && waited.foregroundOnly) void this.cancelIfQueued(jobId);
    }
    client.listening.clear();
  }

  /** The server stops: nobody waits any more. */
  stopAll(): void {
    for (const w of this.byJob.values()) w.stop.abort();
    this.byJob.clear();
  }

  private waitFor(jobId: string, waited: Waited): void {
    this.offload.waitForJob(jobId, { signal: waited.stop.signal }).then(
      (row) => this.deliver(jobId, waited, row),
      (err: unknown) => {
        if (waited.stop.signal.aborted) return;
        this.logger.warn({ err, job: jobId }, 'gearman: stopped waiting for a job; its clients get WORK_FAIL');
        this.deliverPacket(jobId, waited, () => response(PacketType.WORK_FAIL, [waited.handle]));
      },
    );
  }

  private deliver(jobId: string, waited: Waited, row: JobRow): void {
    this.deliverPacket(jobId, waited, (client) => finalPacket(waited.handle, row, client.exceptions));
  }

  private deliverPacket(jobId: string, waited: Waited, packetFor: (client: GearmanConnection) => Buffer): void {
    if (this.byJob.get(jobId) !== waited) return;
    this.byJob.delete(jobId);
    for (const client of waited.clients) {
      client.listening.delete(jobId);
      client.send(packetFor(client));
    }
  }

  private async cancelIfQueued(jobId: string): Promise<void> {
    try {
      const row = await this.offload.store.getJob({ id: jobId });
      if (row?.state === 'queued') await this.offload.cancel(jobId);
    } catch (err) {
      if (!isOffloadError(err)) this.logger.warn({ err, job: jobId }, 'gearman: could not cancel the job of a client that left');
    }
  }
}

/**
 * WORK_COMPLETE with the result's bytes (raw bytes as stored; a JSON result as its JSON text),
 * WORK_FAIL, or WORK_EXCEPTION with the error message for clients that asked for exceptions.
 */
export function finalPacket(handle: string, row: JobRow, exceptions: boolean): Buffer {
  if (row.state === 'succeeded') return response(PacketType.WORK_COMPLETE, [handle, row.result ?? Buffer.alloc(0)]);
  if (row.state === 'failed' && exceptions && row.error !== null) {
    const error = JSON.parse(row.error) as JobError;
    if (error.code !== GearmanWorkFailError.code) return response(PacketType.WORK_EXCEPTION, [handle, error.message]);
  }
  return response(PacketType.WORK_FAIL, [handle]);
}

/**
 * One TCP connection to the Gearman port: bytes in through the PacketReader, replies out in the
 * order their requests came in (libgearman matches JOB_CREATED to submits by arrival order
 * alone), flow control so a peer that writes without reading cannot grow our memory, and a
 * deadline for packets that start and never finish (slow loris).
 */
import type { Socket } from 'node:net';
import { unmapped } from '../auth/allow-list.js';
import type { Clock, Timer } from '../core/clock.js';
import { isOffloadError, type OffloadError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { type Arg, encodePacket, type Packet, PacketReader } from './codec.js';
import { PacketType, type Reply } from './protocol.js';
import { WorkerPeer } from './worker-peer.js';

export interface ConnectionLimits {
  maxBodyBytes: number;
  maxLineBytes: number;
  /** A packet or line that has started must be complete within this long, or the connection is closed. */
  packetTimeoutMs: number;
  /** Requests still being answered before the connection stops reading (a flood of submits). */
  maxPendingReplies: number;
  /** Unsent output above which the connection stops reading until the peer catches up. */
  writeHighWaterBytes: number;
  /** Unsent output above which the peer is cut off (it reads nothing, yet receives forwarded data). */
  writeLimitBytes: number;
  /** TCP keepalive: a peer silent this long is probed, and dropped when ten probes a second apart go unanswered (0: never). */
  keepAliveMs: number;
}

export interface ConnectionHandler {
  onPacket(conn: GearmanConnection, packet: Packet): void;
  onText(conn: GearmanConnection, line: string): void;
  onClose(conn: GearmanConnection): void;
}

interface Slot {
  value: Reply | undefined;
}

export class GearmanConnection {
  readonly peer: string;
  /** As set by SET_CLIENT_ID; `-` until then (what gearmand shows in `workers`). */
  clientId = '-';
  /** OPTION_REQ "exceptions": WORK_EXCEPTION is forwarded as such rather than as WORK_FAIL. */
  exceptions = false;

  /** Its state as a worker: abilities, held jobs, the sleep cycle (see WorkerPeer). */
  readonly worker: WorkerPeer;

  /** As a client: the jobs it waits on (foreground submits). */
  readonly listening = new Set<string>();

  private readonly reader: PacketReader;
  private readonly slots: Slot[] = [];
  private stalled = false;
  private outgoing: Buffer[] = [];
  private ending = false;
  private ended = false;
  private partialTimer: Timer | undefined;
  private isClosed = false;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly handler: ConnectionHandler,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.peer = unmapped(socket.remoteAddress ?? 'unknown');
    this.worker = new WorkerPeer(id, this.peer);
    this.reader = new PacketReader('req', { maxBodyBytes: limits.maxBodyBytes, maxLineBytes: limits.maxLineBytes });
    socket.setNoDelay(true);
    // A worker's host that dies or drops off the network sends nothing: without probes its
    // connection, and the leases of the jobs it holds, would live on for ever.
    if (limits.keepAliveMs > 0) socket.setKeepAlive(true, limits.keepAliveMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateFlow());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ETIMEDOUT')
        this.logger.warn(
          { peer: this.peer, conn: id, jobs: this.worker.held.size },
          'gearman peer stopped answering (no reply to keepalive probes); closing the connection, its jobs go back to the queue',
        );
      else this.logger.debug({ err, peer: this.peer, conn: id }, 'gearman connection error');
    });
    socket.on('close', () => this.onClosed());
  }

  /** Not reading: too many answers pending or too much output unsent (see updateFlow). */
  get paused(): boolean {
    return this.stalled;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes of a packet or line that has started but not yet arrived whole. */
  get incompleteBytes(): number {
    return this.reader.pendingBytes;
  }

  // ---- input -----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.ending) return;
    for (const item of this.reader.push(chunk)) {
      if (this.ending || this.closed) return;
      if (item.kind === 'packet') this.handler.onPacket(this, item.packet);
      else if (item.kind === 'text') this.handler.onText(this, item.line);
      else return this.closeWith(item.error);
    }
    this.watchPartial();
  }

  /** Arms the deadline while a packet or line is incomplete; a complete stream needs none. */
  private watchPartial(): void {
    if (this.reader.pendingBytes === 0) {
      this.partialTimer?.cancel();
      this.partialTimer = undefined;
    } else if (!this.partialTimer) {
      this.partialTimer = this.clock.setTimer(() => {
        this.logger.warn(
          { peer: this.peer, conn: this.id, pendingBytes: this.reader.pendingBytes },
          `gearman peer sent an incomplete packet and nothing more for ${this.limits.packetTimeoutMs} ms; closing the connection`,
        );
        this.destroy();
      }, this.limits.packetTimeoutMs);
    }
  }

  // ---- output ----------------------------------------------------------------------------------

  /** Answers the request being handled; answers leave in the order their requests arrived. */
  reply(value: Reply | Promise<Reply>): void {
    if (this.closed) return;
    if (!(value instanceof Promise)) {
      if (this.slots.length === 0) this.write(value);
      else this.slots.push({ value });
      return this.updateFlow();
    }
    const slot: Slot = { value: undefined };
    this.slots.push(slot);
    value
      .then(
        (v) => {
          slot.value = v;
        },
        (err: unknown) => {
          slot.value = errorPacket(err);
          this.logUnexpected(err);
        },
      )
      .finally(() => this.flushSlots());
    this.updateFlow();
  }

  /** A packet no request asked for (NOOP, forwarded WORK_*): queued behind pending answers. */
  send(packet: Buffer): void {
    this.reply(packet);
  }

  /** Sends an ERROR packet (or an admin `ERR` line) and closes once every earlier answer is out. */
  closeWith(error: OffloadError): void {
    if (this.ending) return;
    this.reply(errorPacket(error));
    this.ending = true;
    // Input is read and dropped from now on (reading stays on, so the peer's close is seen).
    this.endWhenFlushed();
  }

  private flushSlots(): void {
    while (this.slots.length > 0 && this.slots[0].value !== undefined) this.write(this.slots.shift()!.value!);
    this.updateFlow();
    this.endWhenFlushed();
  }

  private endWhenFlushed(): void {
    if (!this.ending || this.slots.length > 0 || this.closed || this.ended) return;
    this.ended = true;
    this.flushOutgoing();
    this.socket.end();
    // A peer that never reads would keep the socket half-closed for ever.
    this.clock.setTimer(() => this.destroy(), 5000);
  }

  private write(value: Reply): void {
    if (value === null || this.closed) return;
    // Everything written in this turn of the event loop leaves in one system call.
    if (this.outgoing.length === 0) process.nextTick(() => this.flushOutgoing());
    if (Array.isArray(value)) this.outgoing.push(...value);
    else this.outgoing.push(value);
  }

  private flushOutgoing(): void {
    const out = this.outgoing;
    if (out.length === 0 || this.closed) return;
    this.outgoing = [];
    this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    if (this.socket.writableLength > this.limits.writeLimitBytes) {
      this.logger.warn(
        { peer: this.peer, conn: this.id, unsentBytes: this.socket.writableLength },
        'gearman peer does not read what it is sent; closing the connection',
      );
      this.destroy();
      return;
    }
    this.updateFlow();
  }

  /** Stops reading while too many answers are pending or too much output is unsent; resumes after. */
  private updateFlow(): void {
    if (this.closed || this.ending) return;
    const busy = this.slots.length >= this.limits.maxPendingReplies || this.socket.writableLength >= this.limits.writeHighWaterBytes;
    if (busy && !this.stalled) {
      this.stalled = true;
      this.socket.pause();
    } else if (!busy && this.stalled) {
      this.stalled = false;
      this.socket.resume();
    }
  }

  // ---- closing ---------------------------------------------------------------------------------

  destroy(): void {
    this.socket.destroy();
  }

  private onClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.partialTimer?.cancel();
    this.slots.length = 0;
    this.handler.onClose(this);
  }

  private logUnexpected(err: unknown): void {
    if (!isOffloadError(err)) this.logger.error({ err, peer: this.peer, conn: this.id }, 'gearman request failed');
  }
}

/** An ERROR packet with the error's stable code; errors that are not Offload's are store trouble. */
export function errorPacket(err: unknown): Buffer {
  if (isOffloadError(err)) return response(PacketType.ERROR, [err.code, err.message]);
  return response(PacketType.ERROR, ['STORE_UNAVAILABLE', `The store is unavailable: ${err instanceof Error ? err.message : String(err)}`]);
}

export function response(type: number, args: readonly Arg[] = []): Buffer {
  return encodePacket('res', type, args);
}

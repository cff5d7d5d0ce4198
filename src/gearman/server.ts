/**
 * The Gearman port: existing Gearman clients, workers and admin tools talk to Offload as they
 * talked to gearmand, and every job is an ordinary, durable Offload job. A front door of
 * `offload start` (see src/server/server.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { AllowList, isLoopbackHost } from '../auth/allow-list.js';
import { InvalidOptionError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TaskSettings } from '../core/task.js';
import type { Offload } from '../offload.js';
import type { FrontDoor, FrontDoorFactory } from '../server/server.js';
import { Admin } from './admin.js';
import { Assignments } from './assignments.js';
import { type ConnectionLimits, GearmanConnection } from './connection.js';
import { GearmanFunctions } from './functions.js';
import { handlePrefix } from './handles.js';
import { Listeners } from './listeners.js';
import { Reducers } from './reducers.js';
import { Requests } from './requests.js';
import { Submissions } from './submissions.js';
import { Wakeups } from './wakeups.js';
import { WorkerRecords } from './worker-records.js';

export interface GearmanServerOptions {
  /** Address to listen on (default 127.0.0.1). Any other than loopback needs `allow`. */
  host?: string;
  /** Port (default 4730; 0 picks a free one, see `address()`). */
  port?: number;
  /** Networks (addresses or CIDR blocks) allowed to connect when `host` is not loopback. */
  allow?: string[];
  /** Handles are `<prefix>:<job id>` (default `H:<hostname>`), like gearmand's --job-handle-prefix. */
  handlePrefix?: string;
  /** Lease of a job held by a Gearman worker, renewed while its connection lives (default 30 000 ms). */
  leaseMs?: number;
  /**
   * How long a GRAB that finds nothing waits for a new job before it is answered NO_JOB (default
   * 2 ms; 0 answers at once, as gearmand). A job that arrives meanwhile goes straight to it,
   * without the NO_JOB, PRE_SLEEP, NOOP and second GRAB it would otherwise take.
   */
  grabLingerMs?: number;
  /**
   * TCP keepalive (default 30 000 ms; 0: off): a peer silent this long is probed, and its connection
   * closed when ten probes a second apart go unanswered, so the jobs of a worker whose machine died
   * go back to the queue about 40 s later. At least 1000.
   */
  keepAliveMs?: number;
  /** Backstop: how often sleeping workers' functions are checked for work no event announced (default 1000 ms). */
  pollMs?: number;
  /** Settings of functions first seen on this port (default: Offload's task defaults, 3 attempts). */
  functionDefaults?: TaskSettings;
  /** Cancel a foreground job no worker has started when its last client disconnects, as gearmand drops it (default false: jobs are durable). */
  cancelOnDisconnect?: boolean;
  /** Largest packet body accepted (default: the input limit + 64 KiB, at least 4 MiB). */
  maxPacketBytes?: number;
  /** A packet that has started must be complete within this long (default 30 000 ms). */
  packetTimeoutMs?: number;
  /** Connections accepted at once (default 10 000). */
  maxConnections?: number;
}

const DEFAULT_PORT = 4730;
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export class GearmanServer implements FrontDoor {
  private readonly host: string;
  private readonly port: number;
  private readonly allowList: AllowList | undefined;
  private readonly limits: ConnectionLimits;
  private readonly connections = new Set<GearmanConnection>();
  private readonly wakeups: Wakeups;
  private readonly listeners: Listeners;
  private readonly assignments: Assignments;
  private readonly workers: WorkerRecords;
  private readonly requests: Requests;
  private readonly reducers: Reducers;
  private readonly unsubscribe: (() => void)[] = [];
  private allClosed: (() => void) | undefined;
  private readonly net: Server;
  private nextConnectionId = 1;
  private bound: { host: string; port: number } | undefined;

  constructor(
    private readonly offload: Offload,
    private readonly logger: Logger,
    options: GearmanServerOptions = {},
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? DEFAULT_PORT;
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535) throw new InvalidOptionError('gearman', `port must be 0–65535, got ${this.port}`);
    this.allowList = options.allow?.length ? new AllowList(options.allow, 'gearman-allow') : undefined;
    if (!isLoopbackHost(this.host) && !this.allowList) {
      throw new InvalidOptionError(
        'gearman-allow',
        `the Gearman port on ${this.host} would take jobs from anyone who can reach it: Gearman has no authentication (a token cannot travel in the protocol). List the networks that may connect, e.g. --gearman-allow 10.0.0.0/8, or listen on 127.0.0.1`,
      );
    }
    const leaseMs = options.leaseMs ?? 30_000;
    if (!Number.isSafeInteger(leaseMs) || leaseMs < 1000) throw new InvalidOptionError('leaseMs', 'must be an integer ≥ 1000');
    const grabLingerMs = options.grabLingerMs ?? 2;
    if (!Number.isSafeInteger(grabLingerMs) || grabLingerMs < 0 || grabLingerMs > 1000)
      throw new InvalidOptionError('grabLingerMs', `must be a whole number of milliseconds from 0 to 1000 (0: answer NO_JOB at once), got ${grabLingerMs}`);
    const keepAliveMs = options.keepAliveMs ?? 30_000;
    if (!Number.isSafeInteger(keepAliveMs) || (keepAliveMs !== 0 && (keepAliveMs < 1000 || keepAliveMs > 2 ** 31 - 1))) {
      throw new InvalidOptionError('keepAliveMs', `must be 0 (no keepalive probes) or a whole number of milliseconds from 1000 up, got ${keepAliveMs}`);
    }
    const maxBodyBytes = options.maxPacketBytes ?? Math.max(4 * 1024 * 1024, offload.limits.maxInputBytes + 65_536);
    this.limits = {
      maxBodyBytes,
      maxLineBytes: 8192,
      packetTimeoutMs: options.packetTimeoutMs ?? 30_000,
      maxPendingReplies: 1024,
      writeHighWaterBytes: 1024 * 1024,
      writeLimitBytes: 4 * maxBodyBytes,
      keepAliveMs,
    };
    const prefix = options.handlePrefix ?? handlePrefix(hostname());
    const connections = () => this.connections;
    const functions = new GearmanFunctions(offload, options.functionDefaults ?? {});
    this.reducers = new Reducers();
    const reducers = this.reducers;
    this.workers = new WorkerRecords(offload.store, offload.clock, logger, (conn) => this.stopHanding(conn));
    this.wakeups = new Wakeups(offload, logger, options.pollMs ?? 1000);
    this.listeners = new Listeners(offload, logger, options.cancelOnDisconnect ?? false);
    this.assignments = new Assignments({
      offload,
      wakeups: this.wakeups,
      listeners: this.listeners,
      reducers,
      workers: this.workers,
      logger,
      handlePrefix: prefix,
      leaseMs,
      grabLingerMs,
    });
    this.listeners.reservedOnly = (id) => this.assignments.reservedOnly(id);
    const submissions = new Submissions({
      offload,
      functions,
      listeners: this.listeners,
      reducers,
      wakeups: this.wakeups,
      assignments: this.assignments,
      claimer: { workerId: this.workers.portId, leaseMs },
      handlePrefix: prefix,
    });
    const admin = new Admin({
      offload,
      functions,
      workers: this.workers,
      connections,
      heldAhead: (task) => this.assignments.heldAhead(task),
      handlePrefix: prefix,
      version: `offload-${VERSION}`,
      verbosity: verbosityOf(logger),
      maxListedJobs: 10_000,
    });
    this.requests = new Requests({
      offload,
      submissions,
      assignments: this.assignments,
      listeners: this.listeners,
      wakeups: this.wakeups,
      functions,
      workers: this.workers,
      admin,
      logger,
    });
    this.net = createServer((socket) => this.accept(socket));
    this.net.maxConnections = options.maxConnections ?? 10_000;
  }

  /** Where it listens; with port 0, the port the system picked (after `start`). */
  address(): { host: string; port: number } {
    return this.bound ?? { host: this.host, port: this.port };
  }

  /**
   * Open connections; how many are not being read (their peer sends faster than it reads); how
   * many are in the middle of a packet; how many have a GRAB waiting a moment for a job; how many
   * jobs are claimed ahead for GRABs to come.
   */
  stats(): { connections: number; paused: number; incomplete: number; lingering: number; claimedAhead: number } {
    let paused = 0;
    let incomplete = 0;
    let lingering = 0;
    for (const c of this.connections) {
      if (c.paused) paused++;
      if (c.incompleteBytes > 0) incomplete++;
      if (c.worker.lingering) lingering++;
    }
    return { connections: this.connections.size, paused, incomplete, lingering, claimedAhead: this.assignments.claimedAhead };
  }

  get description(): string {
    const { host, port } = this.address();
    const who = this.allowList
      ? `connections from ${this.allowList.networks.join(', ')} and this machine only: Gearman has no authentication, peers are admitted by address`
      : 'this machine only';
    return `Gearman on ${host.includes(':') ? `[${host}]` : host}:${port} (${who})`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.net.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE' || err.code === 'EACCES'
            ? new InvalidOptionError(
                'gearman',
                `cannot listen on ${this.host}:${this.port} (${err.code}${err.code === 'EADDRINUSE' ? ': is gearmand running there?' : ''}); choose another address with --gearman HOST:PORT, or --gearman off`,
              )
            : err,
        ),
      );
      this.net.listen(this.port, this.host, () => {
        this.net.removeAllListeners('error');
        resolve();
      });
    });
    const addr = this.net.address();
    if (addr && typeof addr === 'object') this.bound = { host: this.host, port: addr.port };
    this.net.on('error', (err) => this.logger.error({ err }, 'gearman: listener error'));
    this.wakeups.start();
    this.listeners.start();
    this.assignments.start();
    this.unsubscribe.push(this.reducers.follow(this.offload.bus));
  }

  /** Stops listening, gives held jobs back to the queue, closes every connection. */
  async stop(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const off of this.unsubscribe.splice(0)) off();
    this.wakeups.stop();
    this.listeners.stop();
    await this.assignments.stop();
    await this.workers.removeAll();
    const connectionsClosed = new Promise<void>((resolve) => {
      this.allClosed = resolve;
    });
    for (const conn of this.connections) conn.destroy();
    if (this.connections.size === 0) this.allClosed?.();
    await Promise.all([connectionsClosed, listenerClosed]);
  }

  private accept(socket: Socket): void {
    if (this.allowList && !this.allowList.allows(socket.remoteAddress)) {
      this.logger.warn({ peer: socket.remoteAddress }, 'gearman: refused a connection from outside the allowed networks');
      socket.destroy();
      return;
    }
    const conn = new GearmanConnection(
      this.nextConnectionId++,
      socket,
      this.limits,
      {
        onPacket: (c, packet) => this.requests.onPacket(c, packet),
        onText: (c, line) => this.requests.onText(c, line),
        onClose: (c) => this.onClose(c),
      },
      this.offload.clock,
      this.logger,
    );
    this.connections.add(conn);
  }

  /** An operator asked this worker connection to stop: no job is handed to it from now on; the jobs it holds it may finish. */
  private stopHanding(conn: GearmanConnection): void {
    conn.worker.stopRequested = true;
    this.wakeups.forget(conn);
    this.logger.info({ worker: this.workers.idOf(conn) }, 'gearman: an operator asked this worker to stop; it is handed no more jobs');
  }

  private onClose(conn: GearmanConnection): void {
    this.connections.delete(conn);
    if (this.allClosed && this.connections.size === 0) this.allClosed();
    this.listeners.detach(conn);
    this.assignments.disconnected(conn);
    this.wakeups.forget(conn);
    void this.workers.remove(conn);
  }
}

/** `offload start --gearman HOST:PORT`: the Gearman port as a front door of the server. */
export function gearmanFrontDoor(options: GearmanServerOptions): FrontDoorFactory {
  return (offload, logger) => new GearmanServer(offload, logger ?? offload.logger, options);
}

/** gearmand's verbosity names for the `verbose` admin command. */
function verbosityOf(logger: Logger): string {
  const level = (logger as { level?: unknown }).level;
  const names: Record<string, string> = { fatal: 'FATAL', error: 'ERROR', warn: 'WARNING', info: 'INFO', debug: 'DEBUG', trace: 'DEBUG', silent: 'FATAL' };
  return typeof level === 'string' ? (names[level] ?? 'INFO') : 'INFO';
}

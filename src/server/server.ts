import type { EndpointGroupSettings } from '../core/endpoint-group.js';
import type { Logger } from '../core/logger.js';
import type { TaskDefinition } from '../core/task.js';
import type { MailerConfig } from '../notify/mailer.js';
import { Offload } from '../offload.js';
import type { Worker } from '../worker/worker.js';

/**
 * A way into Offload that the server runs next to its worker: the HTTP API, the Gearman port,
 * the dashboard. Each is built from the open Offload and started and stopped with the server.
 */
export interface FrontDoor {
  /** For logs and the start banner, e.g. "HTTP API on http://127.0.0.1:7070". */
  readonly description: string;
  /** An HTTP door's base URL once started: where push callbacks reach this server unless told otherwise. */
  readonly url?: string;
  start(): Promise<void>;
  /** Stops taking new work; called before the workers stop. */
  stop(): Promise<void>;
}

export type FrontDoorFactory = (offload: Offload, logger: Logger | undefined) => FrontDoor | Promise<FrontDoor>;

export interface ServerOptions {
  store: string;
  tasks: TaskDefinition<any, any>[];
  /** Jobs run at once by the in-process worker (default 10); 0 runs no worker. */
  concurrency?: number;
  /** The in-process worker's lease (default 30 000 ms). */
  leaseMs?: number;
  shutdownTimeoutMs?: number;
  logger?: Logger;
  frontDoors?: FrontDoorFactory[];
  /** Largest accepted job input, in bytes of JSON (default 1 MiB). */
  maxInputBytes?: number;
  /** How often the rescuer looks for expired leases (default 5 000 ms). */
  rescueIntervalMs?: number;
  /**
   * Push to endpoint groups: groups to save at start (the config file's `endpointGroups`), and the
   * base URL endpoints reach this server's HTTP API at for callbacks (null: a 202 fails the attempt).
   * The server runs a dispatcher for every group in the store. Default: no groups saved; callbacks
   * to the HTTP API's own URL.
   */
  push?: { groups?: EndpointGroupSettings[]; callbackBaseUrl?: string | null };
  /** The SMTP server that rules sending e-mail use. */
  mail?: MailerConfig;
}

export interface RunningServer {
  offload: Offload;
  worker: Worker | undefined;
  frontDoors: FrontDoor[];
  /** Stops everything gracefully: front doors first, then workers finish or release their jobs, then the store closes. */
  close(): Promise<void>;
}

/** The composition root of `offload start`: store, worker, maintenance, front doors. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const offload = await Offload.open({ store: opts.store, tasks: opts.tasks, logger: opts.logger, maxInputBytes: opts.maxInputBytes, mail: opts.mail });
  const frontDoors: FrontDoor[] = [];
  const close = async () => {
    await Promise.all(frontDoors.map((d) => d.stop()));
    await offload.close();
  };
  try {
    await offload.startMaintenance({ rescueIntervalMs: opts.rescueIntervalMs });
    const concurrency = opts.concurrency ?? 10;
    // Without tasks of its own the worker still runs Offload's built-in ones (offload.http.request).
    const worker =
      concurrency > 0 ? await offload.work({ concurrency, leaseMs: opts.leaseMs, shutdownTimeoutMs: opts.shutdownTimeoutMs, rules: false }) : undefined;
    // A server runs the rules even with no task of its own: it judges conditions, and works the deliveries.
    if (concurrency > 0) await offload.startRules({ watchAlways: true });
    for (const make of opts.frontDoors ?? []) {
      const door = await make(offload, opts.logger);
      await door.start();
      frontDoors.push(door);
    }
    for (const group of opts.push?.groups ?? []) await offload.push.saveGroup(group);
    const callbackBaseUrl = opts.push?.callbackBaseUrl !== undefined ? opts.push.callbackBaseUrl : (frontDoors.find((d) => d.url)?.url ?? null);
    await offload.push.start({ callbackBaseUrl, leaseMs: opts.leaseMs, shutdownTimeoutMs: opts.shutdownTimeoutMs });
    return { offload, worker, frontDoors, close };
  } catch (err) {
    await close();
    throw err;
  }
}

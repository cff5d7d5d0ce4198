/**
 * The push dispatcher of one endpoint group in one process. It is a worker like any other: the
 * worker runtime claims the group's jobs (its id starts with `push:GROUP:`, which the stores
 * require for a bound task), renews their leases, and writes each outcome through the group
 * commit. Its handler is the push: take a slot on an endpoint (atomic across servers), POST the
 * job there, and turn the answer, or the callbacks after a 202, into the attempt's outcome.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Alarm, type Clock } from '../core/clock.js';
import type { JobContext } from '../core/context.js';
import { type Endpoint, type EndpointGroup, pushWorkerPrefix } from '../core/endpoint-group.js';
import { PushCallbackSilentError, PushRejectedError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { permanent, retryLater } from '../core/outcomes.js';
import type { TaskRegistry } from '../core/registry.js';
import { resolveTaskSettings } from '../core/task.js';
import { guardedRequest, outboundFailureMayPass } from '../outbound/guarded-request.js';
import { OutboundPool } from '../outbound/outbound-pool.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { Runnability } from '../store/runnability.js';
import type { Store } from '../store/store.js';
import { ActiveJob } from '../worker/active-job.js';
import { storeBackend } from '../worker/store-backend.js';
import { TaskCatalog } from '../worker/task-catalog.js';
import { Worker } from '../worker/worker.js';
import { EndpointOrder } from './balancer.js';
import { type AwaitedCallbacks, type CallbackMessage, callbackToken } from './callbacks.js';
import { EndpointHealth, parseIdle } from './endpoint-health.js';
import { answerOf, type PushBody, sendPush } from './push-request.js';
import { SlotTaker } from './slot-taker.js';

/** What a dispatcher takes from its Offload: the process's shared pieces. */
export interface PushHost {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: TaskRegistry;
  readonly runnability: Runnability;
  readonly commits: GroupCommit;
}

export interface DispatcherOptions {
  /** The base URL endpoints reach this server's HTTP API at, for callbacks (`http://10.0.0.5:7070`); without it a 202 fails the attempt. */
  callbackBaseUrl: string | null;
  /** The dispatcher's leases (default 30 000 ms). */
  leaseMs?: number;
  shutdownTimeoutMs?: number;
}

/** How long an attempt waits for room on an endpoint before it goes back to the queue for a moment. */
const ROOM_WAIT_MS = 1000;
const REQUEUE_WITHOUT_ROOM_MS = 200;
const STATUS_POLL_MS = 1000;
const PROBE_TIMEOUT_MS = 5000;

export class GroupDispatcher {
  readonly health: EndpointHealth;
  private readonly order: EndpointOrder;
  private readonly slots: SlotTaker;
  /** Kept-alive connections to the group's endpoints (probes open their own, to see the endpoint as a newcomer would). */
  private readonly pool = new OutboundPool();
  private worker: Worker | undefined;
  private readonly probes: Alarm;
  private statusTimer: { cancel(): void } | undefined;
  private stopped = false;

  constructor(
    private readonly host: PushHost,
    readonly group: EndpointGroup,
    private readonly callbacks: AwaitedCallbacks,
    private readonly options: DispatcherOptions,
  ) {
    this.health = new EndpointHealth(group.endpoints, group.health);
    this.order = new EndpointOrder(group.balancer);
    this.slots = new SlotTaker(host.store, host.clock, () => this.group);
    this.probes = new Alarm(host.clock, () => void this.probeDue());
  }

  get workerId(): string | undefined {
    return this.worker?.id;
  }

  async start(): Promise<void> {
    const { host, group } = this;
    const settings = new Map((await host.store.getTasks({ names: group.tasks })).map((t) => [t.name, t.settings]));
    const catalog = new TaskCatalog(
      group.tasks.map((name) => ({
        name,
        handler: (input: unknown, ctx: JobContext) => this.push(input, ctx),
        settings: settings.get(name) ?? resolveTaskSettings(name, {}),
      })),
    );
    this.worker = new Worker(
      {
        backend: storeBackend(host.store, host.bus, host.registry, host.runnability, host.commits),
        clock: host.clock,
        registry: catalog,
        logger: host.logger,
      },
      {
        id: `${pushWorkerPrefix(group.name)}${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        kind: 'push',
        concurrency: group.concurrency,
        tasks: group.tasks,
        claimAhead: 0,
        leaseMs: this.options.leaseMs,
        shutdownTimeoutMs: this.options.shutdownTimeoutMs,
      },
    );
    await this.worker.start();
    if (group.balancer === 'most-idle' && group.endpoints.some((e) => e.statusUrl)) this.pollStatus();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.probes.cancel();
    this.statusTimer?.cancel();
    await this.worker?.stop();
    this.pool.close();
  }

  // ---- one attempt -------------------------------------------------------------------------------

  private async push(input: unknown, ctx: JobContext): Promise<unknown> {
    if (!(ctx instanceof ActiveJob)) throw new Error('a push handler runs inside the worker runtime');
    const { row } = ctx;
    const endpoint = await this.endpointFor(ctx);
    try {
      return await this.pushTo(endpoint, input, ctx);
    } finally {
      this.slots.release({ jobId: row.id, leaseToken: row.leaseToken, order: [] });
    }
  }

  private async pushTo(endpoint: Endpoint, input: unknown, ctx: ActiveJob): Promise<unknown> {
    const { row } = ctx;
    const now = this.host.clock.now();
    const timeoutMs = Math.min(this.group.timeoutMs, row.timeoutMs ?? Number.POSITIVE_INFINITY);
    const body: PushBody = {
      id: row.id,
      task: row.task,
      input,
      attempt: row.attempt,
      maxAttempts: row.maxAttempts,
      deadline: new Date(now + timeoutMs).toISOString(),
      callback: this.options.callbackBaseUrl
        ? { url: `${this.options.callbackBaseUrl}/v1/push/jobs/${row.id}`, token: callbackToken(this.group.secret, row.id, row.leaseToken) }
        : null,
    };
    this.health.sent(endpoint.id);
    this.host.bus.emit('push:sent', { id: row.id, task: row.task, group: this.group.name, endpoint: endpoint.id, attempt: row.attempt });
    // An accepted attempt waits from the moment it is sent: a callback may come before the 202 is read.
    const accepted = body.callback ? this.awaitCallbacks(ctx, endpoint) : undefined;
    try {
      return await this.answer(ctx, endpoint, body, timeoutMs, accepted);
    } finally {
      accepted?.cancel();
    }
  }

  private async answer(ctx: ActiveJob, endpoint: Endpoint, body: PushBody, timeoutMs: number, accepted: CallbackWait | undefined): Promise<unknown> {
    let response: Awaited<ReturnType<typeof sendPush>>;
    try {
      response = await sendPush(this.group, endpoint, body, timeoutMs, ctx.signal, this.pool);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      // What a retry would meet again (an address or URL the policy refuses, an answer too large
      // for the group) fails at once, and says nothing of the endpoint's health.
      if (!outboundFailureMayPass(err)) throw permanent(err);
      this.failedOn(endpoint);
      throw err;
    }
    const idle = parseIdle('', response.headers['offload-idle']);
    if (idle !== undefined) this.health.reportIdle(endpoint.id, idle);
    const answer = answerOf(endpoint, response, this.host.clock.now());
    if (answer.kind === 'failed') {
      this.failedOn(endpoint);
      throw answer.error;
    }
    this.health.succeeded(endpoint.id);
    switch (answer.kind) {
      case 'result':
        return answer.value;
      case 'retry-later':
        throw retryLater(answer.delayMs, answer.error.message);
      case 'rejected':
        throw permanent(answer.error);
      case 'accepted':
        if (!accepted)
          throw permanent(new PushRejectedError(endpoint.id, 202, 'accepted, but this server has no callback URL (start it with the HTTP API on)'));
        return accepted.result;
    }
  }

  /** Takes a slot on the endpoint the balancer prefers that has room; a full group waits a moment, then requeues the job. */
  private async endpointFor(ctx: ActiveJob): Promise<Endpoint> {
    const { clock } = this.host;
    const giveUpAt = clock.now() + ROOM_WAIT_MS;
    for (;;) {
      const order = this.order.next(this.health);
      if (order.length === 0) {
        const at = this.health.nextProbeAt() ?? clock.now() + this.group.health.probeAfterMs;
        throw retryLater(Math.max(0, at - clock.now()), `every endpoint of group "${this.group.name}" is out; waiting for a probe`);
      }
      const id = await this.slots.take({ jobId: ctx.row.id, leaseToken: ctx.row.leaseToken, order });
      if (id !== null) return this.group.endpoints.find((e) => e.id === id)!;
      const left = giveUpAt - clock.now();
      if (left <= 0) throw retryLater(REQUEUE_WITHOUT_ROOM_MS, `no endpoint of group "${this.group.name}" has room`);
      await this.slots.roomMayHaveFreed(left, ctx.signal);
    }
  }

  private failedOn(endpoint: Endpoint): void {
    const now = this.host.clock.now();
    if (!this.health.failed(endpoint.id, now)) return;
    this.host.logger.warn({ group: this.group.name, endpoint: endpoint.id }, 'endpoint taken out after failures in a row; probing it');
    this.host.bus.emit('push:endpoint-out', { group: this.group.name, endpoint: endpoint.id, failures: this.group.health.failures });
    const at = this.health.nextProbeAt();
    if (at !== null) this.probes.at(at);
  }

  // ---- callbacks after a 202 ------------------------------------------------------------------

  /** Waits for the callbacks of an accepted attempt: progress keeps it alive, silence longer than callbackTimeoutMs fails it. */
  private awaitCallbacks(ctx: ActiveJob, endpoint: Endpoint): CallbackWait {
    const { clock } = this.host;
    const ms = this.group.callbackTimeoutMs;
    let settle!: { resolve(v: unknown): void; reject(e: unknown): void };
    const result = new Promise<unknown>((resolve, reject) => {
      settle = { resolve, reject };
    });
    result.catch(() => undefined);
    let timer = clock.setTimer(() => settle.reject(new PushCallbackSilentError(endpoint.id, ms)), ms);
    const onAbort = () => settle.reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const remove = this.callbacks.add(ctx.row.id, {
      leaseToken: ctx.row.leaseToken,
      deliver: (m: CallbackMessage) => {
        timer.cancel();
        if (m.type === 'progress') {
          ctx.progress(m.done, m.total, m.message);
          timer = clock.setTimer(() => settle.reject(new PushCallbackSilentError(endpoint.id, ms)), ms);
        } else if (m.type === 'complete') settle.resolve(m.result);
        else {
          const error = Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {});
          settle.reject(m.retryable ? error : permanent(error));
        }
      },
    });
    return {
      result,
      cancel: () => {
        timer.cancel();
        remove();
        ctx.signal.removeEventListener('abort', onAbort);
      },
    };
  }

  // ---- probes and status ----------------------------------------------------------------------

  private async probeDue(): Promise<void> {
    if (this.stopped) return;
    const now = this.host.clock.now();
    await Promise.all(this.health.dueForProbe(now).map((e) => this.probe(e)));
    const next = this.health.nextProbeAt();
    if (next !== null && !this.stopped) this.probes.at(next);
  }

  private async probe(e: Endpoint): Promise<void> {
    const alive = await this.get(e, e.healthUrl ?? e.url).then(
      (r) => r.status < 500,
      () => false,
    );
    if (!alive) return this.health.probeFailed(e.id, this.host.clock.now());
    if (!this.health.probeAnswered(e.id)) return;
    this.host.logger.info({ group: this.group.name, endpoint: e.id }, 'endpoint answered its probe; back in');
    this.host.bus.emit('push:endpoint-in', { group: this.group.name, endpoint: e.id });
  }

  /** Under `most-idle`, asks each endpoint with a status URL how much room it has, every second. */
  private pollStatus(): void {
    if (this.stopped) return;
    this.statusTimer = this.host.clock.setTimer(async () => {
      await Promise.all(
        this.group.endpoints
          .filter((e) => e.statusUrl)
          .map((e) =>
            this.get(e, e.statusUrl!).then(
              (r) => {
                const idle = parseIdle(r.body.toString('utf8'), r.headers['offload-idle']);
                if (idle !== undefined) this.health.reportIdle(e.id, idle);
              },
              () => undefined,
            ),
          ),
      );
      this.pollStatus();
    }, STATUS_POLL_MS);
  }

  private get(e: Endpoint, url: string) {
    return guardedRequest(
      { method: 'GET', url, hostHeader: e.hostHeader ?? undefined, headers: { 'user-agent': 'offload-push' } },
      { timeoutMs: Math.min(PROBE_TIMEOUT_MS, this.group.timeoutMs), maxResponseBytes: 64 * 1024, allowAddresses: this.group.allowAddresses },
    );
  }
}

interface CallbackWait {
  result: Promise<unknown>;
  cancel(): void;
}

/**
 * The metrics of one Offload, in Prometheus's text format (prom-client). Each Offload has a
 * registry of its own rather than prom-client's global one, so two Offloads in one process (tests,
 * a server and its embedded worker) never count into each other's series.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { InstrumentedStore } from '../store/instrumented.js';
import { TallyCounter, TallyHistogram } from './tallies.js';

/** How an attempt ended, as the `outcome` label says it. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'retrying' | 'released' | 'cancelled';

/** Run times and wait times from 5 ms to 10 minutes: jobs are anything from a cache write to a report. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/**
 * Past this many jobs started here and not yet seen finishing (their outcome recorded by another
 * process, say), the oldest are forgotten: the run-time histogram must not grow the heap forever.
 */
const MAX_TRACKED_RUNNING = 100_000;

interface Running {
  task: string;
  attempt: number;
  startedAt: number;
}

export interface MetricsSources {
  bus: EventBus;
  store: InstrumentedStore;
  clock: Clock;
  logger: Logger;
}

export class OffloadMetrics {
  readonly registry = new Registry();
  private readonly running = new Map<string, Running>();
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route'>;
  private readonly gearmanPackets: TallyCounter;
  private gearmanOpen = 0;

  constructor(private readonly o: MetricsSources) {
    const registers = [this.registry];
    const enqueued = new TallyCounter(this.registry, 'offload_jobs_enqueued_total', 'Jobs stored by this process, by task');
    const started = new TallyCounter(this.registry, 'offload_jobs_started_total', 'Attempts started (jobs claimed) by this process, by task');
    const finished = new TallyCounter(
      this.registry,
      'offload_jobs_finished_total',
      'Attempts whose outcome this process recorded, by task and outcome (succeeded, failed, retrying, released, cancelled)',
    );
    const runSeconds = new TallyHistogram(
      this.registry,
      'offload_job_run_seconds',
      'From claim to recorded outcome, for attempts started and finished in this process',
      SECONDS_BUCKETS,
    );
    const waitSeconds = new TallyHistogram(
      this.registry,
      'offload_job_wait_seconds',
      "From a job's creation to its first attempt's start (a delayed job's delay included)",
      SECONDS_BUCKETS,
    );
    const store = o.store;
    new Counter({
      name: 'offload_lease_losses_total',
      help: 'Leases found lost when renewed: the job was cancelled, or taken over after its lease expired',
      registers,
      collect() {
        this.reset();
        this.inc(store.leasesLost);
      },
    });
    new Gauge({
      name: 'offload_jobs',
      help: 'Jobs in the store by task and state (counted at scrape time)',
      labelNames: ['task', 'state'],
      registers,
      async collect() {
        const rows = await store.countJobs({});
        this.reset();
        for (const r of rows) this.set({ task: r.task, state: r.state }, r.count);
      },
    });
    new Counter({
      name: 'offload_store_calls_total',
      help: 'Store calls made by this process, by method',
      labelNames: ['method'],
      registers,
      collect() {
        this.reset();
        for (const [method, s] of store.stats) this.inc({ method }, s.calls);
      },
    });
    new Counter({
      name: 'offload_store_call_seconds_total',
      help: 'Time spent in store calls by this process, by method',
      labelNames: ['method'],
      registers,
      collect() {
        this.reset();
        for (const [method, s] of store.stats) this.inc({ method }, s.totalMs / 1000);
      },
    });
    new Gauge({
      name: 'offload_store_calls_in_flight',
      help: 'Store calls under way now',
      registers,
      collect() {
        this.set(store.inFlight);
      },
    });
    // PostgreSQL: the pool and the LISTEN session (a store without a pool has neither series).
    if (store.connectionStats) {
      const stats = () => store.connectionStats!();
      new Gauge({
        name: 'offload_store_pool_connections',
        help: "The store pool's connections by state: total open, idle, and queries waiting for one",
        labelNames: ['state'],
        registers,
        collect() {
          const { pool } = stats();
          this.set({ state: 'total' }, pool.total);
          this.set({ state: 'idle' }, pool.idle);
          this.set({ state: 'waiting' }, pool.waiting);
        },
      });
      new Gauge({
        name: 'offload_store_listening',
        help: "1 while this process LISTENs for other processes' changes, 0 while its session is down (or nothing watches yet)",
        registers,
        collect() {
          this.set(stats().listening ? 1 : 0);
        },
      });
    }
    this.httpRequests = new Counter({
      name: 'offload_http_requests_total',
      help: 'Requests answered by the HTTP front door, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'offload_http_request_seconds',
      help: 'Time to answer a request on the HTTP front door (long polls and streams included)',
      labelNames: ['method', 'route'],
      buckets: SECONDS_BUCKETS,
      registers,
    });

    this.gearmanPackets = new TallyCounter(
      this.registry,
      'offload_gearman_packets_total',
      'Requests received by the Gearman front door, by packet type (admin text commands as ADMIN)',
    );
    const gearman = this;
    new Gauge({
      name: 'offload_gearman_connections',
      help: 'Connections open on the Gearman front door now (clients, workers and admin tools alike)',
      registers,
      collect() {
        this.set(gearman.gearmanOpen);
      },
    });

    const { bus, clock } = o;
    const byTask = (task: string) => () => ({ task });
    bus.on('job:enqueued', (e) => enqueued.inc(e.task, byTask(e.task)));
    bus.on('job:started', (e) => {
      const now = clock.now();
      started.inc(e.task, byTask(e.task));
      if (e.attempt === 1 && e.createdAt !== undefined) waitSeconds.observe(e.task, byTask(e.task), Math.max(0, now - e.createdAt) / 1000);
      if (this.running.size >= MAX_TRACKED_RUNNING) this.running.delete(this.running.keys().next().value as string);
      this.running.set(e.id, { task: e.task, attempt: e.attempt, startedAt: now });
    });
    const ended = (outcome: AttemptOutcome) => (e: { id: string; task: string }) => {
      finished.inc(`${e.task}\u0000${outcome}`, () => ({ task: e.task, outcome }));
      const run = this.running.get(e.id);
      let runMs: number | undefined;
      if (run !== undefined) {
        this.running.delete(e.id);
        runMs = clock.now() - run.startedAt;
        runSeconds.observe(e.task, byTask(e.task), runMs / 1000);
      }
      this.logEnd(e, outcome, run?.attempt, runMs);
    };
    bus.on('job:succeeded', ended('succeeded'));
    bus.on('job:failed', ended('failed'));
    bus.on('job:retrying', ended('retrying'));
    bus.on('job:released', ended('released'));
    bus.on('job:cancelled', ended('cancelled'));
  }

  /** One line per attempt's end at info: what operators grep for when a job went wrong. */
  private logEnd(e: { id: string; task: string }, outcome: AttemptOutcome, attempt: number | undefined, runMs: number | undefined): void {
    // A job released at shutdown or by retryLater is no news: debug keeps info to real ends and retries.
    if (this.o.logger.isLevelEnabled?.(outcome === 'released' ? 'debug' : 'info') === false) return;
    const line = { task: e.task, jobId: e.id, outcome, attempt: attempt ?? null, runMs: runMs ?? null };
    if (outcome === 'released') this.o.logger.debug(line, 'job released');
    else this.o.logger.info(line, outcome === 'retrying' ? 'job attempt failed, will retry' : 'job finished');
  }

  /** Counts one answered request of the HTTP front door; `route` is the route's pattern, not the URL (bounded labels). */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpSeconds.observe({ method, route }, seconds);
  }

  /** Counts one request the Gearman front door received: its packet type's name (bounded), or ADMIN for a text command. */
  gearmanRequest(type: string): void {
    this.gearmanPackets.inc(type, () => ({ type }));
  }

  /** A Gearman connection opened (+1) or closed (-1). */
  gearmanConnections(delta: 1 | -1): void {
    this.gearmanOpen += delta;
  }

  /** The Prometheus text exposition of every metric, collected now. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

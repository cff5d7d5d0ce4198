/**
 * The text admin commands (gearadmin, GearmanManager, monitoring checks) answered from the
 * store, so they show every job and every worker, Gearman's or not.
 */
import { isOffloadError } from '../core/errors.js';
import type { JobRow } from '../core/job.js';
import type { TaskRecord } from '../core/task.js';
import type { Offload } from '../offload.js';
import type { WorkerRecord } from '../store/store.js';
import {
  err,
  incompleteArguments,
  jobLines,
  list,
  OK,
  okValue,
  parseAdminLine,
  parseMaxQueue,
  priorityStatusLines,
  statusLines,
  unknownCommand,
  workerLines,
} from './admin-protocol.js';
import type { GearmanConnection } from './connection.js';
import type { GearmanFunctions } from './functions.js';
import { handleOf, jobIdOfHandle } from './handles.js';
import type { WorkerRecords } from './worker-records.js';

export interface AdminDeps {
  offload: Offload;
  functions: GearmanFunctions;
  workers: WorkerRecords;
  connections: () => Iterable<GearmanConnection>;
  /** Jobs of a function claimed ahead by this port, no worker's yet: reported as queued, not running. */
  heldAhead: (task: string) => number;
  handlePrefix: string;
  version: string;
  verbosity: string;
  /** `show jobs` lists at most this many queued and this many running jobs. */
  maxListedJobs: number;
}

/** Workers of other kinds (and other servers) count in `status` when seen this recently. */
const WORKER_FRESH_MS = 60_000;

export class Admin {
  constructor(private readonly deps: AdminDeps) {}

  /** The answer to one line; commands are case-insensitive. */
  async run(line: string): Promise<string> {
    const cmd = parseAdminLine(line);
    if (!cmd) return unknownCommand('');
    const { name, args } = cmd;
    switch (name) {
      case 'status':
        return this.status();
      case 'prioritystatus':
        return this.priorityStatus();
      case 'workers':
        return this.workers();
      case 'version':
        return okValue(this.deps.version);
      case 'getpid':
        return okValue(process.pid);
      case 'verbose':
        return okValue(this.deps.verbosity);
      case 'maxqueue':
        return this.maxQueue(args);
      case 'show':
        return this.show(args);
      case 'cancel':
        return args[0]?.toLowerCase() === 'job' && args[1] !== undefined ? this.cancel(args[1]) : unknownCommand(cmd.raw);
      case 'create':
        return args[0]?.toLowerCase() === 'function' && args[1] !== undefined ? this.create(args[1]) : unknownCommand(cmd.raw);
      case 'drop':
        return args[0]?.toLowerCase() === 'function' && args[1] !== undefined ? this.drop(args[1]) : unknownCommand(cmd.raw);
      // `shutdown` was removed in gearmand 1.1.15; like 1.1.20, it is an unknown command.
      default:
        return unknownCommand(cmd.raw);
    }
  }

  private async status(): Promise<string> {
    const { store } = this.deps.offload;
    return statusLines(
      await this.functionRows(
        store.countJobs({ states: ['queued', 'running'] }),
        (fn) => ({ fn, total: 0, running: 0, workers: 0 }),
        (counts, row) => {
          for (const c of counts) {
            if (c.state !== 'queued' && c.state !== 'running') continue;
            row(c.task).total += c.count;
            if (c.state === 'running') row(c.task).running += Math.max(0, c.count - this.deps.heldAhead(c.task));
          }
        },
      ),
    );
  }

  /**
   * Queued jobs per function by Gearman priority: a job above its task's own priority counts as
   * high, one below as low (the Gearman port submits at the task's priority ±1).
   */
  private async priorityStatus(): Promise<string> {
    const { store } = this.deps.offload;
    return priorityStatusLines(
      await this.functionRows(
        store.countQueuedByPriority(),
        (fn) => ({ fn, high: 0, normal: 0, low: 0, workers: 0 }),
        (counts, row, tasks) => {
          const base = new Map(tasks.map((t) => [t.name, t.settings.priority]));
          for (const c of counts) {
            const own = base.get(c.task) ?? 0;
            const r = row(c.task);
            if (c.priority > own) r.high += c.count;
            else if (c.priority < own) r.low += c.count;
            else r.normal += c.count;
          }
        },
      ),
    );
  }

  /**
   * One row per function, for `status` and `prioritystatus`: every task in the store and every
   * function counted, with `fill` adding the counts and the workers that can do it added here.
   */
  private async functionRows<C, R extends { fn: string; workers: number }>(
    counting: Promise<C>,
    blank: (fn: string) => R,
    fill: (counts: C, row: (fn: string) => R, tasks: TaskRecord[]) => void,
  ): Promise<R[]> {
    const { store, clock } = this.deps.offload;
    const [tasks, counts, workers] = await Promise.all([store.getTasks({}), counting, store.listWorkers({ seenSince: clock.now() - WORKER_FRESH_MS })]);
    const rows = new Map<string, R>();
    const row = (fn: string) => {
      let r = rows.get(fn);
      if (!r) rows.set(fn, (r = blank(fn)));
      return r;
    };
    for (const t of tasks) row(t.name);
    fill(counts, row, tasks);
    this.countWorkers(workers, (fn) => row(fn).workers++);
    return [...rows.values()].sort((a, b) => a.fn.localeCompare(b.fn));
  }

  /** Each function a worker can do: Gearman connections here, and Offload's other workers seen lately. */
  private countWorkers(records: WorkerRecord[], count: (fn: string) => void): void {
    for (const conn of this.deps.connections()) for (const fn of conn.worker.abilities.keys()) count(fn);
    for (const w of records) if (!this.deps.workers.isOurs(w.id)) for (const fn of w.tasks) count(fn);
  }

  private workers(): string {
    const rows = [...this.deps.connections()].map((c) => ({ fd: c.id, ip: c.peer, clientId: c.clientId, functions: [...c.worker.abilities.keys()] }));
    return workerLines(rows);
  }

  private async maxQueue(args: string[]): Promise<string> {
    const parsed = parseMaxQueue(args);
    if (!parsed) return incompleteArguments('maxqueue');
    this.deps.functions.setQueueLimits(parsed.fn, parsed.limits);
    return OK;
  }

  private async show(args: string[]): Promise<string> {
    const what = args.map((a) => a.toLowerCase()).join(' ');
    if (what !== 'jobs' && what !== 'unique jobs') return err('UNKNOWN_SHOW_ARGUMENTS');
    const jobs = await this.activeJobs();
    if (what === 'unique jobs') return list(jobs.map((j) => j.uniqueKey ?? ''));
    return jobLines(
      jobs.map((j) => ({
        handle: handleOf(this.deps.handlePrefix, j.id),
        // gearmand counts the times a job went back to the queue; here, the attempts before this one.
        retries: j.state === 'running' ? j.attempt - 1 : j.attempt,
        ignored: false,
        // Every Offload job is held in the persistent store.
        queued: true,
      })),
    );
  }

  private async activeJobs(): Promise<JobRow[]> {
    const { store } = this.deps.offload;
    const limit = this.deps.maxListedJobs;
    const [queued, running] = await Promise.all([store.listJobs({ state: 'queued', limit }), store.listJobs({ state: 'running', limit })]);
    return [...running, ...queued].sort((a, b) => Number(a.id) - Number(b.id));
  }

  private async cancel(handle: string): Promise<string> {
    const id = jobIdOfHandle(handle);
    if (id === null) return err('UNKNOWN_JOB');
    const { offload } = this.deps;
    const row = await offload.store.getJob({ id });
    if (!row || (row.state !== 'queued' && row.state !== 'running')) return err('UNKNOWN_JOB');
    try {
      await offload.cancel(id);
      return OK;
    } catch (e) {
      if (isOffloadError(e)) return err('UNKNOWN_JOB');
      throw e;
    }
  }

  private async create(fn: string): Promise<string> {
    let name: string;
    try {
      name = this.deps.functions.nameOf(fn);
    } catch {
      return err('INVALID_ARGUMENTS', 'Function names are 1-200 letters, digits and _ . : - /');
    }
    await this.deps.functions.ensure(name);
    return OK;
  }

  private async drop(fn: string): Promise<string> {
    for (const conn of this.deps.connections()) {
      if (conn.worker.abilities.has(fn)) return 'ERR there are still connected workers or executing clients\r\n';
    }
    const { store } = this.deps.offload;
    const [task] = await store.getTasks({ names: [fn] });
    if (!task) return 'ERR function not found\r\n';
    // Unlike gearmand, a function is not dropped while the store holds queued or running jobs of it.
    if (!(await store.removeTask({ name: fn }))) return 'ERR there are still queued or running jobs\r\n';
    this.deps.functions.forget(fn);
    return OK;
  }
}
